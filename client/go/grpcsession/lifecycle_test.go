package grpcsession_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/adk/v2/session"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/grpcsession"
)

// expiryWait bounds how long a test waits for a 1 s ttl to pass on a busy machine.
const expiryWait = 20 * time.Second

// eventually polls cond until it holds or expiryWait passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(expiryWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s never happened", expiryWait, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func listedIDs(t *testing.T, s *grpcsession.Service, app, user string) map[string]bool {
	t.Helper()
	listed, err := s.List(t.Context(), &session.ListRequest{AppName: app, UserID: user})
	if err != nil {
		t.Fatalf("List() error = %v", err)
	}
	ids := map[string]bool{}
	for _, sess := range listed.Sessions {
		ids[sess.ID()] = true
	}
	return ids
}

func TestASessionCreatedWithATTLExpires(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	before := time.Now()
	created, err := s.CreateWithExpiry(t.Context(), &session.CreateRequest{AppName: app, UserID: "u", SessionID: "short"},
		grpcsession.Expiry{TTL: time.Second})
	if err != nil {
		t.Fatalf("CreateWithExpiry() error = %v", err)
	}
	kept := create(t, s, app, "u", nil)
	info, err := s.GetSessionInfo(t.Context(), app, "u", "short")
	// The server's clock may be a little off the test's; a second of slack either way.
	if err == nil && (info.ExpireTime.Before(before) || info.ExpireTime.After(time.Now().Add(2*time.Second))) {
		t.Errorf("ExpireTime = %v, want about a second after %v", info.ExpireTime, before)
	}
	if err == nil && !listedIDs(t, s, app, "u")["short"] {
		t.Errorf("the session is not listed before it expires")
	}

	eventually(t, "Get of the expired session failing with ErrSessionNotFound", func() bool {
		_, err := s.Get(t.Context(), &session.GetRequest{AppName: app, UserID: "u", SessionID: "short"})
		return errors.Is(err, grpcsession.ErrSessionNotFound)
	})
	if ids := listedIDs(t, s, app, "u"); ids["short"] || !ids[kept.ID()] {
		t.Errorf("listed %v after expiry, want only %q", ids, kept.ID())
	}
	err = s.AppendEvent(t.Context(), created.Session, textEvent("user", "late", nil))
	if !errors.Is(err, grpcsession.ErrSessionNotFound) {
		t.Errorf("AppendEvent() to the expired session error = %v, want ErrSessionNotFound", err)
	}
	if _, err := s.GetSessionInfo(t.Context(), app, "u", "short"); !errors.Is(err, grpcsession.ErrSessionNotFound) {
		t.Errorf("GetSessionInfo() of the expired session error = %v, want ErrSessionNotFound", err)
	}
}

func TestCreateWithAnExpireTime(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	at := time.Now().Add(time.Hour).Truncate(time.Second)
	created, err := s.CreateWithExpiry(t.Context(), &session.CreateRequest{AppName: app, UserID: "u"},
		grpcsession.Expiry{ExpireTime: at})
	if err != nil {
		t.Fatalf("CreateWithExpiry() error = %v", err)
	}
	info, err := s.GetSessionInfo(t.Context(), app, "u", created.Session.ID())
	if err != nil {
		t.Fatalf("GetSessionInfo() error = %v", err)
	}
	if !info.ExpireTime.Equal(at) || !info.CloseTime.IsZero() || info.SessionID != created.Session.ID() {
		t.Errorf("GetSessionInfo() = %+v, want ExpireTime %v and open", info, at)
	}
	plain := create(t, s, app, "u", nil)
	info, err = s.GetSessionInfo(t.Context(), app, "u", plain.ID())
	if err != nil || !info.ExpireTime.IsZero() {
		t.Errorf("GetSessionInfo() of a session created without expiry = %+v, %v; want no ExpireTime", info, err)
	}
}

func TestABadExpiryIsErrInvalidArgument(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	for name, expiry := range map[string]grpcsession.Expiry{
		"negative ttl":   {TTL: -time.Second},
		"over 100 years": {TTL: 101 * 366 * 24 * time.Hour},
		"in the past":    {ExpireTime: time.Now().Add(-time.Hour)},
	} {
		_, err := s.CreateWithExpiry(t.Context(), &session.CreateRequest{AppName: app, UserID: "u", SessionID: "bad"}, expiry)
		if !errors.Is(err, grpcsession.ErrInvalidArgument) || status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: CreateWithExpiry() error = %v, want ErrInvalidArgument", name, err)
		}
	}
	if ids := listedIDs(t, s, app, "u"); len(ids) != 0 {
		t.Errorf("refused creates stored %v", ids)
	}
	both := grpcsession.Expiry{TTL: time.Hour, ExpireTime: time.Now().Add(time.Hour)}
	if _, err := s.CreateWithExpiry(t.Context(), &session.CreateRequest{AppName: app, UserID: "u"}, both); !errors.Is(err, grpcsession.ErrInvalidArgument) {
		t.Errorf("CreateWithExpiry() with TTL and ExpireTime error = %v, want ErrInvalidArgument", err)
	}
	sess := create(t, s, app, "u", nil)
	if _, err := s.SetSessionExpiry(t.Context(), app, "u", sess.ID(), grpcsession.Expiry{TTL: -time.Second}); !errors.Is(err, grpcsession.ErrInvalidArgument) {
		t.Errorf("SetSessionExpiry() with a negative TTL error = %v, want ErrInvalidArgument", err)
	}
}

func TestSetSessionExpiry(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	sess := create(t, s, app, "u", map[string]any{"k": "v"})
	if err := s.AppendEvent(t.Context(), sess, textEvent("user", "hi", nil)); err != nil {
		t.Fatalf("AppendEvent() error = %v", err)
	}
	at := time.Now().Add(time.Hour).Truncate(time.Second)
	info, err := s.SetSessionExpiry(t.Context(), app, "u", sess.ID(), grpcsession.Expiry{ExpireTime: at})
	if err != nil || !info.ExpireTime.Equal(at) {
		t.Fatalf("SetSessionExpiry(ExpireTime) = %+v, %v; want ExpireTime %v", info, err, at)
	}
	info, err = s.SetSessionExpiry(t.Context(), app, "u", sess.ID(), grpcsession.Expiry{})
	if err != nil || !info.ExpireTime.IsZero() {
		t.Fatalf("SetSessionExpiry(never) = %+v, %v; want no ExpireTime", info, err)
	}
	// Changing the expiry leaves the revision alone: the writer's session is still current.
	if err := s.AppendEvent(t.Context(), sess, textEvent("agent", "still current", nil)); err != nil {
		t.Fatalf("AppendEvent() after SetSessionExpiry error = %v, want the session still current", err)
	}
	if _, err := s.SetSessionExpiry(t.Context(), app, "u", sess.ID(), grpcsession.Expiry{TTL: time.Second}); err != nil {
		t.Fatalf("SetSessionExpiry(TTL) error = %v", err)
	}
	eventually(t, "the session expiring a second after SetSessionExpiry", func() bool {
		_, err := s.GetSessionInfo(t.Context(), app, "u", sess.ID())
		return errors.Is(err, grpcsession.ErrSessionNotFound)
	})
	_, err = s.SetSessionExpiry(t.Context(), app, "u", sess.ID(), grpcsession.Expiry{TTL: time.Hour})
	if !errors.Is(err, grpcsession.ErrSessionNotFound) {
		t.Errorf("SetSessionExpiry() of an expired session error = %v, want ErrSessionNotFound", err)
	}
}

func TestAClosedSessionRefusesAppendsAndStillReads(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	sess := create(t, s, app, "u", map[string]any{"k": "v"})
	stored := textEvent("user", "before the close", map[string]any{"step": 1})
	if err := s.AppendEvent(t.Context(), sess, stored); err != nil {
		t.Fatalf("AppendEvent() error = %v", err)
	}
	before := time.Now().Add(-time.Second)
	info, err := s.CloseSession(t.Context(), sess)
	if err != nil {
		t.Fatalf("CloseSession() error = %v", err)
	}
	if info.CloseTime.Before(before) || info.CloseTime.After(time.Now().Add(time.Second)) {
		t.Errorf("CloseTime = %v, want about now", info.CloseTime)
	}

	err = s.AppendEvent(t.Context(), sess, textEvent("agent", "after the close", nil))
	if !errors.Is(err, grpcsession.ErrSessionClosed) || status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("AppendEvent() to a closed session error = %v, want ErrSessionClosed", err)
	}
	if errors.Is(err, grpcsession.ErrStaleSession) || errors.Is(err, grpcsession.ErrSessionNotFound) {
		t.Errorf("the closed-session error %v also matches another sentinel", err)
	}
	var failure *grpcsession.Error
	if !errors.As(err, &failure) || failure.Reason != "SESSION_CLOSED" {
		t.Errorf("error = %#v, want reason SESSION_CLOSED", err)
	}
	// A retry of an append stored before the close answers as the first time.
	if err := s.AppendEvent(t.Context(), get(t, s, sess), stored); err != nil {
		t.Errorf("AppendEvent() retrying an event stored before the close error = %v, want success", err)
	}

	reread := get(t, s, sess)
	if reread.Events().Len() != 1 || reread.Events().At(0).ID != stored.ID || stateOf(reread)["step"] != float64(1) {
		t.Errorf("closed session reads %d events, state %v; want the one stored before the close", reread.Events().Len(), stateOf(reread))
	}
	if !listedIDs(t, s, app, "u")[sess.ID()] {
		t.Errorf("a closed session is not listed")
	}
	again, err := s.CloseSession(t.Context(), sess)
	if err != nil || !again.CloseTime.Equal(info.CloseTime) {
		t.Errorf("second CloseSession() = %+v, %v; want success keeping CloseTime %v", again, err, info.CloseTime)
	}
	got, err := s.GetSessionInfo(t.Context(), app, "u", sess.ID())
	if err != nil || !got.CloseTime.Equal(info.CloseTime) {
		t.Errorf("GetSessionInfo() = %+v, %v; want CloseTime %v", got, err, info.CloseTime)
	}
	_, err = s.CloseSession(t.Context(), handMadeSession{app: app, user: "u", id: "missing"})
	if !errors.Is(err, grpcsession.ErrSessionNotFound) {
		t.Errorf("CloseSession() of a missing session error = %v, want ErrSessionNotFound", err)
	}
}

// holdAppends holds every AppendEvent call until release is closed, and
// records the methods called.
func holdAppends(held chan<- struct{}, release <-chan struct{}, closes *atomic.Int32) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		switch {
		case strings.HasSuffix(method, "/AppendEvent"):
			held <- struct{}{}
			<-release
		case strings.HasSuffix(method, "/CloseSession"):
			closes.Add(1)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

func TestCloseSessionWaitsForTheSessionsAppendsUnderWay(t *testing.T) {
	held, release := make(chan struct{}, 1), make(chan struct{})
	var closes atomic.Int32
	// The unary path, where an interceptor can hold the append.
	s := newService(t, grpcsession.WithStreamAppends(false),
		grpcsession.WithDialOptions(grpc.WithChainUnaryInterceptor(holdAppends(held, release, &closes))))
	app := uniqueApp()
	sess := create(t, s, app, "u", nil)
	appended := make(chan error, 1)
	go func() { appended <- s.AppendEvent(context.Background(), sess, textEvent("user", "in flight", nil)) }()
	<-held
	closed := make(chan error, 1)
	go func() {
		_, err := s.CloseSession(context.Background(), sess)
		closed <- err
	}()
	select {
	case err := <-closed:
		t.Fatalf("CloseSession() returned (%v) while an append to the session was under way", err)
	case <-time.After(300 * time.Millisecond):
	}
	if n := closes.Load(); n != 0 {
		t.Fatalf("CloseSession was sent %d times while an append to the session was under way", n)
	}
	close(release)
	if err := <-appended; err != nil {
		t.Errorf("the append under way at the close failed: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("CloseSession() error = %v", err)
	}
	if n := get(t, s, sess).Events().Len(); n != 1 {
		t.Errorf("the closed session has %d events, want the one under way at the close", n)
	}
}

func TestEraseUserLeavesNothingOfTheUserAndTouchesNoOneElse(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	var erased []session.Session
	for range 3 {
		sess := create(t, s, app, "ada", map[string]any{"user:lang": "en", "app:shared": 1, "own": true})
		if err := s.AppendEvent(t.Context(), sess, textEvent("user", "hi", nil)); err != nil {
			t.Fatalf("AppendEvent() error = %v", err)
		}
		erased = append(erased, sess)
	}
	other := create(t, s, app, "bob", map[string]any{"user:lang": "fr"})
	if err := s.AppendEvent(t.Context(), other, textEvent("user", "bonjour", nil)); err != nil {
		t.Fatalf("AppendEvent() error = %v", err)
	}

	deleted, err := s.EraseUser(t.Context(), app, "ada")
	if err != nil || deleted != 3 {
		t.Fatalf("EraseUser() = %d, %v; want 3 sessions deleted", deleted, err)
	}
	for _, sess := range erased {
		if _, err := s.Get(t.Context(), &session.GetRequest{AppName: app, UserID: "ada", SessionID: sess.ID()}); !errors.Is(err, grpcsession.ErrSessionNotFound) {
			t.Errorf("Get() of an erased session error = %v, want ErrSessionNotFound", err)
		}
	}
	if ids := listedIDs(t, s, app, "ada"); len(ids) != 0 {
		t.Errorf("erased user still lists %v", ids)
	}
	if state, err := s.GetUserState(t.Context(), app, "ada"); err != nil || len(state) != 0 {
		t.Errorf("erased user's state = %v, %v; want empty", state, err)
	}
	if state, err := s.GetAppState(t.Context(), app); err != nil || state["shared"] != float64(1) {
		t.Errorf("app state after the erase = %v, %v; want it kept", state, err)
	}
	kept := get(t, s, other)
	if kept.Events().Len() != 1 || stateOf(kept)["user:lang"] != "fr" {
		t.Errorf("the other user's session after the erase: %d events, state %v; want it untouched", kept.Events().Len(), stateOf(kept))
	}
	again, err := s.EraseUser(t.Context(), app, "ada")
	if err != nil || again != 0 {
		t.Errorf("second EraseUser() = %d, %v; want 0, nil", again, err)
	}
	// A session the user creates afterwards is new and unaffected.
	fresh := create(t, s, app, "ada", nil)
	if stateOf(fresh)["user:lang"] != nil {
		t.Errorf("a session created after the erase has the erased user state %v", stateOf(fresh))
	}
}

// loseFirstAnswers lets the first call of each lifecycle method reach the
// server, then reports UNAVAILABLE, as when a connection drops after the
// server acted but before its answer arrived; it counts the attempts.
func loseFirstAnswers(attempts map[string]*atomic.Int32) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		name := method[strings.LastIndex(method, "/")+1:]
		if counter, ok := attempts[name]; ok && err == nil && counter.Add(1) == 1 {
			return status.Error(codes.Unavailable, "answer lost after the server acted")
		}
		return err
	}
}

func TestLifecycleCallsWhoseAnswerIsLostAreRetried(t *testing.T) {
	attempts := map[string]*atomic.Int32{"UpdateSession": {}, "CloseSession": {}, "EraseUser": {}}
	s := newService(t, grpcsession.WithDialOptions(grpc.WithChainUnaryInterceptor(loseFirstAnswers(attempts))))
	app := uniqueApp()
	sess := create(t, s, app, "u", nil)
	if _, err := s.SetSessionExpiry(t.Context(), app, "u", sess.ID(), grpcsession.Expiry{TTL: time.Hour}); err != nil {
		t.Errorf("SetSessionExpiry() error = %v (the retry should have succeeded)", err)
	}
	first, err := s.CloseSession(t.Context(), sess)
	if err != nil {
		t.Fatalf("CloseSession() error = %v (the retry should have succeeded)", err)
	}
	if info, err := s.GetSessionInfo(t.Context(), app, "u", sess.ID()); err != nil || !info.CloseTime.Equal(first.CloseTime) {
		t.Errorf("GetSessionInfo() = %+v, %v; want the close of the first attempt", info, err)
	}
	if _, err := s.EraseUser(t.Context(), app, "u"); err != nil {
		t.Errorf("EraseUser() error = %v (the retry should have succeeded)", err)
	}
	if ids := listedIDs(t, s, app, "u"); len(ids) != 0 {
		t.Errorf("after the erase the user lists %v", ids)
	}
	for name, counter := range attempts {
		if n := counter.Load(); n != 2 {
			t.Errorf("%s was attempted %d times, want 2 (one lost answer, one retry)", name, n)
		}
	}
}
