package grpcsession_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/adk/v2/session"

	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/grpcsession"
	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/internal/testserver"
)

// A server killed (SIGKILL) and started again on the same port and SQLite
// file, as a deploy or a crashed sidecar would be: calls made while it is
// down succeed once it is back, within their time budget.

func newServiceOn(t *testing.T, address string, opts ...grpcsession.Option) *grpcsession.Service {
	t.Helper()
	service, err := grpcsession.New(address, opts...)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(func() { _ = service.Close() })
	return service
}

func TestCallsMadeWhileTheServerRestartsSucceedOnceItIsBack(t *testing.T) {
	for _, outage := range []time.Duration{500 * time.Millisecond, 2 * time.Second} {
		t.Run(outage.String(), func(t *testing.T) { testCallsMadeWhileTheServerRestarts(t, outage) })
	}
}

func testCallsMadeWhileTheServerRestarts(t *testing.T, outage time.Duration) {
	server := testserver.StartOnFile(t)
	s := newServiceOn(t, server.Address) // default settings: a 30 s budget
	app := uniqueApp()
	sess := create(t, s, app, "u", nil)
	if err := s.AppendEvent(t.Context(), sess, textEvent("agent", "before", nil)); err != nil {
		t.Fatalf("AppendEvent(before) error = %v", err)
	}
	server.Kill()

	var wg sync.WaitGroup
	var appendErr, getErr error
	during := textEvent("agent", "during", map[string]any{"k": "v"})
	wg.Go(func() { appendErr = s.AppendEvent(t.Context(), sess, during) })
	wg.Go(func() {
		_, getErr = s.Get(t.Context(), &session.GetRequest{AppName: app, UserID: "u", SessionID: sess.ID()})
	})
	time.Sleep(outage)
	server.Restart(t)
	back := time.Now()
	wg.Wait()
	t.Logf("%v outage: the calls made meanwhile succeeded %v after the new server served",
		outage, time.Since(back).Round(time.Millisecond))
	if appendErr != nil || getErr != nil {
		t.Fatalf("calls made during a %v outage: AppendEvent error = %v, Get error = %v", outage, appendErr, getErr)
	}
	stored := get(t, s, sess)
	var ids []string
	for event := range stored.Events().All() {
		ids = append(ids, event.ID)
	}
	if want := []string{sess.Events().At(0).ID, during.ID}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("stored events %v, want %v: each append once", ids, want)
	}
}

func TestTheBudgetEndsACallDuringAnOutageAsUnavailable(t *testing.T) {
	server := testserver.StartOnFile(t)
	s := newServiceOn(t, server.Address, grpcsession.WithTimeout(2*time.Second))
	sess := create(t, s, uniqueApp(), "u", nil)
	server.Kill() // and it stays down for longer than the budget of each call

	calls := map[string]func() error{
		"Get": func() error {
			_, err := s.Get(t.Context(), &session.GetRequest{AppName: sess.AppName(), UserID: "u", SessionID: sess.ID()})
			return err
		},
		"AppendEvent": func() error { return s.AppendEvent(t.Context(), sess, textEvent("agent", "lost", nil)) },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		elapsed := time.Since(start)
		t.Logf("%s with a 2 s budget during an outage: %v after %v", name, err, elapsed.Round(time.Millisecond))
		if !errors.Is(err, grpcsession.ErrUnavailable) {
			t.Errorf("%s error = %v, want ErrUnavailable", name, err)
		}
		if elapsed < 1800*time.Millisecond || elapsed > 3500*time.Millisecond {
			t.Errorf("%s failed after %v, want about its 2 s budget", name, elapsed)
		}
	}
}

func TestACallWithoutABudgetKeepsTryingUntilItsContextEnds(t *testing.T) {
	server := testserver.StartOnFile(t)
	s := newServiceOn(t, server.Address, grpcsession.WithTimeout(0))
	server.Kill()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	start := time.Now()
	_, err := s.Get(ctx, &session.GetRequest{AppName: uniqueApp(), UserID: "u", SessionID: "s"})
	if elapsed := time.Since(start); elapsed < 2900*time.Millisecond {
		t.Errorf("Get() gave up after %v (%v), before its context ended", elapsed, err)
	}
	if err == nil {
		t.Errorf("Get() succeeded against a dead server")
	}
}
