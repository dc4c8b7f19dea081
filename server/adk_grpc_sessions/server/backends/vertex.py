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
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final, Self, TypeVar

import google.auth
import grpc
from google.api_core import exceptions as google_errors
from google.api_core.client_options import ClientOptions
from google.cloud.aiplatform_v1 import types as vertex
from google.cloud.aiplatform_v1.services.session_service import SessionServiceAsyncClient
from google.cloud.aiplatform_v1.services.session_service.transports.grpc_asyncio import (
    SessionServiceGrpcAsyncIOTransport,
)

from adk_grpc_sessions.server.backends import vertex_mapping as mapping
from adk_grpc_sessions.server.backends.base import (
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
    Refusal,
    ScopedState,
    SessionCursor,
    SessionExistsError,
    SessionKey,
    SessionNotFoundError,
    SessionRecord,
    StaleRevisionError,
    StateMap,
)
from adk_grpc_sessions.server.backends.vertex_errors import backend_error, retry_policy
from adk_grpc_sessions.server.backends.vertex_target import AgentEngineTarget, parse_target
from adk_grpc_sessions.wire.timestamps import from_timestamp

_SCOPE: Final = "https://www.googleapis.com/auth/cloud-platform"
_LIST_PAGE_SIZE: Final = 100
"""Events read per call when a read needs all of them (the API's documented default page)."""
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

    async def create_session(self, key: SessionKey, state: ScopedState, now: float) -> SessionRecord:
        """See ``Backend.create_session``; ``now`` is unused: Vertex stamps its own times."""
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

    async def get_session(self, key: SessionKey, window: EventWindow) -> SessionRecord | None:
        """See ``Backend.get_session``; events come in timestamp order (like ADK's Vertex service)."""
        if not mapping.names_a_session(key.session_id):
            return None
        name = self.target.session_name(key.session_id)
        events: list[EventRecord] = []
        try:
            if window.num_recent_events == 0:
                session = await self._get(name)
            else:
                session, events = await asyncio.gather(
                    self._get(name), self._all_events(name, mapping.events_filter(window.after_timestamp))
                )
        except google_errors.NotFound:
            return None
        if not mapping.belongs_to(session, key.app_name, key.user_id):
            return None
        if window.num_recent_events is not None:
            events = events[-window.num_recent_events :] if window.num_recent_events else []
        return _session_record(session, key.app_name, events)

    async def list_sessions(
        self, app_name: str, user_id: str | None, page_size: int, after: SessionCursor | None
    ) -> Page[SessionRecord, SessionCursor]:
        """See ``Backend.list_sessions``: one page of the API's, by update time, oldest first."""
        request = vertex.ListSessionsRequest(
            parent=self.target.engine_name,
            filter=mapping.sessions_filter(app_name, user_id),
            order_by="update_time",
            page_size=page_size,
            page_token=self._storage_token(after),
        )
        response = await self._list_page(
            "listing sessions",
            lambda client, retry: client.list_sessions(
                request=request, retry=retry, timeout=self.target.timeout
            ),
        )
        records = [_session_record(vertex.Session.pb(session), app_name, []) for session in response.sessions]
        return Page(items=records, next_cursor=response.next_page_token or None)

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

    async def append_event(self, key: SessionKey, event: NewEvent, expected_revision: int) -> AppendResult:
        """See ``Backend.append_event``; the checks read before writing (not atomic, see the module doc)."""
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
    ) -> Page[EventRecord, EventCursor]:
        """See ``Backend.list_events``: one page of the API's, in timestamp order.

        The cursor is ``"COUNT:TOKEN"``: the API's page token, and how many
        events earlier pages held, which numbers this page's events.
        """
        if not mapping.names_a_session(key.session_id):
            raise SessionNotFoundError(key)
        name = self.target.session_name(key.session_id)
        listed, page_token = self._event_cursor(after)
        request = vertex.ListEventsRequest(
            parent=name,
            filter=mapping.events_filter(after_timestamp),
            page_size=page_size,
            page_token=page_token,
        )
        try:
            session, response = await asyncio.gather(
                self._get(name),
                self._list_page(
                    "listing events",
                    lambda client, retry: client.list_events(
                        request=request, retry=retry, timeout=self.target.timeout
                    ),
                    passing=(google_errors.NotFound,),
                ),
            )
        except google_errors.NotFound:
            raise SessionNotFoundError(key) from None
        if not mapping.belongs_to(session, key.app_name, key.user_id):
            raise SessionNotFoundError(key)
        events = self._event_records(response.session_events, first=listed + 1)
        next_cursor = (
            f"{listed + len(events)}:{response.next_page_token}" if response.next_page_token else None
        )
        return Page(items=events, next_cursor=next_cursor)

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
    def _storage_token(cursor: SessionCursor | None) -> str:
        if cursor is None:
            return ""
        if not isinstance(cursor, str):
            raise TypeError("the Vertex backend pages by storage page token, never by position")
        return cursor

    @staticmethod
    def _event_cursor(cursor: EventCursor | None) -> tuple[int, str]:
        """(events listed before, API page token) from a cursor this backend issued."""
        if cursor is None:
            return 0, ""
        if not isinstance(cursor, str):
            raise TypeError("the Vertex backend pages by storage page token, never by position")
        listed, _, page_token = cursor.partition(":")
        if not listed.isdigit() or not page_token:
            raise BackendRefusedError(
                Refusal.INVALID_INPUT, "page_token is not one this server issued", reason="INVALID_PAGE_TOKEN"
            )
        return int(listed), page_token


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
