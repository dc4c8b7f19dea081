package grpcsession

// Watching one user's sessions live (WatchSessions): a listing, then a
// notice of each change. Like WatchSession it is a chain of streams, each
// opened within the service's time budget (see watch_streams.go); but a
// stream has no resume point, so when one breaks (a lost connection,
// "SERVER_DRAINING", "WATCHER_TOO_SLOW") the next one starts with a new
// listing, announced as a Relisting update, exactly as when the server
// itself starts over.

import (
	"context"
	"iter"

	"google.golang.org/adk/v2/session"
	"google.golang.org/grpc"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
)

// NoticeKind says what a SessionNotice says of a session.
type NoticeKind string

const (
	// NoticeListed: the session exists; part of a listing (before CaughtUp).
	NoticeListed NoticeKind = "listed"
	// NoticeCreated: created or forked; for a session id already held, it
	// replaces it (deleted and created again).
	NoticeCreated NoticeKind = "created"
	// NoticeUpdated: an event was appended, or its metadata or expiry changed.
	NoticeUpdated NoticeKind = "updated"
	// NoticeClosed: it was closed.
	NoticeClosed NoticeKind = "closed"
	// NoticeDeleted: it was deleted.
	NoticeDeleted NoticeKind = "deleted"
	// NoticeExpired: its expiry passed.
	NoticeExpired NoticeKind = "expired"
	// NoticeUnknown: a kind newer than this client.
	NoticeUnknown NoticeKind = "unknown"
)

var noticeKinds = map[sessionsv1.SessionNotice_Kind]NoticeKind{
	sessionsv1.SessionNotice_KIND_LISTED:  NoticeListed,
	sessionsv1.SessionNotice_KIND_CREATED: NoticeCreated,
	sessionsv1.SessionNotice_KIND_UPDATED: NoticeUpdated,
	sessionsv1.SessionNotice_KIND_CLOSED:  NoticeClosed,
	sessionsv1.SessionNotice_KIND_DELETED: NoticeDeleted,
	sessionsv1.SessionNotice_KIND_EXPIRED: NoticeExpired,
}

// SessionNotice is one session listed, or changed since the last notice of it.
type SessionNotice struct {
	Kind      NoticeKind
	SessionID string
	// Session is the session as read after the change (its state, no
	// events); nil once deleted or expired.
	Session session.Session
	// Info is its metadata, expiry and close time as read then; nil once
	// deleted or expired.
	Info *SessionInfo
}

// SessionsUpdate is one item of WatchSessions: exactly one of Notice,
// CaughtUp and Relisting says what it is.
type SessionsUpdate struct {
	// Notice is a session listed or changed; nil for the other kinds.
	Notice *SessionNotice
	// CaughtUp: a listing is complete (Listed sessions); notices of
	// changes follow as they are committed.
	CaughtUp bool
	// Listed is how many sessions the listing held (with CaughtUp).
	Listed int64
	// Relisting: the watch starts over; a new listing follows, and a
	// session it does not list again before CaughtUp is gone.
	Relisting bool
}

// WatchSessions follows every session of userID in appName live: a listing
// of them (notices NoticeListed), a CaughtUp update, then a notice of each
// session created, updated, closed, deleted or expired as it is committed:
//
//	for update, err := range service.WatchSessions(ctx, app, user) {
//		if err != nil { ... }
//		...
//	}
//
// It reconnects by itself; as a new stream cannot resume the last one, it
// starts over with a Relisting update and a new listing. The iteration goes
// on until the loop breaks; it ends with an error (the last pair) when the
// server cannot be reached within the service's time budget
// (ErrUnavailable), refuses the watch, or ctx ends.
func (s *Service) WatchSessions(ctx context.Context, appName, userID string) iter.Seq2[SessionsUpdate, error] {
	return func(yield func(SessionsUpdate, error) bool) {
		request := &sessionsv1.WatchSessionsRequest{AppName: appName, UserId: userID}
		follow(ctx, s, streamSteps[sessionsv1.WatchSessionsResponse, SessionsUpdate]{
			// A stream has no resume point: each starts with a listing.
			start: func(streamCtx context.Context) (grpc.ServerStreamingClient[sessionsv1.WatchSessionsResponse], error) {
				return s.client.WatchSessions(streamCtx, request)
			},
			updatesOf: sessionsUpdatesOf,
			resumed:   &SessionsUpdate{Relisting: true},
		}, yield)
	}
}

// sessionsUpdatesOf returns what one WatchSessions message carries (none
// ends the watch).
func sessionsUpdatesOf(message *sessionsv1.WatchSessionsResponse) ([]SessionsUpdate, bool, error) {
	switch kind := message.GetKind().(type) {
	case *sessionsv1.WatchSessionsResponse_Notices:
		updates := make([]SessionsUpdate, 0, len(kind.Notices.GetNotices()))
		for _, notice := range kind.Notices.GetNotices() {
			noticed, err := noticeOf(notice)
			if err != nil {
				return nil, false, err
			}
			updates = append(updates, SessionsUpdate{Notice: noticed})
		}
		return updates, false, nil
	case *sessionsv1.WatchSessionsResponse_CaughtUp:
		return []SessionsUpdate{{CaughtUp: true, Listed: kind.CaughtUp.GetListed()}}, false, nil
	case *sessionsv1.WatchSessionsResponse_Relisting:
		return []SessionsUpdate{{Relisting: true}}, false, nil
	}
	return nil, false, nil // a kind newer than this client
}

func noticeOf(notice *sessionsv1.SessionNotice) (*SessionNotice, error) {
	kind, known := noticeKinds[notice.GetKind()]
	if !known {
		kind = NoticeUnknown
	}
	noticed := &SessionNotice{Kind: kind, SessionID: notice.GetSessionId()}
	if kind == NoticeDeleted || kind == NoticeExpired || notice.GetSession() == nil {
		return noticed, nil
	}
	stored, err := sessionFromMessage(notice.GetSession())
	if err != nil {
		return nil, err
	}
	noticed.Session = stored
	noticed.Info = sessionInfoFromMessage(notice.GetSession())
	return noticed, nil
}
