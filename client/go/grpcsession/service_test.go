package grpcsession_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/adk/v2/model"
	"google.golang.org/adk/v2/session"
	"google.golang.org/genai"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/grpcsession"
	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/internal/testserver"
)

// These tests share one server; each uses an app name of its own.

func newService(t *testing.T, opts ...grpcsession.Option) *grpcsession.Service {
	t.Helper()
	service, err := grpcsession.New(testserver.Shared(t), opts...)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(func() { _ = service.Close() })
	return service
}

func uniqueApp() string { return "app-" + uuid.NewString() }

func create(t *testing.T, s session.Service, app, user string, state map[string]any) session.Session {
	t.Helper()
	created, err := s.Create(t.Context(), &session.CreateRequest{AppName: app, UserID: user, State: state})
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	return created.Session
}

func get(t *testing.T, s session.Service, sess session.Session) session.Session {
	t.Helper()
	got, err := s.Get(t.Context(), &session.GetRequest{AppName: sess.AppName(), UserID: sess.UserID(), SessionID: sess.ID()})
	if err != nil {
		t.Fatalf("Get() error = %v", err)
	}
	return got.Session
}

func stateOf(sess session.Session) map[string]any {
	state := map[string]any{}
	for k, v := range sess.State().All() {
		state[k] = v
	}
	return state
}

func textEvent(author, text string, delta map[string]any) *session.Event {
	event := session.NewEvent(context.Background(), "inv-"+uuid.NewString())
	event.Author = author
	event.Content = genai.NewContentFromText(text, "model")
	for k, v := range delta {
		event.Actions.StateDelta[k] = v
	}
	return event
}

func TestCreateTrimsTheSessionID(t *testing.T) {
	s := newService(t)
	created, err := s.Create(t.Context(), &session.CreateRequest{AppName: uniqueApp(), UserID: "u", SessionID: "  s1 "})
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	if created.Session.ID() != "s1" {
		t.Errorf("ID() = %q, want %q", created.Session.ID(), "s1")
	}
}

func TestDuplicateSessionIDIsErrSessionAlreadyExists(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	req := &session.CreateRequest{AppName: app, UserID: "u", SessionID: "dup"}
	if _, err := s.Create(t.Context(), req); err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	_, err := s.Create(t.Context(), req)
	if !errors.Is(err, grpcsession.ErrSessionAlreadyExists) || status.Code(err) != codes.AlreadyExists {
		t.Errorf("second Create() error = %v, want ErrSessionAlreadyExists", err)
	}
}

func TestGetOfAMissingSessionIsErrSessionNotFound(t *testing.T) {
	s := newService(t)
	_, err := s.Get(t.Context(), &session.GetRequest{AppName: uniqueApp(), UserID: "u", SessionID: "missing"})
	if !errors.Is(err, grpcsession.ErrSessionNotFound) {
		t.Errorf("Get() error = %v, want ErrSessionNotFound", err)
	}
}

func TestStateScopes(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	first := create(t, s, app, "alice", map[string]any{"app:greeting": "hi", "user:lang": "de", "draft": 1, "temp:x": 1})
	if err := s.AppendEvent(t.Context(), first, textEvent("agent", "ok",
		map[string]any{"app:count": 2, "user:seen": true, "step": "two", "temp:scratch": "local only"})); err != nil {
		t.Fatalf("AppendEvent() error = %v", err)
	}

	// The writer's own session has applied everything, temp: keys included.
	if got := stateOf(first)["temp:scratch"]; got != "local only" {
		t.Errorf("in-memory temp:scratch = %v, want it applied locally", got)
	}
	reread := stateOf(get(t, s, first))
	want := map[string]any{"app:greeting": "hi", "app:count": float64(2), "user:lang": "de", "user:seen": true,
		"draft": float64(1), "step": "two"}
	for k, v := range want {
		if reread[k] != v {
			t.Errorf("stored state[%q] = %v, want %v", k, reread[k], v)
		}
	}
	for _, k := range []string{"temp:x", "temp:scratch"} {
		if _, ok := reread[k]; ok {
			t.Errorf("stored state has %q; temp: keys are never stored", k)
		}
	}
	sameUser := stateOf(create(t, s, app, "alice", nil))
	otherUser := stateOf(create(t, s, app, "bob", nil))
	if sameUser["user:lang"] != "de" || sameUser["app:count"] != float64(2) || sameUser["draft"] != nil {
		t.Errorf("alice's second session state = %v, want app: and user: keys only", sameUser)
	}
	if otherUser["user:lang"] != nil || otherUser["app:greeting"] != "hi" {
		t.Errorf("bob's session state = %v, want app: keys only", otherUser)
	}
	userState, err := s.GetUserState(t.Context(), app, "alice")
	if err != nil || userState["lang"] != "de" || userState["seen"] != true {
		t.Errorf("GetUserState() = %v, %v", userState, err)
	}
	appState, err := s.GetAppState(t.Context(), app)
	if err != nil || appState["greeting"] != "hi" || appState["count"] != float64(2) {
		t.Errorf("GetAppState() = %v, %v", appState, err)
	}
}

func TestBigIntegersAndUnicodeSurviveExactly(t *testing.T) {
	s := newService(t)
	big := json.Number("9223372036854775809") // 2**63 + 1: a float64 would round it
	sess := create(t, s, uniqueApp(), "ユーザー", map[string]any{"big": big, "名前": "Zoë 🐍", "nested": map[string]any{"n": big}})
	if err := s.AppendEvent(t.Context(), sess, textEvent("agent", "ünïcödé ✓", map[string]any{"user:big": big})); err != nil {
		t.Fatalf("AppendEvent() error = %v", err)
	}
	got := get(t, s, sess)
	state := stateOf(got)
	if state["big"] != big || state["user:big"] != big || state["名前"] != "Zoë 🐍" {
		t.Errorf("state = %#v", state)
	}
	if nested, _ := state["nested"].(map[string]any); nested["n"] != big {
		t.Errorf("state[nested] = %#v, want n = %s", state["nested"], big)
	}
	event := got.Events().At(0)
	if event.Content.Parts[0].Text != "ünïcödé ✓" || event.Actions.StateDelta["user:big"] != big {
		t.Errorf("event = %+v", event)
	}
}

func TestNumRecentEventsAndAfterCombine(t *testing.T) {
	s := newService(t)
	sess := create(t, s, uniqueApp(), "u", nil)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		event := textEvent("agent", "e", nil)
		event.Timestamp = base.Add(time.Duration(i) * time.Second)
		if err := s.AppendEvent(t.Context(), sess, event); err != nil {
			t.Fatalf("AppendEvent() error = %v", err)
		}
	}
	count := func(req session.GetRequest) int {
		req.AppName, req.UserID, req.SessionID = sess.AppName(), sess.UserID(), sess.ID()
		got, err := s.Get(t.Context(), &req)
		if err != nil {
			t.Fatalf("Get() error = %v", err)
		}
		return got.Session.Events().Len()
	}
	if n := count(session.GetRequest{After: base.Add(2 * time.Second)}); n != 3 {
		t.Errorf("After the third event: %d events, want 3 (inclusive)", n)
	}
	if n := count(session.GetRequest{NumRecentEvents: 4, After: base.Add(3 * time.Second)}); n != 2 {
		t.Errorf("last 4, after the fourth: %d events, want 2", n)
	}
	if got := get(t, s, sess).LastUpdateTime(); !got.Equal(base.Add(4 * time.Second)) {
		t.Errorf("LastUpdateTime() = %v, want the last event's timestamp", got)
	}
}

func TestListIsolatesUsersAndWalksPages(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	for range 3 {
		create(t, s, app, "u1", map[string]any{"user:k": 1})
	}
	create(t, s, app, "u2", nil)
	one, err := s.List(t.Context(), &session.ListRequest{AppName: app, UserID: "u1"})
	if err != nil || len(one.Sessions) != 3 {
		t.Fatalf("List(u1) = %d sessions, %v; want 3", len(one.Sessions), err)
	}
	if stateOf(one.Sessions[0])["user:k"] != float64(1) || one.Sessions[0].Events().Len() != 0 {
		t.Errorf("listed session: state %v, %d events; want merged state, no events",
			stateOf(one.Sessions[0]), one.Sessions[0].Events().Len())
	}
	all, err := s.List(t.Context(), &session.ListRequest{AppName: app})
	if err != nil || len(all.Sessions) != 4 {
		t.Errorf("List(all) = %d sessions, %v; want 4", len(all.Sessions), err)
	}
}

func TestAStaleWriterIsRejected(t *testing.T) {
	s := newService(t)
	sess := create(t, s, uniqueApp(), "u", nil)
	first, second := get(t, s, sess), get(t, s, sess)
	if err := s.AppendEvent(t.Context(), first, textEvent("a", "first", map[string]any{"k": 1})); err != nil {
		t.Fatalf("AppendEvent(first) error = %v", err)
	}
	err := s.AppendEvent(t.Context(), second, textEvent("b", "second", map[string]any{"k": 2}))
	if !errors.Is(err, grpcsession.ErrStaleSession) || status.Code(err) != codes.Aborted {
		t.Fatalf("AppendEvent(stale) error = %v, want ErrStaleSession", err)
	}
	if second.Events().Len() != 0 {
		t.Errorf("the rejected event was recorded in the stale session")
	}
	stored := get(t, s, sess)
	if stored.Events().Len() != 1 || stateOf(stored)["k"] != float64(1) {
		t.Errorf("stored: %d events, k = %v; want only the first writer's", stored.Events().Len(), stateOf(stored)["k"])
	}
	// After reloading, the second writer may append.
	if err := s.AppendEvent(t.Context(), get(t, s, sess), textEvent("b", "second", nil)); err != nil {
		t.Errorf("AppendEvent(reloaded) error = %v", err)
	}
}

// loseFirstAppendResponse lets the first AppendEvent reach the server, then
// reports code to the caller, as when a connection drops (UNAVAILABLE) or a
// server shuts down (CANCELLED) after the event was stored but before its
// answer arrived.
func loseFirstAppendResponse(lost *atomic.Int32, code codes.Code) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err == nil && method == "/adk_grpc_sessions.v1.SessionService/AppendEvent" && lost.Add(1) == 1 {
			return status.Error(code, "answer lost after the server stored the event")
		}
		return err
	}
}

func TestARetriedAppendIsAppliedOnce(t *testing.T) {
	for _, code := range []codes.Code{codes.Unavailable, codes.Canceled} {
		t.Run(code.String(), func(t *testing.T) { testARetriedAppendIsAppliedOnce(t, code) })
	}
}

func testARetriedAppendIsAppliedOnce(t *testing.T, code codes.Code) {
	var lost atomic.Int32
	// The unary path: an append on the append stream is not a call an interceptor sees.
	s := newService(t, grpcsession.WithStreamAppends(false),
		grpcsession.WithDialOptions(grpc.WithUnaryInterceptor(loseFirstAppendResponse(&lost, code))))
	sess := create(t, s, uniqueApp(), "u", map[string]any{"user:visits": 0})
	if err := s.AppendEvent(t.Context(), sess, textEvent("agent", "once", map[string]any{"user:visits": 1})); err != nil {
		t.Fatalf("AppendEvent() error = %v (the retry should have succeeded)", err)
	}
	if lost.Load() < 2 {
		t.Fatalf("the append was not retried")
	}
	stored := get(t, s, sess)
	if stored.Events().Len() != 1 || sess.Events().Len() != 1 {
		t.Errorf("events stored %d, in memory %d; want 1 and 1", stored.Events().Len(), sess.Events().Len())
	}
	// The session is still current: the next append succeeds.
	if err := s.AppendEvent(t.Context(), sess, textEvent("agent", "next", nil)); err != nil {
		t.Errorf("AppendEvent(next) error = %v", err)
	}
}

func TestTheSameEventAppendedTwiceIsStoredOnce(t *testing.T) {
	s := newService(t)
	sess := create(t, s, uniqueApp(), "u", nil)
	event := textEvent("agent", "hello", map[string]any{"k": "v"})
	if err := s.AppendEvent(t.Context(), sess, event); err != nil {
		t.Fatalf("AppendEvent() error = %v", err)
	}
	// The same event again (a retry whose first answer was lost) is not stored twice.
	if err := s.AppendEvent(t.Context(), sess, event); err != nil {
		t.Fatalf("AppendEvent(again) error = %v", err)
	}
	if n := get(t, s, sess).Events().Len(); n != 1 {
		t.Errorf("stored %d events, want 1", n)
	}
}

func TestADifferentEventUnderAStoredIDIsErrEventIDConflict(t *testing.T) {
	s := newService(t)
	sess := create(t, s, uniqueApp(), "u", nil)
	event := textEvent("agent", "one", nil)
	if err := s.AppendEvent(t.Context(), sess, event); err != nil {
		t.Fatalf("AppendEvent() error = %v", err)
	}
	other := textEvent("agent", "two", nil)
	other.ID = event.ID
	err := s.AppendEvent(t.Context(), get(t, s, sess), other)
	if !errors.Is(err, grpcsession.ErrEventIDConflict) {
		t.Errorf("AppendEvent(conflict) error = %v, want ErrEventIDConflict", err)
	}
}

// A session built by hand (not read through this service) is judged by its
// last update time and last event, as ADK's database services judge one.
type handMadeSession struct {
	app, user, id string
	updated       time.Time
}

func (h handMadeSession) ID() string                { return h.id }
func (h handMadeSession) AppName() string           { return h.app }
func (h handMadeSession) UserID() string            { return h.user }
func (h handMadeSession) State() session.State      { return nil }
func (h handMadeSession) Events() session.Events    { return nil }
func (h handMadeSession) LastUpdateTime() time.Time { return h.updated }

func TestAHandMadeSessionIsCheckedAgainstStorage(t *testing.T) {
	s := newService(t)
	sess := create(t, s, uniqueApp(), "u", nil)
	current := handMadeSession{sess.AppName(), "u", sess.ID(), time.Now().Add(time.Hour)}
	if err := s.AppendEvent(t.Context(), current, textEvent("agent", "ok", nil)); err != nil {
		t.Fatalf("AppendEvent(current) error = %v", err)
	}
	outdated := handMadeSession{sess.AppName(), "u", sess.ID(), time.Unix(0, 0)}
	if err := s.AppendEvent(t.Context(), outdated, textEvent("agent", "late", nil)); !errors.Is(err, grpcsession.ErrStaleSession) {
		t.Errorf("AppendEvent(outdated) error = %v, want ErrStaleSession", err)
	}
}

func TestEventTimestampsAreMovedToWhatPythonHolds(t *testing.T) {
	s := newService(t)
	sess := create(t, s, uniqueApp(), "u", nil)
	event := textEvent("agent", "t", nil)
	event.Timestamp = time.Unix(1763711206, 783613456) // finer than a float64 holds
	if err := s.AppendEvent(t.Context(), sess, event); err != nil {
		t.Fatalf("AppendEvent() error = %v", err)
	}
	if want := time.Unix(1763711206, 783613400); !event.Timestamp.Equal(want) { // repr(1763711206.783613456) in Python
		t.Errorf("event.Timestamp = %v, want %v", event.Timestamp, want)
	}
	stored := get(t, s, sess).Events().At(0)
	if !stored.Timestamp.Equal(event.Timestamp) {
		t.Errorf("stored timestamp %v, appended %v", stored.Timestamp, event.Timestamp)
	}
}

func TestAPartialEventIsNeitherStoredNorApplied(t *testing.T) {
	s := newService(t)
	sess := create(t, s, uniqueApp(), "u", nil)
	event := textEvent("agent", "stream", map[string]any{"k": 1})
	event.LLMResponse = model.LLMResponse{Partial: true, Content: event.Content}
	if err := s.AppendEvent(t.Context(), sess, event); err != nil {
		t.Fatalf("AppendEvent() error = %v", err)
	}
	if sess.Events().Len() != 0 || get(t, s, sess).Events().Len() != 0 || stateOf(sess)["k"] != nil {
		t.Errorf("a partial event was stored or applied")
	}
}

func TestMetadataIsSentWithEveryCall(t *testing.T) {
	var seen []string
	capture := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		md, _ := metadata.FromOutgoingContext(ctx)
		seen = append(seen, md.Get("authorization")...)
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	captureStream := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
		streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		md, _ := metadata.FromOutgoingContext(ctx)
		seen = append(seen, md.Get("authorization")...)
		return streamer(ctx, desc, cc, method, opts...)
	}
	s := newService(t, grpcsession.WithMetadata("authorization", "Bearer t0ken"),
		grpcsession.WithDialOptions(grpc.WithUnaryInterceptor(capture), grpc.WithStreamInterceptor(captureStream)))
	create(t, s, uniqueApp(), "u", nil)
	if len(seen) != 1 || seen[0] != "Bearer t0ken" {
		t.Errorf("authorization metadata sent = %q, want [Bearer t0ken]", seen)
	}
}

func TestAnUnreachableServerIsErrUnavailableWithinTheTimeout(t *testing.T) {
	s, err := grpcsession.New("127.0.0.1:1", grpcsession.WithTimeout(2*time.Second))
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	defer s.Close()
	start := time.Now()
	_, err = s.Get(t.Context(), &session.GetRequest{AppName: "a", UserID: "u", SessionID: "s"})
	if !errors.Is(err, grpcsession.ErrUnavailable) {
		t.Errorf("Get() error = %v, want ErrUnavailable", err)
	}
	// Retried until the budget is spent, not for a count of attempts, and not past it.
	if elapsed := time.Since(start); elapsed < 1800*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("Get() took %v, want about its 2 s budget", elapsed)
	}
}
