"""``VertexBackend``: the ``Backend`` API over Vertex AI Agent Engine's Sessions API.

How it maps, and where it differs from the other backends: see the package
(``backends.vertex``). The calls themselves are ``api``'s.

The checks of what is written (ids, sizes, nesting) are ``checks``'s; those
made by reading the session first (revision, retried event) are here. The
calls Agent Engine cannot serve are refused in ``unsupported``, and the
messages of a restore are ``restoring``'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Self

from google.api_core import exceptions as google_errors
from google.cloud.aiplatform_v1 import types as vertex
from google.protobuf import field_mask_pb2

from adk_grpc_sessions.server.backends.base import (
    ALL_SESSIONS,
    DEFAULT_BUDGET,
    DEFAULT_LIMITS,
    NEVER,
    NO_METADATA,
    AppendResult,
    BackendRefusedError,
    BackendUnavailableError,
    Cursor,
    EventIdConflictError,
    EventWindow,
    Expiry,
    Metadata,
    NewEvent,
    Page,
    ReadBudget,
    Refusal,
    ResponseTooLargeError,
    RestoredSession,
    ScopedState,
    SessionExistsError,
    SessionKey,
    SessionNotFoundError,
    SessionQuery,
    SessionRecord,
    SessionUpdate,
    StaleRevisionError,
    StateMap,
    StorageLimits,
    StoredEvent,
)
from adk_grpc_sessions.server.backends.vertex import checks, mapping
from adk_grpc_sessions.server.backends.vertex.api import SessionsApi
from adk_grpc_sessions.server.backends.vertex.paging import At, EventWalk, PageSizer
from adk_grpc_sessions.server.backends.vertex.restoring import (
    restored_events,
    restored_head,
    restored_session,
)
from adk_grpc_sessions.server.backends.vertex.target import AgentEngineTarget, parse_target
from adk_grpc_sessions.server.backends.vertex.unsupported import NO_NEVER, UnsupportedOnAgentEngine
from adk_grpc_sessions.wire import limits as wire_limits
from adk_grpc_sessions.wire.timestamps import from_timestamp


class VertexBackend(UnsupportedOnAgentEngine):
    """Sessions in one Vertex AI Agent Engine (reasoning engine), over its gRPC API.

    The calls Agent Engine cannot serve are inherited, refused, from ``UnsupportedOnAgentEngine``.
    """

    assigns_session_ids = True
    # Agent Engine tells nobody of changes, and polling it would spend the
    # project's quota per watched session: watching is refused (docs/backends.md).
    watchable = False
    keeps_shared_state = False
    # Agent Engine stamps its own update times (hence revisions), keeps no initial state nor fork
    # origin, and an expiry only from its minimum on: a copy keeps, and verifies, the rest.
    restored_fields = ("create_time", "close_time", "metadata")

    def __init__(self, target: AgentEngineTarget) -> None:
        self.target = target
        self._started: SessionsApi | None = None

    @classmethod
    def from_uri(cls, uri: str) -> Self:
        """Accepts ``agentengine://`` URIs (see ``target``)."""
        return cls(parse_target(uri))

    async def start(self) -> None:
        """Builds the client: a plaintext channel to a loopback endpoint, else TLS with ADC."""
        self._started = await SessionsApi.connect(self.target)

    async def close(self) -> None:
        """Closes the channel."""
        if self._started is not None:
            await self._started.close()
            self._started = None

    @property
    def _api(self) -> SessionsApi:
        if self._started is None:
            raise RuntimeError("the Vertex backend is not started")
        return self._started

    async def check(self) -> None:
        """Lists one session of the engine: proves the endpoint, credentials and engine.

        A refusal (no permission, no such engine) means no call can be served
        either, so it is reported as unavailability, with its reason.
        """
        try:
            await self._api.call(
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
        self,
        key: SessionKey,
        state: ScopedState,
        now: float,
        *,
        expiry: Expiry = NEVER,
        metadata: Metadata = NO_METADATA,
        limits: StorageLimits = DEFAULT_LIMITS,
    ) -> SessionRecord:
        """See ``Backend.create_session``; ``now`` is unused: Vertex stamps its own times.

        ``metadata`` becomes the API's ``display_name`` and labels, beside the
        server's own labels. The initial state is not kept apart (Agent Engine
        keeps one state per session): forks are refused anyway.

        ``expiry`` becomes the API's ``ttl`` or ``expire_time`` (at least 24 hours:
        Agent Engine's minimum); ``NEVER`` leaves Agent Engine's default expiry. A
        name held by an expired session that Agent Engine has not deleted yet is
        taken over: that session is deleted, then the create is made again.

        Raises:
            InvalidArgumentError: the expiry is under Agent Engine's minimum.
        """
        if expiry != NEVER:
            mapping.check_minimum_expiry(expiry, self.clock(), "")
        checks.check_state_sizes(state, limits)
        if key.session_id:
            checks.check_session_id(key.session_id)
        session = mapping.SessionMessage(
            user_id=key.user_id, session_state=checks.stored(mapping.state_struct, state)
        )
        mapping.set_metadata(session, metadata)
        session.labels[mapping.APP_LABEL] = mapping.app_label(key.app_name)
        mapping.set_expiry(session, expiry)
        created = await self._create_taking_over(key, session)
        return mapping.session_record(vertex.Session.pb(created), key.app_name)

    async def _create_taking_over(self, key: SessionKey, session: Any) -> Any:
        """Creates ``session`` as ``key``'s; a name held by an expired session is taken over.

        Agent Engine deletes expired sessions only some time later: until then,
        such a session is deleted here and the create made again.

        Raises:
            SessionExistsError: the name is held by a session that has not expired.
        """
        request = vertex.CreateSessionRequest(
            parent=self.target.engine_name, session=vertex.Session(session), session_id=key.session_id
        )
        try:
            return await self._create(request)
        except google_errors.AlreadyExists:
            if not await self._delete_if_expired(key.session_id):
                raise SessionExistsError(key) from None
        try:
            return await self._create(request)
        except google_errors.AlreadyExists:
            raise SessionExistsError(key) from None

    async def _create(self, request: vertex.CreateSessionRequest) -> Any:
        """Runs a create and waits for its operation; raises ``google_errors.AlreadyExists``."""
        operation = await self._api.call(
            "creating a session",
            lambda client, retry: client.create_session(
                request=request, retry=retry, timeout=self.target.timeout
            ),
            idempotent=False,
            passing=(google_errors.AlreadyExists,),
        )
        return await self._api.finish(operation, "creating a session")

    async def _delete_if_expired(self, session_id: str) -> bool:
        """Deletes the session named ``session_id`` if it has expired (whoever's it is); whether it was."""
        name = self.target.session_name(session_id)
        try:
            holder = await self._api.get(name)
            if not mapping.expired(holder, self.clock()):
                return False
            await self._delete(name)
        except google_errors.NotFound:
            pass
        return True

    async def _delete(self, name: str) -> None:
        """Deletes a session and waits for the operation; raises ``google_errors.NotFound``."""
        operation = await self._api.call(
            "deleting a session",
            lambda client, retry: client.delete_session(
                request=vertex.DeleteSessionRequest(name=name), retry=retry, timeout=self.target.timeout
            ),
            passing=(google_errors.NotFound,),
        )
        await self._api.finish(operation, "deleting a session")

    def _session_name(self, key: SessionKey) -> str | None:
        """The API's resource name of ``key``'s session; ``None`` for an id no session can have."""
        if not mapping.names_a_session(key.session_id):
            return None
        return self.target.session_name(key.session_id)

    def _visible(self, session: Any, key: SessionKey) -> bool:
        """Whether a ``Session`` message is ``key``'s app's and user's and has not expired."""
        return mapping.belongs_to(session, key.app_name, key.user_id) and not mapping.expired(
            session, self.clock()
        )

    async def _visible_session(self, key: SessionKey) -> tuple[str, Any] | None:
        """``key``'s session's name and ``Session`` message; ``None`` if there is none, or not to ``key``."""
        name = self._session_name(key)
        if name is None:
            return None
        try:
            session = await self._api.get(name)
        except google_errors.NotFound:
            return None
        return (name, session) if self._visible(session, key) else None

    async def _check_visible(self, key: SessionKey) -> tuple[str, Any]:
        """``key``'s session's name and ``Session`` message.

        Raises:
            SessionNotFoundError: there is none, or not to ``key`` (another app's or user's, or expired).
        """
        found = await self._visible_session(key)
        if found is None:
            raise SessionNotFoundError(key)
        return found

    async def get_session(
        self, key: SessionKey, window: EventWindow, *, budget: ReadBudget = DEFAULT_BUDGET
    ) -> SessionRecord | None:
        """See ``Backend.get_session``; events come in timestamp order (like ADK's Vertex service).

        The last N events (``num_recent_events``) are found by counting the
        selection first (a pass through the API's pages), then reading from
        the N-th last on.
        """
        found = await self._visible_session(key)
        if found is None:
            return None
        name, session = found
        record = mapping.session_record(session, key.app_name)
        state_size = checks.state_size(record.state)
        if state_size > budget.bytes:
            raise ResponseTooLargeError("the session's state", state_size, budget.bytes)
        if window.num_recent_events == 0:
            return record
        walk = EventWalk(
            generation=mapping.revision_of(session.create_time),
            after_timestamp=window.after_timestamp,
            remaining=-1,
            listed=0,
            at=At(),
        )
        try:
            if window.num_recent_events is not None:
                walk = await self._api.skip_to_last(name, walk, window.num_recent_events, budget.bytes)
            events, rest = await self._api.walk_events(
                name, walk, budget.bytes - state_size, budget.max_events
            )
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
        after: Cursor | None,
        *,
        query: SessionQuery = ALL_SESSIONS,
        budget: ReadBudget = DEFAULT_BUDGET,
    ) -> Page[SessionRecord]:
        """See ``Backend.list_sessions``: the API's listing, filtered and ordered by the API, in ``budget``.

        ``query`` goes to the API's own ``filter`` and ``order_by`` (``mapping``);
        what they cannot express is refused, never filtered here after reading
        every session. Equal times come in Agent Engine's order, not by user and
        session id, and pages resume by the API's page token, not by key
        (difference 10).

        Raises:
            BackendRefusedError: UNSUPPORTED, for a condition the API cannot filter by.
        """
        filter_ = mapping.sessions_filter(app_name, user_id, query)
        at = At.decode(after or "")
        if filter_ is None:
            return Page([], None)
        sizer = PageSizer()
        room = budget.bytes
        now = self.clock()
        records: list[SessionRecord] = []
        while True:
            request = vertex.ListSessionsRequest(
                parent=self.target.engine_name,
                filter=filter_,
                order_by=mapping.sessions_order(query),
                page_size=sizer.page_size(room, page_size - len(records), at.taken),
                page_token=at.token,
            )
            response = await self._api.list_page("listing sessions", self._api.list_sessions_call(request))
            for offset, message in enumerate(list(response.sessions)[at.taken :], start=at.taken):
                if mapping.expired(vertex.Session.pb(message), now):
                    continue  # gone, though Agent Engine has not deleted it yet
                record = mapping.session_record(vertex.Session.pb(message), app_name)
                size = wire_limits.SESSION_HEAD_BYTES + checks.state_size(record.state)
                sizer.saw(size)
                if size > room or len(records) == page_size:
                    if not records:
                        raise ResponseTooLargeError(
                            f"session {record.key.session_id!r} with its state", size, budget.bytes
                        )
                    return Page(records, At(at.token, offset).encode())
                room -= size
                records.append(record)
            if not response.next_page_token:
                return Page(records, None)
            at = At(response.next_page_token, 0)
            if len(records) == page_size:
                return Page(records, at.encode())

    async def delete_session(self, key: SessionKey) -> None:
        """See ``Backend.delete_session``: only the named app's and user's session is deleted."""
        name = self._session_name(key)
        if name is None:
            return
        try:
            session = await self._api.get(name)
            if not mapping.belongs_to(session, key.app_name, key.user_id):
                return
            await self._delete(name)
        except google_errors.NotFound:
            return

    async def append_event(
        self,
        key: SessionKey,
        event: NewEvent,
        expected_revision: int,
        *,
        refresh_expiry: bool = False,
        limits: StorageLimits = DEFAULT_LIMITS,
    ) -> AppendResult:
        """See ``Backend.append_event``; the checks read before writing (not atomic, see the package doc).

        The session size limit is not checked (difference 8). With ``refresh_expiry``,
        a session given a ttl (kept in its ttl label: the API's ttl is input only) gets
        that ttl again from Agent Engine's clock by an ``UpdateSession`` after the
        append (a second call: the two are not atomic, so a failure between them
        leaves the event stored and the expiry where it was).
        """
        name = self._session_name(key)
        if name is None:
            raise SessionNotFoundError(key)
        try:
            # An earlier delivery of this event has its timestamp: list only those.
            session, same_time = await asyncio.gather(
                self._api.get(name), self._api.all_events(name, mapping.events_at_filter(event.timestamp))
            )
        except google_errors.NotFound:
            raise SessionNotFoundError(key) from None
        if not self._visible(session, key):
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
        checks.check_state_growth(mapping.scoped_state(session.session_state), event.state_delta, limits)
        request = vertex.AppendEventRequest(
            name=name, event=vertex.SessionEvent(checks.stored(mapping.session_event, event))
        )
        try:
            await self._api.call(
                "appending an event",
                lambda client, retry: client.append_event(
                    request=request, retry=retry, timeout=self.target.timeout
                ),
                idempotent=False,
                passing=(google_errors.NotFound,),
            )
            ttl = mapping.expiry_of(session).ttl
            if refresh_expiry and ttl is not None:
                updated = await self._update_expiry(name, Expiry(None, ttl))
            else:
                updated = await self._api.get(name)
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
        after: Cursor | None,
        *,
        budget: ReadBudget = DEFAULT_BUDGET,
    ) -> Page[StoredEvent]:
        """See ``Backend.list_events``: the API's events in timestamp order, within ``budget``.

        The cursor (``EventWalk``) holds where the API listing resumes, how
        many events came before (which numbers the next ones), and for the
        rest of a session read, that read's filter and session.
        """
        walk = EventWalk.decode(after or "", after_timestamp)
        name, session = await self._check_visible(key)
        if walk.generation and walk.generation != mapping.revision_of(session.create_time):
            raise SessionNotFoundError(key)
        try:
            events, rest = await self._api.walk_events(name, walk, budget.bytes, page_size)
        except google_errors.NotFound:
            raise SessionNotFoundError(key) from None
        if rest is not None and not events:
            raise ResponseTooLargeError("the next event", rest.blocked, budget.bytes)
        return Page(items=events, next_cursor=None if rest is None else rest.encode())

    async def update_session(self, key: SessionKey, update: SessionUpdate) -> SessionRecord:
        """See ``Backend.update_session``: one ``UpdateSession`` of the fields ``update`` changes.

        Its field mask names ``ttl`` or ``expire_time``, ``display_name`` and
        ``labels`` as given; ``labels`` is sent whole (the API replaces the map),
        the server's own labels kept beside the caller's, as read just before
        (not atomic with the update: a concurrent change of the session's ttl
        label may be lost). Agent Engine moves the session's ``update_time`` on any
        update, so, unlike on the other backends, the revision and
        ``last_update_time`` change (differences 9 and 10). An update that
        changes nothing is not sent: the API reads an empty mask as "every field".

        Raises:
            SessionNotFoundError: no such session (or it has expired).
            InvalidArgumentError: the expiry is under Agent Engine's minimum (24 hours
                after the session's creation).
            BackendRefusedError: the expiry is ``NEVER`` (UNSUPPORTED): every Agent
                Engine session has an expire_time.
        """
        if update.expiry == NEVER:
            raise BackendRefusedError(Refusal.UNSUPPORTED, NO_NEVER, reason="NO_NEVER_EXPIRY")
        name, session = await self._check_visible(key)
        try:
            if update.expiry is not None:
                mapping.check_minimum_expiry(update.expiry, from_timestamp(session.create_time), "session.")
            changed = mapping.SessionMessage(name=name)
            paths = []
            if update.expiry is not None or update.labels is not None:
                changed.labels.update(session.labels)
                if update.labels is not None:
                    mapping.set_labels(changed, update.labels)
                paths.append("labels")
            if update.expiry is not None:
                mapping.set_expiry(changed, update.expiry)
                paths.append("ttl" if update.expiry.ttl is not None else "expire_time")
            if update.display_name is not None:
                changed.display_name = update.display_name
                paths.append("display_name")
            if not paths:
                return mapping.session_record(session, key.app_name)
            updated = await self._update(changed, paths, "updating a session")
        except google_errors.NotFound:
            raise SessionNotFoundError(key) from None
        return mapping.session_record(updated, key.app_name)

    async def _update_expiry(self, name: str, expiry: Expiry) -> Any:
        """Sets a session's ttl or expire_time (its labels untouched); the session after.

        Raises:
            google_errors.NotFound: the session is gone.
        """
        session = mapping.SessionMessage(name=name)
        mapping.set_expiry(session, expiry)
        paths = ["ttl" if expiry.ttl is not None else "expire_time"]
        return await self._update(session, paths, "updating a session's expiry")

    async def _update(self, session: Any, paths: list[str], doing: str) -> Any:
        """Runs an ``UpdateSession`` of ``paths`` (never empty) from ``session``; the session after.

        Raises:
            google_errors.NotFound: the session is gone.
        """
        request = vertex.UpdateSessionRequest(
            session=vertex.Session(session), update_mask=field_mask_pb2.FieldMask(paths=paths)
        )
        updated = await self._api.call(
            doing,
            lambda client, retry: client.update_session(
                request=request, retry=retry, timeout=self.target.timeout
            ),
            passing=(google_errors.NotFound,),
        )
        return vertex.Session.pb(updated)

    # Restoring (copy, import): the messages are ``restoring``'s.

    def kept_state(self, state: StateMap) -> StateMap:
        """``state`` as it comes back from ``session_state``: numbers as doubles (difference 6)."""
        return mapping.merged_state(mapping.merged_state_struct(state))

    async def read_session_head(self, key: SessionKey) -> RestoredSession | None:
        """See ``Backend.read_session_head``: the session as Agent Engine keeps it, its events counted.

        ``state`` is the session's whole ``session_state``, ``app:``/``user:`` keys
        included (this storage keeps them per session: ``keeps_shared_state``).
        ``create_time`` and ``close_time`` are a copy's labels where it wrote them,
        else Agent Engine's creation time and none; ``last_update_time`` and
        ``revision`` are Agent Engine's own; no initial state or fork origin is kept.
        """
        found = await self._visible_session(key)
        if found is None:
            return None
        name, session = found
        try:
            event_count = await self._api.count_events(name)
        except google_errors.NotFound:
            return None
        return restored_head(key, session, event_count)

    async def restore_session(self, session: RestoredSession, events: Sequence[NewEvent] = ()) -> None:
        """See ``Backend.restore_session``: a create with the session's id, then its first ``events``.

        Not atomic (Agent Engine has no transactions): a restore cut short
        leaves the session with some of ``events``, and ``read_session_head``'s
        count says where ``restore_events`` resumes. Its creation and close times
        go into labels; an ``expire_time`` sooner than Agent Engine's minimum (24
        hours from now) is moved to that minimum, and a session that never
        expires gets Agent Engine's default expiry.

        Raises:
            SessionExistsError: the id is taken.
            BackendRefusedError: INVALID_INPUT, for a session id Agent Engine does not accept, or state
                or an event nested deeper than it stores (nothing is written).
        """
        checks.check_session_id(session.key.session_id)
        message = restored_session(session, self.clock())
        restored = restored_events(events)  # refused before anything is written
        await self._create_taking_over(session.key, message)
        await self._append_restored(session.key, restored)

    async def restore_events(self, key: SessionKey, first_sequence: int, events: Sequence[NewEvent]) -> None:
        """See ``Backend.restore_events``: appended one by one, their state deltas not applied again.

        The stored count is checked first (a pass through the session's events);
        the appends are not atomic together: one cut short leaves a prefix of
        ``events`` stored, which the next count finds.

        Raises:
            SessionNotFoundError: no such session (or it has expired).
            StaleRevisionError: the session does not hold exactly ``first_sequence - 1`` events.
            BackendRefusedError: INVALID_INPUT, for an event nested deeper than Agent Engine stores
                (nothing is written).
        """
        name, _ = await self._check_visible(key)
        try:
            held = await self._api.count_events(name)
        except google_errors.NotFound:
            raise SessionNotFoundError(key) from None
        if held != first_sequence - 1:
            raise StaleRevisionError(key, first_sequence - 1, held)
        await self._append_restored(key, restored_events(events))

    async def _append_restored(self, key: SessionKey, messages: list[Any]) -> None:
        name = self.target.session_name(key.session_id)
        for message in messages:
            try:
                await self._api.append(name, message)
            except google_errors.NotFound:
                raise SessionNotFoundError(key) from None
