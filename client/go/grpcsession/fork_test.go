package grpcsession_test

import (
	"context"
	"errors"
	"maps"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/adk/v2/session"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/grpcsession"
)

func invocationEvent(invocation string, delta map[string]any) *session.Event {
	event := textEvent("agent", "in "+invocation, delta)
	event.InvocationID = invocation
	return event
}

func eventIDs(sess session.Session) []string {
	var ids []string
	for event := range sess.Events().All() {
		ids = append(ids, event.ID)
	}
	return ids
}

// conversation creates a session with initial state and three invocations
// of events, each changing the state.
func conversation(t *testing.T, s *grpcsession.Service, app, id string) session.Session {
	t.Helper()
	created, err := s.CreateWithOptions(t.Context(),
		&session.CreateRequest{AppName: app, UserID: "u", SessionID: id, State: map[string]any{"initial": "kept", "step": 0}},
		grpcsession.CreateOptions{DisplayName: "source", Labels: map[string]string{"kind": "source"}})
	if err != nil {
		t.Fatalf("CreateWithOptions() error = %v", err)
	}
	sess := created.Session
	for i, step := range []struct {
		invocation string
		delta      map[string]any
	}{
		{"inv-1", map[string]any{"step": 1, "first": "yes", "user:seen": 1}},
		{"inv-1", map[string]any{"step": 2}},
		{"inv-2", map[string]any{"step": 3, "second": true}},
		{"inv-3", map[string]any{"step": 4, "first": nil}},
	} {
		if err := s.AppendEvent(t.Context(), sess, invocationEvent(step.invocation, step.delta)); err != nil {
			t.Fatalf("AppendEvent(%d) error = %v", i, err)
		}
	}
	return get(t, s, sess)
}

func TestForkBeforeAnInvocationHasTheSourcesStateAtThatPoint(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	source := conversation(t, s, app, "src")
	sourceInfo := info(t, s, app, "u", "src")

	before := time.Now().Add(-time.Second)
	forked, err := s.Fork(t.Context(), grpcsession.ForkRequest{
		AppName: app, UserID: "u", SessionID: " src ", NewSessionID: "branch", BeforeInvocationID: "inv-2",
		DisplayName: "a branch", Labels: map[string]string{"kind": "fork"},
	})
	if err != nil {
		t.Fatalf("Fork() error = %v", err)
	}
	origin := forked.ForkedFrom
	if origin == nil || origin.SessionID != "src" || origin.EventCount != 2 || origin.BeforeInvocationID != "inv-2" ||
		origin.ForkTime.Before(before) || origin.ForkTime.After(time.Now().Add(time.Second)) {
		t.Fatalf("ForkedFrom = %+v, want src, 2 events, before inv-2, made now", origin)
	}
	if forked.SessionID != "branch" || forked.DisplayName != "a branch" || !maps.Equal(forked.Labels, map[string]string{"kind": "fork"}) {
		t.Errorf("Fork() = %+v, want session branch with its own metadata", forked)
	}
	branch := get(t, s, handMadeSession{app: app, user: "u", id: "branch"})
	if got, want := eventIDs(branch), eventIDs(source)[:2]; !slices.Equal(got, want) {
		t.Errorf("the fork's events %v, want the source's first two %v", got, want)
	}
	if got, want := stateOf(branch), map[string]any{"initial": "kept", "step": float64(2), "first": "yes", "user:seen": float64(1)}; !maps.Equal(got, want) {
		t.Errorf("the fork's state %v, want %v (the source's after inv-1)", got, want)
	}

	// The fork takes appends of its own; the source is untouched throughout.
	if err := s.AppendEvent(t.Context(), branch, invocationEvent("inv-branch", map[string]any{"step": 99})); err != nil {
		t.Fatalf("AppendEvent() to the fork error = %v", err)
	}
	after := get(t, s, source)
	if !slices.Equal(eventIDs(after), eventIDs(source)) || stateOf(after)["step"] != float64(4) {
		t.Errorf("the source after the fork: events %v, state %v; want them unchanged", eventIDs(after), stateOf(after))
	}
	if got := info(t, s, app, "u", "src"); got.Revision != sourceInfo.Revision || got.DisplayName != "source" || got.ForkedFrom != nil {
		t.Errorf("the source's info after the fork = %+v, want it unchanged", got)
	}
	// The source's writer is still current.
	if err := s.AppendEvent(t.Context(), source, invocationEvent("inv-4", nil)); err != nil {
		t.Errorf("AppendEvent() to the source after the fork error = %v", err)
	}
}

func TestForkOfEveryEventOfAClosedSessionIsOpen(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	source := conversation(t, s, app, "src")
	if _, err := s.CloseSession(t.Context(), source); err != nil {
		t.Fatalf("CloseSession() error = %v", err)
	}
	forked, err := s.Fork(t.Context(), grpcsession.ForkRequest{AppName: app, UserID: "u", SessionID: "src", Expiry: grpcsession.Expiry{TTL: time.Hour}})
	if err != nil {
		t.Fatalf("Fork() error = %v", err)
	}
	if forked.SessionID == "" || forked.SessionID == "src" || !forked.CloseTime.IsZero() || forked.ExpireTime.IsZero() {
		t.Errorf("Fork() = %+v, want a new id, open, expiring", forked)
	}
	if forked.ForkedFrom == nil || forked.ForkedFrom.EventCount != 4 || forked.ForkedFrom.BeforeInvocationID != "" {
		t.Errorf("ForkedFrom = %+v, want every one of the 4 events", forked.ForkedFrom)
	}
	if forked.DisplayName != "" || len(forked.Labels) != 0 {
		t.Errorf("the fork has metadata %q %v; the source's is not copied", forked.DisplayName, forked.Labels)
	}
	branch := get(t, s, handMadeSession{app: app, user: "u", id: forked.SessionID})
	if !slices.Equal(eventIDs(branch), eventIDs(source)) || !maps.Equal(stateOf(branch), stateOf(source)) {
		t.Errorf("the fork: events %v state %v; want the source's %v %v", eventIDs(branch), stateOf(branch), eventIDs(source), stateOf(source))
	}
	if err := s.AppendEvent(t.Context(), branch, invocationEvent("inv-after", nil)); err != nil {
		t.Errorf("AppendEvent() to the fork of a closed session error = %v, want it open", err)
	}
}

func TestForkErrors(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	conversation(t, s, app, "src")
	create(t, s, app, "u", nil)
	taken := createWith(t, s, app, "u", "taken", grpcsession.CreateOptions{})

	_, err := s.Fork(t.Context(), grpcsession.ForkRequest{AppName: app, UserID: "u", SessionID: "missing"})
	if !errors.Is(err, grpcsession.ErrSessionNotFound) {
		t.Errorf("Fork() of a missing session error = %v, want ErrSessionNotFound", err)
	}
	_, err = s.Fork(t.Context(), grpcsession.ForkRequest{AppName: app, UserID: "other", SessionID: "src"})
	if !errors.Is(err, grpcsession.ErrSessionNotFound) {
		t.Errorf("Fork() of another user's session error = %v, want ErrSessionNotFound", err)
	}
	_, err = s.Fork(t.Context(), grpcsession.ForkRequest{AppName: app, UserID: "u", SessionID: "src", NewSessionID: taken.ID()})
	if !errors.Is(err, grpcsession.ErrSessionAlreadyExists) {
		t.Errorf("Fork() onto a taken id error = %v, want ErrSessionAlreadyExists", err)
	}
	_, err = s.Fork(t.Context(), grpcsession.ForkRequest{AppName: app, UserID: "u", SessionID: "src", BeforeInvocationID: "inv-none"})
	var failure *grpcsession.Error
	if !errors.As(err, &failure) || !errors.Is(err, grpcsession.ErrInvalidArgument) || !violationNames(failure, "before_invocation_id") {
		t.Errorf("Fork() before an unknown invocation error = %v, want ErrInvalidArgument naming before_invocation_id", err)
	}
	_, err = s.Fork(t.Context(), grpcsession.ForkRequest{AppName: app, UserID: "u", SessionID: "src", Labels: map[string]string{"adk_x": "y"}})
	if !errors.Is(err, grpcsession.ErrInvalidArgument) {
		t.Errorf("Fork() with a reserved label error = %v, want ErrInvalidArgument", err)
	}
	if ids := listedIDs(t, s, app, "u"); len(ids) != 3 {
		t.Errorf("refused forks left sessions %v, want the 3 created", ids)
	}
}

// countCalls counts the calls of each method named in calls.
func countCalls(calls map[string]*atomic.Int32) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if counter, ok := calls[method[strings.LastIndex(method, "/")+1:]]; ok {
			counter.Add(1)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

func TestCallsWhoseAnswerIsLostAreRetriedIntoOneFork(t *testing.T) {
	succeeded := map[string]*atomic.Int32{"ForkSession": {}, "UpdateSession": {}}
	calls := map[string]*atomic.Int32{"ForkSession": {}, "UpdateSession": {}}
	s := newService(t, grpcsession.WithDialOptions(grpc.WithChainUnaryInterceptor(countCalls(calls), loseFirstAnswers(succeeded))))
	app := uniqueApp()
	conversation(t, s, app, "src")
	forked, err := s.Fork(t.Context(), grpcsession.ForkRequest{AppName: app, UserID: "u", SessionID: "src", BeforeInvocationID: "inv-3"})
	if err != nil {
		t.Fatalf("Fork() error = %v (the retry should have found the first attempt's fork)", err)
	}
	if forked.ForkedFrom == nil || forked.ForkedFrom.SessionID != "src" || forked.ForkedFrom.EventCount != 3 {
		t.Errorf("Fork() = %+v, want the fork of 3 events of src", forked)
	}
	name := "renamed"
	if got, err := s.UpdateSessionMetadata(t.Context(), app, "u", forked.SessionID, grpcsession.MetadataUpdate{DisplayName: &name}); err != nil || got.DisplayName != name {
		t.Errorf("UpdateSessionMetadata() = %+v, %v (the retry should have succeeded)", got, err)
	}
	if ids := listedIDs(t, s, app, "u"); len(ids) != 2 || !ids[forked.SessionID] {
		t.Errorf("listed %v, want the source and one fork", ids)
	}
	// The fork's retry is refused (its id is taken by the first attempt) and recognised.
	want := map[string][2]int32{"ForkSession": {2, 1}, "UpdateSession": {2, 2}}
	for method, counts := range want {
		if got := [2]int32{calls[method].Load(), succeeded[method].Load()}; got != counts {
			t.Errorf("%s: %d calls, %d succeeded; want %d, %d (one lost answer, one retry)", method, got[0], got[1], counts[0], counts[1])
		}
	}
}

// refusingForks is a server that answers every ForkSession as a storage
// that does not know the source's initial state does.
type refusingForks struct {
	sessionsv1.UnimplementedSessionServiceServer
}

func (refusingForks) ForkSession(context.Context, *sessionsv1.ForkSessionRequest) (*sessionsv1.ForkSessionResponse, error) {
	refused := status.New(codes.FailedPrecondition, "the state of session src before invocation inv-2 is unknown")
	refused, err := refused.WithDetails(&errdetails.ErrorInfo{Reason: "FORK_POINT_UNKNOWN", Domain: "adk-grpc-sessions"})
	if err != nil {
		return nil, err
	}
	return nil, refused.Err()
}

func TestAnUnknownForkPointIsErrForkPointUnknown(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := grpc.NewServer()
	sessionsv1.RegisterSessionServiceServer(server, refusingForks{})
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(server.Stop)
	s, err := grpcsession.New(listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	_, err = s.Fork(t.Context(), grpcsession.ForkRequest{AppName: "a", UserID: "u", SessionID: "src", NewSessionID: "f", BeforeInvocationID: "inv-2"})
	if !errors.Is(err, grpcsession.ErrForkPointUnknown) || status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("Fork() error = %v, want ErrForkPointUnknown", err)
	}
	if errors.Is(err, grpcsession.ErrSessionClosed) || errors.Is(err, grpcsession.ErrInvalidArgument) {
		t.Errorf("the fork-point error %v also matches another sentinel", err)
	}
}
