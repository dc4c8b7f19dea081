package grpcsession

// Watching a session live (WatchSession). A watch is one long stream, so it
// is not one retried call but a chain of streams, each opened after the last
// revision received. Opening one follows the retry rule of retry.go: within
// the service's time budget (WithTimeout) it rides out a server that is
// down, backing off, and fails with ErrUnavailable if the server stays
// unreachable for the whole budget. An open stream has no deadline; when it
// breaks (a lost connection, a server draining with "SERVER_DRAINING", a
// watcher cut off for falling behind with "WATCHER_TOO_SLOW") the next one
// is opened with a fresh budget after the last revision received, which the
// contract guarantees gives no gap and no duplicate.

import (
	"context"
	"errors"
	"io"
	"iter"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/adk/v2/session"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
)

// streamClosed is why a watch stream that closed with OK is opened again: the
// server never ends one that way while watched; a proxy may.
const streamClosed = "the watch stream closed while it was watched"

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
		w := watch{service: s, revision: afterRevision, request: &sessionsv1.WatchSessionRequest{
			AppName: appName, UserId: userID, SessionId: strings.TrimSpace(sessionID),
		}}
		w.run(ctx, yield)
	}
}

// watch is the state of one WatchSessionUpdates iteration.
type watch struct {
	service  *Service
	request  *sessionsv1.WatchSessionRequest
	revision int64 // the last revision received: where a new stream starts
	opened   bool  // a stream has been opened (a later NOT_FOUND means the session went)
}

func (w *watch) run(ctx context.Context, yield func(WatchUpdate, error) bool) {
	if len(w.service.metadata) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, w.service.metadata...)
	}
	var failed error // why the last stream broke (retried), nil for the first
	for {
		stream, first, cancel, err := w.open(ctx, failed)
		if err != nil {
			if w.opened && errors.Is(err, ErrSessionNotFound) {
				yield(WatchUpdate{Ended: EndDeleted}, nil)
				return
			}
			yield(WatchUpdate{}, err)
			return
		}
		w.opened = true
		message := first
		for {
			updates, ended, decodeErr := w.updatesOf(message)
			if decodeErr != nil {
				cancel()
				yield(WatchUpdate{}, decodeErr)
				return
			}
			for _, update := range updates {
				if !yield(update, nil) {
					cancel()
					return
				}
			}
			if ended {
				cancel()
				return
			}
			message, err = stream.Recv()
			if err != nil {
				break
			}
		}
		cancel()
		if ctx.Err() != nil {
			yield(WatchUpdate{}, ctx.Err())
			return
		}
		if errors.Is(err, io.EOF) {
			err = status.Error(codes.Unavailable, streamClosed)
		}
		if !resumable(ctx, err) {
			yield(WatchUpdate{}, errorFromRPC(err))
			return
		}
		failed = err
	}
}

// resumable says whether a broken stream is opened again after the last
// revision: as retried calls are, and after "WATCHER_TOO_SLOW".
func resumable(ctx context.Context, err error) bool {
	if retried(ctx, err) {
		return true
	}
	var failure *Error
	return errors.As(errorFromRPC(err), &failure) &&
		failure.Code == codes.ResourceExhausted && failure.Reason == "WATCHER_TOO_SLOW"
}

// open opens a stream after w.revision and reads its first message (the
// server sends one at once: its backlog or caught_up), retrying within the
// service's time budget; failed is why the previous stream broke (nil: the
// watch starts). cancel ends the stream.
func (w *watch) open(ctx context.Context, failed error) (grpc.ServerStreamingClient[sessionsv1.WatchSessionResponse],
	*sessionsv1.WatchSessionResponse, context.CancelFunc, error) {
	return openStream(ctx, w.service, failed,
		func(streamCtx context.Context) (grpc.ServerStreamingClient[sessionsv1.WatchSessionResponse], error) {
			w.request.AfterRevision = w.revision
			return w.service.client.WatchSession(streamCtx, w.request)
		})
}

// openStream opens a watch stream with start and reads its first message,
// retrying within the service's time budget as open describes; shared by
// WatchSession and WatchSessions, whose servers both answer at once.
func openStream[M any](ctx context.Context, s *Service, failed error,
	start func(context.Context) (grpc.ServerStreamingClient[M], error)) (grpc.ServerStreamingClient[M], *M,
	context.CancelFunc, error) {
	var deadline time.Time
	if s.timeout > 0 {
		deadline = time.Now().Add(s.timeout)
	}
	for retry := 1; ; retry++ {
		if failed != nil {
			wait := s.retry.backoff(retry)
			if !deadline.IsZero() && time.Until(deadline) < wait {
				return nil, nil, nil, errorFromRPC(failed)
			}
			select {
			case <-ctx.Done():
				return nil, nil, nil, ctx.Err()
			case <-time.After(wait):
			}
		}
		streamCtx, cancel := context.WithCancel(ctx)
		if failed != nil {
			streamCtx = context.WithValue(streamCtx, waitForReadyKey{}, true)
		}
		var outOfTime atomic.Bool
		var timer *time.Timer
		if !deadline.IsZero() {
			// The stream itself has no deadline; only the wait for its first message has.
			timer = time.AfterFunc(time.Until(deadline), func() { outOfTime.Store(true); cancel() })
		}
		stream, err := start(streamCtx)
		var first *M
		if err == nil {
			first, err = stream.Recv()
		}
		if timer != nil && !timer.Stop() && outOfTime.Load() {
			cancel()
			if failed != nil {
				return nil, nil, nil, errorFromRPC(failed)
			}
			return nil, nil, nil, errorFromRPC(status.Error(codes.Unavailable,
				"the server could not be reached within the call's time budget"))
		}
		if err == nil {
			return stream, first, cancel, nil
		}
		cancel()
		if errors.Is(err, io.EOF) {
			err = status.Error(codes.Unavailable, streamClosed)
		}
		if ctx.Err() != nil {
			return nil, nil, nil, ctx.Err()
		}
		if !resumable(ctx, err) {
			return nil, nil, nil, errorFromRPC(err)
		}
		failed = err
	}
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
