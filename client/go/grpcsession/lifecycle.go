package grpcsession

// The session lifecycle (the "Lifecycle" section of the contract): expiry at
// create and later, close, and erasing a user. These are methods beyond
// adk-go's session.Service, so a Service stays a drop-in session.Service.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/adk/v2/session"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
)

// Expiry says when a session expires: TTL after the server's clock at the
// call, or at ExpireTime. Set at most one of the two. A session given a TTL
// keeps it: on a server run with --session-ttl-refresh-on-append each append
// moves its expiry on by the TTL. The server refuses a TTL that is not
// positive or longer than 100 years, and an ExpireTime in the past, with an
// error matching ErrInvalidArgument.
type Expiry struct {
	// TTL is how long after the call the session expires; 0 = not set.
	TTL time.Duration
	// ExpireTime is the instant the session expires; the zero Time = not set.
	ExpireTime time.Time
}

func (e Expiry) check() error {
	if e.TTL != 0 && !e.ExpireTime.IsZero() {
		return fmt.Errorf("grpcsession: %w: give Expiry.TTL or Expiry.ExpireTime, not both", ErrInvalidArgument)
	}
	return nil
}

// CreateWithExpiry is Create for a session that expires as expiry says; the
// zero Expiry leaves it to the server's default (--session-ttl; by default
// sessions never expire). An expired session is gone at once for every call
// (Get fails with ErrSessionNotFound, List leaves it out); its events and
// session state are then purged by the server, its user and app state kept.
func (s *Service) CreateWithExpiry(ctx context.Context, req *session.CreateRequest, expiry Expiry) (*session.CreateResponse, error) {
	if err := expiry.check(); err != nil {
		return nil, err
	}
	return s.create(ctx, req, func(request *sessionsv1.CreateSessionRequest) { setCreateExpiration(request, expiry) })
}

// SetSessionExpiry changes when a session expires: expiry.TTL from now, at
// expiry.ExpireTime, or, for the zero Expiry, never. Its revision, events
// and state are untouched, so no writer's session becomes stale. Fails with
// ErrSessionNotFound if the session does not exist (or has expired).
func (s *Service) SetSessionExpiry(ctx context.Context, appName, userID, sessionID string, expiry Expiry) (*SessionInfo, error) {
	if err := expiry.check(); err != nil {
		return nil, err
	}
	message := &sessionsv1.Session{AppName: appName, UserId: userID, SessionId: strings.TrimSpace(sessionID)}
	path := "expire_time" // left unset: never
	switch {
	case expiry.TTL != 0:
		message.Expiration = &sessionsv1.Session_Ttl{Ttl: durationpb.New(expiry.TTL)}
		path = "ttl"
	case !expiry.ExpireTime.IsZero():
		message.Expiration = &sessionsv1.Session_ExpireTime{ExpireTime: timestamppb.New(expiry.ExpireTime)}
	}
	request := &sessionsv1.UpdateSessionRequest{Session: message, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{path}}}
	var response *sessionsv1.UpdateSessionResponse
	err := s.call(ctx, func(ctx context.Context) (err error) {
		response, err = s.client.UpdateSession(ctx, request)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sessionInfoFromMessage(response.GetSession()), nil
}

// GetSessionInfo reads a session's expiry, close time and bookkeeping, not
// its events. Fails with ErrSessionNotFound if it does not exist (or has
// expired), as Get does.
func (s *Service) GetSessionInfo(ctx context.Context, appName, userID, sessionID string) (*SessionInfo, error) {
	none := int32(0)
	request := &sessionsv1.GetSessionRequest{
		AppName:         appName,
		UserId:          userID,
		SessionId:       strings.TrimSpace(sessionID),
		NumRecentEvents: &none,
	}
	var response *sessionsv1.GetSessionResponse
	err := s.call(ctx, func(ctx context.Context) (err error) {
		response, err = s.client.GetSession(ctx, request)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sessionInfoFromMessage(response.GetSession()), nil
}

// CloseSession closes sess once this service's appends to it that are under
// way have finished (whatever their outcome), as ADK Python's
// close_session(session=...). A closed session can still be read; every
// later append to it fails with an error matching ErrSessionClosed. Closing
// a closed session succeeds and keeps its first CloseTime. Fails with
// ErrSessionNotFound if the session does not exist (or has expired).
func (s *Service) CloseSession(ctx context.Context, sess session.Session) (*SessionInfo, error) {
	if sess == nil {
		return nil, fmt.Errorf("grpcsession: session is nil")
	}
	key := sessionKey{sess.AppName(), sess.UserID(), sess.ID()}
	for _, done := range s.appends.underWay(key) {
		select {
		case <-done:
		case <-ctx.Done():
			return nil, fmt.Errorf("grpcsession: waiting for the session's appends under way: %w", ctx.Err())
		}
	}
	request := &sessionsv1.CloseSessionRequest{AppName: key.app, UserId: key.user, SessionId: key.id}
	var response *sessionsv1.CloseSessionResponse
	err := s.call(ctx, func(ctx context.Context) (err error) {
		response, err = s.client.CloseSession(ctx, request)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sessionInfoFromMessage(response.GetSession()), nil
}

// EraseUser erases one user of an app: every session, event and the user's
// user-scoped state; it returns how many sessions this call deleted from
// storage (after a retry, those its last attempt deleted). Nothing of the user is visible to any call once the server has
// accepted it; what the call had no time to delete the server deletes in
// the background. Erasing again is harmless, which is why it is retried
// like every other call. App state and other users are untouched.
func (s *Service) EraseUser(ctx context.Context, appName, userID string) (int64, error) {
	request := &sessionsv1.EraseUserRequest{AppName: appName, UserId: userID}
	var response *sessionsv1.EraseUserResponse
	err := s.call(ctx, func(ctx context.Context) (err error) {
		response, err = s.client.EraseUser(ctx, request)
		return err
	})
	if err != nil {
		return 0, err
	}
	return response.GetDeletedSessions(), nil
}

type sessionKey struct{ app, user, id string }

// appendsUnderWay tracks the appends this service has sent and not yet
// seen answered, per session, so that CloseSession can let them land first.
type appendsUnderWay struct {
	mu      sync.Mutex
	running map[sessionKey]map[chan struct{}]struct{}
}

// start records an append to key under way; the func it returns ends it.
func (a *appendsUnderWay) start(key sessionKey) (end func()) {
	done := make(chan struct{})
	a.mu.Lock()
	if a.running == nil {
		a.running = map[sessionKey]map[chan struct{}]struct{}{}
	}
	if a.running[key] == nil {
		a.running[key] = map[chan struct{}]struct{}{}
	}
	a.running[key][done] = struct{}{}
	a.mu.Unlock()
	return func() {
		a.mu.Lock()
		delete(a.running[key], done)
		if len(a.running[key]) == 0 {
			delete(a.running, key)
		}
		a.mu.Unlock()
		close(done)
	}
}

// underWay returns a channel per append to key under way now, closed when it ends.
func (a *appendsUnderWay) underWay(key sessionKey) []chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	channels := make([]chan struct{}, 0, len(a.running[key]))
	for done := range a.running[key] {
		channels = append(channels, done)
	}
	return channels
}
