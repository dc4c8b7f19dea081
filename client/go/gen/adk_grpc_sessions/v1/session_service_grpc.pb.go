// adk-grpc-sessions: one durable store of sessions, events and state for
// agents built on Google's Agent Development Kit (ADK), in any language.
//
// The semantics are those of ADK Python's `google.adk.sessions` (the
// `InMemorySessionService` is the executable reference). This file is the
// whole contract: a client written from it alone is a complete client.
//
// Identity
//   A session is named by the triple (app_name, user_id, session_id). The same
//   session_id under two users names two unrelated sessions.
//   app_name, user_id, session_id and event ids are "keys": 1 to 128
//   characters (Unicode code points), no control characters (U+0000-U+001F,
//   U+007F). The server first trims leading and trailing whitespace from
//   session_id (as ADK does); the other keys are taken exactly as sent.
//
// State
//   State is a set of key/value pairs in three scopes:
//     app      shared by every session of the app      (ADK prefix "app:")
//     user     shared by every session of one user      (ADK prefix "user:")
//     session  private to one session                   (no prefix)
//   ADK's fourth prefix, "temp:", is never stored: a client keeps such keys
//   in its in-memory session only; the server drops any it receives.
//   On the wire every scope is a map from the key WITHOUT its prefix to the
//   value as JSON text (RFC 8259), e.g. {"count": "1", "name": "\"Ada\""}.
//   JSON text, not google.protobuf.Struct, so integers stay integers of any
//   size and nothing is turned into a double. NaN and Infinity are not JSON
//   and are rejected; so is a value nested deeper than 254 levels (see
//   "Nesting"). To build ADK's merged view, a client adds "app:" to the
//   app keys, "user:" to the user keys, and merges them over the session keys.
//
// Events
//   An event is carried as the complete ADK event in ADK Python's JSON form
//   (`Event.model_dump_json(by_alias=True, exclude_none=True)`: camelCase
//   keys, bytes as base64, `timestamp` as float seconds since the Unix epoch).
//   That JSON is authoritative and is returned byte for byte as stored. The
//   typed fields next to it (id, author, timestamp, state delta, ...) are
//   output only: the server fills them from the JSON, so the two can never
//   disagree.
//   Writers in other languages must produce ADK Python's schema: the server
//   stores any JSON object, but ADK Python readers reject unknown fields
//   inside "actions" and inside google.genai objects ("content", its
//   "parts", ...), so an event with such fields could not be read back there.
//   Bytes are base64: ADK Python writes the URL-safe alphabet, with padding;
//   readers should accept both alphabets. JSON numbers keep their form: to
//   Python readers "1" is an integer and "1.0" a float, so a writer whose
//   language does not tell them apart should keep the form a value had when
//   it was read.
//
// Nesting
//   A state value nests at most 254 levels of arrays and objects, counted from
//   the value itself ("1" is 0 levels deep, "[]" and "{}" 1, "[[1]]" 2); an
//   event's JSON as a whole at most 270 (254, plus 16 for ADK's own structure
//   around a value). The limit is one wherever state enters: CreateSession's
//   state and each value of an event's actions.stateDelta, in AppendEvent,
//   BatchAppendEvents and AppendEventStream alike. Deeper input is
//   INVALID_ARGUMENT naming the field and the limit. Why 254: it is the deepest
//   value ADK Python can write (its JSON writer, pydantic, stops there), so
//   everything ADK's own services store fits: its DatabaseSessionService
//   round-trips state 252 levels deep, the deepest free-form value of its
//   event (function-call arguments inside a compaction) sits 8 levels into an
//   event, and LLM function-call arguments are a few levels deep in practice.
//   A backend may hold less: agentengine:// keeps state and events in
//   google.protobuf.Struct, which protobuf reads to 100 levels of messages, so
//   it stores state values of at most 27 levels and events of at most 30;
//   deeper is INVALID_ARGUMENT ("BACKEND_INVALID_INPUT").
//
// Time
//   Event JSON carries time as float seconds since the Unix epoch (an IEEE-754
//   double). A typed google.protobuf.Timestamp holds the same instant, converted
//   exactly: take the double's shortest decimal form; if it has at most nine
//   fractional digits they are the nanoseconds, otherwise round the double's
//   exact binary value to the nearest nanosecond (half to even). Back: the
//   double nearest to seconds + nanos / 1e9. Both directions round-trip every
//   double from 1970-04-08 on. A client must use this rule for the times it
//   sends (after_timestamp) to agree with the server's filters.
//
// Concurrency
//   Every session has a revision. Each read returns it and each stored event
//   changes it. AppendEvent carries the revision the caller last saw; if the
//   session has changed since, the append is rejected with ABORTED and
//   ErrorInfo.reason "STALE_SESSION" (ADK's StaleSessionError): reload the
//   session and decide again. The check is made by the storage itself, so it
//   holds across any number of server replicas.
//
// Idempotency
//   The event id is the idempotency key. Appending an event whose id is
//   already stored in the session, with identical JSON, succeeds without
//   storing or applying anything again and returns the original result. A
//   different event under a stored id is rejected (ALREADY_EXISTS,
//   "EVENT_ID_CONFLICT"). The id is checked before the revision, so a retry
//   may (and should) carry the same expected_revision as its first attempt.
//   So every RPC may be retried on UNAVAILABLE, and on a CANCELLED status the
//   client did not cause itself: a server shutting down cancels the calls it
//   received but had not started, which may or may not have taken effect.
//
// Lifecycle
//   Expiry. A session may carry an expire_time; from that instant on it is
//   gone for every call, at once, whether or not storage has been cleared
//   yet: GetSession, ListEvents, AppendEvent (in every form), UpdateSession
//   and CloseSession answer NOT_FOUND ("SESSION_NOT_FOUND"), ListSessions
//   leaves it out, DeleteSession succeeds, and CreateSession may take its id
//   for a new session. An expired session never comes back. The expiry is set
//   at CreateSession (expire_time, or ttl counted from the server's clock),
//   else by the server's default (--session-ttl; by default there is none and
//   sessions are kept until deleted, as ADK keeps them), and changed or
//   removed later by UpdateSession. A session given a ttl (by the caller or
//   by the default) keeps it: with --session-ttl-refresh-on-append, each
//   stored append moves its expire_time to the append's server time plus that
//   ttl, so a session in use does not expire. Expiry is decided by the
//   server's clock (the server's replicas should keep theirs in sync).
//   Purge. The server deletes expired sessions' events and session state in
//   the background, in small batches, each session once however many
//   replicas share the storage. App and user state are never touched by
//   expiry.
//   Close. CloseSession marks a session closed (Session.close_time): it reads
//   as before, and every later append to it is refused with
//   FAILED_PRECONDITION, reason "SESSION_CLOSED" (an append already stored
//   may still be retried: its retry answers already_applied). Closing a
//   closed session succeeds and keeps the first close_time. Closing changes
//   neither the revision nor last_update_time. With --closed-session-ttl the
//   server also sets a closed session's expire_time to at most close_time
//   plus that duration.
//   Erase a user. EraseUser deletes every session (with its events and
//   session state) of one user of an app, and that user's user-scoped state.
//   From the moment it is accepted none of it is visible to any call, on any
//   replica; sessions the user creates afterwards are new and unaffected.
//   Storage is then cleared in bounded steps; if the call ends first
//   (deadline, restart), the server finishes in the background, and calling
//   it again is harmless. App state and other users are never touched.
//
// Metadata, filtered listings and forks
//   Metadata. Every session has a create_time, a display_name (0 to 128
//   code points, no NUL; empty = none) and labels (at most 64; keys 1 to 63
//   characters of lowercase letters, digits, "_" and "-", starting with a
//   letter; values 0 to 63 of the same characters; keys starting with "adk_"
//   are reserved for the server), set at CreateSession or ForkSession and
//   changed by UpdateSession (paths "display_name", "labels"). Changing them
//   changes neither the revision nor last_update_time: no agent's session
//   becomes stale. Reads also return facts the server keeps: event_count,
//   stored_bytes (where the storage knows them) and forked_from.
//   Filters. ListSessionsRequest.filter is a subset of AIP-160: one or more
//   comparisons joined by AND (case-sensitive; no OR, NOT or parentheses).
//     display_name = "text"        display_name != "text"
//     labels.KEY = "value"         labels.KEY != "value"   labels.KEY:*
//       (":*" = the label is set; "!=" also keeps sessions without it)
//     create_time OP "RFC 3339"    update_time OP "RFC 3339"
//       (OP one of = != < <= > >=; a time with its offset, e.g.
//       "2026-01-02T03:04:05.5Z"; update_time is last_update_time)
//     closed = true                closed = false
//   Values are double-quoted strings (backslash escapes \" and \\); label
//   values and true/false may also be written bare. A filter the server
//   cannot parse, or a field or operator it does not know, is
//   INVALID_ARGUMENT naming "filter", with the (1-based) column of the error
//   in the message and in ErrorInfo metadata "position".
//   Order. ListSessionsRequest.order_by is "update_time" (the default, as
//   ADK lists: oldest update first), "create_time", either followed by
//   " desc" for newest first (" asc" is accepted too). Ties are broken by
//   user_id, then session_id, in the same direction. Paging by page_token
//   is by key: each page continues after the last key of the one before, so
//   every session that does not change while a listing is paged through is
//   listed exactly once. One appended to between pages is listed where its
//   key is when each page is read: in update_time order, oldest first, it
//   may be listed again at its new key; newest first, it is missed if it had
//   not been listed yet. create_time orders are not affected.
//   Fork. ForkSession copies a session's events, all of them or those before
//   the first event of a given invocation, into a new session of the same
//   user. The new session's session-scoped state is exactly the state the
//   source had after the last copied event (its initial state plus the
//   copied events' deltas); app and user state are shared, as ever. The
//   copies keep their event ids, JSON and sequence numbers; the new session
//   has revisions of its own, records its origin in forked_from, and is
//   open whether or not the source is closed. The source is not changed.
//   Storage copies the events itself: a fork of any size costs the server no
//   memory for them.
//
// Watching
//   WatchSession follows one session as it happens. The stream first
//   delivers every event stored after the request's after_revision (all of
//   them if it is 0), in append order, then a caught_up message carrying the
//   session's revision at that moment, then each event as soon as it is
//   committed, for as long as the stream is open. Each delivered event comes
//   with the session's revision right after it: to resume after a
//   disconnection, a server restart or on another replica, a watcher sends
//   the last revision it received as after_revision and gets exactly the
//   events after it, none twice and none missed. (The events a fork copied
//   each come with a revision of their own that serves only as such a resume
//   point; the revision to append with is the caught_up one, or the one
//   delivered with the latest appended event.) A revision that is not one of
//   this session's (the session was deleted and created again since, or the
//   number was never handed out for it) ends the stream with NOT_FOUND
//   ("SESSION_NOT_FOUND"), as does a session that does not exist.
//   Only committed events are delivered: an append that is refused or rolled
//   back is never seen. The stream ends with an `ended` message and then OK
//   when the session is closed (after every event stored before the close),
//   deleted or expired. A watcher that does not read as fast as events are
//   appended is never allowed to slow appends or other watchers: once the
//   server holds more undelivered data for it than its bound, its stream
//   ends with RESOURCE_EXHAUSTED ("WATCHER_TOO_SLOW") and it should resume
//   from its last revision. A server that begins to drain ends its watch
//   streams with UNAVAILABLE ("SERVER_DRAINING"): resume on another.
//   A WatchedEvents message carries every event committed since the
//   watcher's previous message: a session appended to without pause and
//   followed by many watchers gets fewer messages of several events each,
//   a little later, because a server keeps delivery to a small share of its
//   time so that watchers never slow appends.
//   How fast an append reaches watchers on other replicas depends on the
//   storage: PostgreSQL notifies them (milliseconds); MySQL/MariaDB are
//   polled (--watch-poll-interval); an SQLite file is served by one server
//   process, which tells its own watchers; Agent Engine does not support
//   watching (UNIMPLEMENTED, "NOT_SUPPORTED_BY_BACKEND").
//
// Watching a user's sessions
//   WatchSessions follows every session of one user of an app. The stream
//   first lists the user's sessions as they are (SessionNotice kind LISTED,
//   each with its head: state and metadata, no events; in pages of at most
//   100 per message, oldest update first), then a caught_up message
//   carrying how many were listed, then a notice of each change as soon as
//   it is committed, for as long as the stream is open: CREATED (a create
//   or a fork), UPDATED (an append, an UpdateSession), CLOSED, DELETED,
//   EXPIRED (its expire_time passed). Only
//   committed changes are noticed; a notice carries the session's head as
//   it was read after the change (none for DELETED and EXPIRED), so a
//   session changed several times before its notice is sent gets one
//   notice with its latest head (a session created and deleted before its
//   notice is sent gets none). A notice may repeat what the listing said,
//   and a CREATED notice of a session id the watcher already holds replaces
//   it (it was deleted and created again). When the server cannot tell
//   what changed (EraseUser, or a server that lost its notifications from
//   storage for a while), it sends `relisting` and starts over: every
//   session is listed again, then caught_up; a watcher then drops every
//   session not listed again. A watcher that does not read notices as fast
//   as they come is never allowed to slow writers: once more sessions wait
//   for their notice than the server's bound (--watch-sessions-pending),
//   the stream ends with RESOURCE_EXHAUSTED ("WATCHER_TOO_SLOW"), and the
//   watcher watches again (starting with a new listing). A server that
//   begins to drain ends the stream with UNAVAILABLE ("SERVER_DRAINING").
//   Sessions written by a restore (copy, import) are not noticed. Storage
//   decides how fast other replicas' changes arrive, as for WatchSession;
//   Agent Engine does not support it (UNIMPLEMENTED,
//   "NOT_SUPPORTED_BY_BACKEND").
//
// Apps and users
//   ListApps lists the apps that hold any session, app state or user state,
//   among those the caller's token may use; ListUsers lists the users of one
//   app that hold any session or user state. Both are ordered by name
//   (by Unicode code point) and paged like every list (see "Pagination"); an
//   app or user added while a listing is paged through appears if its name
//   sorts after the page being read.
//
// Errors (canonical codes; details are google.rpc.ErrorInfo with domain
// "adk-grpc-sessions", and google.rpc.BadRequest naming the offending field,
// inside a google.rpc.Status serialized in the "grpc-status-details-bin"
// trailing metadata)
//   INVALID_ARGUMENT    a field is missing, malformed or too large (BadRequest)
//   NOT_FOUND           "SESSION_NOT_FOUND"
//   ALREADY_EXISTS      "SESSION_ALREADY_EXISTS", "EVENT_ID_CONFLICT"
//   ABORTED             "STALE_SESSION"
//   FAILED_PRECONDITION "SESSION_CLOSED" (an append to a closed session)
//   RESOURCE_EXHAUSTED  "SESSION_SIZE_LIMIT", "STATE_SIZE_LIMIT", "RESPONSE_TOO_LARGE",
//                       "WATCHER_TOO_SLOW" (see "Watching": resume)
//                       (see "Limits"; retrying the same call will not help)
//   UNAVAILABLE         "BACKEND_UNAVAILABLE" (storage unreachable; retry);
//                       "SERVER_DRAINING" (a watch stream: resume on another server);
//                       in a batch's result, "BATCH_RESPONSE_FULL" (not applied; send again)
//   DEADLINE_EXCEEDED   the call's deadline passed
// and, when the storage behind the server refuses a call (ErrorInfo.metadata
// "backend_reason" and "backend_domain" then carry the storage's own reason):
//   PERMISSION_DENIED   "BACKEND_PERMISSION_DENIED" (the server's identity)
//   RESOURCE_EXHAUSTED  "BACKEND_QUOTA_EXCEEDED" (a quota; retry later)
//   INVALID_ARGUMENT    "BACKEND_INVALID_INPUT" (a rule of the storage's own)
//   FAILED_PRECONDITION "BACKEND_FAILED_PRECONDITION" (storage misconfigured)
//   UNIMPLEMENTED       "NOT_SUPPORTED_BY_BACKEND" (the storage cannot do this)
// For "SESSION_NOT_FOUND" and "SESSION_ALREADY_EXISTS" the message is in ADK's
// own words ("Session s1 not found.", "Session with id s1 already exists."),
// and ErrorInfo.metadata names the session ("app_name", "user_id",
// "session_id").
//
// Pagination (AIP-158)
//   List calls take page_size (0 = server default, larger values are capped,
//   negative is INVALID_ARGUMENT) and page_token (empty = first page; otherwise
//   exactly a next_page_token from an earlier response to the same request).
//   An empty next_page_token means there are no more results. A page holds at
//   most page_size items, and may hold fewer before the last page (see
//   "Limits": a page is also bounded in bytes), but never none while items
//   remain.
//   Tokens are opaque: a client passes them back as received and never builds,
//   reads or changes one. They are signed by the server (HMAC-SHA256 under its
//   page-token key), so every server that shares that key accepts them: the
//   replicas of a deployment given the same key (--page-token-key-file or
//   ADK_GRPC_SESSIONS_PAGE_TOKEN_KEY), and any server on the same embedded
//   SQLite file (its key is kept beside the database), across restarts. A
//   token altered, made up, signed with another key or sent with a different
//   request is INVALID_ARGUMENT naming "page_token". A server on a shared
//   database without a configured key signs with a key of its own process: its
//   tokens then work only against that process.
//
// Limits
//   Each limit is enforced where data enters; breaking one is
//   INVALID_ARGUMENT naming the field, or RESOURCE_EXHAUSTED with the reason
//   below. Nothing is ever truncated silently. The server's flags set the
//   sizes; the values given are their defaults.
//   Keys: app_name, user_id, session_id and event ids are 1 to 128 code
//     points (see "Identity").
//   Messages: no request and no response is larger than the server's message
//     limit (--max-message-bytes, 32 MiB). gRPC refuses a larger request with
//     RESOURCE_EXHAUSTED; a response is never built larger: reads that would
//     not fit are served in parts (below). Clients must accept responses up
//     to that size.
//   Event size: the bytes an event takes in a response, i.e. its Event
//     message (typed fields, event_json, sequence) with its field tag and
//     length prefix, counting the sequence as ten bytes. The typed fields repeat the state delta, so an event
//     that is mostly stateDelta takes about twice its JSON. Every event must
//     fit in a response on its own, with 64 KiB to spare for the rest of the
//     response: an AppendEvent of a larger one is INVALID_ARGUMENT on
//     event_json.
//   State size: each scope of state (an app's, a user's, a session's) holds
//     at most --max-state-bytes (8 MiB), counting for each key its UTF-8
//     bytes (without prefix), its value's JSON text bytes, and 16 bytes (at
//     least what its map entry's framing takes on the wire). A CreateSession
//     or AppendEvent that would leave a scope it grows above the limit fails
//     with RESOURCE_EXHAUSTED, reason "STATE_SIZE_LIMIT" (ErrorInfo metadata
//     "scope": "app", "user" or "session"; "limit_bytes"; "size_bytes": what
//     the scope would hold), and stores nothing. A write that does not grow
//     a scope is never refused for that scope. The server starts only if
//     3 x max-state-bytes + 64 KiB <= max-message-bytes, so a session's
//     merged state always fits in a response.
//   Session size: the events of one session take at most
//     --max-session-bytes (1 GiB), summing their event sizes. An AppendEvent
//     that would pass it fails with RESOURCE_EXHAUSTED, reason
//     "SESSION_SIZE_LIMIT" (metadata "limit_bytes"; "size_bytes": the
//     session's events now; "event_bytes": the refused event's size), and
//     stores nothing. There is no per-app limit. Storage decides both size
//     limits, so they hold across server replicas.
//   Reading in parts: GetSession returns the session's state and as many of
//     the selected events as fit (oldest first, at most 10,000); when some
//     did not, GetSessionResponse.next_events_page_token lists the rest of
//     that same selection through ListEvents. List pages are bounded in
//     bytes as well as by page_size.
//   Batches: BatchAppendEvents takes at most 1000 appends, and its answers
//     must fit in one response: an append whose answer would not fit (nor
//     any after it) is not applied and is answered UNAVAILABLE, reason
//     "BATCH_RESPONSE_FULL"; send it again, alone or in another call.
//   BatchCreateSessions takes at most 1000 creates; a session it created
//   whose answer (the session with its merged state) would not fit in what
//   is left of the response is answered CreateSessionResult.created, its id
//   alone: it was created, and GetSession reads it. A create's failure
//   whose status would not fit is answered UNAVAILABLE, reason
//   "BATCH_RESPONSE_FULL": nothing was created; send it again.
//   A read of data stored under larger limits than the server's current
//   ones, that cannot fit in a response, fails with RESOURCE_EXHAUSTED,
//   reason "RESPONSE_TOO_LARGE" (metadata "limit_bytes").

// Code generated by protoc-gen-go-grpc. DO NOT EDIT.
// versions:
// - protoc-gen-go-grpc v1.6.2
// - protoc             (unknown)
// source: adk_grpc_sessions/v1/session_service.proto

package sessionsv1

import (
	context "context"
	grpc "google.golang.org/grpc"
	codes "google.golang.org/grpc/codes"
	status "google.golang.org/grpc/status"
)

// This is a compile-time assertion to ensure that this generated file
// is compatible with the grpc package it is being compiled against.
// Requires gRPC-Go v1.64.0 or later.
const _ = grpc.SupportPackageIsVersion9

const (
	SessionService_CreateSession_FullMethodName       = "/adk_grpc_sessions.v1.SessionService/CreateSession"
	SessionService_BatchCreateSessions_FullMethodName = "/adk_grpc_sessions.v1.SessionService/BatchCreateSessions"
	SessionService_GetSession_FullMethodName          = "/adk_grpc_sessions.v1.SessionService/GetSession"
	SessionService_ListSessions_FullMethodName        = "/adk_grpc_sessions.v1.SessionService/ListSessions"
	SessionService_DeleteSession_FullMethodName       = "/adk_grpc_sessions.v1.SessionService/DeleteSession"
	SessionService_AppendEvent_FullMethodName         = "/adk_grpc_sessions.v1.SessionService/AppendEvent"
	SessionService_BatchAppendEvents_FullMethodName   = "/adk_grpc_sessions.v1.SessionService/BatchAppendEvents"
	SessionService_AppendEventStream_FullMethodName   = "/adk_grpc_sessions.v1.SessionService/AppendEventStream"
	SessionService_ListEvents_FullMethodName          = "/adk_grpc_sessions.v1.SessionService/ListEvents"
	SessionService_GetUserState_FullMethodName        = "/adk_grpc_sessions.v1.SessionService/GetUserState"
	SessionService_GetAppState_FullMethodName         = "/adk_grpc_sessions.v1.SessionService/GetAppState"
	SessionService_UpdateSession_FullMethodName       = "/adk_grpc_sessions.v1.SessionService/UpdateSession"
	SessionService_CloseSession_FullMethodName        = "/adk_grpc_sessions.v1.SessionService/CloseSession"
	SessionService_EraseUser_FullMethodName           = "/adk_grpc_sessions.v1.SessionService/EraseUser"
	SessionService_ForkSession_FullMethodName         = "/adk_grpc_sessions.v1.SessionService/ForkSession"
	SessionService_WatchSession_FullMethodName        = "/adk_grpc_sessions.v1.SessionService/WatchSession"
	SessionService_WatchSessions_FullMethodName       = "/adk_grpc_sessions.v1.SessionService/WatchSessions"
	SessionService_ListApps_FullMethodName            = "/adk_grpc_sessions.v1.SessionService/ListApps"
	SessionService_ListUsers_FullMethodName           = "/adk_grpc_sessions.v1.SessionService/ListUsers"
)

// SessionServiceClient is the client API for SessionService service.
//
// For semantics around ctx use and closing/ending streaming RPCs, please refer to https://pkg.go.dev/google.golang.org/grpc/?tab=doc#ClientConn.NewStream.
//
// Stores ADK sessions, their events and their app-, user- and session-scoped
// state.
type SessionServiceClient interface {
	// Creates a session, optionally with a caller-chosen id and initial state.
	// Errors: ALREADY_EXISTS ("SESSION_ALREADY_EXISTS") if the id is taken;
	// RESOURCE_EXHAUSTED ("STATE_SIZE_LIMIT") if the initial state would leave
	// a scope above its limit (see "Limits").
	CreateSession(ctx context.Context, in *CreateSessionRequest, opts ...grpc.CallOption) (*CreateSessionResponse, error)
	// Makes several CreateSession calls in one: a client creating many
	// sessions at once sends them together and pays one call's cost. Each
	// create is handled exactly as CreateSession would handle it alone (same
	// checks, same errors, an id generated for each that names none); the
	// batch as a whole is not atomic, and one create failing (its id taken,
	// say) does not stop the others. Authorization is per create (its
	// app_name). The call fails as a whole only for what concerns the whole
	// call: UNAUTHENTICATED, INVALID_ARGUMENT for an empty or too large batch
	// (at most 1000 creates), DEADLINE_EXCEEDED. Retrying the whole call on
	// UNAVAILABLE is as safe as retrying CreateSession: a create that landed
	// before answers ALREADY_EXISTS on the retry, which a client that chose
	// the id itself knows for its own. The answers must fit in one response: a
	// session created whose answer would not is answered by its id alone, to
	// read with GetSession (see "Limits").
	BatchCreateSessions(ctx context.Context, in *BatchCreateSessionsRequest, opts ...grpc.CallOption) (*BatchCreateSessionsResponse, error)
	// Reads a session with its merged state and (a filtered window of) its
	// events, as many of them as fit in the response; the rest follow through
	// ListEvents with next_events_page_token (see "Limits").
	// Errors: NOT_FOUND ("SESSION_NOT_FOUND").
	GetSession(ctx context.Context, in *GetSessionRequest, opts ...grpc.CallOption) (*GetSessionResponse, error)
	// Lists sessions of an app, or of one user of an app, without their events,
	// ordered by last_update_time, oldest first (ties by user_id, then
	// session_id), or as order_by says, keeping those filter keeps (see
	// "Metadata, filtered listings and forks").
	ListSessions(ctx context.Context, in *ListSessionsRequest, opts ...grpc.CallOption) (*ListSessionsResponse, error)
	// Deletes a session and its events. Deleting a session that does not exist
	// succeeds. App and user state are not touched.
	DeleteSession(ctx context.Context, in *DeleteSessionRequest, opts ...grpc.CallOption) (*DeleteSessionResponse, error)
	// Appends one event to a session and applies its state delta, atomically:
	// either all of it is stored or none of it. See "Concurrency" and
	// "Idempotency" above. Errors: NOT_FOUND, ABORTED ("STALE_SESSION"),
	// ALREADY_EXISTS ("EVENT_ID_CONFLICT"), INVALID_ARGUMENT,
	// RESOURCE_EXHAUSTED ("SESSION_SIZE_LIMIT", "STATE_SIZE_LIMIT").
	AppendEvent(ctx context.Context, in *AppendEventRequest, opts ...grpc.CallOption) (*AppendEventResponse, error)
	// Makes several AppendEvent calls in one: a client with many sessions
	// appending at once sends them together and pays one call's cost. Each
	// append is handled exactly as AppendEvent would handle it alone (atomic on
	// its own, same checks, same idempotency); the batch as a whole is not
	// atomic, and one append failing does not stop the others. Appends to one
	// session are applied in request order. Authorization is per append (its
	// app_name). The call fails as a whole only for what concerns the whole
	// call: UNAUTHENTICATED, INVALID_ARGUMENT for an empty or too large batch
	// (at most 1000 appends), DEADLINE_EXCEEDED. Retrying the whole call on
	// UNAVAILABLE is safe, as for AppendEvent. The answers must fit in one
	// response: appends whose answers would not are not applied, and are
	// answered UNAVAILABLE, reason "BATCH_RESPONSE_FULL" (see "Limits").
	BatchAppendEvents(ctx context.Context, in *BatchAppendEventsRequest, opts ...grpc.CallOption) (*BatchAppendEventsResponse, error)
	// AppendEvent over a stream held open between appends: an append sent on
	// it costs both sides far less than a call of its own, so a client that
	// appends one event at a time (an agent's turn) waits less. Each request
	// is handled exactly as AppendEvent would handle it alone and answered
	// with its result, in request order; the server reads the next request
	// only after answering the one before. A request may be a create instead,
	// handled exactly as CreateSession would handle it alone (a client
	// creating one session at a time waits less too). A request's failure is
	// its result, not the stream's; authorization is per request (its
	// app_name). The stream itself fails only for what concerns it as a
	// whole (UNAUTHENTICATED). A server that begins to drain ends its streams
	// with OK as soon as each has answered what it read: the client opens
	// another (and so reaches another server). Each request may take the
	// server's longest call time, as a call of its own may.
	AppendEventStream(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[AppendEventStreamRequest, AppendEventStreamResponse], error)
	// Lists the events of a session in the order they were appended; or, with
	// a GetSessionResponse.next_events_page_token, the rest of that read's
	// selection. Errors: NOT_FOUND ("SESSION_NOT_FOUND").
	ListEvents(ctx context.Context, in *ListEventsRequest, opts ...grpc.CallOption) (*ListEventsResponse, error)
	// Reads the user-scoped state of one user of an app (keys without the
	// "user:" prefix). A user with no state has an empty map; not an error.
	GetUserState(ctx context.Context, in *GetUserStateRequest, opts ...grpc.CallOption) (*GetUserStateResponse, error)
	// Reads the app-scoped state of an app (keys without the "app:" prefix).
	// An app with no state has an empty map; not an error.
	GetAppState(ctx context.Context, in *GetAppStateRequest, opts ...grpc.CallOption) (*GetAppStateResponse, error)
	// Changes a session's settings and metadata named by update_mask
	// (AIP-134); never its events or state. Does not change the revision, so no writer's session
	// becomes stale. Errors: NOT_FOUND ("SESSION_NOT_FOUND");
	// INVALID_ARGUMENT naming "update_mask" for a path that is unknown or not
	// updatable.
	UpdateSession(ctx context.Context, in *UpdateSessionRequest, opts ...grpc.CallOption) (*UpdateSessionResponse, error)
	// Closes a session: it stays readable and refuses appends (see
	// "Lifecycle"). Closing a closed session succeeds. Errors: NOT_FOUND
	// ("SESSION_NOT_FOUND").
	CloseSession(ctx context.Context, in *CloseSessionRequest, opts ...grpc.CallOption) (*CloseSessionResponse, error)
	// Erases one user of an app: every session, event and user-scoped state
	// (see "Lifecycle"). Erasing a user with nothing stored succeeds.
	EraseUser(ctx context.Context, in *EraseUserRequest, opts ...grpc.CallOption) (*EraseUserResponse, error)
	// Copies a session (all its events, or those before an invocation) into a
	// new session of the same user (see "Metadata, filtered listings and
	// forks"). Errors: NOT_FOUND ("SESSION_NOT_FOUND") for the source;
	// ALREADY_EXISTS ("SESSION_ALREADY_EXISTS") if new_session_id is taken;
	// INVALID_ARGUMENT naming "before_invocation_id" if no event of the source
	// has that invocation id; FAILED_PRECONDITION ("FORK_POINT_UNKNOWN") for a
	// fork before an invocation of a session whose initial state the storage
	// does not know (one imported, or created before the server kept it).
	ForkSession(ctx context.Context, in *ForkSessionRequest, opts ...grpc.CallOption) (*ForkSessionResponse, error)
	// Follows a session live: the events stored after a revision, a caught_up
	// marker, then each event as it is committed, until the session is
	// closed, deleted or expired, or the caller ends the stream (see
	// "Watching"). Errors: NOT_FOUND ("SESSION_NOT_FOUND"); RESOURCE_EXHAUSTED
	// ("WATCHER_TOO_SLOW"); UNAVAILABLE ("SERVER_DRAINING"); UNIMPLEMENTED
	// ("NOT_SUPPORTED_BY_BACKEND") on storage that cannot be watched.
	WatchSession(ctx context.Context, in *WatchSessionRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[WatchSessionResponse], error)
	// Follows one user's sessions live: a listing of them, a caught_up
	// marker, then a notice of each session created, updated, closed,
	// deleted or expired as it is committed, until the caller ends the stream
	// (see "Watching a user's sessions"). Errors: RESOURCE_EXHAUSTED
	// ("WATCHER_TOO_SLOW"); UNAVAILABLE ("SERVER_DRAINING"); UNIMPLEMENTED
	// ("NOT_SUPPORTED_BY_BACKEND") on storage that cannot be watched.
	WatchSessions(ctx context.Context, in *WatchSessionsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[WatchSessionsResponse], error)
	// Lists the apps holding sessions or state that the caller may use (see
	// "Apps and users").
	ListApps(ctx context.Context, in *ListAppsRequest, opts ...grpc.CallOption) (*ListAppsResponse, error)
	// Lists the users of an app holding sessions or user state (see "Apps and
	// users").
	ListUsers(ctx context.Context, in *ListUsersRequest, opts ...grpc.CallOption) (*ListUsersResponse, error)
}

type sessionServiceClient struct {
	cc grpc.ClientConnInterface
}

func NewSessionServiceClient(cc grpc.ClientConnInterface) SessionServiceClient {
	return &sessionServiceClient{cc}
}

func (c *sessionServiceClient) CreateSession(ctx context.Context, in *CreateSessionRequest, opts ...grpc.CallOption) (*CreateSessionResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(CreateSessionResponse)
	err := c.cc.Invoke(ctx, SessionService_CreateSession_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *sessionServiceClient) BatchCreateSessions(ctx context.Context, in *BatchCreateSessionsRequest, opts ...grpc.CallOption) (*BatchCreateSessionsResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(BatchCreateSessionsResponse)
	err := c.cc.Invoke(ctx, SessionService_BatchCreateSessions_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *sessionServiceClient) GetSession(ctx context.Context, in *GetSessionRequest, opts ...grpc.CallOption) (*GetSessionResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(GetSessionResponse)
	err := c.cc.Invoke(ctx, SessionService_GetSession_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *sessionServiceClient) ListSessions(ctx context.Context, in *ListSessionsRequest, opts ...grpc.CallOption) (*ListSessionsResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(ListSessionsResponse)
	err := c.cc.Invoke(ctx, SessionService_ListSessions_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *sessionServiceClient) DeleteSession(ctx context.Context, in *DeleteSessionRequest, opts ...grpc.CallOption) (*DeleteSessionResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(DeleteSessionResponse)
	err := c.cc.Invoke(ctx, SessionService_DeleteSession_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *sessionServiceClient) AppendEvent(ctx context.Context, in *AppendEventRequest, opts ...grpc.CallOption) (*AppendEventResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(AppendEventResponse)
	err := c.cc.Invoke(ctx, SessionService_AppendEvent_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *sessionServiceClient) BatchAppendEvents(ctx context.Context, in *BatchAppendEventsRequest, opts ...grpc.CallOption) (*BatchAppendEventsResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(BatchAppendEventsResponse)
	err := c.cc.Invoke(ctx, SessionService_BatchAppendEvents_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *sessionServiceClient) AppendEventStream(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[AppendEventStreamRequest, AppendEventStreamResponse], error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	stream, err := c.cc.NewStream(ctx, &SessionService_ServiceDesc.Streams[0], SessionService_AppendEventStream_FullMethodName, cOpts...)
	if err != nil {
		return nil, err
	}
	x := &grpc.GenericClientStream[AppendEventStreamRequest, AppendEventStreamResponse]{ClientStream: stream}
	return x, nil
}

// This type alias is provided for backwards compatibility with existing code that references the prior non-generic stream type by name.
type SessionService_AppendEventStreamClient = grpc.BidiStreamingClient[AppendEventStreamRequest, AppendEventStreamResponse]

func (c *sessionServiceClient) ListEvents(ctx context.Context, in *ListEventsRequest, opts ...grpc.CallOption) (*ListEventsResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(ListEventsResponse)
	err := c.cc.Invoke(ctx, SessionService_ListEvents_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *sessionServiceClient) GetUserState(ctx context.Context, in *GetUserStateRequest, opts ...grpc.CallOption) (*GetUserStateResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(GetUserStateResponse)
	err := c.cc.Invoke(ctx, SessionService_GetUserState_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *sessionServiceClient) GetAppState(ctx context.Context, in *GetAppStateRequest, opts ...grpc.CallOption) (*GetAppStateResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(GetAppStateResponse)
	err := c.cc.Invoke(ctx, SessionService_GetAppState_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *sessionServiceClient) UpdateSession(ctx context.Context, in *UpdateSessionRequest, opts ...grpc.CallOption) (*UpdateSessionResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(UpdateSessionResponse)
	err := c.cc.Invoke(ctx, SessionService_UpdateSession_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *sessionServiceClient) CloseSession(ctx context.Context, in *CloseSessionRequest, opts ...grpc.CallOption) (*CloseSessionResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(CloseSessionResponse)
	err := c.cc.Invoke(ctx, SessionService_CloseSession_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *sessionServiceClient) EraseUser(ctx context.Context, in *EraseUserRequest, opts ...grpc.CallOption) (*EraseUserResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(EraseUserResponse)
	err := c.cc.Invoke(ctx, SessionService_EraseUser_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *sessionServiceClient) ForkSession(ctx context.Context, in *ForkSessionRequest, opts ...grpc.CallOption) (*ForkSessionResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(ForkSessionResponse)
	err := c.cc.Invoke(ctx, SessionService_ForkSession_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *sessionServiceClient) WatchSession(ctx context.Context, in *WatchSessionRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[WatchSessionResponse], error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	stream, err := c.cc.NewStream(ctx, &SessionService_ServiceDesc.Streams[1], SessionService_WatchSession_FullMethodName, cOpts...)
	if err != nil {
		return nil, err
	}
	x := &grpc.GenericClientStream[WatchSessionRequest, WatchSessionResponse]{ClientStream: stream}
	if err := x.ClientStream.SendMsg(in); err != nil {
		return nil, err
	}
	if err := x.ClientStream.CloseSend(); err != nil {
		return nil, err
	}
	return x, nil
}

// This type alias is provided for backwards compatibility with existing code that references the prior non-generic stream type by name.
type SessionService_WatchSessionClient = grpc.ServerStreamingClient[WatchSessionResponse]

func (c *sessionServiceClient) WatchSessions(ctx context.Context, in *WatchSessionsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[WatchSessionsResponse], error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	stream, err := c.cc.NewStream(ctx, &SessionService_ServiceDesc.Streams[2], SessionService_WatchSessions_FullMethodName, cOpts...)
	if err != nil {
		return nil, err
	}
	x := &grpc.GenericClientStream[WatchSessionsRequest, WatchSessionsResponse]{ClientStream: stream}
	if err := x.ClientStream.SendMsg(in); err != nil {
		return nil, err
	}
	if err := x.ClientStream.CloseSend(); err != nil {
		return nil, err
	}
	return x, nil
}

// This type alias is provided for backwards compatibility with existing code that references the prior non-generic stream type by name.
type SessionService_WatchSessionsClient = grpc.ServerStreamingClient[WatchSessionsResponse]

func (c *sessionServiceClient) ListApps(ctx context.Context, in *ListAppsRequest, opts ...grpc.CallOption) (*ListAppsResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(ListAppsResponse)
	err := c.cc.Invoke(ctx, SessionService_ListApps_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *sessionServiceClient) ListUsers(ctx context.Context, in *ListUsersRequest, opts ...grpc.CallOption) (*ListUsersResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(ListUsersResponse)
	err := c.cc.Invoke(ctx, SessionService_ListUsers_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SessionServiceServer is the server API for SessionService service.
// All implementations must embed UnimplementedSessionServiceServer
// for forward compatibility.
//
// Stores ADK sessions, their events and their app-, user- and session-scoped
// state.
type SessionServiceServer interface {
	// Creates a session, optionally with a caller-chosen id and initial state.
	// Errors: ALREADY_EXISTS ("SESSION_ALREADY_EXISTS") if the id is taken;
	// RESOURCE_EXHAUSTED ("STATE_SIZE_LIMIT") if the initial state would leave
	// a scope above its limit (see "Limits").
	CreateSession(context.Context, *CreateSessionRequest) (*CreateSessionResponse, error)
	// Makes several CreateSession calls in one: a client creating many
	// sessions at once sends them together and pays one call's cost. Each
	// create is handled exactly as CreateSession would handle it alone (same
	// checks, same errors, an id generated for each that names none); the
	// batch as a whole is not atomic, and one create failing (its id taken,
	// say) does not stop the others. Authorization is per create (its
	// app_name). The call fails as a whole only for what concerns the whole
	// call: UNAUTHENTICATED, INVALID_ARGUMENT for an empty or too large batch
	// (at most 1000 creates), DEADLINE_EXCEEDED. Retrying the whole call on
	// UNAVAILABLE is as safe as retrying CreateSession: a create that landed
	// before answers ALREADY_EXISTS on the retry, which a client that chose
	// the id itself knows for its own. The answers must fit in one response: a
	// session created whose answer would not is answered by its id alone, to
	// read with GetSession (see "Limits").
	BatchCreateSessions(context.Context, *BatchCreateSessionsRequest) (*BatchCreateSessionsResponse, error)
	// Reads a session with its merged state and (a filtered window of) its
	// events, as many of them as fit in the response; the rest follow through
	// ListEvents with next_events_page_token (see "Limits").
	// Errors: NOT_FOUND ("SESSION_NOT_FOUND").
	GetSession(context.Context, *GetSessionRequest) (*GetSessionResponse, error)
	// Lists sessions of an app, or of one user of an app, without their events,
	// ordered by last_update_time, oldest first (ties by user_id, then
	// session_id), or as order_by says, keeping those filter keeps (see
	// "Metadata, filtered listings and forks").
	ListSessions(context.Context, *ListSessionsRequest) (*ListSessionsResponse, error)
	// Deletes a session and its events. Deleting a session that does not exist
	// succeeds. App and user state are not touched.
	DeleteSession(context.Context, *DeleteSessionRequest) (*DeleteSessionResponse, error)
	// Appends one event to a session and applies its state delta, atomically:
	// either all of it is stored or none of it. See "Concurrency" and
	// "Idempotency" above. Errors: NOT_FOUND, ABORTED ("STALE_SESSION"),
	// ALREADY_EXISTS ("EVENT_ID_CONFLICT"), INVALID_ARGUMENT,
	// RESOURCE_EXHAUSTED ("SESSION_SIZE_LIMIT", "STATE_SIZE_LIMIT").
	AppendEvent(context.Context, *AppendEventRequest) (*AppendEventResponse, error)
	// Makes several AppendEvent calls in one: a client with many sessions
	// appending at once sends them together and pays one call's cost. Each
	// append is handled exactly as AppendEvent would handle it alone (atomic on
	// its own, same checks, same idempotency); the batch as a whole is not
	// atomic, and one append failing does not stop the others. Appends to one
	// session are applied in request order. Authorization is per append (its
	// app_name). The call fails as a whole only for what concerns the whole
	// call: UNAUTHENTICATED, INVALID_ARGUMENT for an empty or too large batch
	// (at most 1000 appends), DEADLINE_EXCEEDED. Retrying the whole call on
	// UNAVAILABLE is safe, as for AppendEvent. The answers must fit in one
	// response: appends whose answers would not are not applied, and are
	// answered UNAVAILABLE, reason "BATCH_RESPONSE_FULL" (see "Limits").
	BatchAppendEvents(context.Context, *BatchAppendEventsRequest) (*BatchAppendEventsResponse, error)
	// AppendEvent over a stream held open between appends: an append sent on
	// it costs both sides far less than a call of its own, so a client that
	// appends one event at a time (an agent's turn) waits less. Each request
	// is handled exactly as AppendEvent would handle it alone and answered
	// with its result, in request order; the server reads the next request
	// only after answering the one before. A request may be a create instead,
	// handled exactly as CreateSession would handle it alone (a client
	// creating one session at a time waits less too). A request's failure is
	// its result, not the stream's; authorization is per request (its
	// app_name). The stream itself fails only for what concerns it as a
	// whole (UNAUTHENTICATED). A server that begins to drain ends its streams
	// with OK as soon as each has answered what it read: the client opens
	// another (and so reaches another server). Each request may take the
	// server's longest call time, as a call of its own may.
	AppendEventStream(grpc.BidiStreamingServer[AppendEventStreamRequest, AppendEventStreamResponse]) error
	// Lists the events of a session in the order they were appended; or, with
	// a GetSessionResponse.next_events_page_token, the rest of that read's
	// selection. Errors: NOT_FOUND ("SESSION_NOT_FOUND").
	ListEvents(context.Context, *ListEventsRequest) (*ListEventsResponse, error)
	// Reads the user-scoped state of one user of an app (keys without the
	// "user:" prefix). A user with no state has an empty map; not an error.
	GetUserState(context.Context, *GetUserStateRequest) (*GetUserStateResponse, error)
	// Reads the app-scoped state of an app (keys without the "app:" prefix).
	// An app with no state has an empty map; not an error.
	GetAppState(context.Context, *GetAppStateRequest) (*GetAppStateResponse, error)
	// Changes a session's settings and metadata named by update_mask
	// (AIP-134); never its events or state. Does not change the revision, so no writer's session
	// becomes stale. Errors: NOT_FOUND ("SESSION_NOT_FOUND");
	// INVALID_ARGUMENT naming "update_mask" for a path that is unknown or not
	// updatable.
	UpdateSession(context.Context, *UpdateSessionRequest) (*UpdateSessionResponse, error)
	// Closes a session: it stays readable and refuses appends (see
	// "Lifecycle"). Closing a closed session succeeds. Errors: NOT_FOUND
	// ("SESSION_NOT_FOUND").
	CloseSession(context.Context, *CloseSessionRequest) (*CloseSessionResponse, error)
	// Erases one user of an app: every session, event and user-scoped state
	// (see "Lifecycle"). Erasing a user with nothing stored succeeds.
	EraseUser(context.Context, *EraseUserRequest) (*EraseUserResponse, error)
	// Copies a session (all its events, or those before an invocation) into a
	// new session of the same user (see "Metadata, filtered listings and
	// forks"). Errors: NOT_FOUND ("SESSION_NOT_FOUND") for the source;
	// ALREADY_EXISTS ("SESSION_ALREADY_EXISTS") if new_session_id is taken;
	// INVALID_ARGUMENT naming "before_invocation_id" if no event of the source
	// has that invocation id; FAILED_PRECONDITION ("FORK_POINT_UNKNOWN") for a
	// fork before an invocation of a session whose initial state the storage
	// does not know (one imported, or created before the server kept it).
	ForkSession(context.Context, *ForkSessionRequest) (*ForkSessionResponse, error)
	// Follows a session live: the events stored after a revision, a caught_up
	// marker, then each event as it is committed, until the session is
	// closed, deleted or expired, or the caller ends the stream (see
	// "Watching"). Errors: NOT_FOUND ("SESSION_NOT_FOUND"); RESOURCE_EXHAUSTED
	// ("WATCHER_TOO_SLOW"); UNAVAILABLE ("SERVER_DRAINING"); UNIMPLEMENTED
	// ("NOT_SUPPORTED_BY_BACKEND") on storage that cannot be watched.
	WatchSession(*WatchSessionRequest, grpc.ServerStreamingServer[WatchSessionResponse]) error
	// Follows one user's sessions live: a listing of them, a caught_up
	// marker, then a notice of each session created, updated, closed,
	// deleted or expired as it is committed, until the caller ends the stream
	// (see "Watching a user's sessions"). Errors: RESOURCE_EXHAUSTED
	// ("WATCHER_TOO_SLOW"); UNAVAILABLE ("SERVER_DRAINING"); UNIMPLEMENTED
	// ("NOT_SUPPORTED_BY_BACKEND") on storage that cannot be watched.
	WatchSessions(*WatchSessionsRequest, grpc.ServerStreamingServer[WatchSessionsResponse]) error
	// Lists the apps holding sessions or state that the caller may use (see
	// "Apps and users").
	ListApps(context.Context, *ListAppsRequest) (*ListAppsResponse, error)
	// Lists the users of an app holding sessions or user state (see "Apps and
	// users").
	ListUsers(context.Context, *ListUsersRequest) (*ListUsersResponse, error)
	mustEmbedUnimplementedSessionServiceServer()
}

// UnimplementedSessionServiceServer must be embedded to have
// forward compatible implementations.
//
// NOTE: this should be embedded by value instead of pointer to avoid a nil
// pointer dereference when methods are called.
type UnimplementedSessionServiceServer struct{}

func (UnimplementedSessionServiceServer) CreateSession(context.Context, *CreateSessionRequest) (*CreateSessionResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method CreateSession not implemented")
}
func (UnimplementedSessionServiceServer) BatchCreateSessions(context.Context, *BatchCreateSessionsRequest) (*BatchCreateSessionsResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method BatchCreateSessions not implemented")
}
func (UnimplementedSessionServiceServer) GetSession(context.Context, *GetSessionRequest) (*GetSessionResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method GetSession not implemented")
}
func (UnimplementedSessionServiceServer) ListSessions(context.Context, *ListSessionsRequest) (*ListSessionsResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method ListSessions not implemented")
}
func (UnimplementedSessionServiceServer) DeleteSession(context.Context, *DeleteSessionRequest) (*DeleteSessionResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method DeleteSession not implemented")
}
func (UnimplementedSessionServiceServer) AppendEvent(context.Context, *AppendEventRequest) (*AppendEventResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method AppendEvent not implemented")
}
func (UnimplementedSessionServiceServer) BatchAppendEvents(context.Context, *BatchAppendEventsRequest) (*BatchAppendEventsResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method BatchAppendEvents not implemented")
}
func (UnimplementedSessionServiceServer) AppendEventStream(grpc.BidiStreamingServer[AppendEventStreamRequest, AppendEventStreamResponse]) error {
	return status.Error(codes.Unimplemented, "method AppendEventStream not implemented")
}
func (UnimplementedSessionServiceServer) ListEvents(context.Context, *ListEventsRequest) (*ListEventsResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method ListEvents not implemented")
}
func (UnimplementedSessionServiceServer) GetUserState(context.Context, *GetUserStateRequest) (*GetUserStateResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method GetUserState not implemented")
}
func (UnimplementedSessionServiceServer) GetAppState(context.Context, *GetAppStateRequest) (*GetAppStateResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method GetAppState not implemented")
}
func (UnimplementedSessionServiceServer) UpdateSession(context.Context, *UpdateSessionRequest) (*UpdateSessionResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method UpdateSession not implemented")
}
func (UnimplementedSessionServiceServer) CloseSession(context.Context, *CloseSessionRequest) (*CloseSessionResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method CloseSession not implemented")
}
func (UnimplementedSessionServiceServer) EraseUser(context.Context, *EraseUserRequest) (*EraseUserResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method EraseUser not implemented")
}
func (UnimplementedSessionServiceServer) ForkSession(context.Context, *ForkSessionRequest) (*ForkSessionResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method ForkSession not implemented")
}
func (UnimplementedSessionServiceServer) WatchSession(*WatchSessionRequest, grpc.ServerStreamingServer[WatchSessionResponse]) error {
	return status.Error(codes.Unimplemented, "method WatchSession not implemented")
}
func (UnimplementedSessionServiceServer) WatchSessions(*WatchSessionsRequest, grpc.ServerStreamingServer[WatchSessionsResponse]) error {
	return status.Error(codes.Unimplemented, "method WatchSessions not implemented")
}
func (UnimplementedSessionServiceServer) ListApps(context.Context, *ListAppsRequest) (*ListAppsResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method ListApps not implemented")
}
func (UnimplementedSessionServiceServer) ListUsers(context.Context, *ListUsersRequest) (*ListUsersResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method ListUsers not implemented")
}
func (UnimplementedSessionServiceServer) mustEmbedUnimplementedSessionServiceServer() {}
func (UnimplementedSessionServiceServer) testEmbeddedByValue()                        {}

// UnsafeSessionServiceServer may be embedded to opt out of forward compatibility for this service.
// Use of this interface is not recommended, as added methods to SessionServiceServer will
// result in compilation errors.
type UnsafeSessionServiceServer interface {
	mustEmbedUnimplementedSessionServiceServer()
}

func RegisterSessionServiceServer(s grpc.ServiceRegistrar, srv SessionServiceServer) {
	// If the following call panics, it indicates UnimplementedSessionServiceServer was
	// embedded by pointer and is nil.  This will cause panics if an
	// unimplemented method is ever invoked, so we test this at initialization
	// time to prevent it from happening at runtime later due to I/O.
	if t, ok := srv.(interface{ testEmbeddedByValue() }); ok {
		t.testEmbeddedByValue()
	}
	s.RegisterService(&SessionService_ServiceDesc, srv)
}

func _SessionService_CreateSession_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(CreateSessionRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(SessionServiceServer).CreateSession(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: SessionService_CreateSession_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(SessionServiceServer).CreateSession(ctx, req.(*CreateSessionRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _SessionService_BatchCreateSessions_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(BatchCreateSessionsRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(SessionServiceServer).BatchCreateSessions(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: SessionService_BatchCreateSessions_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(SessionServiceServer).BatchCreateSessions(ctx, req.(*BatchCreateSessionsRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _SessionService_GetSession_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(GetSessionRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(SessionServiceServer).GetSession(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: SessionService_GetSession_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(SessionServiceServer).GetSession(ctx, req.(*GetSessionRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _SessionService_ListSessions_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(ListSessionsRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(SessionServiceServer).ListSessions(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: SessionService_ListSessions_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(SessionServiceServer).ListSessions(ctx, req.(*ListSessionsRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _SessionService_DeleteSession_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(DeleteSessionRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(SessionServiceServer).DeleteSession(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: SessionService_DeleteSession_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(SessionServiceServer).DeleteSession(ctx, req.(*DeleteSessionRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _SessionService_AppendEvent_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(AppendEventRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(SessionServiceServer).AppendEvent(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: SessionService_AppendEvent_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(SessionServiceServer).AppendEvent(ctx, req.(*AppendEventRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _SessionService_BatchAppendEvents_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(BatchAppendEventsRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(SessionServiceServer).BatchAppendEvents(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: SessionService_BatchAppendEvents_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(SessionServiceServer).BatchAppendEvents(ctx, req.(*BatchAppendEventsRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _SessionService_AppendEventStream_Handler(srv interface{}, stream grpc.ServerStream) error {
	return srv.(SessionServiceServer).AppendEventStream(&grpc.GenericServerStream[AppendEventStreamRequest, AppendEventStreamResponse]{ServerStream: stream})
}

// This type alias is provided for backwards compatibility with existing code that references the prior non-generic stream type by name.
type SessionService_AppendEventStreamServer = grpc.BidiStreamingServer[AppendEventStreamRequest, AppendEventStreamResponse]

func _SessionService_ListEvents_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(ListEventsRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(SessionServiceServer).ListEvents(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: SessionService_ListEvents_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(SessionServiceServer).ListEvents(ctx, req.(*ListEventsRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _SessionService_GetUserState_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(GetUserStateRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(SessionServiceServer).GetUserState(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: SessionService_GetUserState_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(SessionServiceServer).GetUserState(ctx, req.(*GetUserStateRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _SessionService_GetAppState_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(GetAppStateRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(SessionServiceServer).GetAppState(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: SessionService_GetAppState_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(SessionServiceServer).GetAppState(ctx, req.(*GetAppStateRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _SessionService_UpdateSession_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(UpdateSessionRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(SessionServiceServer).UpdateSession(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: SessionService_UpdateSession_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(SessionServiceServer).UpdateSession(ctx, req.(*UpdateSessionRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _SessionService_CloseSession_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(CloseSessionRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(SessionServiceServer).CloseSession(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: SessionService_CloseSession_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(SessionServiceServer).CloseSession(ctx, req.(*CloseSessionRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _SessionService_EraseUser_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(EraseUserRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(SessionServiceServer).EraseUser(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: SessionService_EraseUser_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(SessionServiceServer).EraseUser(ctx, req.(*EraseUserRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _SessionService_ForkSession_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(ForkSessionRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(SessionServiceServer).ForkSession(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: SessionService_ForkSession_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(SessionServiceServer).ForkSession(ctx, req.(*ForkSessionRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _SessionService_WatchSession_Handler(srv interface{}, stream grpc.ServerStream) error {
	m := new(WatchSessionRequest)
	if err := stream.RecvMsg(m); err != nil {
		return err
	}
	return srv.(SessionServiceServer).WatchSession(m, &grpc.GenericServerStream[WatchSessionRequest, WatchSessionResponse]{ServerStream: stream})
}

// This type alias is provided for backwards compatibility with existing code that references the prior non-generic stream type by name.
type SessionService_WatchSessionServer = grpc.ServerStreamingServer[WatchSessionResponse]

func _SessionService_WatchSessions_Handler(srv interface{}, stream grpc.ServerStream) error {
	m := new(WatchSessionsRequest)
	if err := stream.RecvMsg(m); err != nil {
		return err
	}
	return srv.(SessionServiceServer).WatchSessions(m, &grpc.GenericServerStream[WatchSessionsRequest, WatchSessionsResponse]{ServerStream: stream})
}

// This type alias is provided for backwards compatibility with existing code that references the prior non-generic stream type by name.
type SessionService_WatchSessionsServer = grpc.ServerStreamingServer[WatchSessionsResponse]

func _SessionService_ListApps_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(ListAppsRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(SessionServiceServer).ListApps(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: SessionService_ListApps_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(SessionServiceServer).ListApps(ctx, req.(*ListAppsRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _SessionService_ListUsers_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(ListUsersRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(SessionServiceServer).ListUsers(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: SessionService_ListUsers_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(SessionServiceServer).ListUsers(ctx, req.(*ListUsersRequest))
	}
	return interceptor(ctx, in, info, handler)
}

// SessionService_ServiceDesc is the grpc.ServiceDesc for SessionService service.
// It's only intended for direct use with grpc.RegisterService,
// and not to be introspected or modified (even as a copy)
var SessionService_ServiceDesc = grpc.ServiceDesc{
	ServiceName: "adk_grpc_sessions.v1.SessionService",
	HandlerType: (*SessionServiceServer)(nil),
	Methods: []grpc.MethodDesc{
		{
			MethodName: "CreateSession",
			Handler:    _SessionService_CreateSession_Handler,
		},
		{
			MethodName: "BatchCreateSessions",
			Handler:    _SessionService_BatchCreateSessions_Handler,
		},
		{
			MethodName: "GetSession",
			Handler:    _SessionService_GetSession_Handler,
		},
		{
			MethodName: "ListSessions",
			Handler:    _SessionService_ListSessions_Handler,
		},
		{
			MethodName: "DeleteSession",
			Handler:    _SessionService_DeleteSession_Handler,
		},
		{
			MethodName: "AppendEvent",
			Handler:    _SessionService_AppendEvent_Handler,
		},
		{
			MethodName: "BatchAppendEvents",
			Handler:    _SessionService_BatchAppendEvents_Handler,
		},
		{
			MethodName: "ListEvents",
			Handler:    _SessionService_ListEvents_Handler,
		},
		{
			MethodName: "GetUserState",
			Handler:    _SessionService_GetUserState_Handler,
		},
		{
			MethodName: "GetAppState",
			Handler:    _SessionService_GetAppState_Handler,
		},
		{
			MethodName: "UpdateSession",
			Handler:    _SessionService_UpdateSession_Handler,
		},
		{
			MethodName: "CloseSession",
			Handler:    _SessionService_CloseSession_Handler,
		},
		{
			MethodName: "EraseUser",
			Handler:    _SessionService_EraseUser_Handler,
		},
		{
			MethodName: "ForkSession",
			Handler:    _SessionService_ForkSession_Handler,
		},
		{
			MethodName: "ListApps",
			Handler:    _SessionService_ListApps_Handler,
		},
		{
			MethodName: "ListUsers",
			Handler:    _SessionService_ListUsers_Handler,
		},
	},
	Streams: []grpc.StreamDesc{
		{
			StreamName:    "AppendEventStream",
			Handler:       _SessionService_AppendEventStream_Handler,
			ServerStreams: true,
			ClientStreams: true,
		},
		{
			StreamName:    "WatchSession",
			Handler:       _SessionService_WatchSession_Handler,
			ServerStreams: true,
		},
		{
			StreamName:    "WatchSessions",
			Handler:       _SessionService_WatchSessions_Handler,
			ServerStreams: true,
		},
	},
	Metadata: "adk_grpc_sessions/v1/session_service.proto",
}
