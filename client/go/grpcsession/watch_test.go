package grpcsession_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/adk/v2/session"
	"google.golang.org/grpc"

	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/grpcsession"
	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/internal/testserver"
)

// Watching against a real server: every event in order, live ones too, the
// end with its reason, NOT_FOUND as ErrSessionNotFound, a session deleted
// while its watch reconnects ended as deleted, and a watcher the server cuts
// off for falling behind resumed without losing an event.

const watchWait = 60 * time.Second

// watched collects a WatchSessionUpdates iteration run in the background.
type watched struct {
	mu      sync.Mutex
	updates []grpcsession.WatchUpdate
	err     error
	done    chan struct{}
}

func watchInBackground(ctx context.Context, s *grpcsession.Service, app, user, id string, after int64,
	hold <-chan struct{}) *watched {
	w := &watched{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for update, err := range s.WatchSessionUpdates(ctx, app, user, id, after) {
			w.mu.Lock()
			if err != nil {
				w.err = err
			} else {
				w.updates = append(w.updates, update)
			}
			w.mu.Unlock()
			if hold != nil {
				<-hold
			}
		}
	}()
	return w
}

func (w *watched) eventIDs() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ids []string
	for _, u := range w.updates {
		if u.Event != nil {
			ids = append(ids, u.Event.ID)
		}
	}
	return ids
}

func (w *watched) caughtUp() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.ContainsFunc(w.updates, func(u grpcsession.WatchUpdate) bool { return u.CaughtUp })
}

func (w *watched) wait(t *testing.T) {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(watchWait):
		t.Fatalf("the watch did not end within %v; events %v", watchWait, w.eventIDs())
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(watchWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s never happened", watchWait, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func appendEvents(t *testing.T, s *grpcsession.Service, sess session.Session, texts ...string) []string {
	t.Helper()
	var ids []string
	for _, text := range texts {
		event := textEvent("agent", text, nil)
		if err := s.AppendEvent(t.Context(), sess, event); err != nil {
			t.Fatalf("AppendEvent(%q) error = %v", text, err)
		}
		ids = append(ids, event.ID)
	}
	return ids
}

func TestWatchSessionYieldsStoredThenLiveEventsAndEndsWhenTheSessionCloses(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	sess := create(t, s, app, "u", nil)
	want := appendEvents(t, s, sess, "one", "two")

	var got []*session.Event
	var watchErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for event, err := range s.WatchSession(t.Context(), app, "u", sess.ID(), 0) {
			if err != nil {
				watchErr = err
				return
			}
			got = append(got, event)
		}
	}()
	info, err := s.GetSessionInfo(t.Context(), app, "u", sess.ID())
	if err != nil {
		t.Fatalf("GetSessionInfo() error = %v", err)
	}
	live := watchInBackground(t.Context(), s, app, "u", sess.ID(), info.Revision, nil)
	waitFor(t, "the second watch caught up", live.caughtUp)
	want = append(want, appendEvents(t, s, sess, "three")...)
	if _, err := s.CloseSession(t.Context(), get(t, s, sess)); err != nil {
		t.Fatalf("CloseSession() error = %v", err)
	}
	select {
	case <-done:
	case <-time.After(watchWait):
		t.Fatal("WatchSession did not end after the session was closed")
	}
	live.wait(t)
	if watchErr != nil {
		t.Fatalf("WatchSession error = %v", watchErr)
	}
	var ids []string
	for _, event := range got {
		ids = append(ids, event.ID)
	}
	if !slices.Equal(ids, want) || got[2].Content.Parts[0].Text != "three" {
		t.Fatalf("WatchSession events = %v, want %v", ids, want)
	}
	// The watch from the revision read before "three" has only it, then the end.
	if ids := live.eventIDs(); !slices.Equal(ids, want[2:]) {
		t.Fatalf("watch after revision %d: events %v, want %v", info.Revision, ids, want[2:])
	}
	last := live.updates[len(live.updates)-1]
	if last.Ended != grpcsession.EndClosed || live.err != nil {
		t.Fatalf("last update = %+v (error %v), want the end, closed", last, live.err)
	}
}

func TestWatchSessionEndsWithDeletedWhenTheSessionIsDeleted(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	sess := create(t, s, app, "u", nil)
	w := watchInBackground(t.Context(), s, app, "u", sess.ID(), 0, nil)
	waitFor(t, "the watch caught up", w.caughtUp)
	if err := s.Delete(t.Context(), &session.DeleteRequest{AppName: app, UserID: "u", SessionID: sess.ID()}); err != nil {
		t.Fatalf("Delete() error = %v", err)
	}
	w.wait(t)
	if last := w.updates[len(w.updates)-1]; last.Ended != grpcsession.EndDeleted || w.err != nil {
		t.Fatalf("last update = %+v (error %v), want the end, deleted", last, w.err)
	}
}

// connectionGate dials for a client the test can cut off from its server:
// shut closes the client's connections and holds its new ones until open.
type connectionGate struct {
	mu     sync.Mutex
	opened chan struct{}
	conns  []net.Conn
}

func newConnectionGate() *connectionGate {
	g := &connectionGate{opened: make(chan struct{})}
	close(g.opened)
	return g
}

func (g *connectionGate) dial(ctx context.Context, address string) (net.Conn, error) {
	g.mu.Lock()
	opened := g.opened
	g.mu.Unlock()
	select {
	case <-opened:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", address)
	if err == nil {
		g.mu.Lock()
		g.conns = append(g.conns, conn)
		g.mu.Unlock()
	}
	return conn, err
}

func (g *connectionGate) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.opened = make(chan struct{})
	for _, conn := range g.conns {
		_ = conn.Close()
	}
	g.conns = nil
}

func (g *connectionGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.opened)
}

func TestASessionGoneWhileItsWatchReconnectsEndsTheWatchDeleted(t *testing.T) {
	gate := newConnectionGate()
	watcher := newService(t, grpcsession.WithTimeout(watchWait),
		grpcsession.WithDialOptions(grpc.WithContextDialer(gate.dial)))
	s := newService(t)
	app := uniqueApp()
	sess := create(t, s, app, "u", nil)
	appendEvents(t, s, sess, "one")
	w := watchInBackground(t.Context(), watcher, app, "u", sess.ID(), 0, nil)
	waitFor(t, "the watch caught up", w.caughtUp)
	gate.shut() // the stream breaks; the next one waits for the gate
	if err := s.Delete(t.Context(), &session.DeleteRequest{AppName: app, UserID: "u", SessionID: sess.ID()}); err != nil {
		t.Fatalf("Delete() error = %v", err)
	}
	gate.open()
	w.wait(t)
	if w.err != nil {
		t.Fatalf("watch error = %v, want the end, deleted", w.err)
	}
	var got []string
	for _, u := range w.updates {
		switch {
		case u.Event != nil:
			got = append(got, "event")
		case u.CaughtUp:
			got = append(got, "caughtUp")
		default:
			got = append(got, string(u.Ended))
		}
	}
	if want := []string{"event", "caughtUp", string(grpcsession.EndDeleted)}; !slices.Equal(got, want) {
		t.Fatalf("updates = %v, want %v", got, want)
	}
}

func TestWatchingAMissingSessionIsErrSessionNotFound(t *testing.T) {
	s := newService(t)
	for _, err := range s.WatchSession(t.Context(), uniqueApp(), "u", "missing", 0) {
		if !errors.Is(err, grpcsession.ErrSessionNotFound) {
			t.Fatalf("WatchSession error = %v, want ErrSessionNotFound", err)
		}
		return
	}
	t.Fatal("WatchSession of a missing session yielded nothing")
}

func TestAWatchStopsWhenItsContextEnds(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	sess := create(t, s, app, "u", nil)
	ctx, cancel := context.WithCancel(t.Context())
	w := watchInBackground(ctx, s, app, "u", sess.ID(), 0, nil)
	waitFor(t, "the watch caught up", w.caughtUp)
	cancel()
	w.wait(t)
	if !errors.Is(w.err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", w.err)
	}
}

func TestAWatcherCutOffForFallingBehindResumesWithoutLosingAnEvent(t *testing.T) {
	address := testserver.Start(t, "--watch-buffer-bytes", "16384")
	writer := newServiceOn(t, address)
	// A fixed, small flow-control window (no BDP growth): a watcher that does not
	// read leaves the data on the server, past its bound.
	slow := newServiceOn(t, address, grpcsession.WithDialOptions(
		grpc.WithInitialWindowSize(65535), grpc.WithInitialConnWindowSize(65535)))
	app := uniqueApp()
	sess := create(t, writer, app, "u", nil)
	release := make(chan struct{})
	var once sync.Once
	hold := make(chan struct{})
	go func() { <-release; once.Do(func() { close(hold) }) }()
	w := watchInBackground(t.Context(), slow, app, "u", sess.ID(), 0, hold)
	waitFor(t, "the watch caught up", w.caughtUp)
	padding := strings.Repeat("x", 8*1024)
	var want []string
	for i := range 120 {
		want = append(want, appendEvents(t, writer, sess, fmt.Sprintf("event %d %s", i, padding))...)
	}
	close(release)
	waitFor(t, "every event watched", func() bool {
		w.mu.Lock()
		failed := w.err != nil
		w.mu.Unlock()
		return failed || len(w.eventIDs()) >= len(want)
	})
	if w.err != nil {
		t.Fatalf("watch error after %d events: %v", len(w.eventIDs()), w.err)
	}
	if got := w.eventIDs(); !slices.Equal(got, want) {
		t.Fatalf("watched %d events, want %d in order (first difference at %d)", len(got), len(want),
			firstDifference(got, want))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	caughtUps := 0
	for _, u := range w.updates {
		if u.CaughtUp {
			caughtUps++
		}
	}
	if caughtUps < 2 || w.err != nil {
		t.Fatalf("caught up %d times (error %v): the watcher was never cut off and resumed", caughtUps, w.err)
	}
}

func firstDifference(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestAWatchResumesAfterTheServerIsKilledAndStartedAgain(t *testing.T) {
	server := testserver.StartOnFile(t)
	s := newServiceOn(t, server.Address, grpcsession.WithTimeout(watchWait))
	app := uniqueApp()
	sess := create(t, s, app, "u", nil)
	want := appendEvents(t, s, sess, "before 1", "before 2")
	w := watchInBackground(t.Context(), s, app, "u", sess.ID(), 0, nil)
	waitFor(t, "the watch caught up", w.caughtUp)
	server.Kill()
	server.Restart(t)
	sess = get(t, s, sess)
	want = append(want, appendEvents(t, s, sess, "after 1", "after 2")...)
	if _, err := s.CloseSession(t.Context(), get(t, s, sess)); err != nil {
		t.Fatalf("CloseSession() error = %v", err)
	}
	w.wait(t)
	if w.err != nil {
		t.Fatalf("watch error = %v", w.err)
	}
	if got := w.eventIDs(); !slices.Equal(got, want) {
		t.Fatalf("watched %v, want %v", got, want)
	}
	if last := w.updates[len(w.updates)-1]; last.Ended != grpcsession.EndClosed {
		t.Fatalf("last update = %+v, want the end, closed", last)
	}
}
