package grpcsession

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
)

// errorDomain is the ErrorInfo domain of every error the server reports.
const errorDomain = "adk-grpc-sessions"

// Errors to test for with [errors.Is]. Every error a call returns for a
// failed RPC is an [*Error]; it matches the sentinel of its status code and
// ErrorInfo reason.
var (
	// ErrSessionNotFound: the session does not exist (NOT_FOUND, "SESSION_NOT_FOUND").
	ErrSessionNotFound = errors.New("session not found")
	// ErrSessionAlreadyExists: Create with an id that is taken (ALREADY_EXISTS, "SESSION_ALREADY_EXISTS").
	ErrSessionAlreadyExists = errors.New("session already exists")
	// ErrEventIDConflict: a different event is stored under this event's id (ALREADY_EXISTS, "EVENT_ID_CONFLICT").
	ErrEventIDConflict = errors.New("a different event with this id is already stored")
	// ErrStaleSession: the session changed in storage since it was read (ABORTED, "STALE_SESSION").
	// Reload the session and decide again.
	ErrStaleSession = errors.New("the session has been modified in storage since it was loaded; reload it before appending more events")
	// ErrSessionClosed: an append to a closed session (FAILED_PRECONDITION, "SESSION_CLOSED").
	// The session can still be read; it takes no more events.
	ErrSessionClosed = errors.New("the session is closed; it takes no more events")
	// ErrForkPointUnknown: a fork before an invocation of a session whose initial state the
	// server's storage does not know, so the state at that point cannot be rebuilt (one
	// imported, or created before the server kept it) (FAILED_PRECONDITION, "FORK_POINT_UNKNOWN").
	// A fork of every event still works.
	ErrForkPointUnknown = errors.New("the state at the fork point is unknown")
	// ErrInvalidArgument: the server refused a malformed request (INVALID_ARGUMENT).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrInvalidFilter: a listing's filter the server cannot read (INVALID_ARGUMENT naming
	// "filter"; Metadata["position"] is the 1-based column of the mistake). It also matches
	// ErrInvalidArgument.
	ErrInvalidFilter = errors.New("the listing's filter cannot be read")
	// ErrUnavailable: the server or its storage could not be reached, even after retries (UNAVAILABLE).
	ErrUnavailable = errors.New("session server unavailable")
	// ErrLimitExceeded: a limit refused the call (RESOURCE_EXHAUSTED), and nothing of a refused
	// write was stored. Reason says which: "SESSION_SIZE_LIMIT" (the session's events would pass
	// the server's per-session limit), "STATE_SIZE_LIMIT" (a scope of state would pass the
	// per-scope limit; Metadata["scope"] names it), "RESPONSE_TOO_LARGE" (stored data no longer
	// fits in a response) or "BACKEND_QUOTA_EXCEEDED" (a quota of the server's storage). Retrying
	// the same call will not help (a quota aside). Not retried.
	ErrLimitExceeded = errors.New("a limit of the session server was reached")
)

// Error is a failed call: its gRPC status, the ErrorInfo reason and any
// BadRequest field violations the server sent.
type Error struct {
	// Code is the call's gRPC status code.
	Code codes.Code
	// Reason is ErrorInfo.reason, e.g. "STALE_SESSION"; empty if none was sent.
	Reason string
	// Metadata is ErrorInfo.metadata: e.g. the app_name, user_id and
	// session_id of a session not found, or "limit_bytes" and "size_bytes"
	// for a size limit; empty if none was sent.
	Metadata map[string]string
	// Message is the status message.
	Message string
	// Violations are BadRequest field violations as "field: description".
	Violations []string

	status *status.Status
}

// Error implements error. A missing session and a taken session id read as
// adk-go's own in-memory service words them ("session s1 not found",
// "session s1 already exists"), so code and tests written against adk-go
// keep working; every other error reads "grpcsession: CODE (REASON): message".
func (e *Error) Error() string {
	if sessionID, named := e.Metadata["session_id"]; named {
		switch {
		case e.Code == codes.NotFound && e.Reason == "SESSION_NOT_FOUND":
			return fmt.Sprintf("session %s not found", sessionID)
		case e.Code == codes.AlreadyExists && e.Reason == "SESSION_ALREADY_EXISTS":
			return fmt.Sprintf("session %s already exists", sessionID)
		}
	}
	text := "grpcsession: " + e.Code.String()
	if e.Reason != "" {
		text += " (" + e.Reason + ")"
	}
	if len(e.Violations) > 0 {
		return text + ": " + strings.Join(e.Violations, "; ")
	}
	if e.Message != "" {
		text += ": " + e.Message
	}
	return text
}

// GRPCStatus returns the call's status, so status.FromError and status.Code work.
func (e *Error) GRPCStatus() *status.Status { return e.status }

// Is matches the sentinel errors of this package.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrSessionNotFound:
		return e.Code == codes.NotFound
	case ErrSessionAlreadyExists:
		return e.Code == codes.AlreadyExists && e.Reason != "EVENT_ID_CONFLICT"
	case ErrEventIDConflict:
		return e.Code == codes.AlreadyExists && e.Reason == "EVENT_ID_CONFLICT"
	case ErrStaleSession:
		return e.Code == codes.Aborted && e.Reason == "STALE_SESSION"
	case ErrSessionClosed:
		return e.Code == codes.FailedPrecondition && e.Reason == "SESSION_CLOSED"
	case ErrForkPointUnknown:
		return e.Code == codes.FailedPrecondition && e.Reason == "FORK_POINT_UNKNOWN"
	case ErrInvalidArgument:
		return e.Code == codes.InvalidArgument
	case ErrInvalidFilter:
		return e.Code == codes.InvalidArgument && e.Metadata["position"] != ""
	case ErrUnavailable:
		return e.Code == codes.Unavailable
	case ErrLimitExceeded:
		return e.Code == codes.ResourceExhausted
	}
	return false
}

// staleSessionError is the error for a session found out of date before any
// append was sent, the same as the server's.
func staleSessionError() *Error {
	return &Error{
		Code:    codes.Aborted,
		Reason:  "STALE_SESSION",
		Message: ErrStaleSession.Error(),
		status:  status.New(codes.Aborted, ErrStaleSession.Error()),
	}
}

// errorFromRPC converts the error of a failed RPC into an *Error; errors
// that carry no gRPC status are returned as they are.
func errorFromRPC(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	failure := &Error{Code: st.Code(), Message: st.Message(), status: st}
	for _, detail := range st.Details() {
		switch d := detail.(type) {
		case *errdetails.ErrorInfo:
			if d.GetDomain() == errorDomain || failure.Reason == "" {
				failure.Reason = d.GetReason()
				failure.Metadata = d.GetMetadata()
			}
		case *errdetails.BadRequest:
			for _, violation := range d.GetFieldViolations() {
				failure.Violations = append(failure.Violations, violation.GetField()+": "+violation.GetDescription())
			}
		}
	}
	return failure
}

// resultError is the error of one write that a batch or the append stream
// answered with a failure of its own: the contract's Status is a
// google.rpc.Status field for field, so it reads as the status the write
// would have failed with alone.
func resultError(failure *sessionsv1.Status) error {
	return status.FromProto(&spb.Status{
		Code:    failure.GetCode(),
		Message: failure.GetMessage(),
		Details: failure.GetDetails(),
	}).Err()
}
