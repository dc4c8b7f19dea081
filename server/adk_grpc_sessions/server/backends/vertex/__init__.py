"""``agentengine://``: sessions kept by Vertex AI Agent Engine (the Vertex AI Sessions API).

Calls go through google-cloud-aiplatform's async gRPC client
(``aiplatform_v1.SessionServiceAsyncClient``) with Application Default
Credentials. ``backend``: ``VertexBackend``, the ``Backend`` API; ``api``:
the calls (retried, operations awaited, listings walked); ``paging``: the
cursors of reads that page through the API; ``target``: the URI (ADK's
forms, plus an endpoint override); ``mapping``: records to and from the
API's messages; ``checks``: the contract's checks the API does not make;
``restoring``: the messages of a copy or import; ``unsupported``: the calls
refused, with their reasons; ``errors``: its failures as backend errors.

How it maps: one reasoning engine holds the sessions of any number of apps,
told apart by the session label ``adk_app``; the session's ``user_id`` is the
user; ``session_state`` holds ADK's merged state; each event is stored in the
API's typed fields and whole in ``raw_event``, which is read first.
``CreateSession`` and ``DeleteSession`` are long-running operations, polled
until done within ``operation_timeout``. List calls pass page sizes and page
tokens through to the API.

Where the API cannot do what ADK's semantics need, this backend does what
ADK's own ``VertexAiSessionService`` does. The differences from the other
backends (docs/backends.md lists the same; the conformance suite records each as
an expected failure):

1. App- and user-scoped state are not shared: ``app:`` and ``user:`` keys are
   stored in each session's own state, as ADK does. ``GetUserState`` and
   ``GetAppState`` answer UNIMPLEMENTED (ADK raises ``NotImplementedError``).
2. Session ids belong to the reasoning engine: unique in the whole engine, not
   per user (an id another user or app holds is ALREADY_EXISTS), and a chosen
   id must be 1-63 of ``[a-z0-9-]``, a letter first, no dash last
   (INVALID_ARGUMENT otherwise). Without a chosen id Vertex assigns a numeric
   one. (The Python client's own ids are UUIDs starting with a letter: valid.)
3. ``last_update_time`` is the session's ``update_time``: when Vertex last
   changed it (its clock), not the timestamp of the latest event. Listings are
   ordered by it, oldest first; equal times come in Vertex's order.
4. Events are ordered by timestamp (the API's only order), not by append
   order, and ``after_timestamp`` is a plain filter (events at or after it).
   ``Event.sequence`` is the position in the listing that returned the event;
   AppendEvent answers 0.
5. Stale writers and retried appends are detected by reading before writing
   (the API has no etag and no conditional append): one at a time they are
   caught, but two appends racing through the same revision can both be
   stored. The revision is the session's ``update_time`` in microseconds.
   The API finds events by timestamp only, so an event id is looked for among
   the events at the new event's timestamp: a different event under a stored
   id but at another time is stored beside it, not refused.
6. State passes through ``google.protobuf.Struct``: numbers are doubles, read
   back as integers when integral (as through the API's REST form), so ``1.0``
   comes back as ``1`` and integers beyond 2**53 are rounded. Events stay
   exact: ``raw_event`` also holds their JSON text (so each is stored twice).
7. Apps sharing an engine are told apart by the session label ``adk_app``:
   sessions without it (e.g. written by ADK's ``VertexAiSessionService``) are
   not seen through this server. ADK reads what this server writes; an event
   with no invocation id is filed under its own id there (the API requires one).
8. Limits: the session size limit is not enforced (the API keeps no size of a
   session's events, and summing them would read every event on every
   append). The state limit is checked against the session's state as read
   before the append (each session holds its own copy of the app: and user:
   keys, see 1), so, like the revision check, two racing appends can pass it
   together. The rest of a session read (``SessionRecord.rest``) is listed
   by timestamp from where the read stopped: events appended since with
   later timestamps are included.
9. The session lifecycle is Agent Engine's own: an expiry becomes the
   session's ``ttl`` or ``expire_time`` (at least 24 hours: Agent Engine's
   documented minimum; shorter is INVALID_ARGUMENT naming the field) and is
   read back from it; every session has one (Agent Engine's default when none
   is given) and it cannot be removed. A session past its ``expire_time`` is
   hidden by this backend (``Backend.clock()``) until Agent Engine deletes it
   itself, so there is nothing to purge (refused: its listings cannot select
   by expiry). ``UpdateSession`` moves ``update_time``, hence the revision. A
   sliding ttl is kept in the label ``adk_ttl`` (the API's ttl is input only)
   and given again by an ``UpdateSession`` after each append. Close and
   erasing a user are refused (UNSUPPORTED): no closed state, and no way to
   hide all of a user's sessions at once.
10. Metadata, filters and forks go as far as the API does. ``display_name``
   and labels are the session's own fields (the caller's labels beside the
   server's ``adk_*`` ones, which reads leave out); ``UpdateSession`` sends a
   field mask of what changes, and, as in 9, moves ``update_time``: a metadata
   update changes the revision and ``last_update_time`` (so an agent holding
   the session must reload it before appending). ``event_count`` and
   ``stored_bytes`` are unset (unknown: the API keeps neither, and counting
   would read every event). A listing's filter and order are the API's
   ``filter`` and ``order_by``: ``display_name = "..."``, ``labels.KEY =
   "..."`` and ``closed = false`` (every session: none is closed; ``closed =
   true`` lists none) are served; ``!=``, ``labels.KEY:*`` and
   ``create_time``/``update_time`` comparisons are refused (UNIMPLEMENTED,
   ``NOT_SUPPORTED_BY_BACKEND`` with backend reason ``FILTER_NOT_SUPPORTED``),
   never evaluated by reading every session. Orders are ``update_time`` or
   ``create_time``, either way, but equal times come in Agent Engine's order
   (not by user and session id), and pages resume by the API's page token,
   whose meaning the API does not document: the contract's paging by key (a
   session changed between pages listed at most once, an unchanged one
   exactly once) is not promised. ``ForkSession`` is refused (UNIMPLEMENTED,
   backend reason ``NO_FORK``): the API cannot copy a session, and a copy made
   through it would read and write every event, neither atomic nor bounded.
11. Apps and users cannot be listed (``ListApps``, ``ListUsers``: UNIMPLEMENTED,
   backend reasons ``NO_LIST_APPS``, ``NO_LIST_USERS``): the ``adk_app`` label
   holds a digest of most app names, and sessions are ordered by time only,
   so users could be listed by name only by reading every session.
12. Restoring (``copy``, ``import``) keeps what the API can keep: session ids,
   events' JSON and timestamps, state (app and user state in each session:
   ``keeps_shared_state`` is False), metadata, and the creation and close
   times in the server's labels (``adk_create_time``, ``adk_close_time``);
   not Agent Engine's own update times (revisions), initial state or fork
   origins (``restored_fields``). Not atomic: a session is created, then its
   events appended one by one, their deltas not applied again.

Reads page through the API within the read's byte budget (``paging``).
"""

from adk_grpc_sessions.server.backends.vertex.backend import VertexBackend

__all__ = ["VertexBackend"]
