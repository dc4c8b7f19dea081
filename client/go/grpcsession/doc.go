// Package grpcsession is an adk-go [session.Service] that keeps sessions,
// events and state in an adk-grpc-sessions server, shared with ADK agents
// written in Python, TypeScript or any other language.
//
// Construct it with the server's address and hand it to a runner:
//
//	sessions, err := grpcsession.New("localhost:50051")
//	if err != nil { ... }
//	defer sessions.Close()
//	r, err := runner.New(runner.Config{AppName: "app", Agent: a, SessionService: sessions})
//
// # What travels, and how it is converted
//
// Events travel as ADK Python's camelCase JSON (the contract in
// protos/adk_grpc_sessions/v1/session_service.proto): adk-go's own JSON with
// the timestamp as float seconds since the epoch instead of an RFC 3339
// string, Routes also written as Python's actions.route, and base64 read in
// both the standard and the URL-safe alphabet (ADK Python writes the latter).
//
// Timestamps: ADK Python keeps time as a float64 of seconds, which resolves an
// instant of today to about 0.24 µs, and the float's shortest decimal form is
// what every reader sees: 1700000000.123 is exactly 1700000000 s + 123000000
// ns. AppendEvent therefore first moves an event's Timestamp to the instant
// that form names (a shift of at most 0.24 µs until 2038, none at all for a
// whole microsecond), so the Go event, the stored event and what Python reads
// agree exactly, and a Timestamp read back converts to the same float.
//
// State values travel as JSON text. They come back as encoding/json gives
// them (float64, string, bool, nil, []any, map[string]any), except that an
// integer beyond ±2^53, which a float64 would round, comes back as a
// [json.Number] holding its exact digits; json.Marshal writes it back as it
// was. Temporary ("temp:") keys are applied to the in-memory session but never
// sent.
//
// # Concurrency and retries
//
// Every session this service returns carries the server's revision; an
// AppendEvent through a session that is out of date fails with an error that
// matches [ErrStaleSession] (reload and decide again). Calls that fail with
// UNAVAILABLE are retried with backoff, reconnecting, until the call's time
// budget ([WithTimeout], 30 s by default, and the caller's context) is spent,
// so a server restart is ridden out; appends are idempotent by event id, so a
// retry never applies an event twice.
//
// # Lifecycle
//
// Beyond session.Service: [Service.CreateWithExpiry] creates a session that
// expires (a TTL, or an instant), [Service.SetSessionExpiry] changes that
// later, [Service.GetSessionInfo] reads a session's expiry and close time,
// [Service.CloseSession] closes a session (it still reads; appends then fail
// with [ErrSessionClosed]) once this service's appends to it under way have
// finished, and [Service.EraseUser] erases every session and the user state
// of one user. An expired session is gone at once for every call
// ([ErrSessionNotFound], left out of List).
//
// # Metadata, filtered listings and forks
//
// [Service.CreateWithOptions] creates a session with a display name and
// labels (and an expiry), [Service.UpdateSessionMetadata] changes them
// without touching the revision, [Service.ListSessionInfos] and
// [Service.SessionInfos] list sessions' [SessionInfo] with a filter (a subset
// of AIP-160; [ErrInvalidFilter] for one the server cannot read) and an
// order ([Service.ListWithOptions] lists the sessions themselves so), and [Service.Fork] copies a session, whole or up to an invocation,
// into a new one ([ErrForkPointUnknown] where storage cannot know the state
// at that point).
package grpcsession
