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

// Code generated by protoc-gen-go. DO NOT EDIT.
// versions:
// 	protoc-gen-go v1.36.12
// 	protoc        (unknown)
// source: adk_grpc_sessions/v1/session_service.proto

package sessionsv1

import (
	protoreflect "google.golang.org/protobuf/reflect/protoreflect"
	protoimpl "google.golang.org/protobuf/runtime/protoimpl"
	anypb "google.golang.org/protobuf/types/known/anypb"
	durationpb "google.golang.org/protobuf/types/known/durationpb"
	fieldmaskpb "google.golang.org/protobuf/types/known/fieldmaskpb"
	timestamppb "google.golang.org/protobuf/types/known/timestamppb"
	reflect "reflect"
	sync "sync"
	unsafe "unsafe"
)

const (
	// Verify that this generated code is sufficiently up-to-date.
	_ = protoimpl.EnforceVersion(20 - protoimpl.MinVersion)
	// Verify that runtime/protoimpl is sufficiently up-to-date.
	_ = protoimpl.EnforceVersion(protoimpl.MaxVersion - 20)
)

// What happened to the session.
type WatchEnded_Reason int32

const (
	// Not used.
	WatchEnded_REASON_UNSPECIFIED WatchEnded_Reason = 0
	// CloseSession closed it; every event stored before was delivered.
	WatchEnded_REASON_CLOSED WatchEnded_Reason = 1
	// It was deleted (DeleteSession or EraseUser).
	WatchEnded_REASON_DELETED WatchEnded_Reason = 2
	// Its expire_time passed.
	WatchEnded_REASON_EXPIRED WatchEnded_Reason = 3
)

// Enum value maps for WatchEnded_Reason.
var (
	WatchEnded_Reason_name = map[int32]string{
		0: "REASON_UNSPECIFIED",
		1: "REASON_CLOSED",
		2: "REASON_DELETED",
		3: "REASON_EXPIRED",
	}
	WatchEnded_Reason_value = map[string]int32{
		"REASON_UNSPECIFIED": 0,
		"REASON_CLOSED":      1,
		"REASON_DELETED":     2,
		"REASON_EXPIRED":     3,
	}
)

func (x WatchEnded_Reason) Enum() *WatchEnded_Reason {
	p := new(WatchEnded_Reason)
	*p = x
	return p
}

func (x WatchEnded_Reason) String() string {
	return protoimpl.X.EnumStringOf(x.Descriptor(), protoreflect.EnumNumber(x))
}

func (WatchEnded_Reason) Descriptor() protoreflect.EnumDescriptor {
	return file_adk_grpc_sessions_v1_session_service_proto_enumTypes[0].Descriptor()
}

func (WatchEnded_Reason) Type() protoreflect.EnumType {
	return &file_adk_grpc_sessions_v1_session_service_proto_enumTypes[0]
}

func (x WatchEnded_Reason) Number() protoreflect.EnumNumber {
	return protoreflect.EnumNumber(x)
}

// Deprecated: Use WatchEnded_Reason.Descriptor instead.
func (WatchEnded_Reason) EnumDescriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{44, 0}
}

// What the notice says.
type SessionNotice_Kind int32

const (
	// Not used.
	SessionNotice_KIND_UNSPECIFIED SessionNotice_Kind = 0
	// The session exists: part of a listing (before caught_up).
	SessionNotice_KIND_LISTED SessionNotice_Kind = 1
	// CreateSession or ForkSession created it.
	SessionNotice_KIND_CREATED SessionNotice_Kind = 2
	// An event was appended to it, or UpdateSession changed it.
	SessionNotice_KIND_UPDATED SessionNotice_Kind = 3
	// CloseSession closed it (its head shows close_time).
	SessionNotice_KIND_CLOSED SessionNotice_Kind = 4
	// DeleteSession deleted it.
	SessionNotice_KIND_DELETED SessionNotice_Kind = 5
	// Its expire_time passed (or it was purged as expired).
	SessionNotice_KIND_EXPIRED SessionNotice_Kind = 6
)

// Enum value maps for SessionNotice_Kind.
var (
	SessionNotice_Kind_name = map[int32]string{
		0: "KIND_UNSPECIFIED",
		1: "KIND_LISTED",
		2: "KIND_CREATED",
		3: "KIND_UPDATED",
		4: "KIND_CLOSED",
		5: "KIND_DELETED",
		6: "KIND_EXPIRED",
	}
	SessionNotice_Kind_value = map[string]int32{
		"KIND_UNSPECIFIED": 0,
		"KIND_LISTED":      1,
		"KIND_CREATED":     2,
		"KIND_UPDATED":     3,
		"KIND_CLOSED":      4,
		"KIND_DELETED":     5,
		"KIND_EXPIRED":     6,
	}
)

func (x SessionNotice_Kind) Enum() *SessionNotice_Kind {
	p := new(SessionNotice_Kind)
	*p = x
	return p
}

func (x SessionNotice_Kind) String() string {
	return protoimpl.X.EnumStringOf(x.Descriptor(), protoreflect.EnumNumber(x))
}

func (SessionNotice_Kind) Descriptor() protoreflect.EnumDescriptor {
	return file_adk_grpc_sessions_v1_session_service_proto_enumTypes[1].Descriptor()
}

func (SessionNotice_Kind) Type() protoreflect.EnumType {
	return &file_adk_grpc_sessions_v1_session_service_proto_enumTypes[1]
}

func (x SessionNotice_Kind) Number() protoreflect.EnumNumber {
	return protoreflect.EnumNumber(x)
}

// Deprecated: Use SessionNotice_Kind.Descriptor instead.
func (SessionNotice_Kind) EnumDescriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{48, 0}
}

// State in its three scopes. In every map the key is the state key without
// its scope prefix and the value is that key's value as JSON text.
type State struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// App-scoped keys (ADK prefix "app:"), shared by all sessions of the app.
	App map[string]string `protobuf:"bytes,1,rep,name=app,proto3" json:"app,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	// User-scoped keys (ADK prefix "user:"), shared by one user's sessions.
	User map[string]string `protobuf:"bytes,2,rep,name=user,proto3" json:"user,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	// Session-scoped keys (no prefix). A key here must not start with "app:",
	// "user:" or "temp:".
	Session       map[string]string `protobuf:"bytes,3,rep,name=session,proto3" json:"session,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *State) Reset() {
	*x = State{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[0]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *State) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*State) ProtoMessage() {}

func (x *State) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[0]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use State.ProtoReflect.Descriptor instead.
func (*State) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{0}
}

func (x *State) GetApp() map[string]string {
	if x != nil {
		return x.App
	}
	return nil
}

func (x *State) GetUser() map[string]string {
	if x != nil {
		return x.User
	}
	return nil
}

func (x *State) GetSession() map[string]string {
	if x != nil {
		return x.Session
	}
	return nil
}

// A change to state: each entry sets its key to the value given (JSON text;
// "null" sets the value null, it does not remove the key). Keys not named are
// left as they are. Same shape and rules as State.
type StateDelta struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// App-scoped keys to set (without "app:").
	App map[string]string `protobuf:"bytes,1,rep,name=app,proto3" json:"app,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	// User-scoped keys to set (without "user:").
	User map[string]string `protobuf:"bytes,2,rep,name=user,proto3" json:"user,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	// Session-scoped keys to set.
	Session       map[string]string `protobuf:"bytes,3,rep,name=session,proto3" json:"session,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *StateDelta) Reset() {
	*x = StateDelta{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[1]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *StateDelta) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*StateDelta) ProtoMessage() {}

func (x *StateDelta) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[1]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use StateDelta.ProtoReflect.Descriptor instead.
func (*StateDelta) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{1}
}

func (x *StateDelta) GetApp() map[string]string {
	if x != nil {
		return x.App
	}
	return nil
}

func (x *StateDelta) GetUser() map[string]string {
	if x != nil {
		return x.User
	}
	return nil
}

func (x *StateDelta) GetSession() map[string]string {
	if x != nil {
		return x.Session
	}
	return nil
}

// One stored event.
type Event struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Output only. The event id (ADK `Event.id`), unique within its session.
	Id string `protobuf:"bytes,1,opt,name=id,proto3" json:"id,omitempty"`
	// Output only. ADK `Event.invocation_id`; empty if the event has none.
	InvocationId string `protobuf:"bytes,2,opt,name=invocation_id,json=invocationId,proto3" json:"invocation_id,omitempty"`
	// Output only. ADK `Event.author`: "user" or the name of an agent.
	Author string `protobuf:"bytes,3,opt,name=author,proto3" json:"author,omitempty"`
	// Output only. ADK `Event.branch` (e.g. "root.child"); empty if none.
	Branch string `protobuf:"bytes,4,opt,name=branch,proto3" json:"branch,omitempty"`
	// Output only. ADK `Event.timestamp`, converted exactly from float seconds.
	Timestamp *timestamppb.Timestamp `protobuf:"bytes,5,opt,name=timestamp,proto3" json:"timestamp,omitempty"`
	// Output only. The event's state delta (`actions.stateDelta`) split by
	// scope, with "temp:" keys removed.
	StateDelta *StateDelta `protobuf:"bytes,6,opt,name=state_delta,json=stateDelta,proto3" json:"state_delta,omitempty"`
	// Output only. 1 for the first event appended to the session, then 2, 3,
	// ...: the append order, which is the order events are returned in.
	Sequence int64 `protobuf:"varint,7,opt,name=sequence,proto3" json:"sequence,omitempty"`
	// The complete event as ADK Python's camelCase JSON object. Authoritative;
	// returned exactly as stored. The whole Event fits in a response on its
	// own (see "Limits").
	EventJson     string `protobuf:"bytes,15,opt,name=event_json,json=eventJson,proto3" json:"event_json,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *Event) Reset() {
	*x = Event{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[2]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *Event) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*Event) ProtoMessage() {}

func (x *Event) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[2]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use Event.ProtoReflect.Descriptor instead.
func (*Event) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{2}
}

func (x *Event) GetId() string {
	if x != nil {
		return x.Id
	}
	return ""
}

func (x *Event) GetInvocationId() string {
	if x != nil {
		return x.InvocationId
	}
	return ""
}

func (x *Event) GetAuthor() string {
	if x != nil {
		return x.Author
	}
	return ""
}

func (x *Event) GetBranch() string {
	if x != nil {
		return x.Branch
	}
	return ""
}

func (x *Event) GetTimestamp() *timestamppb.Timestamp {
	if x != nil {
		return x.Timestamp
	}
	return nil
}

func (x *Event) GetStateDelta() *StateDelta {
	if x != nil {
		return x.StateDelta
	}
	return nil
}

func (x *Event) GetSequence() int64 {
	if x != nil {
		return x.Sequence
	}
	return 0
}

func (x *Event) GetEventJson() string {
	if x != nil {
		return x.EventJson
	}
	return ""
}

// A session. Events are present only where a call says so.
type Session struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The app the session belongs to.
	AppName string `protobuf:"bytes,1,opt,name=app_name,json=appName,proto3" json:"app_name,omitempty"`
	// The user the session belongs to.
	UserId string `protobuf:"bytes,2,opt,name=user_id,json=userId,proto3" json:"user_id,omitempty"`
	// The session id, unique per (app_name, user_id).
	SessionId string `protobuf:"bytes,3,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
	// The session's state: its own keys plus the app's and the user's keys as
	// they are now (ADK's merged view, by scope).
	State *State `protobuf:"bytes,4,opt,name=state,proto3" json:"state,omitempty"`
	// The session's events, oldest first. Empty in ListSessions results.
	Events []*Event `protobuf:"bytes,5,rep,name=events,proto3" json:"events,omitempty"`
	// The timestamp of the most recently appended event (even if that event's
	// timestamp is older than an earlier one's), or the creation time if the
	// session has no events.
	LastUpdateTime *timestamppb.Timestamp `protobuf:"bytes,6,opt,name=last_update_time,json=lastUpdateTime,proto3" json:"last_update_time,omitempty"`
	// When the session was created (server clock).
	CreateTime *timestamppb.Timestamp `protobuf:"bytes,7,opt,name=create_time,json=createTime,proto3" json:"create_time,omitempty"`
	// The session's revision, to pass back as AppendEventRequest.
	// expected_revision. Opaque: compare for equality only. Never 0, and never
	// reused by a later session with the same name.
	Revision int64 `protobuf:"varint,8,opt,name=revision,proto3" json:"revision,omitempty"`
	// When the session expires (see "Lifecycle").
	//
	// Types that are valid to be assigned to Expiration:
	//
	//	*Session_ExpireTime
	//	*Session_Ttl
	Expiration isSession_Expiration `protobuf_oneof:"expiration"`
	// When the session was closed (server clock); unset = open.
	CloseTime *timestamppb.Timestamp `protobuf:"bytes,11,opt,name=close_time,json=closeTime,proto3" json:"close_time,omitempty"`
	// A name for people to read (0 to 128 code points, no NUL); empty = none. Set at
	// CreateSession or ForkSession, changed by UpdateSession ("display_name").
	DisplayName string `protobuf:"bytes,12,opt,name=display_name,json=displayName,proto3" json:"display_name,omitempty"`
	// Labels to group and filter sessions by (see "Metadata, filtered
	// listings and forks" for their limits). Changed by UpdateSession
	// ("labels" replaces them all).
	Labels map[string]string `protobuf:"bytes,13,rep,name=labels,proto3" json:"labels,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	// Output only. How many events the session holds; unset where the storage
	// does not know it without reading them (Agent Engine).
	EventCount *int64 `protobuf:"varint,14,opt,name=event_count,json=eventCount,proto3,oneof" json:"event_count,omitempty"`
	// Output only. The bytes the session's events and session-scoped state take
	// (event sizes and state sizes as "Limits" counts them); unset where the
	// storage does not know it.
	StoredBytes *int64 `protobuf:"varint,15,opt,name=stored_bytes,json=storedBytes,proto3,oneof" json:"stored_bytes,omitempty"`
	// Output only. Where this session was forked from; unset if it was created.
	ForkedFrom    *ForkOrigin `protobuf:"bytes,16,opt,name=forked_from,json=forkedFrom,proto3" json:"forked_from,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *Session) Reset() {
	*x = Session{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[3]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *Session) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*Session) ProtoMessage() {}

func (x *Session) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[3]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use Session.ProtoReflect.Descriptor instead.
func (*Session) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{3}
}

func (x *Session) GetAppName() string {
	if x != nil {
		return x.AppName
	}
	return ""
}

func (x *Session) GetUserId() string {
	if x != nil {
		return x.UserId
	}
	return ""
}

func (x *Session) GetSessionId() string {
	if x != nil {
		return x.SessionId
	}
	return ""
}

func (x *Session) GetState() *State {
	if x != nil {
		return x.State
	}
	return nil
}

func (x *Session) GetEvents() []*Event {
	if x != nil {
		return x.Events
	}
	return nil
}

func (x *Session) GetLastUpdateTime() *timestamppb.Timestamp {
	if x != nil {
		return x.LastUpdateTime
	}
	return nil
}

func (x *Session) GetCreateTime() *timestamppb.Timestamp {
	if x != nil {
		return x.CreateTime
	}
	return nil
}

func (x *Session) GetRevision() int64 {
	if x != nil {
		return x.Revision
	}
	return 0
}

func (x *Session) GetExpiration() isSession_Expiration {
	if x != nil {
		return x.Expiration
	}
	return nil
}

func (x *Session) GetExpireTime() *timestamppb.Timestamp {
	if x != nil {
		if x, ok := x.Expiration.(*Session_ExpireTime); ok {
			return x.ExpireTime
		}
	}
	return nil
}

func (x *Session) GetTtl() *durationpb.Duration {
	if x != nil {
		if x, ok := x.Expiration.(*Session_Ttl); ok {
			return x.Ttl
		}
	}
	return nil
}

func (x *Session) GetCloseTime() *timestamppb.Timestamp {
	if x != nil {
		return x.CloseTime
	}
	return nil
}

func (x *Session) GetDisplayName() string {
	if x != nil {
		return x.DisplayName
	}
	return ""
}

func (x *Session) GetLabels() map[string]string {
	if x != nil {
		return x.Labels
	}
	return nil
}

func (x *Session) GetEventCount() int64 {
	if x != nil && x.EventCount != nil {
		return *x.EventCount
	}
	return 0
}

func (x *Session) GetStoredBytes() int64 {
	if x != nil && x.StoredBytes != nil {
		return *x.StoredBytes
	}
	return 0
}

func (x *Session) GetForkedFrom() *ForkOrigin {
	if x != nil {
		return x.ForkedFrom
	}
	return nil
}

type isSession_Expiration interface {
	isSession_Expiration()
}

type Session_ExpireTime struct {
	// The instant the session expires; unset in a response = it never
	// expires. In UpdateSession (path "expire_time"): the new expiry, unset =
	// never; the session then has no ttl.
	ExpireTime *timestamppb.Timestamp `protobuf:"bytes,9,opt,name=expire_time,json=expireTime,proto3,oneof"`
}

type Session_Ttl struct {
	// Input only: in UpdateSession (path "ttl"), a duration (positive, at
	// most 100 years) from the server's clock: expire_time becomes now plus
	// it, and with --session-ttl-refresh-on-append each append moves it
	// again. Never set in a response.
	Ttl *durationpb.Duration `protobuf:"bytes,10,opt,name=ttl,proto3,oneof"`
}

func (*Session_ExpireTime) isSession_Expiration() {}

func (*Session_Ttl) isSession_Expiration() {}

// Where a forked session came from.
type ForkOrigin struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The session it was copied from (same app and user). That session may
	// have changed, or be gone, since.
	SessionId string `protobuf:"bytes,1,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
	// How many events were copied: the first event_count events of the source.
	EventCount int64 `protobuf:"varint,2,opt,name=event_count,json=eventCount,proto3" json:"event_count,omitempty"`
	// The invocation the copy stopped before; empty = it copied every event.
	BeforeInvocationId string `protobuf:"bytes,3,opt,name=before_invocation_id,json=beforeInvocationId,proto3" json:"before_invocation_id,omitempty"`
	// When the fork was made (server clock).
	ForkTime      *timestamppb.Timestamp `protobuf:"bytes,4,opt,name=fork_time,json=forkTime,proto3" json:"fork_time,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *ForkOrigin) Reset() {
	*x = ForkOrigin{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[4]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ForkOrigin) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ForkOrigin) ProtoMessage() {}

func (x *ForkOrigin) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[4]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use ForkOrigin.ProtoReflect.Descriptor instead.
func (*ForkOrigin) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{4}
}

func (x *ForkOrigin) GetSessionId() string {
	if x != nil {
		return x.SessionId
	}
	return ""
}

func (x *ForkOrigin) GetEventCount() int64 {
	if x != nil {
		return x.EventCount
	}
	return 0
}

func (x *ForkOrigin) GetBeforeInvocationId() string {
	if x != nil {
		return x.BeforeInvocationId
	}
	return ""
}

func (x *ForkOrigin) GetForkTime() *timestamppb.Timestamp {
	if x != nil {
		return x.ForkTime
	}
	return nil
}

// Request for SessionService.CreateSession.
type CreateSessionRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required. The app name (a key, see "Identity").
	AppName string `protobuf:"bytes,1,opt,name=app_name,json=appName,proto3" json:"app_name,omitempty"`
	// Required. The user id (a key).
	UserId string `protobuf:"bytes,2,opt,name=user_id,json=userId,proto3" json:"user_id,omitempty"`
	// Optional. The id for the new session; leading and trailing whitespace is
	// removed. Empty (or only whitespace) = the server generates a UUID4 (or,
	// with a backend whose storage names sessions itself, that storage's id).
	SessionId string `protobuf:"bytes,3,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
	// Optional. Initial state. App and user keys are merged into the app's and
	// the user's existing state (overwriting keys with the same name); session
	// keys become the session's state.
	State *StateDelta `protobuf:"bytes,4,opt,name=state,proto3" json:"state,omitempty"`
	// Optional. When the session expires (see "Lifecycle"). Neither set = the
	// server's default ttl, if it has one, else never.
	//
	// Types that are valid to be assigned to Expiration:
	//
	//	*CreateSessionRequest_ExpireTime
	//	*CreateSessionRequest_Ttl
	Expiration isCreateSessionRequest_Expiration `protobuf_oneof:"expiration"`
	// Optional. A name for people to read (see Session.display_name).
	DisplayName string `protobuf:"bytes,7,opt,name=display_name,json=displayName,proto3" json:"display_name,omitempty"`
	// Optional. Labels (see Session.labels).
	Labels        map[string]string `protobuf:"bytes,8,rep,name=labels,proto3" json:"labels,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *CreateSessionRequest) Reset() {
	*x = CreateSessionRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[5]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *CreateSessionRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*CreateSessionRequest) ProtoMessage() {}

func (x *CreateSessionRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[5]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use CreateSessionRequest.ProtoReflect.Descriptor instead.
func (*CreateSessionRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{5}
}

func (x *CreateSessionRequest) GetAppName() string {
	if x != nil {
		return x.AppName
	}
	return ""
}

func (x *CreateSessionRequest) GetUserId() string {
	if x != nil {
		return x.UserId
	}
	return ""
}

func (x *CreateSessionRequest) GetSessionId() string {
	if x != nil {
		return x.SessionId
	}
	return ""
}

func (x *CreateSessionRequest) GetState() *StateDelta {
	if x != nil {
		return x.State
	}
	return nil
}

func (x *CreateSessionRequest) GetExpiration() isCreateSessionRequest_Expiration {
	if x != nil {
		return x.Expiration
	}
	return nil
}

func (x *CreateSessionRequest) GetExpireTime() *timestamppb.Timestamp {
	if x != nil {
		if x, ok := x.Expiration.(*CreateSessionRequest_ExpireTime); ok {
			return x.ExpireTime
		}
	}
	return nil
}

func (x *CreateSessionRequest) GetTtl() *durationpb.Duration {
	if x != nil {
		if x, ok := x.Expiration.(*CreateSessionRequest_Ttl); ok {
			return x.Ttl
		}
	}
	return nil
}

func (x *CreateSessionRequest) GetDisplayName() string {
	if x != nil {
		return x.DisplayName
	}
	return ""
}

func (x *CreateSessionRequest) GetLabels() map[string]string {
	if x != nil {
		return x.Labels
	}
	return nil
}

type isCreateSessionRequest_Expiration interface {
	isCreateSessionRequest_Expiration()
}

type CreateSessionRequest_ExpireTime struct {
	// The instant the session expires; not in the past.
	ExpireTime *timestamppb.Timestamp `protobuf:"bytes,5,opt,name=expire_time,json=expireTime,proto3,oneof"`
}

type CreateSessionRequest_Ttl struct {
	// A duration (positive, at most 100 years) from the server's clock at
	// creation; kept with the session for --session-ttl-refresh-on-append.
	Ttl *durationpb.Duration `protobuf:"bytes,6,opt,name=ttl,proto3,oneof"`
}

func (*CreateSessionRequest_ExpireTime) isCreateSessionRequest_Expiration() {}

func (*CreateSessionRequest_Ttl) isCreateSessionRequest_Expiration() {}

// Response for SessionService.CreateSession.
type CreateSessionResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The new session, with merged state and no events.
	Session       *Session `protobuf:"bytes,1,opt,name=session,proto3" json:"session,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *CreateSessionResponse) Reset() {
	*x = CreateSessionResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[6]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *CreateSessionResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*CreateSessionResponse) ProtoMessage() {}

func (x *CreateSessionResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[6]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use CreateSessionResponse.ProtoReflect.Descriptor instead.
func (*CreateSessionResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{6}
}

func (x *CreateSessionResponse) GetSession() *Session {
	if x != nil {
		return x.Session
	}
	return nil
}

// Request for SessionService.BatchCreateSessions.
type BatchCreateSessionsRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required. 1 to 1000 creates, each exactly a CreateSession request.
	Requests      []*CreateSessionRequest `protobuf:"bytes,1,rep,name=requests,proto3" json:"requests,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *BatchCreateSessionsRequest) Reset() {
	*x = BatchCreateSessionsRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[7]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *BatchCreateSessionsRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*BatchCreateSessionsRequest) ProtoMessage() {}

func (x *BatchCreateSessionsRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[7]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use BatchCreateSessionsRequest.ProtoReflect.Descriptor instead.
func (*BatchCreateSessionsRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{7}
}

func (x *BatchCreateSessionsRequest) GetRequests() []*CreateSessionRequest {
	if x != nil {
		return x.Requests
	}
	return nil
}

// Response for SessionService.BatchCreateSessions.
type BatchCreateSessionsResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// One result per request, in request order.
	Results       []*CreateSessionResult `protobuf:"bytes,1,rep,name=results,proto3" json:"results,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *BatchCreateSessionsResponse) Reset() {
	*x = BatchCreateSessionsResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[8]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *BatchCreateSessionsResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*BatchCreateSessionsResponse) ProtoMessage() {}

func (x *BatchCreateSessionsResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[8]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use BatchCreateSessionsResponse.ProtoReflect.Descriptor instead.
func (*BatchCreateSessionsResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{8}
}

func (x *BatchCreateSessionsResponse) GetResults() []*CreateSessionResult {
	if x != nil {
		return x.Results
	}
	return nil
}

// What one create of a batch came to.
type CreateSessionResult struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Exactly one is set.
	//
	// Types that are valid to be assigned to Outcome:
	//
	//	*CreateSessionResult_Response
	//	*CreateSessionResult_Error
	//	*CreateSessionResult_Created
	Outcome       isCreateSessionResult_Outcome `protobuf_oneof:"outcome"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *CreateSessionResult) Reset() {
	*x = CreateSessionResult{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[9]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *CreateSessionResult) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*CreateSessionResult) ProtoMessage() {}

func (x *CreateSessionResult) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[9]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use CreateSessionResult.ProtoReflect.Descriptor instead.
func (*CreateSessionResult) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{9}
}

func (x *CreateSessionResult) GetOutcome() isCreateSessionResult_Outcome {
	if x != nil {
		return x.Outcome
	}
	return nil
}

func (x *CreateSessionResult) GetResponse() *CreateSessionResponse {
	if x != nil {
		if x, ok := x.Outcome.(*CreateSessionResult_Response); ok {
			return x.Response
		}
	}
	return nil
}

func (x *CreateSessionResult) GetError() *Status {
	if x != nil {
		if x, ok := x.Outcome.(*CreateSessionResult_Error); ok {
			return x.Error
		}
	}
	return nil
}

func (x *CreateSessionResult) GetCreated() *CreatedSession {
	if x != nil {
		if x, ok := x.Outcome.(*CreateSessionResult_Created); ok {
			return x.Created
		}
	}
	return nil
}

type isCreateSessionResult_Outcome interface {
	isCreateSessionResult_Outcome()
}

type CreateSessionResult_Response struct {
	// The create succeeded: what CreateSession would have answered.
	Response *CreateSessionResponse `protobuf:"bytes,1,opt,name=response,proto3,oneof"`
}

type CreateSessionResult_Error struct {
	// The create failed: the status CreateSession would have failed with,
	// details included. Nothing was created.
	Error *Status `protobuf:"bytes,2,opt,name=error,proto3,oneof"`
}

type CreateSessionResult_Created struct {
	// The create succeeded, but its answer did not fit in the batch's
	// response (see "Limits"): the session exists; read it with GetSession.
	Created *CreatedSession `protobuf:"bytes,3,opt,name=created,proto3,oneof"`
}

func (*CreateSessionResult_Response) isCreateSessionResult_Outcome() {}

func (*CreateSessionResult_Error) isCreateSessionResult_Outcome() {}

func (*CreateSessionResult_Created) isCreateSessionResult_Outcome() {}

// A session a batch created but could not answer whole.
type CreatedSession struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The new session's id: the one requested (trimmed), or the one the
	// server chose.
	SessionId     string `protobuf:"bytes,1,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *CreatedSession) Reset() {
	*x = CreatedSession{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[10]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *CreatedSession) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*CreatedSession) ProtoMessage() {}

func (x *CreatedSession) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[10]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use CreatedSession.ProtoReflect.Descriptor instead.
func (*CreatedSession) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{10}
}

func (x *CreatedSession) GetSessionId() string {
	if x != nil {
		return x.SessionId
	}
	return ""
}

// Request for SessionService.GetSession.
type GetSessionRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required. The app name.
	AppName string `protobuf:"bytes,1,opt,name=app_name,json=appName,proto3" json:"app_name,omitempty"`
	// Required. The user id.
	UserId string `protobuf:"bytes,2,opt,name=user_id,json=userId,proto3" json:"user_id,omitempty"`
	// Required. The session id (trimmed).
	SessionId string `protobuf:"bytes,3,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
	// Optional. Unset = no limit; 0 = no events; N > 0 = the N most recently
	// appended events. Applied before after_timestamp. Negative is
	// INVALID_ARGUMENT.
	NumRecentEvents *int32 `protobuf:"varint,4,opt,name=num_recent_events,json=numRecentEvents,proto3,oneof" json:"num_recent_events,omitempty"`
	// Optional. Keeps the events that follow the last event (in append order)
	// whose timestamp is before this instant. With timestamps in append order,
	// as ADK writes them, that is exactly the events at or after the instant
	// (inclusive). Unset = no filter.
	AfterTimestamp *timestamppb.Timestamp `protobuf:"bytes,5,opt,name=after_timestamp,json=afterTimestamp,proto3" json:"after_timestamp,omitempty"`
	unknownFields  protoimpl.UnknownFields
	sizeCache      protoimpl.SizeCache
}

func (x *GetSessionRequest) Reset() {
	*x = GetSessionRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[11]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *GetSessionRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*GetSessionRequest) ProtoMessage() {}

func (x *GetSessionRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[11]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use GetSessionRequest.ProtoReflect.Descriptor instead.
func (*GetSessionRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{11}
}

func (x *GetSessionRequest) GetAppName() string {
	if x != nil {
		return x.AppName
	}
	return ""
}

func (x *GetSessionRequest) GetUserId() string {
	if x != nil {
		return x.UserId
	}
	return ""
}

func (x *GetSessionRequest) GetSessionId() string {
	if x != nil {
		return x.SessionId
	}
	return ""
}

func (x *GetSessionRequest) GetNumRecentEvents() int32 {
	if x != nil && x.NumRecentEvents != nil {
		return *x.NumRecentEvents
	}
	return 0
}

func (x *GetSessionRequest) GetAfterTimestamp() *timestamppb.Timestamp {
	if x != nil {
		return x.AfterTimestamp
	}
	return nil
}

// Response for SessionService.GetSession.
type GetSessionResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The session, with merged state and the selected events, oldest first:
	// all of them, or as many as fit in the response (see "Limits").
	Session *Session `protobuf:"bytes,1,opt,name=session,proto3" json:"session,omitempty"`
	// Empty when session.events holds every selected event. Otherwise the
	// selected events that follow are read by ListEvents with this as
	// page_token (same app_name, user_id and session_id; after_timestamp
	// unset), page after page until its next_page_token is empty. Those pages
	// hold exactly the rest of this read's selection, as it stood at this read:
	// events appended since are not included. If the session is deleted (or
	// deleted and created again) meanwhile, ListEvents fails with NOT_FOUND.
	// Session.revision is this read's, so appending after reading every part
	// detects any change made since.
	NextEventsPageToken string `protobuf:"bytes,2,opt,name=next_events_page_token,json=nextEventsPageToken,proto3" json:"next_events_page_token,omitempty"`
	unknownFields       protoimpl.UnknownFields
	sizeCache           protoimpl.SizeCache
}

func (x *GetSessionResponse) Reset() {
	*x = GetSessionResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[12]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *GetSessionResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*GetSessionResponse) ProtoMessage() {}

func (x *GetSessionResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[12]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use GetSessionResponse.ProtoReflect.Descriptor instead.
func (*GetSessionResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{12}
}

func (x *GetSessionResponse) GetSession() *Session {
	if x != nil {
		return x.Session
	}
	return nil
}

func (x *GetSessionResponse) GetNextEventsPageToken() string {
	if x != nil {
		return x.NextEventsPageToken
	}
	return ""
}

// Request for SessionService.ListSessions.
type ListSessionsRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required. The app name.
	AppName string `protobuf:"bytes,1,opt,name=app_name,json=appName,proto3" json:"app_name,omitempty"`
	// Optional. Only this user's sessions. Empty = every user of the app.
	UserId string `protobuf:"bytes,2,opt,name=user_id,json=userId,proto3" json:"user_id,omitempty"`
	// Optional. Maximum sessions in one page: 0 = 100; values above 1000 are
	// treated as 1000; negative is INVALID_ARGUMENT. A page may hold fewer
	// sessions than this before the last page: at most what fits in the
	// server's message limit (each session carries its merged state).
	PageSize int32 `protobuf:"varint,3,opt,name=page_size,json=pageSize,proto3" json:"page_size,omitempty"`
	// Optional. A next_page_token from a previous ListSessions call with the
	// same app_name, user_id, filter and order_by; empty = the first page.
	PageToken string `protobuf:"bytes,4,opt,name=page_token,json=pageToken,proto3" json:"page_token,omitempty"`
	// Optional. Which sessions to keep (see "Metadata, filtered listings and
	// forks"); empty = all.
	Filter string `protobuf:"bytes,5,opt,name=filter,proto3" json:"filter,omitempty"`
	// Optional. "update_time" or "create_time", optionally followed by " desc"
	// (or " asc"); empty = "update_time", oldest first.
	OrderBy       string `protobuf:"bytes,6,opt,name=order_by,json=orderBy,proto3" json:"order_by,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *ListSessionsRequest) Reset() {
	*x = ListSessionsRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[13]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ListSessionsRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ListSessionsRequest) ProtoMessage() {}

func (x *ListSessionsRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[13]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use ListSessionsRequest.ProtoReflect.Descriptor instead.
func (*ListSessionsRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{13}
}

func (x *ListSessionsRequest) GetAppName() string {
	if x != nil {
		return x.AppName
	}
	return ""
}

func (x *ListSessionsRequest) GetUserId() string {
	if x != nil {
		return x.UserId
	}
	return ""
}

func (x *ListSessionsRequest) GetPageSize() int32 {
	if x != nil {
		return x.PageSize
	}
	return 0
}

func (x *ListSessionsRequest) GetPageToken() string {
	if x != nil {
		return x.PageToken
	}
	return ""
}

func (x *ListSessionsRequest) GetFilter() string {
	if x != nil {
		return x.Filter
	}
	return ""
}

func (x *ListSessionsRequest) GetOrderBy() string {
	if x != nil {
		return x.OrderBy
	}
	return ""
}

// Response for SessionService.ListSessions.
type ListSessionsResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Sessions without events, with merged state and revision.
	Sessions []*Session `protobuf:"bytes,1,rep,name=sessions,proto3" json:"sessions,omitempty"`
	// Token for the next page; empty when this is the last page.
	NextPageToken string `protobuf:"bytes,2,opt,name=next_page_token,json=nextPageToken,proto3" json:"next_page_token,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *ListSessionsResponse) Reset() {
	*x = ListSessionsResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[14]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ListSessionsResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ListSessionsResponse) ProtoMessage() {}

func (x *ListSessionsResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[14]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use ListSessionsResponse.ProtoReflect.Descriptor instead.
func (*ListSessionsResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{14}
}

func (x *ListSessionsResponse) GetSessions() []*Session {
	if x != nil {
		return x.Sessions
	}
	return nil
}

func (x *ListSessionsResponse) GetNextPageToken() string {
	if x != nil {
		return x.NextPageToken
	}
	return ""
}

// Request for SessionService.DeleteSession.
type DeleteSessionRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required. The app name.
	AppName string `protobuf:"bytes,1,opt,name=app_name,json=appName,proto3" json:"app_name,omitempty"`
	// Required. The user id.
	UserId string `protobuf:"bytes,2,opt,name=user_id,json=userId,proto3" json:"user_id,omitempty"`
	// Required. The session id (trimmed).
	SessionId     string `protobuf:"bytes,3,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *DeleteSessionRequest) Reset() {
	*x = DeleteSessionRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[15]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *DeleteSessionRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*DeleteSessionRequest) ProtoMessage() {}

func (x *DeleteSessionRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[15]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use DeleteSessionRequest.ProtoReflect.Descriptor instead.
func (*DeleteSessionRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{15}
}

func (x *DeleteSessionRequest) GetAppName() string {
	if x != nil {
		return x.AppName
	}
	return ""
}

func (x *DeleteSessionRequest) GetUserId() string {
	if x != nil {
		return x.UserId
	}
	return ""
}

func (x *DeleteSessionRequest) GetSessionId() string {
	if x != nil {
		return x.SessionId
	}
	return ""
}

// Response for SessionService.DeleteSession.
type DeleteSessionResponse struct {
	state         protoimpl.MessageState `protogen:"open.v1"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *DeleteSessionResponse) Reset() {
	*x = DeleteSessionResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[16]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *DeleteSessionResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*DeleteSessionResponse) ProtoMessage() {}

func (x *DeleteSessionResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[16]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use DeleteSessionResponse.ProtoReflect.Descriptor instead.
func (*DeleteSessionResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{16}
}

// Request for SessionService.AppendEvent.
type AppendEventRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required. The app name.
	AppName string `protobuf:"bytes,1,opt,name=app_name,json=appName,proto3" json:"app_name,omitempty"`
	// Required. The user id.
	UserId string `protobuf:"bytes,2,opt,name=user_id,json=userId,proto3" json:"user_id,omitempty"`
	// Required. The session id (trimmed).
	SessionId string `protobuf:"bytes,3,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
	// Required. The complete event as ADK Python's camelCase JSON object. The
	// server reads: "id" (required key), "timestamp" (required finite number,
	// seconds since the epoch, within google.protobuf.Timestamp's range),
	// "author", "invocationId", "branch" (strings), "partial" (must not be
	// true: streaming fragments are never stored) and "actions"."stateDelta"
	// (an object of prefixed ADK state keys). Keys whose name starts with
	// "temp:" are removed from stateDelta before the event is stored. Every
	// other field is stored untouched, including fields this server does not
	// know. Nested at most 270 levels, each stateDelta value at most 254 (see
	// "Nesting"). The event as stored must fit in a response on its own (see
	// "Limits": event size), else INVALID_ARGUMENT.
	EventJson string `protobuf:"bytes,4,opt,name=event_json,json=eventJson,proto3" json:"event_json,omitempty"`
	// Required. The revision of the session as the caller last read or wrote
	// it (Session.revision or AppendEventResponse.revision). If the stored
	// session's revision differs, the append fails with ABORTED
	// ("STALE_SESSION") and nothing is stored. 0 is INVALID_ARGUMENT.
	ExpectedRevision int64 `protobuf:"varint,5,opt,name=expected_revision,json=expectedRevision,proto3" json:"expected_revision,omitempty"`
	unknownFields    protoimpl.UnknownFields
	sizeCache        protoimpl.SizeCache
}

func (x *AppendEventRequest) Reset() {
	*x = AppendEventRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[17]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *AppendEventRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*AppendEventRequest) ProtoMessage() {}

func (x *AppendEventRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[17]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use AppendEventRequest.ProtoReflect.Descriptor instead.
func (*AppendEventRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{17}
}

func (x *AppendEventRequest) GetAppName() string {
	if x != nil {
		return x.AppName
	}
	return ""
}

func (x *AppendEventRequest) GetUserId() string {
	if x != nil {
		return x.UserId
	}
	return ""
}

func (x *AppendEventRequest) GetSessionId() string {
	if x != nil {
		return x.SessionId
	}
	return ""
}

func (x *AppendEventRequest) GetEventJson() string {
	if x != nil {
		return x.EventJson
	}
	return ""
}

func (x *AppendEventRequest) GetExpectedRevision() int64 {
	if x != nil {
		return x.ExpectedRevision
	}
	return 0
}

// Response for SessionService.AppendEvent.
type AppendEventResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The event as stored, with its typed fields and sequence.
	Event *Event `protobuf:"bytes,1,opt,name=event,proto3" json:"event,omitempty"`
	// The session's revision right after this event was stored; pass it as
	// expected_revision of the next append.
	Revision int64 `protobuf:"varint,2,opt,name=revision,proto3" json:"revision,omitempty"`
	// The session's last_update_time after this event: the event's timestamp.
	LastUpdateTime *timestamppb.Timestamp `protobuf:"bytes,3,opt,name=last_update_time,json=lastUpdateTime,proto3" json:"last_update_time,omitempty"`
	// True if the event was already stored (a retry): nothing was applied
	// again and the fields above describe the original append.
	AlreadyApplied bool `protobuf:"varint,4,opt,name=already_applied,json=alreadyApplied,proto3" json:"already_applied,omitempty"`
	unknownFields  protoimpl.UnknownFields
	sizeCache      protoimpl.SizeCache
}

func (x *AppendEventResponse) Reset() {
	*x = AppendEventResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[18]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *AppendEventResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*AppendEventResponse) ProtoMessage() {}

func (x *AppendEventResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[18]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use AppendEventResponse.ProtoReflect.Descriptor instead.
func (*AppendEventResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{18}
}

func (x *AppendEventResponse) GetEvent() *Event {
	if x != nil {
		return x.Event
	}
	return nil
}

func (x *AppendEventResponse) GetRevision() int64 {
	if x != nil {
		return x.Revision
	}
	return 0
}

func (x *AppendEventResponse) GetLastUpdateTime() *timestamppb.Timestamp {
	if x != nil {
		return x.LastUpdateTime
	}
	return nil
}

func (x *AppendEventResponse) GetAlreadyApplied() bool {
	if x != nil {
		return x.AlreadyApplied
	}
	return false
}

// Request for SessionService.BatchAppendEvents.
type BatchAppendEventsRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required. 1 to 1000 appends, each exactly an AppendEvent request.
	Requests      []*AppendEventRequest `protobuf:"bytes,1,rep,name=requests,proto3" json:"requests,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *BatchAppendEventsRequest) Reset() {
	*x = BatchAppendEventsRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[19]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *BatchAppendEventsRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*BatchAppendEventsRequest) ProtoMessage() {}

func (x *BatchAppendEventsRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[19]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use BatchAppendEventsRequest.ProtoReflect.Descriptor instead.
func (*BatchAppendEventsRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{19}
}

func (x *BatchAppendEventsRequest) GetRequests() []*AppendEventRequest {
	if x != nil {
		return x.Requests
	}
	return nil
}

// Response for SessionService.BatchAppendEvents.
type BatchAppendEventsResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// One result per request, in request order.
	Results       []*AppendEventResult `protobuf:"bytes,1,rep,name=results,proto3" json:"results,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *BatchAppendEventsResponse) Reset() {
	*x = BatchAppendEventsResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[20]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *BatchAppendEventsResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*BatchAppendEventsResponse) ProtoMessage() {}

func (x *BatchAppendEventsResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[20]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use BatchAppendEventsResponse.ProtoReflect.Descriptor instead.
func (*BatchAppendEventsResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{20}
}

func (x *BatchAppendEventsResponse) GetResults() []*AppendEventResult {
	if x != nil {
		return x.Results
	}
	return nil
}

// One request on SessionService.AppendEventStream: an append, or a create.
type AppendEventStreamRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required: exactly one.
	//
	// Types that are valid to be assigned to Request:
	//
	//	*AppendEventStreamRequest_Append
	//	*AppendEventStreamRequest_Create
	Request       isAppendEventStreamRequest_Request `protobuf_oneof:"request"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *AppendEventStreamRequest) Reset() {
	*x = AppendEventStreamRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[21]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *AppendEventStreamRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*AppendEventStreamRequest) ProtoMessage() {}

func (x *AppendEventStreamRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[21]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use AppendEventStreamRequest.ProtoReflect.Descriptor instead.
func (*AppendEventStreamRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{21}
}

func (x *AppendEventStreamRequest) GetRequest() isAppendEventStreamRequest_Request {
	if x != nil {
		return x.Request
	}
	return nil
}

func (x *AppendEventStreamRequest) GetAppend() *AppendEventRequest {
	if x != nil {
		if x, ok := x.Request.(*AppendEventStreamRequest_Append); ok {
			return x.Append
		}
	}
	return nil
}

func (x *AppendEventStreamRequest) GetCreate() *CreateSessionRequest {
	if x != nil {
		if x, ok := x.Request.(*AppendEventStreamRequest_Create); ok {
			return x.Create
		}
	}
	return nil
}

type isAppendEventStreamRequest_Request interface {
	isAppendEventStreamRequest_Request()
}

type AppendEventStreamRequest_Append struct {
	// Exactly an AppendEvent request.
	Append *AppendEventRequest `protobuf:"bytes,1,opt,name=append,proto3,oneof"`
}

type AppendEventStreamRequest_Create struct {
	// Exactly a CreateSession request.
	Create *CreateSessionRequest `protobuf:"bytes,2,opt,name=create,proto3,oneof"`
}

func (*AppendEventStreamRequest_Append) isAppendEventStreamRequest_Request() {}

func (*AppendEventStreamRequest_Create) isAppendEventStreamRequest_Request() {}

// The answer to one AppendEventStreamRequest, in request order.
type AppendEventStreamResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Exactly one is set: the one that answers the request's kind.
	//
	// Types that are valid to be assigned to Answer:
	//
	//	*AppendEventStreamResponse_Result
	//	*AppendEventStreamResponse_CreateResult
	Answer        isAppendEventStreamResponse_Answer `protobuf_oneof:"answer"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *AppendEventStreamResponse) Reset() {
	*x = AppendEventStreamResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[22]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *AppendEventStreamResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*AppendEventStreamResponse) ProtoMessage() {}

func (x *AppendEventStreamResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[22]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use AppendEventStreamResponse.ProtoReflect.Descriptor instead.
func (*AppendEventStreamResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{22}
}

func (x *AppendEventStreamResponse) GetAnswer() isAppendEventStreamResponse_Answer {
	if x != nil {
		return x.Answer
	}
	return nil
}

func (x *AppendEventStreamResponse) GetResult() *AppendEventResult {
	if x != nil {
		if x, ok := x.Answer.(*AppendEventStreamResponse_Result); ok {
			return x.Result
		}
	}
	return nil
}

func (x *AppendEventStreamResponse) GetCreateResult() *CreateSessionResult {
	if x != nil {
		if x, ok := x.Answer.(*AppendEventStreamResponse_CreateResult); ok {
			return x.CreateResult
		}
	}
	return nil
}

type isAppendEventStreamResponse_Answer interface {
	isAppendEventStreamResponse_Answer()
}

type AppendEventStreamResponse_Result struct {
	// What the append came to.
	Result *AppendEventResult `protobuf:"bytes,1,opt,name=result,proto3,oneof"`
}

type AppendEventStreamResponse_CreateResult struct {
	// What the create came to (never "created": one create's answer
	// always fits in a response).
	CreateResult *CreateSessionResult `protobuf:"bytes,2,opt,name=create_result,json=createResult,proto3,oneof"`
}

func (*AppendEventStreamResponse_Result) isAppendEventStreamResponse_Answer() {}

func (*AppendEventStreamResponse_CreateResult) isAppendEventStreamResponse_Answer() {}

// What one append of a batch or a stream came to.
type AppendEventResult struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Exactly one is set.
	//
	// Types that are valid to be assigned to Outcome:
	//
	//	*AppendEventResult_Response
	//	*AppendEventResult_Error
	Outcome       isAppendEventResult_Outcome `protobuf_oneof:"outcome"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *AppendEventResult) Reset() {
	*x = AppendEventResult{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[23]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *AppendEventResult) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*AppendEventResult) ProtoMessage() {}

func (x *AppendEventResult) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[23]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use AppendEventResult.ProtoReflect.Descriptor instead.
func (*AppendEventResult) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{23}
}

func (x *AppendEventResult) GetOutcome() isAppendEventResult_Outcome {
	if x != nil {
		return x.Outcome
	}
	return nil
}

func (x *AppendEventResult) GetResponse() *AppendEventResponse {
	if x != nil {
		if x, ok := x.Outcome.(*AppendEventResult_Response); ok {
			return x.Response
		}
	}
	return nil
}

func (x *AppendEventResult) GetError() *Status {
	if x != nil {
		if x, ok := x.Outcome.(*AppendEventResult_Error); ok {
			return x.Error
		}
	}
	return nil
}

type isAppendEventResult_Outcome interface {
	isAppendEventResult_Outcome()
}

type AppendEventResult_Response struct {
	// The append succeeded: what AppendEvent would have answered.
	Response *AppendEventResponse `protobuf:"bytes,1,opt,name=response,proto3,oneof"`
}

type AppendEventResult_Error struct {
	// The append failed: the status AppendEvent would have failed with,
	// details included.
	Error *Status `protobuf:"bytes,2,opt,name=error,proto3,oneof"`
}

func (*AppendEventResult_Response) isAppendEventResult_Outcome() {}

func (*AppendEventResult_Error) isAppendEventResult_Outcome() {}

// A failed call's status: field for field (and byte for byte on the wire) a
// google.rpc.Status, so it can be parsed as one. Declared here so this file
// needs no import beyond the protobuf well-known types.
type Status struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The canonical code (google.rpc.Code), never 0 (OK).
	Code int32 `protobuf:"varint,1,opt,name=code,proto3" json:"code,omitempty"`
	// A message for developers, in English.
	Message string `protobuf:"bytes,2,opt,name=message,proto3" json:"message,omitempty"`
	// google.rpc.ErrorInfo, and google.rpc.BadRequest for bad input.
	Details       []*anypb.Any `protobuf:"bytes,3,rep,name=details,proto3" json:"details,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *Status) Reset() {
	*x = Status{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[24]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *Status) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*Status) ProtoMessage() {}

func (x *Status) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[24]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use Status.ProtoReflect.Descriptor instead.
func (*Status) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{24}
}

func (x *Status) GetCode() int32 {
	if x != nil {
		return x.Code
	}
	return 0
}

func (x *Status) GetMessage() string {
	if x != nil {
		return x.Message
	}
	return ""
}

func (x *Status) GetDetails() []*anypb.Any {
	if x != nil {
		return x.Details
	}
	return nil
}

// Request for SessionService.ListEvents.
type ListEventsRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required. The app name.
	AppName string `protobuf:"bytes,1,opt,name=app_name,json=appName,proto3" json:"app_name,omitempty"`
	// Required. The user id.
	UserId string `protobuf:"bytes,2,opt,name=user_id,json=userId,proto3" json:"user_id,omitempty"`
	// Required. The session id (trimmed).
	SessionId string `protobuf:"bytes,3,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
	// Optional. Maximum events in one page: 0 = 100; values above 1000 are
	// treated as 1000; negative is INVALID_ARGUMENT. A page may hold fewer
	// events than this before the last page: at most what fits in the
	// server's message limit.
	PageSize int32 `protobuf:"varint,4,opt,name=page_size,json=pageSize,proto3" json:"page_size,omitempty"`
	// Optional. A next_page_token from a previous ListEvents call with the same
	// session and after_timestamp; or a GetSessionResponse.
	// next_events_page_token of the same session (after_timestamp unset): the
	// rest of that read's selection. Empty = the first page.
	PageToken string `protobuf:"bytes,5,opt,name=page_token,json=pageToken,proto3" json:"page_token,omitempty"`
	// Optional. As GetSessionRequest.after_timestamp: the events that follow
	// the last event whose timestamp is before this instant (for timestamps in
	// append order, the events at or after it). Unset = all events.
	AfterTimestamp *timestamppb.Timestamp `protobuf:"bytes,6,opt,name=after_timestamp,json=afterTimestamp,proto3" json:"after_timestamp,omitempty"`
	unknownFields  protoimpl.UnknownFields
	sizeCache      protoimpl.SizeCache
}

func (x *ListEventsRequest) Reset() {
	*x = ListEventsRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[25]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ListEventsRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ListEventsRequest) ProtoMessage() {}

func (x *ListEventsRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[25]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use ListEventsRequest.ProtoReflect.Descriptor instead.
func (*ListEventsRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{25}
}

func (x *ListEventsRequest) GetAppName() string {
	if x != nil {
		return x.AppName
	}
	return ""
}

func (x *ListEventsRequest) GetUserId() string {
	if x != nil {
		return x.UserId
	}
	return ""
}

func (x *ListEventsRequest) GetSessionId() string {
	if x != nil {
		return x.SessionId
	}
	return ""
}

func (x *ListEventsRequest) GetPageSize() int32 {
	if x != nil {
		return x.PageSize
	}
	return 0
}

func (x *ListEventsRequest) GetPageToken() string {
	if x != nil {
		return x.PageToken
	}
	return ""
}

func (x *ListEventsRequest) GetAfterTimestamp() *timestamppb.Timestamp {
	if x != nil {
		return x.AfterTimestamp
	}
	return nil
}

// Response for SessionService.ListEvents.
type ListEventsResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Events in append order.
	Events []*Event `protobuf:"bytes,1,rep,name=events,proto3" json:"events,omitempty"`
	// Token for the next page; empty when this is the last page.
	NextPageToken string `protobuf:"bytes,2,opt,name=next_page_token,json=nextPageToken,proto3" json:"next_page_token,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *ListEventsResponse) Reset() {
	*x = ListEventsResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[26]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ListEventsResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ListEventsResponse) ProtoMessage() {}

func (x *ListEventsResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[26]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use ListEventsResponse.ProtoReflect.Descriptor instead.
func (*ListEventsResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{26}
}

func (x *ListEventsResponse) GetEvents() []*Event {
	if x != nil {
		return x.Events
	}
	return nil
}

func (x *ListEventsResponse) GetNextPageToken() string {
	if x != nil {
		return x.NextPageToken
	}
	return ""
}

// Request for SessionService.GetUserState.
type GetUserStateRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required. The app name.
	AppName string `protobuf:"bytes,1,opt,name=app_name,json=appName,proto3" json:"app_name,omitempty"`
	// Required. The user id.
	UserId        string `protobuf:"bytes,2,opt,name=user_id,json=userId,proto3" json:"user_id,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *GetUserStateRequest) Reset() {
	*x = GetUserStateRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[27]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *GetUserStateRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*GetUserStateRequest) ProtoMessage() {}

func (x *GetUserStateRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[27]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use GetUserStateRequest.ProtoReflect.Descriptor instead.
func (*GetUserStateRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{27}
}

func (x *GetUserStateRequest) GetAppName() string {
	if x != nil {
		return x.AppName
	}
	return ""
}

func (x *GetUserStateRequest) GetUserId() string {
	if x != nil {
		return x.UserId
	}
	return ""
}

// Response for SessionService.GetUserState.
type GetUserStateResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The user's state: key without "user:" -> value as JSON text.
	State         map[string]string `protobuf:"bytes,1,rep,name=state,proto3" json:"state,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *GetUserStateResponse) Reset() {
	*x = GetUserStateResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[28]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *GetUserStateResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*GetUserStateResponse) ProtoMessage() {}

func (x *GetUserStateResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[28]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use GetUserStateResponse.ProtoReflect.Descriptor instead.
func (*GetUserStateResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{28}
}

func (x *GetUserStateResponse) GetState() map[string]string {
	if x != nil {
		return x.State
	}
	return nil
}

// Request for SessionService.GetAppState.
type GetAppStateRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required. The app name.
	AppName       string `protobuf:"bytes,1,opt,name=app_name,json=appName,proto3" json:"app_name,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *GetAppStateRequest) Reset() {
	*x = GetAppStateRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[29]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *GetAppStateRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*GetAppStateRequest) ProtoMessage() {}

func (x *GetAppStateRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[29]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use GetAppStateRequest.ProtoReflect.Descriptor instead.
func (*GetAppStateRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{29}
}

func (x *GetAppStateRequest) GetAppName() string {
	if x != nil {
		return x.AppName
	}
	return ""
}

// Response for SessionService.GetAppState.
type GetAppStateResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The app's state: key without "app:" -> value as JSON text.
	State         map[string]string `protobuf:"bytes,1,rep,name=state,proto3" json:"state,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *GetAppStateResponse) Reset() {
	*x = GetAppStateResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[30]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *GetAppStateResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*GetAppStateResponse) ProtoMessage() {}

func (x *GetAppStateResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[30]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use GetAppStateResponse.ProtoReflect.Descriptor instead.
func (*GetAppStateResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{30}
}

func (x *GetAppStateResponse) GetState() map[string]string {
	if x != nil {
		return x.State
	}
	return nil
}

// Request for SessionService.UpdateSession.
type UpdateSessionRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required. The session to change, named by app_name, user_id and
	// session_id, with the new values of the fields update_mask names.
	Session *Session `protobuf:"bytes,1,opt,name=session,proto3" json:"session,omitempty"`
	// The fields to change. Updatable paths: "expire_time", "ttl" (at most one
	// of the two), "display_name", "labels" (the whole map). A named field left
	// unset or empty clears it ("expire_time": the session never expires).
	// Empty = every updatable field that is set (non-empty) in session. Any
	// other path is INVALID_ARGUMENT naming "update_mask".
	UpdateMask    *fieldmaskpb.FieldMask `protobuf:"bytes,2,opt,name=update_mask,json=updateMask,proto3" json:"update_mask,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *UpdateSessionRequest) Reset() {
	*x = UpdateSessionRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[31]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *UpdateSessionRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*UpdateSessionRequest) ProtoMessage() {}

func (x *UpdateSessionRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[31]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use UpdateSessionRequest.ProtoReflect.Descriptor instead.
func (*UpdateSessionRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{31}
}

func (x *UpdateSessionRequest) GetSession() *Session {
	if x != nil {
		return x.Session
	}
	return nil
}

func (x *UpdateSessionRequest) GetUpdateMask() *fieldmaskpb.FieldMask {
	if x != nil {
		return x.UpdateMask
	}
	return nil
}

// Response for SessionService.UpdateSession.
type UpdateSessionResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The session as it is now, with merged state and no events.
	Session       *Session `protobuf:"bytes,1,opt,name=session,proto3" json:"session,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *UpdateSessionResponse) Reset() {
	*x = UpdateSessionResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[32]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *UpdateSessionResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*UpdateSessionResponse) ProtoMessage() {}

func (x *UpdateSessionResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[32]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use UpdateSessionResponse.ProtoReflect.Descriptor instead.
func (*UpdateSessionResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{32}
}

func (x *UpdateSessionResponse) GetSession() *Session {
	if x != nil {
		return x.Session
	}
	return nil
}

// Request for SessionService.CloseSession.
type CloseSessionRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required. The app name.
	AppName string `protobuf:"bytes,1,opt,name=app_name,json=appName,proto3" json:"app_name,omitempty"`
	// Required. The user id.
	UserId string `protobuf:"bytes,2,opt,name=user_id,json=userId,proto3" json:"user_id,omitempty"`
	// Required. The session id (trimmed).
	SessionId     string `protobuf:"bytes,3,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *CloseSessionRequest) Reset() {
	*x = CloseSessionRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[33]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *CloseSessionRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*CloseSessionRequest) ProtoMessage() {}

func (x *CloseSessionRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[33]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use CloseSessionRequest.ProtoReflect.Descriptor instead.
func (*CloseSessionRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{33}
}

func (x *CloseSessionRequest) GetAppName() string {
	if x != nil {
		return x.AppName
	}
	return ""
}

func (x *CloseSessionRequest) GetUserId() string {
	if x != nil {
		return x.UserId
	}
	return ""
}

func (x *CloseSessionRequest) GetSessionId() string {
	if x != nil {
		return x.SessionId
	}
	return ""
}

// Response for SessionService.CloseSession.
type CloseSessionResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The closed session, with close_time set, merged state and no events.
	Session       *Session `protobuf:"bytes,1,opt,name=session,proto3" json:"session,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *CloseSessionResponse) Reset() {
	*x = CloseSessionResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[34]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *CloseSessionResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*CloseSessionResponse) ProtoMessage() {}

func (x *CloseSessionResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[34]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use CloseSessionResponse.ProtoReflect.Descriptor instead.
func (*CloseSessionResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{34}
}

func (x *CloseSessionResponse) GetSession() *Session {
	if x != nil {
		return x.Session
	}
	return nil
}

// Request for SessionService.EraseUser.
type EraseUserRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required. The app name.
	AppName string `protobuf:"bytes,1,opt,name=app_name,json=appName,proto3" json:"app_name,omitempty"`
	// Required. The user id.
	UserId        string `protobuf:"bytes,2,opt,name=user_id,json=userId,proto3" json:"user_id,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *EraseUserRequest) Reset() {
	*x = EraseUserRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[35]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *EraseUserRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*EraseUserRequest) ProtoMessage() {}

func (x *EraseUserRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[35]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use EraseUserRequest.ProtoReflect.Descriptor instead.
func (*EraseUserRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{35}
}

func (x *EraseUserRequest) GetAppName() string {
	if x != nil {
		return x.AppName
	}
	return ""
}

func (x *EraseUserRequest) GetUserId() string {
	if x != nil {
		return x.UserId
	}
	return ""
}

// Response for SessionService.EraseUser.
type EraseUserResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// How many sessions this call deleted from storage (an earlier, unfinished
	// call for the same user may have deleted others).
	DeletedSessions int64 `protobuf:"varint,1,opt,name=deleted_sessions,json=deletedSessions,proto3" json:"deleted_sessions,omitempty"`
	unknownFields   protoimpl.UnknownFields
	sizeCache       protoimpl.SizeCache
}

func (x *EraseUserResponse) Reset() {
	*x = EraseUserResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[36]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *EraseUserResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*EraseUserResponse) ProtoMessage() {}

func (x *EraseUserResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[36]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use EraseUserResponse.ProtoReflect.Descriptor instead.
func (*EraseUserResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{36}
}

func (x *EraseUserResponse) GetDeletedSessions() int64 {
	if x != nil {
		return x.DeletedSessions
	}
	return 0
}

// Request for SessionService.ForkSession.
type ForkSessionRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required. The app name.
	AppName string `protobuf:"bytes,1,opt,name=app_name,json=appName,proto3" json:"app_name,omitempty"`
	// Required. The user id (the fork belongs to the same user).
	UserId string `protobuf:"bytes,2,opt,name=user_id,json=userId,proto3" json:"user_id,omitempty"`
	// Required. The session to copy (trimmed).
	SessionId string `protobuf:"bytes,3,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
	// Optional. The new session's id (trimmed); empty = generated, as by
	// CreateSession.
	NewSessionId string `protobuf:"bytes,4,opt,name=new_session_id,json=newSessionId,proto3" json:"new_session_id,omitempty"`
	// Optional. Copy only the events before the first event with this
	// invocation id (ADK Event.invocation_id); empty = copy every event.
	BeforeInvocationId string `protobuf:"bytes,5,opt,name=before_invocation_id,json=beforeInvocationId,proto3" json:"before_invocation_id,omitempty"`
	// Optional. The new session's display name; empty = none.
	DisplayName string `protobuf:"bytes,6,opt,name=display_name,json=displayName,proto3" json:"display_name,omitempty"`
	// Optional. The new session's labels; empty = none.
	Labels map[string]string `protobuf:"bytes,7,rep,name=labels,proto3" json:"labels,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	// Optional. When the new session expires, as in CreateSession; neither set
	// = the server's default ttl, if any. The source's expiry is not copied.
	//
	// Types that are valid to be assigned to Expiration:
	//
	//	*ForkSessionRequest_ExpireTime
	//	*ForkSessionRequest_Ttl
	Expiration    isForkSessionRequest_Expiration `protobuf_oneof:"expiration"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *ForkSessionRequest) Reset() {
	*x = ForkSessionRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[37]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ForkSessionRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ForkSessionRequest) ProtoMessage() {}

func (x *ForkSessionRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[37]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use ForkSessionRequest.ProtoReflect.Descriptor instead.
func (*ForkSessionRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{37}
}

func (x *ForkSessionRequest) GetAppName() string {
	if x != nil {
		return x.AppName
	}
	return ""
}

func (x *ForkSessionRequest) GetUserId() string {
	if x != nil {
		return x.UserId
	}
	return ""
}

func (x *ForkSessionRequest) GetSessionId() string {
	if x != nil {
		return x.SessionId
	}
	return ""
}

func (x *ForkSessionRequest) GetNewSessionId() string {
	if x != nil {
		return x.NewSessionId
	}
	return ""
}

func (x *ForkSessionRequest) GetBeforeInvocationId() string {
	if x != nil {
		return x.BeforeInvocationId
	}
	return ""
}

func (x *ForkSessionRequest) GetDisplayName() string {
	if x != nil {
		return x.DisplayName
	}
	return ""
}

func (x *ForkSessionRequest) GetLabels() map[string]string {
	if x != nil {
		return x.Labels
	}
	return nil
}

func (x *ForkSessionRequest) GetExpiration() isForkSessionRequest_Expiration {
	if x != nil {
		return x.Expiration
	}
	return nil
}

func (x *ForkSessionRequest) GetExpireTime() *timestamppb.Timestamp {
	if x != nil {
		if x, ok := x.Expiration.(*ForkSessionRequest_ExpireTime); ok {
			return x.ExpireTime
		}
	}
	return nil
}

func (x *ForkSessionRequest) GetTtl() *durationpb.Duration {
	if x != nil {
		if x, ok := x.Expiration.(*ForkSessionRequest_Ttl); ok {
			return x.Ttl
		}
	}
	return nil
}

type isForkSessionRequest_Expiration interface {
	isForkSessionRequest_Expiration()
}

type ForkSessionRequest_ExpireTime struct {
	// The instant the new session expires; not in the past.
	ExpireTime *timestamppb.Timestamp `protobuf:"bytes,8,opt,name=expire_time,json=expireTime,proto3,oneof"`
}

type ForkSessionRequest_Ttl struct {
	// A duration (positive, at most 100 years) from the server's clock.
	Ttl *durationpb.Duration `protobuf:"bytes,9,opt,name=ttl,proto3,oneof"`
}

func (*ForkSessionRequest_ExpireTime) isForkSessionRequest_Expiration() {}

func (*ForkSessionRequest_Ttl) isForkSessionRequest_Expiration() {}

// Response for SessionService.ForkSession.
type ForkSessionResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The new session, with merged state, forked_from set and no events.
	Session       *Session `protobuf:"bytes,1,opt,name=session,proto3" json:"session,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *ForkSessionResponse) Reset() {
	*x = ForkSessionResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[38]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ForkSessionResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ForkSessionResponse) ProtoMessage() {}

func (x *ForkSessionResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[38]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use ForkSessionResponse.ProtoReflect.Descriptor instead.
func (*ForkSessionResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{38}
}

func (x *ForkSessionResponse) GetSession() *Session {
	if x != nil {
		return x.Session
	}
	return nil
}

// Request for SessionService.WatchSession.
type WatchSessionRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required. The app name.
	AppName string `protobuf:"bytes,1,opt,name=app_name,json=appName,proto3" json:"app_name,omitempty"`
	// Required. The user id.
	UserId string `protobuf:"bytes,2,opt,name=user_id,json=userId,proto3" json:"user_id,omitempty"`
	// Required. The session id (trimmed).
	SessionId string `protobuf:"bytes,3,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
	// Optional. Deliver the events stored after the session had this revision:
	// the revision delivered with the last event a watcher received, a
	// caught_up revision, or any revision a read or an append returned. 0 =
	// every event, from the first. Negative is INVALID_ARGUMENT.
	AfterRevision int64 `protobuf:"varint,4,opt,name=after_revision,json=afterRevision,proto3" json:"after_revision,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *WatchSessionRequest) Reset() {
	*x = WatchSessionRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[39]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *WatchSessionRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*WatchSessionRequest) ProtoMessage() {}

func (x *WatchSessionRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[39]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use WatchSessionRequest.ProtoReflect.Descriptor instead.
func (*WatchSessionRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{39}
}

func (x *WatchSessionRequest) GetAppName() string {
	if x != nil {
		return x.AppName
	}
	return ""
}

func (x *WatchSessionRequest) GetUserId() string {
	if x != nil {
		return x.UserId
	}
	return ""
}

func (x *WatchSessionRequest) GetSessionId() string {
	if x != nil {
		return x.SessionId
	}
	return ""
}

func (x *WatchSessionRequest) GetAfterRevision() int64 {
	if x != nil {
		return x.AfterRevision
	}
	return 0
}

// One message of a WatchSession stream: exactly one field is set.
type WatchSessionResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// What this message carries.
	//
	// Types that are valid to be assigned to Kind:
	//
	//	*WatchSessionResponse_Events
	//	*WatchSessionResponse_CaughtUp
	//	*WatchSessionResponse_Ended
	Kind          isWatchSessionResponse_Kind `protobuf_oneof:"kind"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *WatchSessionResponse) Reset() {
	*x = WatchSessionResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[40]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *WatchSessionResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*WatchSessionResponse) ProtoMessage() {}

func (x *WatchSessionResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[40]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use WatchSessionResponse.ProtoReflect.Descriptor instead.
func (*WatchSessionResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{40}
}

func (x *WatchSessionResponse) GetKind() isWatchSessionResponse_Kind {
	if x != nil {
		return x.Kind
	}
	return nil
}

func (x *WatchSessionResponse) GetEvents() *WatchedEvents {
	if x != nil {
		if x, ok := x.Kind.(*WatchSessionResponse_Events); ok {
			return x.Events
		}
	}
	return nil
}

func (x *WatchSessionResponse) GetCaughtUp() *WatchCaughtUp {
	if x != nil {
		if x, ok := x.Kind.(*WatchSessionResponse_CaughtUp); ok {
			return x.CaughtUp
		}
	}
	return nil
}

func (x *WatchSessionResponse) GetEnded() *WatchEnded {
	if x != nil {
		if x, ok := x.Kind.(*WatchSessionResponse_Ended); ok {
			return x.Ended
		}
	}
	return nil
}

type isWatchSessionResponse_Kind interface {
	isWatchSessionResponse_Kind()
}

type WatchSessionResponse_Events struct {
	// Events stored after the last one delivered, in append order, each
	// with the session's revision right after it. At least one; as many as
	// fit in one message.
	Events *WatchedEvents `protobuf:"bytes,1,opt,name=events,proto3,oneof"`
}

type WatchSessionResponse_CaughtUp struct {
	// The watcher has every event stored when the watch began (sent once,
	// after the backlog, even if it was empty).
	CaughtUp *WatchCaughtUp `protobuf:"bytes,2,opt,name=caught_up,json=caughtUp,proto3,oneof"`
}

type WatchSessionResponse_Ended struct {
	// The session ended; the stream then closes with OK.
	Ended *WatchEnded `protobuf:"bytes,3,opt,name=ended,proto3,oneof"`
}

func (*WatchSessionResponse_Events) isWatchSessionResponse_Kind() {}

func (*WatchSessionResponse_CaughtUp) isWatchSessionResponse_Kind() {}

func (*WatchSessionResponse_Ended) isWatchSessionResponse_Kind() {}

// Events delivered by WatchSession.
type WatchedEvents struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The events, oldest first.
	Events        []*WatchedEvent `protobuf:"bytes,1,rep,name=events,proto3" json:"events,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *WatchedEvents) Reset() {
	*x = WatchedEvents{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[41]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *WatchedEvents) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*WatchedEvents) ProtoMessage() {}

func (x *WatchedEvents) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[41]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use WatchedEvents.ProtoReflect.Descriptor instead.
func (*WatchedEvents) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{41}
}

func (x *WatchedEvents) GetEvents() []*WatchedEvent {
	if x != nil {
		return x.Events
	}
	return nil
}

// One event delivered by WatchSession.
type WatchedEvent struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The event as stored (see Event).
	Event *Event `protobuf:"bytes,1,opt,name=event,proto3" json:"event,omitempty"`
	// The session's revision right after this event: pass the last one
	// received as WatchSessionRequest.after_revision to resume.
	Revision      int64 `protobuf:"varint,2,opt,name=revision,proto3" json:"revision,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *WatchedEvent) Reset() {
	*x = WatchedEvent{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[42]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *WatchedEvent) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*WatchedEvent) ProtoMessage() {}

func (x *WatchedEvent) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[42]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use WatchedEvent.ProtoReflect.Descriptor instead.
func (*WatchedEvent) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{42}
}

func (x *WatchedEvent) GetEvent() *Event {
	if x != nil {
		return x.Event
	}
	return nil
}

func (x *WatchedEvent) GetRevision() int64 {
	if x != nil {
		return x.Revision
	}
	return 0
}

// The end of a WatchSession backlog.
type WatchCaughtUp struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The session's revision when the backlog was read: the revision to
	// append with if no event follows, and a resume point.
	Revision      int64 `protobuf:"varint,1,opt,name=revision,proto3" json:"revision,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *WatchCaughtUp) Reset() {
	*x = WatchCaughtUp{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[43]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *WatchCaughtUp) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*WatchCaughtUp) ProtoMessage() {}

func (x *WatchCaughtUp) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[43]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use WatchCaughtUp.ProtoReflect.Descriptor instead.
func (*WatchCaughtUp) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{43}
}

func (x *WatchCaughtUp) GetRevision() int64 {
	if x != nil {
		return x.Revision
	}
	return 0
}

// Why a watched session ended.
type WatchEnded struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Why the stream ends.
	Reason        WatchEnded_Reason `protobuf:"varint,1,opt,name=reason,proto3,enum=adk_grpc_sessions.v1.WatchEnded_Reason" json:"reason,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *WatchEnded) Reset() {
	*x = WatchEnded{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[44]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *WatchEnded) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*WatchEnded) ProtoMessage() {}

func (x *WatchEnded) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[44]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use WatchEnded.ProtoReflect.Descriptor instead.
func (*WatchEnded) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{44}
}

func (x *WatchEnded) GetReason() WatchEnded_Reason {
	if x != nil {
		return x.Reason
	}
	return WatchEnded_REASON_UNSPECIFIED
}

// Request for SessionService.WatchSessions.
type WatchSessionsRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required. The app name.
	AppName string `protobuf:"bytes,1,opt,name=app_name,json=appName,proto3" json:"app_name,omitempty"`
	// Required. The user id whose sessions are followed.
	UserId        string `protobuf:"bytes,2,opt,name=user_id,json=userId,proto3" json:"user_id,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *WatchSessionsRequest) Reset() {
	*x = WatchSessionsRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[45]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *WatchSessionsRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*WatchSessionsRequest) ProtoMessage() {}

func (x *WatchSessionsRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[45]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use WatchSessionsRequest.ProtoReflect.Descriptor instead.
func (*WatchSessionsRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{45}
}

func (x *WatchSessionsRequest) GetAppName() string {
	if x != nil {
		return x.AppName
	}
	return ""
}

func (x *WatchSessionsRequest) GetUserId() string {
	if x != nil {
		return x.UserId
	}
	return ""
}

// One message of a WatchSessions stream: exactly one field is set.
type WatchSessionsResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// What this message carries.
	//
	// Types that are valid to be assigned to Kind:
	//
	//	*WatchSessionsResponse_Notices
	//	*WatchSessionsResponse_CaughtUp
	//	*WatchSessionsResponse_Relisting
	Kind          isWatchSessionsResponse_Kind `protobuf_oneof:"kind"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *WatchSessionsResponse) Reset() {
	*x = WatchSessionsResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[46]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *WatchSessionsResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*WatchSessionsResponse) ProtoMessage() {}

func (x *WatchSessionsResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[46]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use WatchSessionsResponse.ProtoReflect.Descriptor instead.
func (*WatchSessionsResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{46}
}

func (x *WatchSessionsResponse) GetKind() isWatchSessionsResponse_Kind {
	if x != nil {
		return x.Kind
	}
	return nil
}

func (x *WatchSessionsResponse) GetNotices() *SessionNotices {
	if x != nil {
		if x, ok := x.Kind.(*WatchSessionsResponse_Notices); ok {
			return x.Notices
		}
	}
	return nil
}

func (x *WatchSessionsResponse) GetCaughtUp() *WatchSessionsCaughtUp {
	if x != nil {
		if x, ok := x.Kind.(*WatchSessionsResponse_CaughtUp); ok {
			return x.CaughtUp
		}
	}
	return nil
}

func (x *WatchSessionsResponse) GetRelisting() *WatchSessionsRelisting {
	if x != nil {
		if x, ok := x.Kind.(*WatchSessionsResponse_Relisting); ok {
			return x.Relisting
		}
	}
	return nil
}

type isWatchSessionsResponse_Kind interface {
	isWatchSessionsResponse_Kind()
}

type WatchSessionsResponse_Notices struct {
	// Sessions listed, or changed since the last message. At least one;
	// as many as fit in one message.
	Notices *SessionNotices `protobuf:"bytes,1,opt,name=notices,proto3,oneof"`
}

type WatchSessionsResponse_CaughtUp struct {
	// Every session the user had when the listing began has been listed
	// (sent once after each listing, even if it was empty).
	CaughtUp *WatchSessionsCaughtUp `protobuf:"bytes,2,opt,name=caught_up,json=caughtUp,proto3,oneof"`
}

type WatchSessionsResponse_Relisting struct {
	// The server lost track of what changed: a new listing follows, then
	// caught_up. Drop what was listed before and was not listed again.
	Relisting *WatchSessionsRelisting `protobuf:"bytes,3,opt,name=relisting,proto3,oneof"`
}

func (*WatchSessionsResponse_Notices) isWatchSessionsResponse_Kind() {}

func (*WatchSessionsResponse_CaughtUp) isWatchSessionsResponse_Kind() {}

func (*WatchSessionsResponse_Relisting) isWatchSessionsResponse_Kind() {}

// Notices delivered by WatchSessions.
type SessionNotices struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The notices, in the order the server learned of them; at most one per
	// session id in one message.
	Notices       []*SessionNotice `protobuf:"bytes,1,rep,name=notices,proto3" json:"notices,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *SessionNotices) Reset() {
	*x = SessionNotices{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[47]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *SessionNotices) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*SessionNotices) ProtoMessage() {}

func (x *SessionNotices) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[47]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use SessionNotices.ProtoReflect.Descriptor instead.
func (*SessionNotices) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{47}
}

func (x *SessionNotices) GetNotices() []*SessionNotice {
	if x != nil {
		return x.Notices
	}
	return nil
}

// What happened to one session of the watched user.
type SessionNotice struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// What happened.
	Kind SessionNotice_Kind `protobuf:"varint,1,opt,name=kind,proto3,enum=adk_grpc_sessions.v1.SessionNotice_Kind" json:"kind,omitempty"`
	// The session's id.
	SessionId string `protobuf:"bytes,2,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
	// The session as read after the change: merged state and metadata, no
	// events. Unset for DELETED and EXPIRED.
	Session       *Session `protobuf:"bytes,3,opt,name=session,proto3" json:"session,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *SessionNotice) Reset() {
	*x = SessionNotice{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[48]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *SessionNotice) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*SessionNotice) ProtoMessage() {}

func (x *SessionNotice) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[48]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use SessionNotice.ProtoReflect.Descriptor instead.
func (*SessionNotice) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{48}
}

func (x *SessionNotice) GetKind() SessionNotice_Kind {
	if x != nil {
		return x.Kind
	}
	return SessionNotice_KIND_UNSPECIFIED
}

func (x *SessionNotice) GetSessionId() string {
	if x != nil {
		return x.SessionId
	}
	return ""
}

func (x *SessionNotice) GetSession() *Session {
	if x != nil {
		return x.Session
	}
	return nil
}

// The end of a WatchSessions listing.
type WatchSessionsCaughtUp struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// How many sessions the listing held.
	Listed        int64 `protobuf:"varint,1,opt,name=listed,proto3" json:"listed,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *WatchSessionsCaughtUp) Reset() {
	*x = WatchSessionsCaughtUp{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[49]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *WatchSessionsCaughtUp) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*WatchSessionsCaughtUp) ProtoMessage() {}

func (x *WatchSessionsCaughtUp) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[49]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use WatchSessionsCaughtUp.ProtoReflect.Descriptor instead.
func (*WatchSessionsCaughtUp) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{49}
}

func (x *WatchSessionsCaughtUp) GetListed() int64 {
	if x != nil {
		return x.Listed
	}
	return 0
}

// WatchSessions starts over with a new listing (see WatchSessionsResponse).
type WatchSessionsRelisting struct {
	state         protoimpl.MessageState `protogen:"open.v1"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *WatchSessionsRelisting) Reset() {
	*x = WatchSessionsRelisting{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[50]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *WatchSessionsRelisting) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*WatchSessionsRelisting) ProtoMessage() {}

func (x *WatchSessionsRelisting) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[50]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use WatchSessionsRelisting.ProtoReflect.Descriptor instead.
func (*WatchSessionsRelisting) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{50}
}

// Request for SessionService.ListApps.
type ListAppsRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Optional. Maximum apps in one page: 0 = 100; values above 1000 are
	// treated as 1000; negative is INVALID_ARGUMENT.
	PageSize int32 `protobuf:"varint,1,opt,name=page_size,json=pageSize,proto3" json:"page_size,omitempty"`
	// Optional. A next_page_token from a previous ListApps call; empty = the
	// first page.
	PageToken     string `protobuf:"bytes,2,opt,name=page_token,json=pageToken,proto3" json:"page_token,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *ListAppsRequest) Reset() {
	*x = ListAppsRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[51]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ListAppsRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ListAppsRequest) ProtoMessage() {}

func (x *ListAppsRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[51]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use ListAppsRequest.ProtoReflect.Descriptor instead.
func (*ListAppsRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{51}
}

func (x *ListAppsRequest) GetPageSize() int32 {
	if x != nil {
		return x.PageSize
	}
	return 0
}

func (x *ListAppsRequest) GetPageToken() string {
	if x != nil {
		return x.PageToken
	}
	return ""
}

// Response for SessionService.ListApps.
type ListAppsResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// App names, in code point order.
	AppNames []string `protobuf:"bytes,1,rep,name=app_names,json=appNames,proto3" json:"app_names,omitempty"`
	// Token for the next page; empty when this is the last page.
	NextPageToken string `protobuf:"bytes,2,opt,name=next_page_token,json=nextPageToken,proto3" json:"next_page_token,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *ListAppsResponse) Reset() {
	*x = ListAppsResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[52]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ListAppsResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ListAppsResponse) ProtoMessage() {}

func (x *ListAppsResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[52]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use ListAppsResponse.ProtoReflect.Descriptor instead.
func (*ListAppsResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{52}
}

func (x *ListAppsResponse) GetAppNames() []string {
	if x != nil {
		return x.AppNames
	}
	return nil
}

func (x *ListAppsResponse) GetNextPageToken() string {
	if x != nil {
		return x.NextPageToken
	}
	return ""
}

// Request for SessionService.ListUsers.
type ListUsersRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Required. The app name.
	AppName string `protobuf:"bytes,1,opt,name=app_name,json=appName,proto3" json:"app_name,omitempty"`
	// Optional. Maximum users in one page: 0 = 100; values above 1000 are
	// treated as 1000; negative is INVALID_ARGUMENT.
	PageSize int32 `protobuf:"varint,2,opt,name=page_size,json=pageSize,proto3" json:"page_size,omitempty"`
	// Optional. A next_page_token from a previous ListUsers call of the same
	// app; empty = the first page.
	PageToken     string `protobuf:"bytes,3,opt,name=page_token,json=pageToken,proto3" json:"page_token,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *ListUsersRequest) Reset() {
	*x = ListUsersRequest{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[53]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ListUsersRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ListUsersRequest) ProtoMessage() {}

func (x *ListUsersRequest) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[53]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use ListUsersRequest.ProtoReflect.Descriptor instead.
func (*ListUsersRequest) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{53}
}

func (x *ListUsersRequest) GetAppName() string {
	if x != nil {
		return x.AppName
	}
	return ""
}

func (x *ListUsersRequest) GetPageSize() int32 {
	if x != nil {
		return x.PageSize
	}
	return 0
}

func (x *ListUsersRequest) GetPageToken() string {
	if x != nil {
		return x.PageToken
	}
	return ""
}

// Response for SessionService.ListUsers.
type ListUsersResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// User ids, in code point order.
	UserIds []string `protobuf:"bytes,1,rep,name=user_ids,json=userIds,proto3" json:"user_ids,omitempty"`
	// Token for the next page; empty when this is the last page.
	NextPageToken string `protobuf:"bytes,2,opt,name=next_page_token,json=nextPageToken,proto3" json:"next_page_token,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *ListUsersResponse) Reset() {
	*x = ListUsersResponse{}
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[54]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ListUsersResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ListUsersResponse) ProtoMessage() {}

func (x *ListUsersResponse) ProtoReflect() protoreflect.Message {
	mi := &file_adk_grpc_sessions_v1_session_service_proto_msgTypes[54]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use ListUsersResponse.ProtoReflect.Descriptor instead.
func (*ListUsersResponse) Descriptor() ([]byte, []int) {
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP(), []int{54}
}

func (x *ListUsersResponse) GetUserIds() []string {
	if x != nil {
		return x.UserIds
	}
	return nil
}

func (x *ListUsersResponse) GetNextPageToken() string {
	if x != nil {
		return x.NextPageToken
	}
	return ""
}

var File_adk_grpc_sessions_v1_session_service_proto protoreflect.FileDescriptor

const file_adk_grpc_sessions_v1_session_service_proto_rawDesc = "" +
	"\n" +
	"*adk_grpc_sessions/v1/session_service.proto\x12\x14adk_grpc_sessions.v1\x1a\x19google/protobuf/any.proto\x1a\x1egoogle/protobuf/duration.proto\x1a google/protobuf/field_mask.proto\x1a\x1fgoogle/protobuf/timestamp.proto\"\xeb\x02\n" +
	"\x05State\x126\n" +
	"\x03app\x18\x01 \x03(\v2$.adk_grpc_sessions.v1.State.AppEntryR\x03app\x129\n" +
	"\x04user\x18\x02 \x03(\v2%.adk_grpc_sessions.v1.State.UserEntryR\x04user\x12B\n" +
	"\asession\x18\x03 \x03(\v2(.adk_grpc_sessions.v1.State.SessionEntryR\asession\x1a6\n" +
	"\bAppEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01\x1a7\n" +
	"\tUserEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01\x1a:\n" +
	"\fSessionEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01\"\xff\x02\n" +
	"\n" +
	"StateDelta\x12;\n" +
	"\x03app\x18\x01 \x03(\v2).adk_grpc_sessions.v1.StateDelta.AppEntryR\x03app\x12>\n" +
	"\x04user\x18\x02 \x03(\v2*.adk_grpc_sessions.v1.StateDelta.UserEntryR\x04user\x12G\n" +
	"\asession\x18\x03 \x03(\v2-.adk_grpc_sessions.v1.StateDelta.SessionEntryR\asession\x1a6\n" +
	"\bAppEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01\x1a7\n" +
	"\tUserEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01\x1a:\n" +
	"\fSessionEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01\"\xa4\x02\n" +
	"\x05Event\x12\x0e\n" +
	"\x02id\x18\x01 \x01(\tR\x02id\x12#\n" +
	"\rinvocation_id\x18\x02 \x01(\tR\finvocationId\x12\x16\n" +
	"\x06author\x18\x03 \x01(\tR\x06author\x12\x16\n" +
	"\x06branch\x18\x04 \x01(\tR\x06branch\x128\n" +
	"\ttimestamp\x18\x05 \x01(\v2\x1a.google.protobuf.TimestampR\ttimestamp\x12A\n" +
	"\vstate_delta\x18\x06 \x01(\v2 .adk_grpc_sessions.v1.StateDeltaR\n" +
	"stateDelta\x12\x1a\n" +
	"\bsequence\x18\a \x01(\x03R\bsequence\x12\x1d\n" +
	"\n" +
	"event_json\x18\x0f \x01(\tR\teventJson\"\xed\x06\n" +
	"\aSession\x12\x19\n" +
	"\bapp_name\x18\x01 \x01(\tR\aappName\x12\x17\n" +
	"\auser_id\x18\x02 \x01(\tR\x06userId\x12\x1d\n" +
	"\n" +
	"session_id\x18\x03 \x01(\tR\tsessionId\x121\n" +
	"\x05state\x18\x04 \x01(\v2\x1b.adk_grpc_sessions.v1.StateR\x05state\x123\n" +
	"\x06events\x18\x05 \x03(\v2\x1b.adk_grpc_sessions.v1.EventR\x06events\x12D\n" +
	"\x10last_update_time\x18\x06 \x01(\v2\x1a.google.protobuf.TimestampR\x0elastUpdateTime\x12;\n" +
	"\vcreate_time\x18\a \x01(\v2\x1a.google.protobuf.TimestampR\n" +
	"createTime\x12\x1a\n" +
	"\brevision\x18\b \x01(\x03R\brevision\x12=\n" +
	"\vexpire_time\x18\t \x01(\v2\x1a.google.protobuf.TimestampH\x00R\n" +
	"expireTime\x12-\n" +
	"\x03ttl\x18\n" +
	" \x01(\v2\x19.google.protobuf.DurationH\x00R\x03ttl\x129\n" +
	"\n" +
	"close_time\x18\v \x01(\v2\x1a.google.protobuf.TimestampR\tcloseTime\x12!\n" +
	"\fdisplay_name\x18\f \x01(\tR\vdisplayName\x12A\n" +
	"\x06labels\x18\r \x03(\v2).adk_grpc_sessions.v1.Session.LabelsEntryR\x06labels\x12$\n" +
	"\vevent_count\x18\x0e \x01(\x03H\x01R\n" +
	"eventCount\x88\x01\x01\x12&\n" +
	"\fstored_bytes\x18\x0f \x01(\x03H\x02R\vstoredBytes\x88\x01\x01\x12A\n" +
	"\vforked_from\x18\x10 \x01(\v2 .adk_grpc_sessions.v1.ForkOriginR\n" +
	"forkedFrom\x1a9\n" +
	"\vLabelsEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01B\f\n" +
	"\n" +
	"expirationB\x0e\n" +
	"\f_event_countB\x0f\n" +
	"\r_stored_bytes\"\xb7\x01\n" +
	"\n" +
	"ForkOrigin\x12\x1d\n" +
	"\n" +
	"session_id\x18\x01 \x01(\tR\tsessionId\x12\x1f\n" +
	"\vevent_count\x18\x02 \x01(\x03R\n" +
	"eventCount\x120\n" +
	"\x14before_invocation_id\x18\x03 \x01(\tR\x12beforeInvocationId\x127\n" +
	"\tfork_time\x18\x04 \x01(\v2\x1a.google.protobuf.TimestampR\bforkTime\"\xcb\x03\n" +
	"\x14CreateSessionRequest\x12\x19\n" +
	"\bapp_name\x18\x01 \x01(\tR\aappName\x12\x17\n" +
	"\auser_id\x18\x02 \x01(\tR\x06userId\x12\x1d\n" +
	"\n" +
	"session_id\x18\x03 \x01(\tR\tsessionId\x126\n" +
	"\x05state\x18\x04 \x01(\v2 .adk_grpc_sessions.v1.StateDeltaR\x05state\x12=\n" +
	"\vexpire_time\x18\x05 \x01(\v2\x1a.google.protobuf.TimestampH\x00R\n" +
	"expireTime\x12-\n" +
	"\x03ttl\x18\x06 \x01(\v2\x19.google.protobuf.DurationH\x00R\x03ttl\x12!\n" +
	"\fdisplay_name\x18\a \x01(\tR\vdisplayName\x12N\n" +
	"\x06labels\x18\b \x03(\v26.adk_grpc_sessions.v1.CreateSessionRequest.LabelsEntryR\x06labels\x1a9\n" +
	"\vLabelsEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01B\f\n" +
	"\n" +
	"expiration\"P\n" +
	"\x15CreateSessionResponse\x127\n" +
	"\asession\x18\x01 \x01(\v2\x1d.adk_grpc_sessions.v1.SessionR\asession\"d\n" +
	"\x1aBatchCreateSessionsRequest\x12F\n" +
	"\brequests\x18\x01 \x03(\v2*.adk_grpc_sessions.v1.CreateSessionRequestR\brequests\"b\n" +
	"\x1bBatchCreateSessionsResponse\x12C\n" +
	"\aresults\x18\x01 \x03(\v2).adk_grpc_sessions.v1.CreateSessionResultR\aresults\"\xe3\x01\n" +
	"\x13CreateSessionResult\x12I\n" +
	"\bresponse\x18\x01 \x01(\v2+.adk_grpc_sessions.v1.CreateSessionResponseH\x00R\bresponse\x124\n" +
	"\x05error\x18\x02 \x01(\v2\x1c.adk_grpc_sessions.v1.StatusH\x00R\x05error\x12@\n" +
	"\acreated\x18\x03 \x01(\v2$.adk_grpc_sessions.v1.CreatedSessionH\x00R\acreatedB\t\n" +
	"\aoutcome\"/\n" +
	"\x0eCreatedSession\x12\x1d\n" +
	"\n" +
	"session_id\x18\x01 \x01(\tR\tsessionId\"\xf2\x01\n" +
	"\x11GetSessionRequest\x12\x19\n" +
	"\bapp_name\x18\x01 \x01(\tR\aappName\x12\x17\n" +
	"\auser_id\x18\x02 \x01(\tR\x06userId\x12\x1d\n" +
	"\n" +
	"session_id\x18\x03 \x01(\tR\tsessionId\x12/\n" +
	"\x11num_recent_events\x18\x04 \x01(\x05H\x00R\x0fnumRecentEvents\x88\x01\x01\x12C\n" +
	"\x0fafter_timestamp\x18\x05 \x01(\v2\x1a.google.protobuf.TimestampR\x0eafterTimestampB\x14\n" +
	"\x12_num_recent_events\"\x82\x01\n" +
	"\x12GetSessionResponse\x127\n" +
	"\asession\x18\x01 \x01(\v2\x1d.adk_grpc_sessions.v1.SessionR\asession\x123\n" +
	"\x16next_events_page_token\x18\x02 \x01(\tR\x13nextEventsPageToken\"\xb8\x01\n" +
	"\x13ListSessionsRequest\x12\x19\n" +
	"\bapp_name\x18\x01 \x01(\tR\aappName\x12\x17\n" +
	"\auser_id\x18\x02 \x01(\tR\x06userId\x12\x1b\n" +
	"\tpage_size\x18\x03 \x01(\x05R\bpageSize\x12\x1d\n" +
	"\n" +
	"page_token\x18\x04 \x01(\tR\tpageToken\x12\x16\n" +
	"\x06filter\x18\x05 \x01(\tR\x06filter\x12\x19\n" +
	"\border_by\x18\x06 \x01(\tR\aorderBy\"y\n" +
	"\x14ListSessionsResponse\x129\n" +
	"\bsessions\x18\x01 \x03(\v2\x1d.adk_grpc_sessions.v1.SessionR\bsessions\x12&\n" +
	"\x0fnext_page_token\x18\x02 \x01(\tR\rnextPageToken\"i\n" +
	"\x14DeleteSessionRequest\x12\x19\n" +
	"\bapp_name\x18\x01 \x01(\tR\aappName\x12\x17\n" +
	"\auser_id\x18\x02 \x01(\tR\x06userId\x12\x1d\n" +
	"\n" +
	"session_id\x18\x03 \x01(\tR\tsessionId\"\x17\n" +
	"\x15DeleteSessionResponse\"\xb3\x01\n" +
	"\x12AppendEventRequest\x12\x19\n" +
	"\bapp_name\x18\x01 \x01(\tR\aappName\x12\x17\n" +
	"\auser_id\x18\x02 \x01(\tR\x06userId\x12\x1d\n" +
	"\n" +
	"session_id\x18\x03 \x01(\tR\tsessionId\x12\x1d\n" +
	"\n" +
	"event_json\x18\x04 \x01(\tR\teventJson\x12+\n" +
	"\x11expected_revision\x18\x05 \x01(\x03R\x10expectedRevision\"\xd3\x01\n" +
	"\x13AppendEventResponse\x121\n" +
	"\x05event\x18\x01 \x01(\v2\x1b.adk_grpc_sessions.v1.EventR\x05event\x12\x1a\n" +
	"\brevision\x18\x02 \x01(\x03R\brevision\x12D\n" +
	"\x10last_update_time\x18\x03 \x01(\v2\x1a.google.protobuf.TimestampR\x0elastUpdateTime\x12'\n" +
	"\x0falready_applied\x18\x04 \x01(\bR\x0ealreadyApplied\"`\n" +
	"\x18BatchAppendEventsRequest\x12D\n" +
	"\brequests\x18\x01 \x03(\v2(.adk_grpc_sessions.v1.AppendEventRequestR\brequests\"^\n" +
	"\x19BatchAppendEventsResponse\x12A\n" +
	"\aresults\x18\x01 \x03(\v2'.adk_grpc_sessions.v1.AppendEventResultR\aresults\"\xaf\x01\n" +
	"\x18AppendEventStreamRequest\x12B\n" +
	"\x06append\x18\x01 \x01(\v2(.adk_grpc_sessions.v1.AppendEventRequestH\x00R\x06append\x12D\n" +
	"\x06create\x18\x02 \x01(\v2*.adk_grpc_sessions.v1.CreateSessionRequestH\x00R\x06createB\t\n" +
	"\arequest\"\xba\x01\n" +
	"\x19AppendEventStreamResponse\x12A\n" +
	"\x06result\x18\x01 \x01(\v2'.adk_grpc_sessions.v1.AppendEventResultH\x00R\x06result\x12P\n" +
	"\rcreate_result\x18\x02 \x01(\v2).adk_grpc_sessions.v1.CreateSessionResultH\x00R\fcreateResultB\b\n" +
	"\x06answer\"\x9d\x01\n" +
	"\x11AppendEventResult\x12G\n" +
	"\bresponse\x18\x01 \x01(\v2).adk_grpc_sessions.v1.AppendEventResponseH\x00R\bresponse\x124\n" +
	"\x05error\x18\x02 \x01(\v2\x1c.adk_grpc_sessions.v1.StatusH\x00R\x05errorB\t\n" +
	"\aoutcome\"f\n" +
	"\x06Status\x12\x12\n" +
	"\x04code\x18\x01 \x01(\x05R\x04code\x12\x18\n" +
	"\amessage\x18\x02 \x01(\tR\amessage\x12.\n" +
	"\adetails\x18\x03 \x03(\v2\x14.google.protobuf.AnyR\adetails\"\xe7\x01\n" +
	"\x11ListEventsRequest\x12\x19\n" +
	"\bapp_name\x18\x01 \x01(\tR\aappName\x12\x17\n" +
	"\auser_id\x18\x02 \x01(\tR\x06userId\x12\x1d\n" +
	"\n" +
	"session_id\x18\x03 \x01(\tR\tsessionId\x12\x1b\n" +
	"\tpage_size\x18\x04 \x01(\x05R\bpageSize\x12\x1d\n" +
	"\n" +
	"page_token\x18\x05 \x01(\tR\tpageToken\x12C\n" +
	"\x0fafter_timestamp\x18\x06 \x01(\v2\x1a.google.protobuf.TimestampR\x0eafterTimestamp\"q\n" +
	"\x12ListEventsResponse\x123\n" +
	"\x06events\x18\x01 \x03(\v2\x1b.adk_grpc_sessions.v1.EventR\x06events\x12&\n" +
	"\x0fnext_page_token\x18\x02 \x01(\tR\rnextPageToken\"I\n" +
	"\x13GetUserStateRequest\x12\x19\n" +
	"\bapp_name\x18\x01 \x01(\tR\aappName\x12\x17\n" +
	"\auser_id\x18\x02 \x01(\tR\x06userId\"\x9d\x01\n" +
	"\x14GetUserStateResponse\x12K\n" +
	"\x05state\x18\x01 \x03(\v25.adk_grpc_sessions.v1.GetUserStateResponse.StateEntryR\x05state\x1a8\n" +
	"\n" +
	"StateEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01\"/\n" +
	"\x12GetAppStateRequest\x12\x19\n" +
	"\bapp_name\x18\x01 \x01(\tR\aappName\"\x9b\x01\n" +
	"\x13GetAppStateResponse\x12J\n" +
	"\x05state\x18\x01 \x03(\v24.adk_grpc_sessions.v1.GetAppStateResponse.StateEntryR\x05state\x1a8\n" +
	"\n" +
	"StateEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01\"\x8c\x01\n" +
	"\x14UpdateSessionRequest\x127\n" +
	"\asession\x18\x01 \x01(\v2\x1d.adk_grpc_sessions.v1.SessionR\asession\x12;\n" +
	"\vupdate_mask\x18\x02 \x01(\v2\x1a.google.protobuf.FieldMaskR\n" +
	"updateMask\"P\n" +
	"\x15UpdateSessionResponse\x127\n" +
	"\asession\x18\x01 \x01(\v2\x1d.adk_grpc_sessions.v1.SessionR\asession\"h\n" +
	"\x13CloseSessionRequest\x12\x19\n" +
	"\bapp_name\x18\x01 \x01(\tR\aappName\x12\x17\n" +
	"\auser_id\x18\x02 \x01(\tR\x06userId\x12\x1d\n" +
	"\n" +
	"session_id\x18\x03 \x01(\tR\tsessionId\"O\n" +
	"\x14CloseSessionResponse\x127\n" +
	"\asession\x18\x01 \x01(\v2\x1d.adk_grpc_sessions.v1.SessionR\asession\"F\n" +
	"\x10EraseUserRequest\x12\x19\n" +
	"\bapp_name\x18\x01 \x01(\tR\aappName\x12\x17\n" +
	"\auser_id\x18\x02 \x01(\tR\x06userId\">\n" +
	"\x11EraseUserResponse\x12)\n" +
	"\x10deleted_sessions\x18\x01 \x01(\x03R\x0fdeletedSessions\"\xe7\x03\n" +
	"\x12ForkSessionRequest\x12\x19\n" +
	"\bapp_name\x18\x01 \x01(\tR\aappName\x12\x17\n" +
	"\auser_id\x18\x02 \x01(\tR\x06userId\x12\x1d\n" +
	"\n" +
	"session_id\x18\x03 \x01(\tR\tsessionId\x12$\n" +
	"\x0enew_session_id\x18\x04 \x01(\tR\fnewSessionId\x120\n" +
	"\x14before_invocation_id\x18\x05 \x01(\tR\x12beforeInvocationId\x12!\n" +
	"\fdisplay_name\x18\x06 \x01(\tR\vdisplayName\x12L\n" +
	"\x06labels\x18\a \x03(\v24.adk_grpc_sessions.v1.ForkSessionRequest.LabelsEntryR\x06labels\x12=\n" +
	"\vexpire_time\x18\b \x01(\v2\x1a.google.protobuf.TimestampH\x00R\n" +
	"expireTime\x12-\n" +
	"\x03ttl\x18\t \x01(\v2\x19.google.protobuf.DurationH\x00R\x03ttl\x1a9\n" +
	"\vLabelsEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01B\f\n" +
	"\n" +
	"expiration\"N\n" +
	"\x13ForkSessionResponse\x127\n" +
	"\asession\x18\x01 \x01(\v2\x1d.adk_grpc_sessions.v1.SessionR\asession\"\x8f\x01\n" +
	"\x13WatchSessionRequest\x12\x19\n" +
	"\bapp_name\x18\x01 \x01(\tR\aappName\x12\x17\n" +
	"\auser_id\x18\x02 \x01(\tR\x06userId\x12\x1d\n" +
	"\n" +
	"session_id\x18\x03 \x01(\tR\tsessionId\x12%\n" +
	"\x0eafter_revision\x18\x04 \x01(\x03R\rafterRevision\"\xdb\x01\n" +
	"\x14WatchSessionResponse\x12=\n" +
	"\x06events\x18\x01 \x01(\v2#.adk_grpc_sessions.v1.WatchedEventsH\x00R\x06events\x12B\n" +
	"\tcaught_up\x18\x02 \x01(\v2#.adk_grpc_sessions.v1.WatchCaughtUpH\x00R\bcaughtUp\x128\n" +
	"\x05ended\x18\x03 \x01(\v2 .adk_grpc_sessions.v1.WatchEndedH\x00R\x05endedB\x06\n" +
	"\x04kind\"K\n" +
	"\rWatchedEvents\x12:\n" +
	"\x06events\x18\x01 \x03(\v2\".adk_grpc_sessions.v1.WatchedEventR\x06events\"]\n" +
	"\fWatchedEvent\x121\n" +
	"\x05event\x18\x01 \x01(\v2\x1b.adk_grpc_sessions.v1.EventR\x05event\x12\x1a\n" +
	"\brevision\x18\x02 \x01(\x03R\brevision\"+\n" +
	"\rWatchCaughtUp\x12\x1a\n" +
	"\brevision\x18\x01 \x01(\x03R\brevision\"\xaa\x01\n" +
	"\n" +
	"WatchEnded\x12?\n" +
	"\x06reason\x18\x01 \x01(\x0e2'.adk_grpc_sessions.v1.WatchEnded.ReasonR\x06reason\"[\n" +
	"\x06Reason\x12\x16\n" +
	"\x12REASON_UNSPECIFIED\x10\x00\x12\x11\n" +
	"\rREASON_CLOSED\x10\x01\x12\x12\n" +
	"\x0eREASON_DELETED\x10\x02\x12\x12\n" +
	"\x0eREASON_EXPIRED\x10\x03\"J\n" +
	"\x14WatchSessionsRequest\x12\x19\n" +
	"\bapp_name\x18\x01 \x01(\tR\aappName\x12\x17\n" +
	"\auser_id\x18\x02 \x01(\tR\x06userId\"\xfb\x01\n" +
	"\x15WatchSessionsResponse\x12@\n" +
	"\anotices\x18\x01 \x01(\v2$.adk_grpc_sessions.v1.SessionNoticesH\x00R\anotices\x12J\n" +
	"\tcaught_up\x18\x02 \x01(\v2+.adk_grpc_sessions.v1.WatchSessionsCaughtUpH\x00R\bcaughtUp\x12L\n" +
	"\trelisting\x18\x03 \x01(\v2,.adk_grpc_sessions.v1.WatchSessionsRelistingH\x00R\trelistingB\x06\n" +
	"\x04kind\"O\n" +
	"\x0eSessionNotices\x12=\n" +
	"\anotices\x18\x01 \x03(\v2#.adk_grpc_sessions.v1.SessionNoticeR\anotices\"\xae\x02\n" +
	"\rSessionNotice\x12<\n" +
	"\x04kind\x18\x01 \x01(\x0e2(.adk_grpc_sessions.v1.SessionNotice.KindR\x04kind\x12\x1d\n" +
	"\n" +
	"session_id\x18\x02 \x01(\tR\tsessionId\x127\n" +
	"\asession\x18\x03 \x01(\v2\x1d.adk_grpc_sessions.v1.SessionR\asession\"\x86\x01\n" +
	"\x04Kind\x12\x14\n" +
	"\x10KIND_UNSPECIFIED\x10\x00\x12\x0f\n" +
	"\vKIND_LISTED\x10\x01\x12\x10\n" +
	"\fKIND_CREATED\x10\x02\x12\x10\n" +
	"\fKIND_UPDATED\x10\x03\x12\x0f\n" +
	"\vKIND_CLOSED\x10\x04\x12\x10\n" +
	"\fKIND_DELETED\x10\x05\x12\x10\n" +
	"\fKIND_EXPIRED\x10\x06\"/\n" +
	"\x15WatchSessionsCaughtUp\x12\x16\n" +
	"\x06listed\x18\x01 \x01(\x03R\x06listed\"\x18\n" +
	"\x16WatchSessionsRelisting\"M\n" +
	"\x0fListAppsRequest\x12\x1b\n" +
	"\tpage_size\x18\x01 \x01(\x05R\bpageSize\x12\x1d\n" +
	"\n" +
	"page_token\x18\x02 \x01(\tR\tpageToken\"W\n" +
	"\x10ListAppsResponse\x12\x1b\n" +
	"\tapp_names\x18\x01 \x03(\tR\bappNames\x12&\n" +
	"\x0fnext_page_token\x18\x02 \x01(\tR\rnextPageToken\"i\n" +
	"\x10ListUsersRequest\x12\x19\n" +
	"\bapp_name\x18\x01 \x01(\tR\aappName\x12\x1b\n" +
	"\tpage_size\x18\x02 \x01(\x05R\bpageSize\x12\x1d\n" +
	"\n" +
	"page_token\x18\x03 \x01(\tR\tpageToken\"V\n" +
	"\x11ListUsersResponse\x12\x19\n" +
	"\buser_ids\x18\x01 \x03(\tR\auserIds\x12&\n" +
	"\x0fnext_page_token\x18\x02 \x01(\tR\rnextPageToken2\xc9\x0f\n" +
	"\x0eSessionService\x12h\n" +
	"\rCreateSession\x12*.adk_grpc_sessions.v1.CreateSessionRequest\x1a+.adk_grpc_sessions.v1.CreateSessionResponse\x12z\n" +
	"\x13BatchCreateSessions\x120.adk_grpc_sessions.v1.BatchCreateSessionsRequest\x1a1.adk_grpc_sessions.v1.BatchCreateSessionsResponse\x12_\n" +
	"\n" +
	"GetSession\x12'.adk_grpc_sessions.v1.GetSessionRequest\x1a(.adk_grpc_sessions.v1.GetSessionResponse\x12e\n" +
	"\fListSessions\x12).adk_grpc_sessions.v1.ListSessionsRequest\x1a*.adk_grpc_sessions.v1.ListSessionsResponse\x12h\n" +
	"\rDeleteSession\x12*.adk_grpc_sessions.v1.DeleteSessionRequest\x1a+.adk_grpc_sessions.v1.DeleteSessionResponse\x12b\n" +
	"\vAppendEvent\x12(.adk_grpc_sessions.v1.AppendEventRequest\x1a).adk_grpc_sessions.v1.AppendEventResponse\x12t\n" +
	"\x11BatchAppendEvents\x12..adk_grpc_sessions.v1.BatchAppendEventsRequest\x1a/.adk_grpc_sessions.v1.BatchAppendEventsResponse\x12x\n" +
	"\x11AppendEventStream\x12..adk_grpc_sessions.v1.AppendEventStreamRequest\x1a/.adk_grpc_sessions.v1.AppendEventStreamResponse(\x010\x01\x12_\n" +
	"\n" +
	"ListEvents\x12'.adk_grpc_sessions.v1.ListEventsRequest\x1a(.adk_grpc_sessions.v1.ListEventsResponse\x12e\n" +
	"\fGetUserState\x12).adk_grpc_sessions.v1.GetUserStateRequest\x1a*.adk_grpc_sessions.v1.GetUserStateResponse\x12b\n" +
	"\vGetAppState\x12(.adk_grpc_sessions.v1.GetAppStateRequest\x1a).adk_grpc_sessions.v1.GetAppStateResponse\x12h\n" +
	"\rUpdateSession\x12*.adk_grpc_sessions.v1.UpdateSessionRequest\x1a+.adk_grpc_sessions.v1.UpdateSessionResponse\x12e\n" +
	"\fCloseSession\x12).adk_grpc_sessions.v1.CloseSessionRequest\x1a*.adk_grpc_sessions.v1.CloseSessionResponse\x12\\\n" +
	"\tEraseUser\x12&.adk_grpc_sessions.v1.EraseUserRequest\x1a'.adk_grpc_sessions.v1.EraseUserResponse\x12b\n" +
	"\vForkSession\x12(.adk_grpc_sessions.v1.ForkSessionRequest\x1a).adk_grpc_sessions.v1.ForkSessionResponse\x12g\n" +
	"\fWatchSession\x12).adk_grpc_sessions.v1.WatchSessionRequest\x1a*.adk_grpc_sessions.v1.WatchSessionResponse0\x01\x12j\n" +
	"\rWatchSessions\x12*.adk_grpc_sessions.v1.WatchSessionsRequest\x1a+.adk_grpc_sessions.v1.WatchSessionsResponse0\x01\x12Y\n" +
	"\bListApps\x12%.adk_grpc_sessions.v1.ListAppsRequest\x1a&.adk_grpc_sessions.v1.ListAppsResponse\x12\\\n" +
	"\tListUsers\x12&.adk_grpc_sessions.v1.ListUsersRequest\x1a'.adk_grpc_sessions.v1.ListUsersResponseB\xf6\x01\n" +
	"\x18com.adk_grpc_sessions.v1B\x13SessionServiceProtoP\x01Z\\github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1;sessionsv1\xa2\x02\x03AXX\xaa\x02\x12AdkGrpcSessions.V1\xca\x02\x12AdkGrpcSessions\\V1\xe2\x02\x1eAdkGrpcSessions\\V1\\GPBMetadata\xea\x02\x13AdkGrpcSessions::V1b\x06proto3"

var (
	file_adk_grpc_sessions_v1_session_service_proto_rawDescOnce sync.Once
	file_adk_grpc_sessions_v1_session_service_proto_rawDescData []byte
)

func file_adk_grpc_sessions_v1_session_service_proto_rawDescGZIP() []byte {
	file_adk_grpc_sessions_v1_session_service_proto_rawDescOnce.Do(func() {
		file_adk_grpc_sessions_v1_session_service_proto_rawDescData = protoimpl.X.CompressGZIP(unsafe.Slice(unsafe.StringData(file_adk_grpc_sessions_v1_session_service_proto_rawDesc), len(file_adk_grpc_sessions_v1_session_service_proto_rawDesc)))
	})
	return file_adk_grpc_sessions_v1_session_service_proto_rawDescData
}

var file_adk_grpc_sessions_v1_session_service_proto_enumTypes = make([]protoimpl.EnumInfo, 2)
var file_adk_grpc_sessions_v1_session_service_proto_msgTypes = make([]protoimpl.MessageInfo, 66)
var file_adk_grpc_sessions_v1_session_service_proto_goTypes = []any{
	(WatchEnded_Reason)(0),              // 0: adk_grpc_sessions.v1.WatchEnded.Reason
	(SessionNotice_Kind)(0),             // 1: adk_grpc_sessions.v1.SessionNotice.Kind
	(*State)(nil),                       // 2: adk_grpc_sessions.v1.State
	(*StateDelta)(nil),                  // 3: adk_grpc_sessions.v1.StateDelta
	(*Event)(nil),                       // 4: adk_grpc_sessions.v1.Event
	(*Session)(nil),                     // 5: adk_grpc_sessions.v1.Session
	(*ForkOrigin)(nil),                  // 6: adk_grpc_sessions.v1.ForkOrigin
	(*CreateSessionRequest)(nil),        // 7: adk_grpc_sessions.v1.CreateSessionRequest
	(*CreateSessionResponse)(nil),       // 8: adk_grpc_sessions.v1.CreateSessionResponse
	(*BatchCreateSessionsRequest)(nil),  // 9: adk_grpc_sessions.v1.BatchCreateSessionsRequest
	(*BatchCreateSessionsResponse)(nil), // 10: adk_grpc_sessions.v1.BatchCreateSessionsResponse
	(*CreateSessionResult)(nil),         // 11: adk_grpc_sessions.v1.CreateSessionResult
	(*CreatedSession)(nil),              // 12: adk_grpc_sessions.v1.CreatedSession
	(*GetSessionRequest)(nil),           // 13: adk_grpc_sessions.v1.GetSessionRequest
	(*GetSessionResponse)(nil),          // 14: adk_grpc_sessions.v1.GetSessionResponse
	(*ListSessionsRequest)(nil),         // 15: adk_grpc_sessions.v1.ListSessionsRequest
	(*ListSessionsResponse)(nil),        // 16: adk_grpc_sessions.v1.ListSessionsResponse
	(*DeleteSessionRequest)(nil),        // 17: adk_grpc_sessions.v1.DeleteSessionRequest
	(*DeleteSessionResponse)(nil),       // 18: adk_grpc_sessions.v1.DeleteSessionResponse
	(*AppendEventRequest)(nil),          // 19: adk_grpc_sessions.v1.AppendEventRequest
	(*AppendEventResponse)(nil),         // 20: adk_grpc_sessions.v1.AppendEventResponse
	(*BatchAppendEventsRequest)(nil),    // 21: adk_grpc_sessions.v1.BatchAppendEventsRequest
	(*BatchAppendEventsResponse)(nil),   // 22: adk_grpc_sessions.v1.BatchAppendEventsResponse
	(*AppendEventStreamRequest)(nil),    // 23: adk_grpc_sessions.v1.AppendEventStreamRequest
	(*AppendEventStreamResponse)(nil),   // 24: adk_grpc_sessions.v1.AppendEventStreamResponse
	(*AppendEventResult)(nil),           // 25: adk_grpc_sessions.v1.AppendEventResult
	(*Status)(nil),                      // 26: adk_grpc_sessions.v1.Status
	(*ListEventsRequest)(nil),           // 27: adk_grpc_sessions.v1.ListEventsRequest
	(*ListEventsResponse)(nil),          // 28: adk_grpc_sessions.v1.ListEventsResponse
	(*GetUserStateRequest)(nil),         // 29: adk_grpc_sessions.v1.GetUserStateRequest
	(*GetUserStateResponse)(nil),        // 30: adk_grpc_sessions.v1.GetUserStateResponse
	(*GetAppStateRequest)(nil),          // 31: adk_grpc_sessions.v1.GetAppStateRequest
	(*GetAppStateResponse)(nil),         // 32: adk_grpc_sessions.v1.GetAppStateResponse
	(*UpdateSessionRequest)(nil),        // 33: adk_grpc_sessions.v1.UpdateSessionRequest
	(*UpdateSessionResponse)(nil),       // 34: adk_grpc_sessions.v1.UpdateSessionResponse
	(*CloseSessionRequest)(nil),         // 35: adk_grpc_sessions.v1.CloseSessionRequest
	(*CloseSessionResponse)(nil),        // 36: adk_grpc_sessions.v1.CloseSessionResponse
	(*EraseUserRequest)(nil),            // 37: adk_grpc_sessions.v1.EraseUserRequest
	(*EraseUserResponse)(nil),           // 38: adk_grpc_sessions.v1.EraseUserResponse
	(*ForkSessionRequest)(nil),          // 39: adk_grpc_sessions.v1.ForkSessionRequest
	(*ForkSessionResponse)(nil),         // 40: adk_grpc_sessions.v1.ForkSessionResponse
	(*WatchSessionRequest)(nil),         // 41: adk_grpc_sessions.v1.WatchSessionRequest
	(*WatchSessionResponse)(nil),        // 42: adk_grpc_sessions.v1.WatchSessionResponse
	(*WatchedEvents)(nil),               // 43: adk_grpc_sessions.v1.WatchedEvents
	(*WatchedEvent)(nil),                // 44: adk_grpc_sessions.v1.WatchedEvent
	(*WatchCaughtUp)(nil),               // 45: adk_grpc_sessions.v1.WatchCaughtUp
	(*WatchEnded)(nil),                  // 46: adk_grpc_sessions.v1.WatchEnded
	(*WatchSessionsRequest)(nil),        // 47: adk_grpc_sessions.v1.WatchSessionsRequest
	(*WatchSessionsResponse)(nil),       // 48: adk_grpc_sessions.v1.WatchSessionsResponse
	(*SessionNotices)(nil),              // 49: adk_grpc_sessions.v1.SessionNotices
	(*SessionNotice)(nil),               // 50: adk_grpc_sessions.v1.SessionNotice
	(*WatchSessionsCaughtUp)(nil),       // 51: adk_grpc_sessions.v1.WatchSessionsCaughtUp
	(*WatchSessionsRelisting)(nil),      // 52: adk_grpc_sessions.v1.WatchSessionsRelisting
	(*ListAppsRequest)(nil),             // 53: adk_grpc_sessions.v1.ListAppsRequest
	(*ListAppsResponse)(nil),            // 54: adk_grpc_sessions.v1.ListAppsResponse
	(*ListUsersRequest)(nil),            // 55: adk_grpc_sessions.v1.ListUsersRequest
	(*ListUsersResponse)(nil),           // 56: adk_grpc_sessions.v1.ListUsersResponse
	nil,                                 // 57: adk_grpc_sessions.v1.State.AppEntry
	nil,                                 // 58: adk_grpc_sessions.v1.State.UserEntry
	nil,                                 // 59: adk_grpc_sessions.v1.State.SessionEntry
	nil,                                 // 60: adk_grpc_sessions.v1.StateDelta.AppEntry
	nil,                                 // 61: adk_grpc_sessions.v1.StateDelta.UserEntry
	nil,                                 // 62: adk_grpc_sessions.v1.StateDelta.SessionEntry
	nil,                                 // 63: adk_grpc_sessions.v1.Session.LabelsEntry
	nil,                                 // 64: adk_grpc_sessions.v1.CreateSessionRequest.LabelsEntry
	nil,                                 // 65: adk_grpc_sessions.v1.GetUserStateResponse.StateEntry
	nil,                                 // 66: adk_grpc_sessions.v1.GetAppStateResponse.StateEntry
	nil,                                 // 67: adk_grpc_sessions.v1.ForkSessionRequest.LabelsEntry
	(*timestamppb.Timestamp)(nil),       // 68: google.protobuf.Timestamp
	(*durationpb.Duration)(nil),         // 69: google.protobuf.Duration
	(*anypb.Any)(nil),                   // 70: google.protobuf.Any
	(*fieldmaskpb.FieldMask)(nil),       // 71: google.protobuf.FieldMask
}
var file_adk_grpc_sessions_v1_session_service_proto_depIdxs = []int32{
	57, // 0: adk_grpc_sessions.v1.State.app:type_name -> adk_grpc_sessions.v1.State.AppEntry
	58, // 1: adk_grpc_sessions.v1.State.user:type_name -> adk_grpc_sessions.v1.State.UserEntry
	59, // 2: adk_grpc_sessions.v1.State.session:type_name -> adk_grpc_sessions.v1.State.SessionEntry
	60, // 3: adk_grpc_sessions.v1.StateDelta.app:type_name -> adk_grpc_sessions.v1.StateDelta.AppEntry
	61, // 4: adk_grpc_sessions.v1.StateDelta.user:type_name -> adk_grpc_sessions.v1.StateDelta.UserEntry
	62, // 5: adk_grpc_sessions.v1.StateDelta.session:type_name -> adk_grpc_sessions.v1.StateDelta.SessionEntry
	68, // 6: adk_grpc_sessions.v1.Event.timestamp:type_name -> google.protobuf.Timestamp
	3,  // 7: adk_grpc_sessions.v1.Event.state_delta:type_name -> adk_grpc_sessions.v1.StateDelta
	2,  // 8: adk_grpc_sessions.v1.Session.state:type_name -> adk_grpc_sessions.v1.State
	4,  // 9: adk_grpc_sessions.v1.Session.events:type_name -> adk_grpc_sessions.v1.Event
	68, // 10: adk_grpc_sessions.v1.Session.last_update_time:type_name -> google.protobuf.Timestamp
	68, // 11: adk_grpc_sessions.v1.Session.create_time:type_name -> google.protobuf.Timestamp
	68, // 12: adk_grpc_sessions.v1.Session.expire_time:type_name -> google.protobuf.Timestamp
	69, // 13: adk_grpc_sessions.v1.Session.ttl:type_name -> google.protobuf.Duration
	68, // 14: adk_grpc_sessions.v1.Session.close_time:type_name -> google.protobuf.Timestamp
	63, // 15: adk_grpc_sessions.v1.Session.labels:type_name -> adk_grpc_sessions.v1.Session.LabelsEntry
	6,  // 16: adk_grpc_sessions.v1.Session.forked_from:type_name -> adk_grpc_sessions.v1.ForkOrigin
	68, // 17: adk_grpc_sessions.v1.ForkOrigin.fork_time:type_name -> google.protobuf.Timestamp
	3,  // 18: adk_grpc_sessions.v1.CreateSessionRequest.state:type_name -> adk_grpc_sessions.v1.StateDelta
	68, // 19: adk_grpc_sessions.v1.CreateSessionRequest.expire_time:type_name -> google.protobuf.Timestamp
	69, // 20: adk_grpc_sessions.v1.CreateSessionRequest.ttl:type_name -> google.protobuf.Duration
	64, // 21: adk_grpc_sessions.v1.CreateSessionRequest.labels:type_name -> adk_grpc_sessions.v1.CreateSessionRequest.LabelsEntry
	5,  // 22: adk_grpc_sessions.v1.CreateSessionResponse.session:type_name -> adk_grpc_sessions.v1.Session
	7,  // 23: adk_grpc_sessions.v1.BatchCreateSessionsRequest.requests:type_name -> adk_grpc_sessions.v1.CreateSessionRequest
	11, // 24: adk_grpc_sessions.v1.BatchCreateSessionsResponse.results:type_name -> adk_grpc_sessions.v1.CreateSessionResult
	8,  // 25: adk_grpc_sessions.v1.CreateSessionResult.response:type_name -> adk_grpc_sessions.v1.CreateSessionResponse
	26, // 26: adk_grpc_sessions.v1.CreateSessionResult.error:type_name -> adk_grpc_sessions.v1.Status
	12, // 27: adk_grpc_sessions.v1.CreateSessionResult.created:type_name -> adk_grpc_sessions.v1.CreatedSession
	68, // 28: adk_grpc_sessions.v1.GetSessionRequest.after_timestamp:type_name -> google.protobuf.Timestamp
	5,  // 29: adk_grpc_sessions.v1.GetSessionResponse.session:type_name -> adk_grpc_sessions.v1.Session
	5,  // 30: adk_grpc_sessions.v1.ListSessionsResponse.sessions:type_name -> adk_grpc_sessions.v1.Session
	4,  // 31: adk_grpc_sessions.v1.AppendEventResponse.event:type_name -> adk_grpc_sessions.v1.Event
	68, // 32: adk_grpc_sessions.v1.AppendEventResponse.last_update_time:type_name -> google.protobuf.Timestamp
	19, // 33: adk_grpc_sessions.v1.BatchAppendEventsRequest.requests:type_name -> adk_grpc_sessions.v1.AppendEventRequest
	25, // 34: adk_grpc_sessions.v1.BatchAppendEventsResponse.results:type_name -> adk_grpc_sessions.v1.AppendEventResult
	19, // 35: adk_grpc_sessions.v1.AppendEventStreamRequest.append:type_name -> adk_grpc_sessions.v1.AppendEventRequest
	7,  // 36: adk_grpc_sessions.v1.AppendEventStreamRequest.create:type_name -> adk_grpc_sessions.v1.CreateSessionRequest
	25, // 37: adk_grpc_sessions.v1.AppendEventStreamResponse.result:type_name -> adk_grpc_sessions.v1.AppendEventResult
	11, // 38: adk_grpc_sessions.v1.AppendEventStreamResponse.create_result:type_name -> adk_grpc_sessions.v1.CreateSessionResult
	20, // 39: adk_grpc_sessions.v1.AppendEventResult.response:type_name -> adk_grpc_sessions.v1.AppendEventResponse
	26, // 40: adk_grpc_sessions.v1.AppendEventResult.error:type_name -> adk_grpc_sessions.v1.Status
	70, // 41: adk_grpc_sessions.v1.Status.details:type_name -> google.protobuf.Any
	68, // 42: adk_grpc_sessions.v1.ListEventsRequest.after_timestamp:type_name -> google.protobuf.Timestamp
	4,  // 43: adk_grpc_sessions.v1.ListEventsResponse.events:type_name -> adk_grpc_sessions.v1.Event
	65, // 44: adk_grpc_sessions.v1.GetUserStateResponse.state:type_name -> adk_grpc_sessions.v1.GetUserStateResponse.StateEntry
	66, // 45: adk_grpc_sessions.v1.GetAppStateResponse.state:type_name -> adk_grpc_sessions.v1.GetAppStateResponse.StateEntry
	5,  // 46: adk_grpc_sessions.v1.UpdateSessionRequest.session:type_name -> adk_grpc_sessions.v1.Session
	71, // 47: adk_grpc_sessions.v1.UpdateSessionRequest.update_mask:type_name -> google.protobuf.FieldMask
	5,  // 48: adk_grpc_sessions.v1.UpdateSessionResponse.session:type_name -> adk_grpc_sessions.v1.Session
	5,  // 49: adk_grpc_sessions.v1.CloseSessionResponse.session:type_name -> adk_grpc_sessions.v1.Session
	67, // 50: adk_grpc_sessions.v1.ForkSessionRequest.labels:type_name -> adk_grpc_sessions.v1.ForkSessionRequest.LabelsEntry
	68, // 51: adk_grpc_sessions.v1.ForkSessionRequest.expire_time:type_name -> google.protobuf.Timestamp
	69, // 52: adk_grpc_sessions.v1.ForkSessionRequest.ttl:type_name -> google.protobuf.Duration
	5,  // 53: adk_grpc_sessions.v1.ForkSessionResponse.session:type_name -> adk_grpc_sessions.v1.Session
	43, // 54: adk_grpc_sessions.v1.WatchSessionResponse.events:type_name -> adk_grpc_sessions.v1.WatchedEvents
	45, // 55: adk_grpc_sessions.v1.WatchSessionResponse.caught_up:type_name -> adk_grpc_sessions.v1.WatchCaughtUp
	46, // 56: adk_grpc_sessions.v1.WatchSessionResponse.ended:type_name -> adk_grpc_sessions.v1.WatchEnded
	44, // 57: adk_grpc_sessions.v1.WatchedEvents.events:type_name -> adk_grpc_sessions.v1.WatchedEvent
	4,  // 58: adk_grpc_sessions.v1.WatchedEvent.event:type_name -> adk_grpc_sessions.v1.Event
	0,  // 59: adk_grpc_sessions.v1.WatchEnded.reason:type_name -> adk_grpc_sessions.v1.WatchEnded.Reason
	49, // 60: adk_grpc_sessions.v1.WatchSessionsResponse.notices:type_name -> adk_grpc_sessions.v1.SessionNotices
	51, // 61: adk_grpc_sessions.v1.WatchSessionsResponse.caught_up:type_name -> adk_grpc_sessions.v1.WatchSessionsCaughtUp
	52, // 62: adk_grpc_sessions.v1.WatchSessionsResponse.relisting:type_name -> adk_grpc_sessions.v1.WatchSessionsRelisting
	50, // 63: adk_grpc_sessions.v1.SessionNotices.notices:type_name -> adk_grpc_sessions.v1.SessionNotice
	1,  // 64: adk_grpc_sessions.v1.SessionNotice.kind:type_name -> adk_grpc_sessions.v1.SessionNotice.Kind
	5,  // 65: adk_grpc_sessions.v1.SessionNotice.session:type_name -> adk_grpc_sessions.v1.Session
	7,  // 66: adk_grpc_sessions.v1.SessionService.CreateSession:input_type -> adk_grpc_sessions.v1.CreateSessionRequest
	9,  // 67: adk_grpc_sessions.v1.SessionService.BatchCreateSessions:input_type -> adk_grpc_sessions.v1.BatchCreateSessionsRequest
	13, // 68: adk_grpc_sessions.v1.SessionService.GetSession:input_type -> adk_grpc_sessions.v1.GetSessionRequest
	15, // 69: adk_grpc_sessions.v1.SessionService.ListSessions:input_type -> adk_grpc_sessions.v1.ListSessionsRequest
	17, // 70: adk_grpc_sessions.v1.SessionService.DeleteSession:input_type -> adk_grpc_sessions.v1.DeleteSessionRequest
	19, // 71: adk_grpc_sessions.v1.SessionService.AppendEvent:input_type -> adk_grpc_sessions.v1.AppendEventRequest
	21, // 72: adk_grpc_sessions.v1.SessionService.BatchAppendEvents:input_type -> adk_grpc_sessions.v1.BatchAppendEventsRequest
	23, // 73: adk_grpc_sessions.v1.SessionService.AppendEventStream:input_type -> adk_grpc_sessions.v1.AppendEventStreamRequest
	27, // 74: adk_grpc_sessions.v1.SessionService.ListEvents:input_type -> adk_grpc_sessions.v1.ListEventsRequest
	29, // 75: adk_grpc_sessions.v1.SessionService.GetUserState:input_type -> adk_grpc_sessions.v1.GetUserStateRequest
	31, // 76: adk_grpc_sessions.v1.SessionService.GetAppState:input_type -> adk_grpc_sessions.v1.GetAppStateRequest
	33, // 77: adk_grpc_sessions.v1.SessionService.UpdateSession:input_type -> adk_grpc_sessions.v1.UpdateSessionRequest
	35, // 78: adk_grpc_sessions.v1.SessionService.CloseSession:input_type -> adk_grpc_sessions.v1.CloseSessionRequest
	37, // 79: adk_grpc_sessions.v1.SessionService.EraseUser:input_type -> adk_grpc_sessions.v1.EraseUserRequest
	39, // 80: adk_grpc_sessions.v1.SessionService.ForkSession:input_type -> adk_grpc_sessions.v1.ForkSessionRequest
	41, // 81: adk_grpc_sessions.v1.SessionService.WatchSession:input_type -> adk_grpc_sessions.v1.WatchSessionRequest
	47, // 82: adk_grpc_sessions.v1.SessionService.WatchSessions:input_type -> adk_grpc_sessions.v1.WatchSessionsRequest
	53, // 83: adk_grpc_sessions.v1.SessionService.ListApps:input_type -> adk_grpc_sessions.v1.ListAppsRequest
	55, // 84: adk_grpc_sessions.v1.SessionService.ListUsers:input_type -> adk_grpc_sessions.v1.ListUsersRequest
	8,  // 85: adk_grpc_sessions.v1.SessionService.CreateSession:output_type -> adk_grpc_sessions.v1.CreateSessionResponse
	10, // 86: adk_grpc_sessions.v1.SessionService.BatchCreateSessions:output_type -> adk_grpc_sessions.v1.BatchCreateSessionsResponse
	14, // 87: adk_grpc_sessions.v1.SessionService.GetSession:output_type -> adk_grpc_sessions.v1.GetSessionResponse
	16, // 88: adk_grpc_sessions.v1.SessionService.ListSessions:output_type -> adk_grpc_sessions.v1.ListSessionsResponse
	18, // 89: adk_grpc_sessions.v1.SessionService.DeleteSession:output_type -> adk_grpc_sessions.v1.DeleteSessionResponse
	20, // 90: adk_grpc_sessions.v1.SessionService.AppendEvent:output_type -> adk_grpc_sessions.v1.AppendEventResponse
	22, // 91: adk_grpc_sessions.v1.SessionService.BatchAppendEvents:output_type -> adk_grpc_sessions.v1.BatchAppendEventsResponse
	24, // 92: adk_grpc_sessions.v1.SessionService.AppendEventStream:output_type -> adk_grpc_sessions.v1.AppendEventStreamResponse
	28, // 93: adk_grpc_sessions.v1.SessionService.ListEvents:output_type -> adk_grpc_sessions.v1.ListEventsResponse
	30, // 94: adk_grpc_sessions.v1.SessionService.GetUserState:output_type -> adk_grpc_sessions.v1.GetUserStateResponse
	32, // 95: adk_grpc_sessions.v1.SessionService.GetAppState:output_type -> adk_grpc_sessions.v1.GetAppStateResponse
	34, // 96: adk_grpc_sessions.v1.SessionService.UpdateSession:output_type -> adk_grpc_sessions.v1.UpdateSessionResponse
	36, // 97: adk_grpc_sessions.v1.SessionService.CloseSession:output_type -> adk_grpc_sessions.v1.CloseSessionResponse
	38, // 98: adk_grpc_sessions.v1.SessionService.EraseUser:output_type -> adk_grpc_sessions.v1.EraseUserResponse
	40, // 99: adk_grpc_sessions.v1.SessionService.ForkSession:output_type -> adk_grpc_sessions.v1.ForkSessionResponse
	42, // 100: adk_grpc_sessions.v1.SessionService.WatchSession:output_type -> adk_grpc_sessions.v1.WatchSessionResponse
	48, // 101: adk_grpc_sessions.v1.SessionService.WatchSessions:output_type -> adk_grpc_sessions.v1.WatchSessionsResponse
	54, // 102: adk_grpc_sessions.v1.SessionService.ListApps:output_type -> adk_grpc_sessions.v1.ListAppsResponse
	56, // 103: adk_grpc_sessions.v1.SessionService.ListUsers:output_type -> adk_grpc_sessions.v1.ListUsersResponse
	85, // [85:104] is the sub-list for method output_type
	66, // [66:85] is the sub-list for method input_type
	66, // [66:66] is the sub-list for extension type_name
	66, // [66:66] is the sub-list for extension extendee
	0,  // [0:66] is the sub-list for field type_name
}

func init() { file_adk_grpc_sessions_v1_session_service_proto_init() }
func file_adk_grpc_sessions_v1_session_service_proto_init() {
	if File_adk_grpc_sessions_v1_session_service_proto != nil {
		return
	}
	file_adk_grpc_sessions_v1_session_service_proto_msgTypes[3].OneofWrappers = []any{
		(*Session_ExpireTime)(nil),
		(*Session_Ttl)(nil),
	}
	file_adk_grpc_sessions_v1_session_service_proto_msgTypes[5].OneofWrappers = []any{
		(*CreateSessionRequest_ExpireTime)(nil),
		(*CreateSessionRequest_Ttl)(nil),
	}
	file_adk_grpc_sessions_v1_session_service_proto_msgTypes[9].OneofWrappers = []any{
		(*CreateSessionResult_Response)(nil),
		(*CreateSessionResult_Error)(nil),
		(*CreateSessionResult_Created)(nil),
	}
	file_adk_grpc_sessions_v1_session_service_proto_msgTypes[11].OneofWrappers = []any{}
	file_adk_grpc_sessions_v1_session_service_proto_msgTypes[21].OneofWrappers = []any{
		(*AppendEventStreamRequest_Append)(nil),
		(*AppendEventStreamRequest_Create)(nil),
	}
	file_adk_grpc_sessions_v1_session_service_proto_msgTypes[22].OneofWrappers = []any{
		(*AppendEventStreamResponse_Result)(nil),
		(*AppendEventStreamResponse_CreateResult)(nil),
	}
	file_adk_grpc_sessions_v1_session_service_proto_msgTypes[23].OneofWrappers = []any{
		(*AppendEventResult_Response)(nil),
		(*AppendEventResult_Error)(nil),
	}
	file_adk_grpc_sessions_v1_session_service_proto_msgTypes[37].OneofWrappers = []any{
		(*ForkSessionRequest_ExpireTime)(nil),
		(*ForkSessionRequest_Ttl)(nil),
	}
	file_adk_grpc_sessions_v1_session_service_proto_msgTypes[40].OneofWrappers = []any{
		(*WatchSessionResponse_Events)(nil),
		(*WatchSessionResponse_CaughtUp)(nil),
		(*WatchSessionResponse_Ended)(nil),
	}
	file_adk_grpc_sessions_v1_session_service_proto_msgTypes[46].OneofWrappers = []any{
		(*WatchSessionsResponse_Notices)(nil),
		(*WatchSessionsResponse_CaughtUp)(nil),
		(*WatchSessionsResponse_Relisting)(nil),
	}
	type x struct{}
	out := protoimpl.TypeBuilder{
		File: protoimpl.DescBuilder{
			GoPackagePath: reflect.TypeOf(x{}).PkgPath(),
			RawDescriptor: unsafe.Slice(unsafe.StringData(file_adk_grpc_sessions_v1_session_service_proto_rawDesc), len(file_adk_grpc_sessions_v1_session_service_proto_rawDesc)),
			NumEnums:      2,
			NumMessages:   66,
			NumExtensions: 0,
			NumServices:   1,
		},
		GoTypes:           file_adk_grpc_sessions_v1_session_service_proto_goTypes,
		DependencyIndexes: file_adk_grpc_sessions_v1_session_service_proto_depIdxs,
		EnumInfos:         file_adk_grpc_sessions_v1_session_service_proto_enumTypes,
		MessageInfos:      file_adk_grpc_sessions_v1_session_service_proto_msgTypes,
	}.Build()
	File_adk_grpc_sessions_v1_session_service_proto = out.File
	file_adk_grpc_sessions_v1_session_service_proto_goTypes = nil
	file_adk_grpc_sessions_v1_session_service_proto_depIdxs = nil
}
