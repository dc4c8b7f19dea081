"""``GrpcSessionService``: ADK's ``BaseSessionService`` over the adk-grpc-sessions server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any, Self

import grpc
from google.adk.errors import StaleSessionError
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.adk.sessions.base_session_service import (
    BaseSessionService,
    GetSessionConfig,
    ListSessionsResponse,
)
from google.adk.sessions.session import Session
from google.adk.sessions.state import State
from pydantic import BaseModel, Field
from typing_extensions import override

from adk_grpc_sessions.client import conversions, retry
from adk_grpc_sessions.client.append_pipeline import (
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MAX_PER_CALL,
    AppendPipeline,
    PipelineLimits,
)
from adk_grpc_sessions.client.event_cache import EventCache
from adk_grpc_sessions.client.retry import Retrying, RetryPolicy
from adk_grpc_sessions.client.targets import parse_target
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from adk_grpc_sessions.wire.limits import MAX_PAGE_SIZE
from adk_grpc_sessions.wire.timestamps import from_timestamp, to_timestamp

DEFAULT_TIMEOUT = 30.0
"""Seconds each method may take in all, retries included."""
DEFAULT_EVENT_CACHE_MIB = 64.0
"""Memory for decoded events kept between reads (see ``event_cache``)."""
_MAX_PAGE_SIZE = MAX_PAGE_SIZE
_READ_RESTARTS = 3
"""Times a session read starts over when the session was deleted (or re-created) between its parts."""
_STALE_MESSAGE = (
    "The session has been modified in storage since it was loaded. "
    "Please reload the session before appending more events."
)


class ListEventsResponse(BaseModel):
    """One page of a session's events, oldest first."""

    events: list[Event] = Field(default_factory=list)
    next_page_token: str | None = None
    """Pass as ``page_token`` for the next page; None on the last page."""


class ListSessionsPage(BaseModel):
    """One page of sessions (without events), oldest update first."""

    sessions: list[Session] = Field(default_factory=list)
    next_page_token: str | None = None
    """Pass as ``page_token`` for the next page; None on the last page."""


def _revision_read(session: Session) -> int | None:
    """The revision ``session`` was read at through this service; None for one built by hand.

    Read from pydantic's store of private attributes: going through
    ``session._storage_update_marker`` costs 3 µs on every append.
    """
    private = session.__pydantic_private__
    marker = private.get("_storage_update_marker") if private else None
    return int(marker) if isinstance(marker, str) and marker.isdigit() else None


class GrpcSessionService(BaseSessionService):
    """A drop-in ``BaseSessionService`` that keeps sessions in an adk-grpc-sessions server.

    Construct it with the server's address, as ``GrpcSessionService("localhost:50051")``
    or ``GrpcSessionService(uri="grpc://localhost:50051")`` (which is how ADK's
    ``services.yaml`` registry builds services). ``unix:/path`` targets work
    too, and ``grpcs://`` uses TLS.

    Every call has a total time budget (``timeout``, seconds) and is retried
    with backoff while the server is UNAVAILABLE, reconnecting, until that
    budget is spent (see ``retry``); retries never apply a write twice.
    Sessions it returns carry the server's revision, so appending
    through an out-of-date session raises ``StaleSessionError``. A write that
    a limit of the server refuses (session size, state size) raises
    ``SessionServiceLimitError`` and stores nothing.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        uri: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        retry_policy: RetryPolicy | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        metadata: Sequence[tuple[str, str]] = (),
        channel_options: Sequence[tuple[str, Any]] = (),
        event_cache_mib: float = DEFAULT_EVENT_CACHE_MIB,
        max_appends_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        max_appends_per_call: int = DEFAULT_MAX_PER_CALL,
        stream_appends: bool = True,
        agents_dir: str | None = None,
    ) -> None:
        """Configures the client; no connection is made until the first call.

        Args:
            target: ``host:port`` or another gRPC target string.
            uri: ``grpc://host:port``, ``grpcs://host:port`` or ``unix:///path``.
            timeout: seconds each method may take in all, retries included:
                while the server is unavailable (restarting, say) a call is
                retried until this is spent; None for no limit (a call then
                keeps trying until it is cancelled).
            retry_policy: how often UNAVAILABLE calls are retried within ``timeout``.
            credentials: channel credentials (TLS); default plaintext, or
                the system's root certificates for ``grpcs://``.
            metadata: extra metadata sent with every call.
            channel_options: extra ``grpc.aio`` channel options (they win over
                the client's own, such as its reconnect backoff).
            event_cache_mib: memory for events already decoded, reused by later
                reads (they are shared between reads: treat session events as
                read-only, as ADK does); 0 decodes every event on every read.
            max_appends_in_flight: append calls open at once. Appends made
                while calls are open go together, up to
                ``max_appends_per_call`` in one ``BatchAppendEvents`` call
                (each keeps its own outcome); a lone append goes at once.
                0 sends each append in a call of its own, at once.
            max_appends_per_call: most appends in one call (1 to 1000).
            stream_appends: send a lone append as a message on a stream kept
                open between appends (``AppendEventStream``), which waits less
                than a call of its own; False for a call per append (say,
                behind a proxy that cuts long-lived streams).
            agents_dir: passed by ADK's service registry; not used.
        """
        del agents_dir  # ADK's registry always passes it; sessions do not live on disk.
        self._target = parse_target(target, uri)
        if credentials is None and self._target.tls:
            credentials = grpc.ssl_channel_credentials()
        self._credentials = credentials
        self._retrying = Retrying(timeout, retry_policy or RetryPolicy(), self._connected)
        self._metadata = tuple(metadata)
        self._channel_options = [
            *channel_options,  # first: where an option is given twice, gRPC takes the first
            ("grpc.max_receive_message_length", -1),
            ("grpc.max_send_message_length", -1),
            *retry.CHANNEL_OPTIONS,
        ]
        self._events = EventCache(int(event_cache_mib * 1024 * 1024))
        self._pipeline_limits = PipelineLimits(max_appends_in_flight, max_appends_per_call, stream_appends)
        self._channel: grpc.aio.Channel | None = None
        self._stub: pb_grpc.SessionServiceAsyncStub | None = None
        self._appends: AppendPipeline | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def target(self) -> str:
        """The gRPC target this client connects to."""
        return self._target.address

    def _client(self) -> pb_grpc.SessionServiceAsyncStub:
        """The stub on a channel of the running event loop (made on first use).

        A ``grpc.aio`` channel belongs to the loop it was made on; ADK may build
        services before its loop starts, so the channel is made lazily, and made
        again if the service is used from another loop.
        """
        loop = asyncio.get_running_loop()
        if self._stub is None or self._loop is not loop:
            if self._credentials is None:
                channel = grpc.aio.insecure_channel(self._target.address, options=self._channel_options)
            else:
                channel = grpc.aio.secure_channel(
                    self._target.address, self._credentials, options=self._channel_options
                )
            self._channel, self._loop = channel, loop
            self._stub = pb_grpc.SessionServiceStub(channel)
            self._appends = AppendPipeline(
                self._stub, retrying=self._retrying, metadata=self._metadata, limits=self._pipeline_limits
            )
        return self._stub

    def _append_pipeline(self) -> AppendPipeline:
        self._client()
        assert self._appends is not None  # made with the stub
        return self._appends

    def _connected(self) -> bool:
        """Whether the channel has a connection to the server now (see ``retry``)."""
        channel = self._channel
        return channel is not None and channel.get_state() == grpc.ChannelConnectivity.READY

    async def _call(self, method_name: str, request: Any) -> Any:
        method = getattr(self._client(), method_name)
        return await self._retrying.call(method, request, what=method_name, metadata=self._metadata)

    @override
    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        """Creates a session (see ``BaseSessionService.create_session``)."""
        session_id = session_id.strip() if session_id else None
        # Choosing the id here makes a retried create recognisable: the id is
        # fresh, so "already exists" can only mean an earlier attempt landed.
        chosen_here = not session_id
        session_id = session_id or new_session_id()
        request = pb.CreateSessionRequest(
            app_name=app_name,
            user_id=user_id,
            session_id=session_id,
            state=conversions.state_delta_message(state),
        )
        try:
            response: pb.CreateSessionResponse = await self._call("CreateSession", request)
        except AlreadyExistsError:
            if not chosen_here:
                raise
            existing = await self.get_session(app_name=app_name, user_id=user_id, session_id=session_id)
            if existing is None:
                raise
            return existing
        return conversions.session_from_message(response.session, self._events)

    @override
    async def get_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        config: GetSessionConfig | None = None,
    ) -> Session | None:
        """Reads a session, or None if it does not exist (see ``BaseSessionService.get_session``).

        The whole session, however large: a session whose events do not fit
        in one response of the server arrives in parts (``GetSession``, then
        ``ListEvents`` pages of the same read's selection), assembled here.
        The session, its revision and its events are those of one moment:
        events appended meanwhile are not included, and appending through the
        session then detects them (``StaleSessionError``).
        """
        session_id = session_id.strip() if session_id else ""
        if not session_id:
            return None
        request = pb.GetSessionRequest(app_name=app_name, user_id=user_id, session_id=session_id)
        if config is not None:
            if config.num_recent_events is not None:
                request.num_recent_events = config.num_recent_events
            if config.after_timestamp is not None:
                request.after_timestamp.CopyFrom(to_timestamp(config.after_timestamp))
        for _ in range(_READ_RESTARTS + 1):
            try:
                response: pb.GetSessionResponse = await self._call("GetSession", request)
            except SessionNotFoundError:
                return None
            session = conversions.session_from_message(response.session, self._events)
            try:
                await self._read_rest(session, response.next_events_page_token)
            except SessionNotFoundError:
                continue  # deleted, or deleted and created again, between the parts: read it anew
            return session
        return None

    async def _read_rest(self, session: Session, token: str) -> None:
        """Appends to ``session`` the rest of a read's events, from its ``next_events_page_token`` on.

        Raises:
            SessionNotFoundError: the session read is no longer there.
        """
        scope = (session.app_name, session.user_id, session.id)
        while token:
            request = pb.ListEventsRequest(
                app_name=session.app_name,
                user_id=session.user_id,
                session_id=session.id,
                page_size=_MAX_PAGE_SIZE,
                page_token=token,
            )
            page: pb.ListEventsResponse = await self._call("ListEvents", request)
            session.events.extend(self._events.decode(scope, page.events))
            token = page.next_page_token

    @override
    async def list_sessions(self, *, app_name: str, user_id: str | None = None) -> ListSessionsResponse:
        """Lists every session (without events), oldest update first, walking all pages."""
        sessions = [s async for s in self.iter_sessions(app_name=app_name, user_id=user_id)]
        return ListSessionsResponse(sessions=sessions)

    async def list_sessions_page(
        self,
        *,
        app_name: str,
        user_id: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> ListSessionsPage:
        """One page of sessions; follow ``next_page_token`` for the next one.

        Args:
            app_name: the app whose sessions to list.
            user_id: only this user's sessions; None for every user.
            page_size: sessions per page (server default 100, at most 1000).
            page_token: ``next_page_token`` of the previous page; None for the first.
        """
        request = pb.ListSessionsRequest(
            app_name=app_name,
            user_id=user_id or "",
            page_size=page_size or 0,
            page_token=page_token or "",
        )
        response: pb.ListSessionsResponse = await self._call("ListSessions", request)
        return ListSessionsPage(
            sessions=[conversions.session_from_message(s, self._events) for s in response.sessions],
            next_page_token=response.next_page_token or None,
        )

    async def iter_sessions(self, *, app_name: str, user_id: str | None = None) -> AsyncIterator[Session]:
        """Every session (without events), page by page, oldest update first."""
        token: str | None = None
        while True:
            page = await self.list_sessions_page(
                app_name=app_name, user_id=user_id, page_size=_MAX_PAGE_SIZE, page_token=token
            )
            for session in page.sessions:
                yield session
            token = page.next_page_token
            if token is None:
                return

    @override
    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """Deletes a session; deleting a missing one is not an error."""
        session_id = session_id.strip() if session_id else ""
        if not session_id:
            return
        request = pb.DeleteSessionRequest(app_name=app_name, user_id=user_id, session_id=session_id)
        await self._call("DeleteSession", request)
        self._events.forget_session((app_name, user_id, session_id))

    @override
    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        """The user's state, keys without the ``user:`` prefix (empty if none)."""
        request = pb.GetUserStateRequest(app_name=app_name, user_id=user_id)
        response: pb.GetUserStateResponse = await self._call("GetUserState", request)
        return conversions.decode_map(response.state)

    async def get_app_state(self, *, app_name: str) -> dict[str, Any]:
        """The app's state, keys without the ``app:`` prefix (empty if none)."""
        response: pb.GetAppStateResponse = await self._call(
            "GetAppState", pb.GetAppStateRequest(app_name=app_name)
        )
        return conversions.decode_map(response.state)

    @override
    async def append_event(self, session: Session, event: Event) -> Event:
        """Stores an event and applies its state delta, if ``session`` is up to date.

        As in ADK: a partial event is returned without being stored; ``temp:``
        keys are applied to ``session`` but never sent.

        Raises:
            StaleSessionError: the session changed in storage since ``session`` was read.
            SessionNotFoundError: the session does not exist.
        """
        if event.partial:
            return event
        delta = event.actions.state_delta if event.actions else None
        if delta and any(key.startswith(State.TEMP_PREFIX) for key in delta):
            # As ADK's own append: temp keys reach the session, never storage.
            # (Without any, both steps would change nothing.)
            self._apply_temp_state(session, event)
            event = self._trim_temp_delta_state(event)
        revision = _revision_read(session)
        request = pb.AppendEventRequest(
            app_name=session.app_name,
            user_id=session.user_id,
            session_id=session.id,
            event_json=conversions.event_json(event),
            expected_revision=revision if revision is not None else await self._revision_of(session),
        )
        response = await self._append_pipeline().append(request)
        if response.already_applied and any(e.id == event.id for e in session.events):
            # The caller delivered this event before and its session holds it
            # already: as in ADK, a re-delivery changes nothing.
            return event
        session._storage_update_marker = str(response.revision)
        session.last_update_time = from_timestamp(response.last_update_time)
        return self._commit_event_to_session(session, event)

    async def _revision_of(self, session: Session) -> int:
        """The revision of a session built by hand (not read through this service).

        It has no revision of its own; it is judged as ADK's database service
        judges one: up to date if storage has not changed since its
        ``last_update_time``, or if storage's latest event is its latest event.
        """
        request = pb.GetSessionRequest(
            app_name=session.app_name,
            user_id=session.user_id,
            session_id=session.id,
            num_recent_events=1,
        )
        try:
            response: pb.GetSessionResponse = await self._call("GetSession", request)
        except SessionNotFoundError:
            raise SessionNotFoundError(f"Session {session.id} not found.") from None
        stored = response.session
        if response.next_events_page_token:
            # Its last event did not fit beside its state: it is the one part left.
            rest: pb.ListEventsResponse = await self._call(
                "ListEvents",
                pb.ListEventsRequest(
                    app_name=session.app_name,
                    user_id=session.user_id,
                    session_id=session.id,
                    page_token=response.next_events_page_token,
                ),
            )
            stored.events.extend(rest.events)
        if from_timestamp(stored.last_update_time) > session.last_update_time:
            stored_last_id = stored.events[-1].id if stored.events else None
            own_last_id = session.events[-1].id if session.events else None
            if stored_last_id != own_last_id:
                raise StaleSessionError(_STALE_MESSAGE)
        return stored.revision

    async def list_events(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        after_timestamp: float | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> ListEventsResponse:
        """One page of a session's events in append order.

        Args:
            app_name: the session's app.
            user_id: the session's user.
            session_id: the session.
            after_timestamp: only events at or after this time (float seconds).
            page_size: events per page (server default 100, at most 1000).
            page_token: ``next_page_token`` of the previous page; None for the first.

        Raises:
            SessionNotFoundError: the session does not exist.
        """
        request = pb.ListEventsRequest(
            app_name=app_name,
            user_id=user_id,
            session_id=session_id,
            page_size=page_size or 0,
            page_token=page_token or "",
        )
        if after_timestamp is not None:
            request.after_timestamp.CopyFrom(to_timestamp(after_timestamp))
        response: pb.ListEventsResponse = await self._call("ListEvents", request)
        return ListEventsResponse(
            events=self._events.decode((app_name, user_id, session_id), response.events),
            next_page_token=response.next_page_token or None,
        )

    async def iter_events(
        self, *, app_name: str, user_id: str, session_id: str, after_timestamp: float | None = None
    ) -> AsyncIterator[Event]:
        """Every event of a session, page by page, in append order."""
        token: str | None = None
        while True:
            page = await self.list_events(
                app_name=app_name,
                user_id=user_id,
                session_id=session_id,
                after_timestamp=after_timestamp,
                page_size=_MAX_PAGE_SIZE,
                page_token=token,
            )
            for event in page.events:
                yield event
            token = page.next_page_token
            if token is None:
                return

    @override
    async def flush(self) -> None:
        """Nothing to flush: every write is sent and acknowledged before its method returns."""

    async def close(self) -> None:
        """Closes the connection; calls made afterwards open a new one."""
        channel, self._channel, self._stub, self._loop = self._channel, None, None, None
        self._appends = None
        if channel is not None:
            await channel.close()

    async def __aenter__(self) -> Self:
        """Returns this service; ``close()`` runs on exit."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Closes the connection."""
        await self.close()


def new_session_id() -> str:
    """A fresh random UUID4 whose first character is a letter.

    Still a UUID4, and also a valid session id for storage that demands a
    leading letter (Vertex AI Agent Engine: 1-63 of ``[a-z0-9-]``, a letter
    first), whichever backend the server uses.
    """
    while True:
        candidate = str(uuid.uuid4())
        if candidate[0].isalpha():
            return candidate
