package grpcsession_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"google.golang.org/adk/v2/session"

	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/grpcsession"
	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/internal/testserver"
)

// Watching a user's sessions against a real server: the listing, caught_up,
// then a session created and one deleted seen live.

// sessionsWatched collects a WatchSessions iteration run in the background.
type sessionsWatched struct {
	mu      sync.Mutex
	updates []grpcsession.SessionsUpdate
	err     error
}

func (w *sessionsWatched) has(match func(grpcsession.SessionsUpdate) bool) func() bool {
	return func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, update := range w.updates {
			if match(update) {
				return true
			}
		}
		return false
	}
}

// watchSessionsInBackground runs a WatchSessions iteration until cancel;
// done closes once it has ended.
func watchSessionsInBackground(t *testing.T, s *grpcsession.Service, app, user string) (
	w *sessionsWatched, cancel context.CancelFunc, done <-chan struct{}) {
	w = &sessionsWatched{}
	ctx, cancel := context.WithCancel(t.Context())
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for update, err := range s.WatchSessions(ctx, app, user) {
			w.mu.Lock()
			if err != nil {
				w.err = err
			} else {
				w.updates = append(w.updates, update)
			}
			w.mu.Unlock()
		}
	}()
	return w, cancel, finished
}

func caughtUps(w *sessionsWatched) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	count := 0
	for _, update := range w.updates {
		if update.CaughtUp {
			count++
		}
	}
	return count
}

func noticed(kind grpcsession.NoticeKind, id string) func(grpcsession.SessionsUpdate) bool {
	return func(u grpcsession.SessionsUpdate) bool {
		return u.Notice != nil && u.Notice.Kind == kind && u.Notice.SessionID == id
	}
}

func TestWatchSessionsListsThenSeesACreateAndADeleteLive(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	listed := create(t, s, app, "u", map[string]any{"k": "v"})
	create(t, s, app, "someone else", nil)

	w, cancel, done := watchSessionsInBackground(t, s, app, "u")
	waitFor(t, "the watch caught up", w.has(func(u grpcsession.SessionsUpdate) bool { return u.CaughtUp }))
	w.mu.Lock()
	if len(w.updates) != 2 || w.updates[1].Listed != 1 {
		t.Fatalf("updates before live ones = %+v, want one listed session then caught_up (listed 1)", w.updates)
	}
	first := w.updates[0].Notice
	if first == nil || first.Kind != grpcsession.NoticeListed || first.SessionID != listed.ID() ||
		first.Info == nil || first.Session == nil {
		w.mu.Unlock()
		t.Fatalf("first update = %+v, want %q listed with its head", first, listed.ID())
	}
	if value, err := first.Session.State().Get("k"); err != nil || value != "v" {
		w.mu.Unlock()
		t.Fatalf("listed state k = %v (error %v), want v", value, err)
	}
	w.mu.Unlock()

	created := create(t, s, app, "u", nil)
	waitFor(t, "the create was noticed", w.has(noticed(grpcsession.NoticeCreated, created.ID())))
	if err := s.Delete(t.Context(), &session.DeleteRequest{AppName: app, UserID: "u", SessionID: listed.ID()}); err != nil {
		t.Fatalf("Delete() error = %v", err)
	}
	waitFor(t, "the delete was noticed", w.has(func(u grpcsession.SessionsUpdate) bool {
		return noticed(grpcsession.NoticeDeleted, listed.ID())(u) && u.Notice.Session == nil && u.Notice.Info == nil
	}))
	cancel()
	<-done
	if !errors.Is(w.err, context.Canceled) {
		t.Fatalf("WatchSessions error = %v, want context.Canceled once its context ends", w.err)
	}
}

func TestWatchSessionsRelistsAfterTheServerRestarts(t *testing.T) {
	server := testserver.StartOnFile(t)
	s := newServiceOn(t, server.Address)
	app := uniqueApp()
	kept := create(t, s, app, "u", nil)
	w, cancel, done := watchSessionsInBackground(t, s, app, "u")
	waitFor(t, "the watch caught up", func() bool { return caughtUps(w) == 1 })
	server.Kill()
	server.Restart(t)
	waitFor(t, "the watch caught up again", func() bool { return caughtUps(w) == 2 })
	created := create(t, s, app, "u", nil)
	waitFor(t, "the create was noticed", w.has(noticed(grpcsession.NoticeCreated, created.ID())))
	cancel()
	<-done
	w.mu.Lock()
	defer w.mu.Unlock()
	// The first listing, then the relisting with the same session listed again.
	after := w.updates[2:]
	if len(after) < 3 || !after[0].Relisting || after[1].Notice == nil ||
		after[1].Notice.Kind != grpcsession.NoticeListed || after[1].Notice.SessionID != kept.ID() ||
		!after[2].CaughtUp || after[2].Listed != 1 {
		t.Fatalf("updates after the first listing = %+v, want a relisting, %q listed again, caught up", after, kept.ID())
	}
}
