package grpcsession

// Forking a conversation: a new session of the same user holding a source
// session's events, all of them or those before an invocation, with the
// session-scoped state the source had at that point. The server's storage
// copies the events; nothing of them travels through this client.

import (
	"context"
	"errors"
	"maps"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
)

// ForkRequest names the session to fork, where to stop, and the new session.
type ForkRequest struct {
	// AppName, UserID and SessionID name the session to copy (the fork belongs to the same user).
	AppName, UserID, SessionID string
	// NewSessionID is the new session's id; "" = a new UUID.
	NewSessionID string
	// BeforeInvocationID stops the copy before the first event of this
	// invocation (adk-go's Event.InvocationID); "" = copy every event.
	BeforeInvocationID string
	// DisplayName and Labels are the new session's metadata (see
	// CreateOptions); the source's are not copied.
	DisplayName string
	Labels      map[string]string
	// Expiry says when the new session expires; the zero Expiry = the
	// server's default. The source's expiry is not copied.
	Expiry Expiry
}

// Fork copies a session into a new session of the same user and returns the
// new session's info (ForkedFrom says where it came from); read the new
// session with Get. Its session-scoped state is exactly the source's after
// the last copied event, its events keep their ids, and it is open even if
// the source is closed; app and user state are shared as ever. The source
// is not changed.
//
// Fails with ErrSessionNotFound if the source does not exist, with
// ErrSessionAlreadyExists if NewSessionID is taken, with ErrInvalidArgument
// if no event of the source has BeforeInvocationID, and with
// ErrForkPointUnknown for a fork before an invocation of a session whose
// initial state the server's storage does not know.
func (s *Service) Fork(ctx context.Context, req ForkRequest) (*SessionInfo, error) {
	if err := req.Expiry.check(); err != nil {
		return nil, err
	}
	source := strings.TrimSpace(req.SessionID)
	newID := strings.TrimSpace(req.NewSessionID)
	// Choosing the id here makes a retried fork recognisable, as a retried Create.
	chosenHere := newID == ""
	if chosenHere {
		newID = uuid.NewString()
	}
	request := &sessionsv1.ForkSessionRequest{
		AppName:            req.AppName,
		UserId:             req.UserID,
		SessionId:          source,
		NewSessionId:       newID,
		BeforeInvocationId: req.BeforeInvocationID,
		DisplayName:        req.DisplayName,
		Labels:             maps.Clone(req.Labels),
	}
	switch {
	case req.Expiry.TTL != 0:
		request.Expiration = &sessionsv1.ForkSessionRequest_Ttl{Ttl: durationpb.New(req.Expiry.TTL)}
	case !req.Expiry.ExpireTime.IsZero():
		request.Expiration = &sessionsv1.ForkSessionRequest_ExpireTime{ExpireTime: timestamppb.New(req.Expiry.ExpireTime)}
	}
	var response *sessionsv1.ForkSessionResponse
	err := s.call(ctx, func(ctx context.Context) (err error) {
		response, err = s.client.ForkSession(ctx, request)
		return err
	})
	if chosenHere && errors.Is(err, ErrSessionAlreadyExists) {
		// A fresh id already taken: an earlier attempt whose answer was lost made it.
		if info, getErr := s.GetSessionInfo(ctx, req.AppName, req.UserID, newID); getErr == nil &&
			info.ForkedFrom != nil && info.ForkedFrom.SessionID == source {
			return info, nil
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return sessionInfoFromMessage(response.GetSession()), nil
}
