package grpcsession

// SessionInfo: what adk-go's session.Session has no methods for (the
// session's lifecycle, metadata and the facts the server keeps), read by
// GetSessionInfo and the metadata, lifecycle and listing methods.

import (
	"maps"
	"time"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
)

// SessionInfo is a session's lifecycle, metadata and bookkeeping, which
// adk-go's session.Session has no methods for.
type SessionInfo struct {
	// AppName, UserID and SessionID name the session.
	AppName, UserID, SessionID string
	// CreateTime is when the session was created (server clock).
	CreateTime time.Time
	// LastUpdateTime is the timestamp of its latest event, or CreateTime.
	LastUpdateTime time.Time
	// Revision is the session's revision (compare for equality only).
	Revision int64
	// ExpireTime is when the session expires and is gone for every call; the zero Time = never.
	ExpireTime time.Time
	// CloseTime is when the session was closed (it then refuses appends); the zero Time = open.
	CloseTime time.Time
	// DisplayName is a name for people to read; "" = none.
	DisplayName string
	// Labels group and filter sessions; never nil (empty = none).
	Labels map[string]string
	// EventCount is how many events the session holds; nil where the
	// server's storage does not know it without reading them (Agent Engine).
	EventCount *int64
	// StoredBytes is what the session's events and session-scoped state
	// take, as the contract's limits count them; nil where the storage does
	// not know it.
	StoredBytes *int64
	// ForkedFrom is where the session was forked from; nil if it was created.
	ForkedFrom *ForkOrigin
}

// ForkOrigin is where a forked session came from.
type ForkOrigin struct {
	// SessionID is the session it was copied from (same app and user); that
	// session may have changed, or be gone, since.
	SessionID string
	// EventCount is how many events were copied: the source's first EventCount.
	EventCount int64
	// BeforeInvocationID is the invocation the copy stopped before; "" = it copied every event.
	BeforeInvocationID string
	// ForkTime is when the fork was made (server clock).
	ForkTime time.Time
}

func sessionInfoFromMessage(message *sessionsv1.Session) *SessionInfo {
	info := &SessionInfo{
		AppName:        message.GetAppName(),
		UserID:         message.GetUserId(),
		SessionID:      message.GetSessionId(),
		CreateTime:     message.GetCreateTime().AsTime(),
		LastUpdateTime: message.GetLastUpdateTime().AsTime(),
		Revision:       message.GetRevision(),
		DisplayName:    message.GetDisplayName(),
		Labels:         map[string]string{},
	}
	maps.Copy(info.Labels, message.GetLabels())
	if message.GetExpireTime() != nil {
		info.ExpireTime = message.GetExpireTime().AsTime()
	}
	if message.GetCloseTime() != nil {
		info.CloseTime = message.GetCloseTime().AsTime()
	}
	if message.EventCount != nil {
		count := message.GetEventCount()
		info.EventCount = &count
	}
	if message.StoredBytes != nil {
		size := message.GetStoredBytes()
		info.StoredBytes = &size
	}
	if origin := message.GetForkedFrom(); origin != nil {
		info.ForkedFrom = &ForkOrigin{
			SessionID:          origin.GetSessionId(),
			EventCount:         origin.GetEventCount(),
			BeforeInvocationID: origin.GetBeforeInvocationId(),
			ForkTime:           origin.GetForkTime().AsTime(),
		}
	}
	return info
}
