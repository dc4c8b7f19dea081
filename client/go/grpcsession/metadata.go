package grpcsession

// Session metadata (the "Metadata, filtered listings and forks" section of
// the contract): a display name and labels set at create and changed later
// without touching the session's revision. Methods beyond adk-go's
// session.Service, so a Service stays a drop-in session.Service.

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"google.golang.org/adk/v2/session"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
)

// CreateOptions are what a session is created with beyond adk-go's
// session.CreateRequest. The server checks them (limits in the contract: a
// display name of at most 128 code points; at most 64 labels, keys of 1 to
// 63 lowercase letters, digits, "_" and "-" starting with a letter, values
// of 0 to 63 of those; keys starting with "adk_" are the server's) and
// refuses what breaks them with an error matching ErrInvalidArgument.
type CreateOptions struct {
	// DisplayName is a name for people to read; "" = none.
	DisplayName string
	// Labels group and filter sessions (see ListSessionInfos); nil = none.
	Labels map[string]string
	// Expiry says when the session expires; the zero Expiry = the server's default.
	Expiry Expiry
}

// CreateWithOptions is Create with a display name, labels and an expiry
// (see CreateOptions). Read them back with GetSessionInfo.
func (s *Service) CreateWithOptions(ctx context.Context, req *session.CreateRequest, opts CreateOptions) (*session.CreateResponse, error) {
	if err := opts.Expiry.check(); err != nil {
		return nil, err
	}
	return s.create(ctx, req, func(request *sessionsv1.CreateSessionRequest) {
		request.DisplayName = opts.DisplayName
		request.Labels = maps.Clone(opts.Labels)
		setCreateExpiration(request, opts.Expiry)
	})
}

func setCreateExpiration(request *sessionsv1.CreateSessionRequest, expiry Expiry) {
	switch {
	case expiry.TTL != 0:
		request.Expiration = &sessionsv1.CreateSessionRequest_Ttl{Ttl: durationpb.New(expiry.TTL)}
	case !expiry.ExpireTime.IsZero():
		request.Expiration = &sessionsv1.CreateSessionRequest_ExpireTime{ExpireTime: timestamppb.New(expiry.ExpireTime)}
	}
}

// MetadataUpdate says which of a session's metadata UpdateSessionMetadata
// changes: each field left nil stays as it is.
type MetadataUpdate struct {
	// DisplayName, if not nil, replaces the display name ("" removes it).
	DisplayName *string
	// Labels, if not nil, replace every label of the session (an empty,
	// non-nil map removes them all).
	Labels map[string]string
}

// UpdateSessionMetadata changes a session's display name, labels or both,
// as update says (an update naming neither is an error matching
// ErrInvalidArgument), and returns the session's info after the change. Its
// revision, last update time, events and state are untouched, so no
// writer's session becomes stale. Fails with ErrSessionNotFound if the
// session does not exist (or has expired), and with ErrInvalidArgument for
// metadata beyond the limits (see CreateOptions).
func (s *Service) UpdateSessionMetadata(ctx context.Context, appName, userID, sessionID string, update MetadataUpdate) (*SessionInfo, error) {
	message := &sessionsv1.Session{AppName: appName, UserId: userID, SessionId: strings.TrimSpace(sessionID)}
	var paths []string
	if update.DisplayName != nil {
		message.DisplayName = *update.DisplayName
		paths = append(paths, "display_name")
	}
	if update.Labels != nil {
		message.Labels = maps.Clone(update.Labels)
		paths = append(paths, "labels")
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("grpcsession: %w: the MetadataUpdate changes nothing (DisplayName and Labels are both nil)", ErrInvalidArgument)
	}
	request := &sessionsv1.UpdateSessionRequest{Session: message, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}}
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
