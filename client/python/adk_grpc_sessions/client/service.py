"""``GrpcSessionService``: ADK's ``BaseSessionService`` over the adk-grpc-sessions server.

One class, because ADK's interface is one class: its methods and this
service's extras (the lifecycle, metadata and forks) are short adapters over
the modules that do the work (``connection``, ``write_pipeline``,
``session_reads``, ``listing``, ``lifecycle``, ``metadata``, ``watching``),
which is why it runs past 400 lines: most of it is the extras' documented
signatures. The listings it inherits from ``service_listings``.
"""

from __future__ import annotations

import asyncio
import datetime
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
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
)
from google.adk.sessions.session import Session
from google.adk.sessions.state import State
from typing_extensions import override

from adk_grpc_sessions.client import conversions, lifecycle, metadata
from adk_grpc_sessions.client.connection import Connection
from adk_grpc_sessions.client.event_cache import EventCache
from adk_grpc_sessions.client.lifecycle import SessionInfo, set_expiration
from adk_grpc_sessions.client.listing import (
    ListEventsResponse,
    Listing,
    events_request,
)
from adk_grpc_sessions.client.metadata import ForkRequest, set_metadata
from adk_grpc_sessions.client.retry import RetryPolicy
from adk_grpc_sessions.client.service_listings import SessionListings
from adk_grpc_sessions.client.session_notices import UserSessionsWatch
from adk_grpc_sessions.client.session_reads import read_session
from adk_grpc_sessions.client.targets import parse_target
from adk_grpc_sessions.client.watching import EventWatch, SessionWatch, WatchTarget
from adk_grpc_sessions.client.write_pipeline import (
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MAX_PER_CALL,
    PipelineLimits,
)
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire.limits import MAX_PAGE_SIZE
from adk_grpc_sessions.wire.timestamps import from_timestamp, to_timestamp

DEFAULT_TIMEOUT = 30.0
"""Seconds each method may take in all, retries included."""
DEFAULT_EVENT_CACHE_MIB = 64.0
"""Memory for decoded events kept between reads (see ``event_cache``)."""
_STALE_MESSAGE = (
    "The session has been modified in storage since it was loaded. "
    "Please reload the session before appending more events."
)


SessionKeyTuple = tuple[str, str, str]
"""(app_name, user_id, session_id)."""


def _revision_read(session: Session) -> int | None:
    """The revision ``session`` was read at through this service; None for one built by hand.

    Read from pydantic's store of private attributes, as every append reads
    it: going through ``session._storage_update_marker`` is much slower.
    """
    private = session.__pydantic_private__
    marker = private.get("_storage_update_marker") if private else None
    return int(marker) if isinstance(marker, str) and marker.isdigit() else None


class GrpcSessionService(SessionListings, BaseSessionService):
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
                0 sends each append in a call of its own, at once. Creates
                share calls the same way (``BatchCreateSessions``), within
                the same two bounds, on calls of their own.
            max_appends_per_call: most appends (or creates) in one call (1 to 1000).
            stream_appends: send a lone append (or create) as a message on a
                stream kept open between them (``AppendEventStream``), which
                waits less than a call of its own; False for a call per append
                and per create (say, behind a proxy that cuts long-lived streams).
            agents_dir: passed by ADK's service registry; not used.
        """
        del agents_dir  # ADK's registry always passes it; sessions do not live on disk.
        self._connection = Connection(
            parse_target(target, uri),
            credentials=credentials,
            metadata=metadata,
            channel_options=channel_options,
            timeout=timeout,
            retry_policy=retry_policy or RetryPolicy(),
            pipeline_limits=PipelineLimits(max_appends_in_flight, max_appends_per_call, stream_appends),
        )
        self._events = EventCache(int(event_cache_mib * 1024 * 1024))
        self._listing = Listing(self._connection, self._events)
        self._pending_appends: dict[SessionKeyTuple, set[asyncio.Future[None]]] = {}
        """Appends under way, by session: what ``close_session`` waits for."""

    @property
    def target(self) -> str:
        """The gRPC target this client connects to."""
        return self._connection.address

    @override
    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
        ttl: float | datetime.timedelta | None = None,
        expire_time: float | datetime.datetime | None = None,
        display_name: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> Session:
        """Creates a session (see ``BaseSessionService.create_session``).

        Args:
            app_name: the app.
            user_id: the user.
            state: initial state (``app:``/``user:`` keys go to the shared scopes).
            session_id: the id; None for a new UUID4.
            ttl: the session expires this long after its creation (seconds, or a
                timedelta; positive, at most 100 years); with the server's
                ``--session-ttl-refresh-on-append`` each append moves it on.
            expire_time: the session expires at this instant (seconds since the
                epoch, or an aware datetime; in the future). Neither given: the
                server's default (``--session-ttl``), if any, else never.
                ``get_session_info`` reads the expiry back.
            display_name: a name for people to read (at most 128 characters).
            labels: labels to group and filter by (at most 64; keys and values
                of lowercase letters, digits, "_" and "-", keys starting with a
                letter and not with "adk_"). ``get_session_info`` reads both back.

        Raises:
            ValueError: both ``ttl`` and ``expire_time``, either out of range, or bad metadata.
            AlreadyExistsError: the id is taken.
        """
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
        set_expiration(request, ttl, expire_time)
        set_metadata(request, display_name, labels)
        try:
            created = await self._connection.create(request)
        except AlreadyExistsError:
            if not chosen_here:
                raise
            existing = await self.get_session(app_name=app_name, user_id=user_id, session_id=session_id)
            if existing is None:
                raise
            return existing
        if isinstance(created, pb.CreatedSession):  # created in a batch with no room left for it: read it
            stored = await self.get_session(app_name=app_name, user_id=user_id, session_id=created.session_id)
            if stored is None:
                raise SessionNotFoundError(f"Session {created.session_id} was deleted once created.")
            return stored
        return conversions.session_from_message(created.session, self._events)

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

        The whole session, however large (see ``session_reads``): the
        session, its revision and its events are those of one moment; events
        appended meanwhile are not included, and appending through the
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
        read = await read_session(self._connection, request)
        if read is None:
            return None
        message, rest = read
        session = conversions.session_from_message(message, self._events)
        if rest:
            session.events.extend(self._events.decode((session.app_name, session.user_id, session.id), rest))
        return session

    @override
    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """Deletes a session; deleting a missing one is not an error."""
        session_id = session_id.strip() if session_id else ""
        if not session_id:
            return
        request = pb.DeleteSessionRequest(app_name=app_name, user_id=user_id, session_id=session_id)
        await self._connection.call("DeleteSession", request)
        self._events.forget_session((app_name, user_id, session_id))

    @override
    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        """The user's state, keys without the ``user:`` prefix (empty if none)."""
        request = pb.GetUserStateRequest(app_name=app_name, user_id=user_id)
        response: pb.GetUserStateResponse = await self._connection.call("GetUserState", request)
        return conversions.decode_map(response.state)

    async def get_app_state(self, *, app_name: str) -> dict[str, Any]:
        """The app's state, keys without the ``app:`` prefix (empty if none)."""
        response: pb.GetAppStateResponse = await self._connection.call(
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
        key = (session.app_name, session.user_id, session.id)
        under_way = asyncio.get_running_loop().create_future()
        self._pending_appends.setdefault(key, set()).add(under_way)
        try:
            return await self._append(session, event)
        finally:
            under_way.set_result(None)
            pending = self._pending_appends[key]
            pending.discard(under_way)
            if not pending:
                del self._pending_appends[key]

    async def _append(self, session: Session, event: Event) -> Event:
        """``append_event``'s call, once partial and ``temp:`` state are dealt with."""
        revision = _revision_read(session)
        request = pb.AppendEventRequest(
            app_name=session.app_name,
            user_id=session.user_id,
            session_id=session.id,
            event_json=conversions.event_json(event),
            expected_revision=revision if revision is not None else await self._revision_of(session),
        )
        response = await self._connection.append(request)
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
        read = await read_session(self._connection, request)
        if read is None:
            raise SessionNotFoundError(f"Session {session.id} not found.")
        stored, rest = read
        stored_events = rest or stored.events  # its last event is in the later part if it did not fit
        if from_timestamp(stored.last_update_time) > session.last_update_time:
            stored_last_id = stored_events[-1].id if stored_events else None
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
        request = events_request(app_name, user_id, session_id, after_timestamp, page_size, page_token)
        return await self._listing.events_page(request)

    async def iter_events(
        self, *, app_name: str, user_id: str, session_id: str, after_timestamp: float | None = None
    ) -> AsyncIterator[Event]:
        """Every event of a session, page by page, in append order."""
        request = events_request(app_name, user_id, session_id, after_timestamp, MAX_PAGE_SIZE, None)
        async for event in self._listing.events(request):
            yield event

    def watch_session(
        self, app_name: str, user_id: str, session_id: str, *, after_revision: int = 0
    ) -> EventWatch:
        """Follows a session live: ``async for event in service.watch_session(...)``.

        Yields every event stored after ``after_revision`` (0: from the first;
        ``get_session_info(...).revision`` for only those appended from now
        on), in order, then each event as it is committed. It reconnects by
        itself (a server restarting or draining, a lost connection, a watcher
        that fell behind), resuming after the last event received: no event
        is missed or repeated. The iteration ends when the session is closed,
        deleted or expired (the watch's ``ended`` says which). To stop
        earlier, ``aclose()`` it or use it as ``async with``: that cancels
        the stream at once (a watch merely left after ``break`` keeps its
        stream until it is garbage-collected).

        Raises (from the iteration):
            SessionNotFoundError: the session does not exist.
            SessionServiceUnavailableError: the server could not be reached within ``timeout``.
            ValueError: ``after_revision`` is negative.
        """
        return EventWatch(
            self.watch_session_updates(app_name, user_id, session_id, after_revision=after_revision)
        )

    def watch_session_updates(
        self, app_name: str, user_id: str, session_id: str, *, after_revision: int = 0
    ) -> SessionWatch:
        """``watch_session`` as typed updates: each event with its revision, ``CaughtUp``, ``WatchEnded``.

        For a watcher that resumes itself later (keep the last revision), or
        shows when it is live (``CaughtUp`` follows each connection's backlog).
        """
        target = WatchTarget(app_name, user_id, session_id.strip() if session_id else "")
        return SessionWatch(self._connection, self._events, target, after_revision)

    def watch_sessions(self, *, app_name: str, user_id: str) -> UserSessionsWatch:
        """Follows every session of one user live: ``async for update in service.watch_sessions(...)``.

        Yields a ``SessionNotice`` (kind ``LISTED``) for each session the user
        has, a ``SessionsCaughtUp``, then a notice of each session created,
        updated, closed, deleted or expired, as it is committed; the watch's
        ``sessions`` holds them all as last heard of. It reconnects by itself,
        starting over with a new listing announced by ``Relisting``. It goes on
        until ``aclose()`` (or the end of its ``async with``).

        Raises (from the iteration):
            SessionServiceUnavailableError: the server could not be reached within ``timeout``.
        """
        return UserSessionsWatch(self._connection, self._events, app_name, user_id)

    async def get_session_info(self, *, app_name: str, user_id: str, session_id: str) -> SessionInfo | None:
        """A session's metadata, expiry, close time and bookkeeping (no events); None if it does not exist."""
        return await lifecycle.session_info(self._connection, app_name, user_id, session_id)

    async def set_session_expiry(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        ttl: float | datetime.timedelta | None = None,
        expire_time: float | datetime.datetime | None = None,
    ) -> SessionInfo:
        """Changes when a session expires: ``ttl`` from now, at ``expire_time``, or neither: never.

        Its revision, events and state are untouched (no writer's session becomes stale).

        Raises:
            ValueError: both given, or either out of range.
            SessionNotFoundError: the session does not exist (or has expired).
        """
        return await lifecycle.set_expiry(self._connection, app_name, user_id, session_id, ttl, expire_time)

    async def update_session_metadata(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        display_name: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> SessionInfo:
        """Changes a session's display name and/or labels (None: left as it is; "" or {} removes it).

        ``labels`` replaces every label. The revision, events and state are
        untouched (no writer's session becomes stale).

        Raises:
            ValueError: neither given, or a value the label rules refuse.
            SessionNotFoundError: the session does not exist (or has expired).
        """
        return await metadata.update_metadata(
            self._connection, app_name, user_id, session_id, display_name, labels
        )

    async def fork_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        new_session_id: str | None = None,
        before_invocation_id: str | None = None,
        display_name: str | None = None,
        labels: Mapping[str, str] | None = None,
        ttl: float | datetime.timedelta | None = None,
        expire_time: float | datetime.datetime | None = None,
    ) -> SessionInfo:
        """Copies a session into a new session of the same user; the source is not changed.

        Every event, or those before the first event of
        ``before_invocation_id``; the new session's state is the source's at
        that point. Read it with ``get_session`` to go on from there.

        Args:
            app_name: the app.
            user_id: the user (the fork is theirs too).
            session_id: the session to copy.
            new_session_id: the new session's id; None for a new UUID4.
            before_invocation_id: stop before this invocation (an ADK
                ``Event.invocation_id`` of the source); None copies every event.
            display_name: the new session's display name (none is copied).
            labels: the new session's labels (none are copied).
            ttl: as ``create_session``'s (the source's expiry is not copied).
            expire_time: as ``create_session``'s.

        Raises:
            SessionNotFoundError: no such source session.
            AlreadyExistsError: ``new_session_id`` is taken.
            ValueError: no event of the source has ``before_invocation_id``, or another argument is refused.
            ForkPointUnknownError: the server's storage cannot know the source's state before an
                invocation (an imported session); forking it whole works.
        """
        chosen_here = not (new_session_id and new_session_id.strip())
        request = ForkRequest(
            app_name=app_name,
            user_id=user_id,
            session_id=session_id,
            new_session_id=new_session_id_or_new(new_session_id),
            before_invocation_id=before_invocation_id,
            display_name=display_name,
            labels=labels,
            ttl=ttl,
            expire_time=expire_time,
        )
        return await metadata.fork(self._connection, request, id_chosen_here=chosen_here)

    async def close_session(self, *, session: Session) -> SessionInfo:
        """Closes ``session`` once this service's appends to it under way have finished.

        A closed session can still be read; appends to it raise
        ``SessionClosedError``. Closing a closed session changes nothing.

        Raises:
            SessionNotFoundError: the session does not exist (or has expired).
        """
        key = (session.app_name, session.user_id, session.id)
        loop = asyncio.get_running_loop()
        pending = [f for f in self._pending_appends.get(key, ()) if f.get_loop() is loop]
        if pending:
            # Their outcomes are their callers'; this only waits for them to be settled.
            await asyncio.wait(pending)
        return await lifecycle.close(self._connection, session.app_name, session.user_id, session.id)

    async def erase_user(self, *, app_name: str, user_id: str) -> int:
        """Erases a user of an app: every session, event and user-scoped state; returns sessions deleted.

        Invisible to every call once this returns (or fails after the server
        accepted it); storage the call had no time to clear the server clears
        in the background. Erasing again is harmless.
        """
        return await lifecycle.erase_user(self._connection, app_name, user_id)

    @override
    async def flush(self) -> None:
        """Nothing to flush: every write is sent and acknowledged before its method returns."""

    async def close(self) -> None:
        """Closes the connection; calls made afterwards open a new one."""
        await self._connection.close()

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


def new_session_id_or_new(session_id: str | None) -> str:
    """``session_id`` trimmed, or a new one (``new_session_id``) if it is None or blank."""
    trimmed = session_id.strip() if session_id else ""
    return trimmed or new_session_id()


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
