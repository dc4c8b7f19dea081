package grpcsession

// Watching a session live (WatchSession). A watch is one long stream, so it
// is not one retried call but a chain of streams (watch_streams.go), each
// opened after the last revision received. Opening one follows the retry
// rule of retry.go: within the service's time budget (WithTimeout) it rides
// out a server that is down, backing off, and fails with ErrUnavailable if
// the server stays unreachable for the whole budget. An open stream has no deadline; when it
// breaks (a lost connection, a server draining with "SERVER_DRAINING", a
// watcher cut off for falling behind with "WATCHER_TOO_SLOW") the next one
// is opened with a fresh budget after the last revision received, which the
// contract guarantees gives no gap and no duplicate.

import (
	"context"
	"iter"
	"strings"

	"google.golang.org/adk/v2/session"
	"google.golang.org/grpc"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
)

// EndReason says why a watched session ended.
type EndReason string

const (
	// EndClosed: the session was closed; every event stored before was delivered.
	EndClosed EndReason = "closed"
	// EndDeleted: the session was deleted. Also what a watch that resumes
	// finds when the session is gone (or was deleted and created again) meanwhile.
	EndDeleted EndReason = "deleted"
	// EndExpired: the session's expiry passed.
	EndExpired EndReason = "expired"
	// EndUnknown: a reason newer than this client.
	EndUnknown EndReason = "unknown"
)

// WatchUpdate is one item of WatchSessionUpdates: exactly one of Event,
// CaughtUp and Ended says what it is.
type WatchUpdate struct {
	// Event is an event of the session as stored; nil for the other kinds.
	Event *session.Event
	// EventJSON is Event exactly as stored (ADK Python's camelCase JSON),
	// to forward without encoding it again; empty for the other kinds.
	EventJSON string
	// Revision is the session's revision right after Event, or the
	// revision CaughtUp reports: a resume point (afterRevision).
	Revision int64
	// CaughtUp: every event stored when the stream opened has been
	// delivered (after each (re)connection's backlog, even an empty one).
	CaughtUp bool
	// Ended is why the session ended (the last update); empty otherwise.
	Ended EndReason
}

// WatchSession follows a session live: every event stored after
// afterRevision (0: from the first; Info's Revision for only those appended
// from now on), in order, then each event as it is committed:
//
//	for event, err := range service.WatchSession(ctx, app, user, id, 0) {
//		if err != nil { ... }
//		...
//	}
//
// It reconnects by itself, resuming after the last event received: no event
// is missed or repeated. The iteration ends without an error when the
// session is closed, deleted or expired (WatchSessionUpdates says which), or
// when the loop breaks; it ends with an error (the last pair) when the
// session does not exist (ErrSessionNotFound), the server cannot be reached
// within the service's time budget (ErrUnavailable), or ctx ends.
func (s *Service) WatchSession(ctx context.Context, appName, userID, sessionID string,
	afterRevision int64) iter.Seq2[*session.Event, error] {
	return func(yield func(*session.Event, error) bool) {
		for update, err := range s.WatchSessionUpdates(ctx, appName, userID, sessionID, afterRevision) {
			if err != nil {
				yield(nil, err)
				return
			}
			if update.Event != nil && !yield(update.Event, nil) {
				return
			}
		}
	}
}

// WatchSessionUpdates is WatchSession as typed updates: each event with its
// revision, the caught-up marker after each connection's backlog, and the
// end with its reason, for a watcher that keeps its own resume point or
// shows when it is live.
func (s *Service) WatchSessionUpdates(ctx context.Context, appName, userID, sessionID string,
	afterRevision int64) iter.Seq2[WatchUpdate, error] {
	return func(yield func(WatchUpdate, error) bool) {
		w := watch{revision: afterRevision}
		request := &sessionsv1.WatchSessionRequest{
			AppName: appName, UserId: userID, SessionId: strings.TrimSpace(sessionID),
		}
		follow(ctx, s, streamSteps[sessionsv1.WatchSessionResponse, WatchUpdate]{
			start: func(streamCtx context.Context) (grpc.ServerStreamingClient[sessionsv1.WatchSessionResponse], error) {
				request.AfterRevision = w.revision // a new stream resumes after the last revision received
				return s.client.WatchSession(streamCtx, request)
			},
			updatesOf: w.updatesOf,
			gone:      &WatchUpdate{Ended: EndDeleted},
		}, yield)
	}
}

// watch is the state of one WatchSessionUpdates iteration.
type watch struct {
	revision int64 // the last revision received: where a new stream starts
}

// updatesOf returns what one message carries, moving w.revision past it, and
// whether it ends the watch.
func (w *watch) updatesOf(message *sessionsv1.WatchSessionResponse) ([]WatchUpdate, bool, error) {
	switch kind := message.GetKind().(type) {
	case *sessionsv1.WatchSessionResponse_Events:
		updates := make([]WatchUpdate, 0, len(kind.Events.GetEvents()))
		for _, watched := range kind.Events.GetEvents() {
			event, err := eventFromJSON(watched.GetEvent().GetEventJson())
			if err != nil {
				return nil, false, err
			}
			updates = append(updates, WatchUpdate{
				Event: event, EventJSON: watched.GetEvent().GetEventJson(), Revision: watched.GetRevision(),
			})
			w.revision = watched.GetRevision()
		}
		return updates, false, nil
	case *sessionsv1.WatchSessionResponse_CaughtUp:
		w.revision = kind.CaughtUp.GetRevision()
		return []WatchUpdate{{CaughtUp: true, Revision: w.revision}}, false, nil
	case *sessionsv1.WatchSessionResponse_Ended:
		reason := EndUnknown
		switch kind.Ended.GetReason() {
		case sessionsv1.WatchEnded_REASON_CLOSED:
			reason = EndClosed
		case sessionsv1.WatchEnded_REASON_DELETED:
			reason = EndDeleted
		case sessionsv1.WatchEnded_REASON_EXPIRED:
			reason = EndExpired
		}
		return []WatchUpdate{{Ended: reason, Revision: w.revision}}, true, nil
	}
	return nil, false, nil // a kind newer than this client
}
