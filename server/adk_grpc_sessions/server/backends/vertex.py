"""``agentengine://``: sessions kept by Vertex AI Agent Engine (the Vertex AI Sessions API).

Calls go through google-cloud-aiplatform's async gRPC client
(``aiplatform_v1.SessionServiceAsyncClient``) with Application Default
Credentials; ``vertex_target`` reads the URI (ADK's forms, plus an endpoint
override), ``vertex_mapping`` converts records and messages,
``vertex_errors`` translates failures.

How it maps: one reasoning engine holds the sessions of any number of apps,
told apart by the session label ``adk_app``; the session's ``user_id`` is the
user; ``session_state`` holds ADK's merged state; each event is stored in the
API's typed fields and whole in ``raw_event``, which is read first.
``CreateSession`` and ``DeleteSession`` are long-running operations, polled
until done within ``operation_timeout``. List calls pass page sizes and page
tokens through to the API.

Where the API cannot do what ADK's semantics need, this backend does what
ADK's own ``VertexAiSessionService`` does. The differences from the other
backends (the README lists the same; the conformance suite records each as
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

Reads page through the API within the read's byte budget: each API page asks
for as many items as the budget holds at the largest item seen so far (a
few, until one is seen), and a read stops where the budget does, resuming
later from the same API page (its token, and how many of its items were
taken).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Self, TypeVar

import google.auth
import grpc
import pydantic_core
from google.api_core import exceptions as google_errors
from google.api_core.client_options import ClientOptions
from google.cloud.aiplatform_v1 import types as vertex
from google.cloud.aiplatform_v1.services.session_service import SessionServiceAsyncClient
from google.cloud.aiplatform_v1.services.session_service.transports.grpc_asyncio import (
    SessionServiceGrpcAsyncIOTransport,
)

from adk_grpc_sessions.server.backends import vertex_mapping as mapping
from adk_grpc_sessions.server.backends.base import (
    DEFAULT_BUDGET,
    DEFAULT_LIMITS,
    AppendResult,
    Backend,
    BackendRefusedError,
    BackendUnavailableError,
    EventCursor,
    EventIdConflictError,
    EventRecord,
    EventWindow,
    NewEvent,
    Page,
    ReadBudget,
    Refusal,
    ResponseTooLargeError,
    ScopedState,
    SessionCursor,
    SessionExistsError,
    SessionKey,
    SessionNotFoundError,
    SessionRecord,
    StaleRevisionError,
    StateMap,
    StateSizeLimitError,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.vertex_errors import backend_error, retry_policy
from adk_grpc_sessions.server.backends.vertex_target import AgentEngineTarget, parse_target
from adk_grpc_sessions.wire import limits as wire_limits
from adk_grpc_sessions.wire.timestamps import from_timestamp

_SCOPE: Final = "https://www.googleapis.com/auth/cloud-platform"
_LIST_PAGE_SIZE: Final = 100
"""The most items one API page holds (the API's documented default and largest page)."""
_FIRST_PAGE_SIZE: Final = 4
"""Items asked for in a read's first API page, before any item's size is known: items may
take up to a response each, so a read starts small, then asks for what its budget holds."""
_POLL_INITIAL: Final = 0.05
_POLL_MAXIMUM: Final = 2.0
_NO_SHARED_STATE: Final = (
    "Vertex AI Agent Engine keeps state per session only: app- and user-scoped state "
    "cannot be read on their own (as in ADK's VertexAiSessionService)"
)
_CHANNEL_OPTIONS: Final = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]

ResultT = TypeVar("ResultT")
_Data = TypeVar("_Data")
_Message = TypeVar("_Message")


class VertexBackend(Backend):
    """Sessions in one Vertex AI Agent Engine (reasoning engine), over its gRPC API."""

    assigns_session_ids = True
    pages_by_token = True

    def __init__(self, target: AgentEngineTarget) -> None:
        self.target = target
        self._client: SessionServiceAsyncClient | None = None

    @classmethod
    def from_uri(cls, uri: str) -> Self:
        """Accepts ``agentengine://`` URIs (see ``vertex_target``)."""
        return cls(parse_target(uri))

    async def start(self) -> None:
        """Builds the client: a plaintext channel to a loopback endpoint, else TLS with ADC."""
        target = self.target
        if target.plaintext:
            channel = grpc.aio.insecure_channel(target.endpoint, options=_CHANNEL_OPTIONS)
            transport = SessionServiceGrpcAsyncIOTransport(channel=channel)
            self._client = SessionServiceAsyncClient(transport=transport)
            return
        try:
            credentials, _ = await asyncio.to_thread(google.auth.default, scopes=[_SCOPE])
        except Exception as exc:
            raise backend_error(exc, "loading credentials") from exc
        self._client = SessionServiceAsyncClient(
            credentials=credentials,
            transport="grpc_asyncio",
            client_options=ClientOptions(api_endpoint=target.endpoint),
        )

    async def close(self) -> None:
        """Closes the channel."""
        if self._client is not None:
            await self._client.transport.close()  # type: ignore[no-untyped-call]  # untyped upstream
            self._client = None

    async def check(self) -> None:
        """Lists one session of the engine: proves the endpoint, credentials and engine.

        A refusal (no permission, no such engine) means no call can be served
        either, so it is reported as unavailability, with its reason.
        """
        try:
            await self._call(
                "checking the reasoning engine",
                lambda client, retry: client.list_sessions(
                    request=vertex.ListSessionsRequest(parent=self.target.engine_name, page_size=1),
                    retry=retry,
                    timeout=self.target.timeout,
                ),
            )
        except BackendRefusedError as exc:
            reason = f" ({exc.reason})" if exc.reason else ""
            raise BackendUnavailableError(f"{exc}{reason}") from exc

    async def create_session(
        self, key: SessionKey, state: ScopedState, now: float, *, limits: StorageLimits = DEFAULT_LIMITS
    ) -> SessionRecord:
        """See ``Backend.create_session``; ``now`` is unused: Vertex stamps its own times."""
        for scope, values in (("session", state.session), ("user", state.user), ("app", state.app)):
            size = wire_limits.state_bytes(values)
            if size > limits.max_state_bytes:
                raise StateSizeLimitError(scope, limits.max_state_bytes, size)
        if key.session_id and not mapping.is_session_id(key.session_id):
            raise BackendRefusedError(
                Refusal.INVALID_INPUT,
                f"session_id {key.session_id!r} is not an Agent Engine session id: up to 63 of "
                "[a-z0-9-], starting with a letter, not ending with '-'",
                reason="INVALID_SESSION_ID",
            )
        session_state = _stored(mapping.state_struct, state)
        session = mapping.SessionMessage(user_id=key.user_id, session_state=session_state)
        session.labels[mapping.APP_LABEL] = mapping.app_label(key.app_name)
        request = vertex.CreateSessionRequest(
            parent=self.target.engine_name, session=vertex.Session(session), session_id=key.session_id
        )
        try:
            operation = await self._call(
                "creating a session",
                lambda client, retry: client.create_session(
                    request=request, retry=retry, timeout=self.target.timeout
                ),
                idempotent=False,
                passing=(google_errors.AlreadyExists,),
            )
            created = await self._finish(operation, "creating a session")
        except google_errors.AlreadyExists:
            raise SessionExistsError(key) from None
        message = vertex.Session.pb(created)
        return _session_record(message, key.app_name, [])

    async def get_session(
        self, key: SessionKey, window: EventWindow, *, budget: ReadBudget = DEFAULT_BUDGET
    ) -> SessionRecord | None:
        """See ``Backend.get_session``; events come in timestamp order (like ADK's Vertex service).

        The last N events (``num_recent_events``) are found by counting the
        selection first (a pass through the API's pages), then reading from
        the N-th last on.
        """
        if not mapping.names_a_session(key.session_id):
            return None
        name = self.target.session_name(key.session_id)
        try:
            session = await self._get(name)
        except google_errors.NotFound:
            return None
        if not mapping.belongs_to(session, key.app_name, key.user_id):
            return None
        record = _session_record(session, key.app_name, [])
        state_size = _state_size(record.state)
        if state_size > budget.bytes:
            raise ResponseTooLargeError("the session's state", state_size, budget.bytes)
        if window.num_recent_events == 0:
            return record
        walk = _EventWalk(
            generation=mapping.revision_of(session.create_time),
            after_timestamp=window.after_timestamp,
            remaining=-1,
            listed=0,
            at=_At(),
        )
        try:
            if window.num_recent_events is not None:
                walk = await self._skip_to_last(name, walk, window.num_recent_events, budget.bytes)
            events, rest = await self._walk_events(name, walk, budget.bytes - state_size, budget.max_events)
        except google_errors.NotFound:
            return None
        record.events = events
        record.rest = None if rest is None else rest.encode()
        return record

    async def list_sessions(
        self,
        app_name: str,
        user_id: str | None,
        page_size: int,
        after: SessionCursor | None,
        *,
        budget: ReadBudget = DEFAULT_BUDGET,
    ) -> Page[SessionRecord, SessionCursor]:
        """See ``Backend.list_sessions``: the API's sessions by update time, oldest first, in ``budget``."""
        at = _At.decode(self._storage_token(after))
        sizer = _PageSizer()
        room = budget.bytes
        records: list[SessionRecord] = []
        while True:
            request = vertex.ListSessionsRequest(
                parent=self.target.engine_name,
                filter=mapping.sessions_filter(app_name, user_id),
                order_by="update_time",
                page_size=sizer.page_size(room, page_size - len(records), at.taken),
                page_token=at.token,
            )
            response = await self._list_page("listing sessions", self._list_sessions_call(request))
            for offset, message in enumerate(list(response.sessions)[at.taken :], start=at.taken):
                record = _session_record(vertex.Session.pb(message), app_name, [])
                size = wire_limits.SESSION_HEAD_BYTES + _state_size(record.state)
                sizer.saw(size)
                if size > room or len(records) == page_size:
                    if not records:
                        raise ResponseTooLargeError(
                            f"session {record.key.session_id!r} with its state", size, budget.bytes
                        )
                    return Page(records, _At(at.token, offset).encode())
                room -= size
                records.append(record)
            if not response.next_page_token:
                return Page(records, None)
            at = _At(response.next_page_token, 0)
            if len(records) == page_size:
                return Page(records, at.encode())

    async def delete_session(self, key: SessionKey) -> None:
        """See ``Backend.delete_session``: only the named app's and user's session is deleted."""
        if not mapping.names_a_session(key.session_id):
            return
        name = self.target.session_name(key.session_id)
        try:
            session = await self._get(name)
            if not mapping.belongs_to(session, key.app_name, key.user_id):
                return
            operation = await self._call(
                "deleting a session",
                lambda client, retry: client.delete_session(
                    request=vertex.DeleteSessionRequest(name=name), retry=retry, timeout=self.target.timeout
                ),
                passing=(google_errors.NotFound,),
            )
            await self._finish(operation, "deleting a session")
        except google_errors.NotFound:
            return

    async def append_event(
        self,
        key: SessionKey,
        event: NewEvent,
        expected_revision: int,
        *,
        limits: StorageLimits = DEFAULT_LIMITS,
    ) -> AppendResult:
        """See ``Backend.append_event``; the checks read before writing (not atomic, see the module doc).

        The session size limit is not checked (difference 8).
        """
        if not mapping.names_a_session(key.session_id):
            raise SessionNotFoundError(key)
        name = self.target.session_name(key.session_id)
        try:
            # An earlier delivery of this event has its timestamp: list only those.
            session, same_time = await asyncio.gather(
                self._get(name), self._all_events(name, mapping.events_at_filter(event.timestamp))
            )
        except google_errors.NotFound:
            raise SessionNotFoundError(key) from None
        if not mapping.belongs_to(session, key.app_name, key.user_id):
            raise SessionNotFoundError(key)
        revision = mapping.revision_of(session.update_time)
        for stored in same_time:
            if stored.id == event.id:
                if stored.event_json != event.event_json:
                    raise EventIdConflictError(key, event.id)
                return AppendResult(
                    event=stored,
                    revision=revision,
                    last_update_time=from_timestamp(session.update_time),
                    already_applied=True,
                )
        if expected_revision != revision:
            raise StaleRevisionError(key, expected_revision, revision)
        _check_state(mapping.scoped_state(session.session_state), event.state_delta, limits)
        request = vertex.AppendEventRequest(
            name=name, event=vertex.SessionEvent(_stored(mapping.session_event, event))
        )
        try:
            await self._call(
                "appending an event",
                lambda client, retry: client.append_event(
                    request=request, retry=retry, timeout=self.target.timeout
                ),
                idempotent=False,
                passing=(google_errors.NotFound,),
            )
            updated = await self._get(name)
        except google_errors.NotFound:
            raise SessionNotFoundError(key) from None
        return AppendResult(
            event=event.stored_at(0),
            revision=mapping.revision_of(updated.update_time),
            last_update_time=from_timestamp(updated.update_time),
            already_applied=False,
        )

    async def list_events(
        self,
        key: SessionKey,
        after_timestamp: float | None,
        page_size: int,
        after: EventCursor | None,
        *,
        budget: ReadBudget = DEFAULT_BUDGET,
    ) -> Page[EventRecord, EventCursor]:
        """See ``Backend.list_events``: the API's events in timestamp order, within ``budget``.

        The cursor (``_EventWalk``) holds where the API listing resumes, how
        many events came before (which numbers the next ones), and for the
        rest of a session read, that read's filter and session.
        """
        if not mapping.names_a_session(key.session_id):
            raise SessionNotFoundError(key)
        name = self.target.session_name(key.session_id)
        walk = _EventWalk.decode(self._storage_token(after), after_timestamp)
        try:
            session = await self._get(name)
            if not mapping.belongs_to(session, key.app_name, key.user_id) or (
                walk.generation and walk.generation != mapping.revision_of(session.create_time)
            ):
                raise SessionNotFoundError(key)
            events, rest = await self._walk_events(name, walk, budget.bytes, page_size)
        except google_errors.NotFound:
            raise SessionNotFoundError(key) from None
        if rest is not None and not events:
            raise ResponseTooLargeError("the next event", rest.blocked, budget.bytes)
        return Page(items=events, next_cursor=None if rest is None else rest.encode())

    async def get_user_state(self, app_name: str, user_id: str) -> StateMap:
        """Not possible on Vertex AI Agent Engine (see difference 1 in the module doc)."""
        raise BackendRefusedError(Refusal.UNSUPPORTED, _NO_SHARED_STATE, reason="NO_USER_STATE")

    async def get_app_state(self, app_name: str) -> StateMap:
        """Not possible on Vertex AI Agent Engine (see difference 1 in the module doc)."""
        raise BackendRefusedError(Refusal.UNSUPPORTED, _NO_SHARED_STATE, reason="NO_APP_STATE")

    # --- calls ---------------------------------------------------------------------------------------

    async def _call(
        self,
        doing: str,
        call: Callable[[SessionServiceAsyncClient, Any], Awaitable[ResultT]],
        *,
        idempotent: bool = True,
        passing: tuple[type[Exception], ...] = (),
    ) -> ResultT:
        """Runs one API call with its retry policy; failures not in ``passing`` become backend errors."""
        if self._client is None:
            raise RuntimeError("the Vertex backend is not started")
        try:
            return await call(self._client, retry_policy(self.target.timeout, idempotent=idempotent))
        except passing:
            raise
        except Exception as exc:
            raise backend_error(exc, doing) from exc

    async def _list_page(
        self,
        doing: str,
        call: Callable[[SessionServiceAsyncClient, Any], Awaitable[Any]],
        *,
        passing: tuple[type[Exception], ...] = (),
    ) -> Any:
        """One page of a list call: the raw response, without the pager's automatic walk."""
        # A pager answers attribute reads from the page it holds; its walk is not used.
        return await self._call(doing, call, passing=passing)

    async def _get(self, name: str) -> Any:
        """The session message; raises ``google_errors.NotFound`` if there is none."""
        session = await self._call(
            "reading a session",
            lambda client, retry: client.get_session(
                request=vertex.GetSessionRequest(name=name), retry=retry, timeout=self.target.timeout
            ),
            passing=(google_errors.NotFound,),
        )
        return vertex.Session.pb(session)

    async def _all_events(self, name: str, filter_: str) -> list[EventRecord]:
        """Every event of a session the filter keeps, walking the API's pages; raises NotFound."""
        records: list[EventRecord] = []
        page_token = ""
        while True:
            request = vertex.ListEventsRequest(
                parent=name,
                filter=filter_,
                page_size=_LIST_PAGE_SIZE,
                page_token=page_token,
            )
            response = await self._list_page(
                "listing events", self._list_events_call(request), passing=(google_errors.NotFound,)
            )
            records.extend(self._event_records(response.session_events, first=len(records) + 1))
            page_token = response.next_page_token
            if not page_token:
                return records

    async def _walk_events(
        self, name: str, walk: _EventWalk, room: int, most: int
    ) -> tuple[list[EventRecord], _EventWalk | None]:
        """The events from ``walk`` on that fit in ``room`` bytes, at most ``most``.

        And where the rest resume (None: there is no rest).

        Raises:
            google_errors.NotFound: the session is gone.
        """
        if walk.remaining >= 0:
            most = min(most, walk.remaining)
        sizer = _PageSizer()
        at, listed = walk.at, walk.listed
        records: list[EventRecord] = []
        while len(records) < most:
            request = vertex.ListEventsRequest(
                parent=name,
                filter=mapping.events_filter(walk.after_timestamp),
                page_size=sizer.page_size(room, most - len(records), at.taken),
                page_token=at.token,
            )
            response = await self._list_page(
                "listing events", self._list_events_call(request), passing=(google_errors.NotFound,)
            )
            page = list(response.session_events)[at.taken :]
            for offset, record in enumerate(self._event_records(page, first=listed + 1), start=at.taken):
                sizer.saw(record.size)
                if len(records) == most or record.size > room:
                    rest = walk.moved(_At(at.token, offset), listed, len(records))
                    rest.blocked = record.size if len(records) < most else 0
                    return records, rest
                room -= record.size
                listed += 1
                records.append(record)
            if not response.next_page_token:
                return records, None
            at = _At(response.next_page_token, 0)
        rest = walk.moved(at, listed, len(records))
        return records, None if rest.remaining == 0 else rest

    async def _skip_to_last(self, name: str, walk: _EventWalk, count: int, budget: int) -> _EventWalk:
        """``walk`` moved to the ``count``-th last event of its listing: a pass that counts them all.

        Each API page's token is kept as the pass goes, so the read then
        starts at the page holding that event, not at the first.

        Raises:
            google_errors.NotFound: the session is gone.
        """
        pages: list[tuple[int, str]] = []
        sizer = _PageSizer()
        total, token = 0, ""
        while True:
            request = vertex.ListEventsRequest(
                parent=name,
                filter=mapping.events_filter(walk.after_timestamp),
                page_size=sizer.page_size(budget, _LIST_PAGE_SIZE, 0),
                page_token=token,
            )
            response = await self._list_page(
                "counting events", self._list_events_call(request), passing=(google_errors.NotFound,)
            )
            pages.append((total, token))
            for record in self._event_records(response.session_events, first=total + 1):
                sizer.saw(record.size)
            total += len(response.session_events)
            token = response.next_page_token
            if not token:
                break
        skip = max(0, total - count)
        start, page_token = max((page for page in pages if page[0] <= skip), key=lambda page: page[0])
        return _EventWalk(
            walk.generation, walk.after_timestamp, total - skip, skip, _At(page_token, skip - start)
        )

    def _list_sessions_call(
        self, request: vertex.ListSessionsRequest
    ) -> Callable[[SessionServiceAsyncClient, Any], Awaitable[Any]]:
        def call(client: SessionServiceAsyncClient, retry: Any) -> Awaitable[Any]:
            return client.list_sessions(request=request, retry=retry, timeout=self.target.timeout)

        return call

    def _list_events_call(
        self, request: vertex.ListEventsRequest
    ) -> Callable[[SessionServiceAsyncClient, Any], Awaitable[Any]]:
        def call(client: SessionServiceAsyncClient, retry: Any) -> Awaitable[Any]:
            return client.list_events(request=request, retry=retry, timeout=self.target.timeout)

        return call

    async def _finish(self, operation: Any, doing: str) -> Any:
        """Polls a long-running operation until done (within ``operation_timeout``); its result."""
        delay = _POLL_INITIAL
        try:
            async with asyncio.timeout(self.target.operation_timeout):
                while not await operation.done():
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _POLL_MAXIMUM)
                return await operation.result()
        except (google_errors.AlreadyExists, google_errors.NotFound):
            raise
        except Exception as exc:
            raise backend_error(exc, f"{doing} (operation {operation.operation.name})") from exc

    # --- conversions ---------------------------------------------------------------------------------

    def _event_records(self, messages: Any, *, first: int) -> list[EventRecord]:
        records = []
        for offset, event in enumerate(messages):
            message = vertex.SessionEvent.pb(event)
            try:
                records.append(mapping.event_record(message, first + offset))
            except ValueError as exc:
                raise BackendRefusedError(
                    Refusal.FAILED_PRECONDITION, str(exc), reason="UNREADABLE_EVENT"
                ) from None
        return records

    @staticmethod
    def _storage_token(cursor: SessionCursor | EventCursor | None) -> str:
        if cursor is None:
            return ""
        if not isinstance(cursor, str):
            raise TypeError("the Vertex backend pages by storage page token, never by position")
        return cursor


def _stored(build: Callable[[_Data], _Message], data: _Data) -> _Message:
    """The message ``build`` makes of ``data``; a value Vertex cannot hold is refused as the storage's rule.

    Raises:
        BackendRefusedError: ``data`` nests deeper than Vertex's Struct storage holds.
    """
    try:
        return build(data)
    except mapping.TooDeepForStructError as exc:
        raise BackendRefusedError(Refusal.INVALID_INPUT, str(exc), reason="NESTING_TOO_DEEP") from None


def _session_record(message: Any, app_name: str, events: list[EventRecord]) -> SessionRecord:
    """A Vertex ``Session`` message of ``app_name`` as our record, with the given events."""
    return SessionRecord(
        key=SessionKey(app_name, message.user_id, mapping.session_id_of(message.name)),
        state=mapping.scoped_state(message.session_state),
        events=events,
        create_time=from_timestamp(message.create_time),
        last_update_time=from_timestamp(message.update_time),
        revision=mapping.revision_of(message.update_time),
    )


def _state_size(state: ScopedState) -> int:
    return sum(map(wire_limits.state_bytes, (state.app, state.user, state.session)))


def _check_state(current: ScopedState, delta: ScopedState, limits: StorageLimits) -> None:
    """Refuses a delta that would grow a scope of the session's state past ``limits.max_state_bytes``.

    Raises:
        StateSizeLimitError: naming the scope.
    """
    for scope, held, changes in (
        ("session", current.session, delta.session),
        ("user", current.user, delta.user),
        ("app", current.app, delta.app),
    ):
        if not changes:
            continue
        growth = sum(
            wire_limits.state_entry_bytes(k, v)
            - (wire_limits.state_entry_bytes(k, held[k]) if k in held else 0)
            for k, v in changes.items()
        )
        size = wire_limits.state_bytes(held) + growth
        if growth > 0 and size > limits.max_state_bytes:
            raise StateSizeLimitError(scope, limits.max_state_bytes, size)


def _invalid_token() -> BackendRefusedError:
    return BackendRefusedError(
        Refusal.INVALID_INPUT, "page_token is not one this server issued", reason="INVALID_PAGE_TOKEN"
    )


@dataclass(frozen=True, slots=True)
class _At:
    """A place in an API listing.

    The page that holds it (its token; empty for the first) and how many of
    that page's items come before it.
    """

    token: str = ""
    taken: int = 0

    def encode(self) -> str:
        return pydantic_core.to_json([self.token, self.taken]).decode()

    @classmethod
    def decode(cls, text: str) -> _At:
        if not text:
            return cls()
        try:
            match pydantic_core.from_json(text):
                case [str() as token, int() as taken] if 0 <= taken <= _LIST_PAGE_SIZE:
                    return cls(token, taken)
        except ValueError:
            pass
        raise _invalid_token()


@dataclass(slots=True)
class _EventWalk:
    """Where an event listing stands: a page of ListEvents, or the rest of a session read."""

    generation: int
    """The read session's ``create_time`` in microseconds; 0 for an ordinary page."""
    after_timestamp: float | None
    remaining: int
    """Events left in the read's selection; -1: every event that follows."""
    listed: int
    """Events before this place: the next one is numbered ``listed + 1``."""
    at: _At
    blocked: int = 0
    """The size of the event a walk stopped at for want of room (0 if it stopped for another reason)."""

    def moved(self, at: _At, listed: int, taken: int) -> _EventWalk:
        """The walk after ``taken`` more events, at ``at``."""
        remaining = -1 if self.remaining < 0 else self.remaining - taken
        return _EventWalk(self.generation, self.after_timestamp, remaining, listed, at)

    def encode(self) -> str:
        return pydantic_core.to_json(
            [self.generation, self.after_timestamp, self.remaining, self.listed, self.at.token, self.at.taken]
        ).decode()

    @classmethod
    def decode(cls, text: str, after_timestamp: float | None) -> _EventWalk:
        """The walk a cursor of ``encode`` stands for; a new page listing if ``text`` is empty.

        ``after_timestamp`` is the request's: an ordinary page keeps it (the
        page token is bound to it), the rest of a read has its own.
        """
        if not text:
            return cls(0, after_timestamp, -1, 0, _At())
        try:
            match pydantic_core.from_json(text):
                case [
                    int() as generation,
                    (float() | int() | None) as after,
                    int() as remaining,
                    int() as listed,
                    str() as token,
                    int() as taken,
                ] if generation >= 0 and remaining >= -1 and listed >= 0 and 0 <= taken <= _LIST_PAGE_SIZE:
                    if not generation:
                        after = after_timestamp
                    return cls(
                        generation,
                        None if after is None else float(after),
                        remaining,
                        listed,
                        _At(token, taken),
                    )
        except ValueError:
            pass
        raise _invalid_token()


class _PageSizer:
    """API page sizes for a read within a byte budget.

    A few items until sizes are seen, then as many as the budget holds at the
    largest size seen.
    """

    def __init__(self) -> None:
        self._largest = 0

    def saw(self, size: int) -> None:
        self._largest = max(self._largest, size)

    def page_size(self, room: int, wanted: int, skipped: int) -> int:
        """Items to ask for: at most ``wanted`` more (plus the ``skipped`` ones a resumed page repeats)."""
        fits = _FIRST_PAGE_SIZE if not self._largest else max(1, room // self._largest)
        return max(1, min(_LIST_PAGE_SIZE, skipped + min(wanted, fits)))
