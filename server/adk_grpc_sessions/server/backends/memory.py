"""``memory://``: sessions kept in this process, for development and tests.

Every method runs without awaiting in between, so on one event loop each call
is atomic without locks. Nothing survives the process.

Listings: each app and each user has a sorted index per order (last update
time, create time), so a page is a range of one; a filter is evaluated on
the index's entries as they are walked. Forks: each session keeps its initial
session-scoped state and every event's session-scoped delta, so the state at
any event is known exactly.

Expiry: a session past its ``expire_time`` (by ``clock()``) is left where it
is, but every call looks through it as if it were gone; ``purge_expired``
removes it. Sessions that have an expiry are also kept in order of it, so
the sweeper's calls cost what is expired, not what is stored.

It is one module past 400 lines on purpose: the whole backend is one set of
in-process indexes (sessions, listing orders, expiry order) whose invariants
every method keeps together; split over modules, each would have to know the
others' bookkeeping.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import ge, gt, le, lt
from typing import Final, Self

from sortedcontainers import SortedList

from adk_grpc_sessions.server.backends.base import (
    ALL_SESSIONS,
    DEFAULT_BUDGET,
    DEFAULT_LIMITS,
    NEVER,
    NO_METADATA,
    AppendResult,
    Backend,
    Condition,
    Cursor,
    EventIdConflictError,
    EventWindow,
    Expiry,
    Field,
    ForkOrigin,
    ForkPointNotFoundError,
    Metadata,
    NewEvent,
    Operator,
    OrderBy,
    Page,
    PurgeBatch,
    ReadBudget,
    ResponseTooLargeError,
    RestoredSession,
    ScopedState,
    SessionClosedError,
    SessionEnd,
    SessionExistsError,
    SessionKey,
    SessionNotFoundError,
    SessionQuery,
    SessionRecord,
    SessionSizeLimitError,
    SessionUpdate,
    StaleRevisionError,
    StateMap,
    StateSizeLimitError,
    StorageLimits,
    StoredEvent,
    WatchedEvent,
    WatchRead,
)
from adk_grpc_sessions.server.backends.keyset_cursors import (
    EventSpan,
    SessionPosition,
    event_cursor,
    name_cursor,
    parse_event_cursor,
    parse_name_cursor,
    parse_session_cursor,
    session_cursor,
)
from adk_grpc_sessions.wire import limits as wire_limits

_Index = SortedList[SessionPosition]
"""Sessions' positions (``_StoredSession.position``) in one listing order."""
_Expiring = SortedList[tuple[float, str, str, str]]
"""(expire_time, app_name, user_id, session_id) of every session that has an expiry, soonest first."""


@dataclass(slots=True)
class _StoredSession:
    key: SessionKey
    state: StateMap
    create_time: float
    last_update_time: float
    revision: int
    generation: int
    """Names this session, not just its name: its first revision, which no other session ever has."""
    state_bytes: int = 0
    """What ``state`` counts towards the state limit (``wire.limits.state_bytes``)."""
    events_bytes: int = 0
    """The sizes of ``events``, summed: what counts towards the session limit."""
    events: list[StoredEvent] = field(default_factory=list)
    timestamps: list[float] = field(default_factory=list)
    """Each event's timestamp, for the after_timestamp rule (a read returns none)."""
    revision_after: list[int] = field(default_factory=list)
    """The session's revision right after each event: a retry's original result."""
    resume_points: list[int] = field(default_factory=list)
    """Each event's ``WatchedEvent.revision``: ``revision_after``'s, or for a copied event its own."""
    index_of_resume_point: dict[int, int] = field(default_factory=dict)
    """The index of the event each resume point follows."""
    copied: int = 0
    """How many events a fork copied into it: its creation revision resumes after them."""
    index_of_event: dict[str, int] = field(default_factory=dict)
    expiry: Expiry = NEVER
    close_time: float | None = None
    metadata: Metadata = NO_METADATA
    forked_from: ForkOrigin | None = None
    initial_state: StateMap = field(default_factory=dict)
    """The session-scoped state it was created with: with ``session_deltas``, its state at any event."""
    session_deltas: list[StateMap] = field(default_factory=list)
    """Each event's session-scoped state delta, in append order."""
    first_of_invocation: dict[str, int] = field(default_factory=dict)
    """The index of each invocation's first event: where a fork before it stops."""

    def position(self, order: OrderBy) -> SessionPosition:
        """Its place in the listings of ``order`` (the time, then the tie-break)."""
        time = self.last_update_time if order is OrderBy.UPDATE_TIME else self.create_time
        return (time, self.key.user_id, self.key.session_id)

    def sort_key(self) -> SessionPosition:
        return self.position(OrderBy.UPDATE_TIME)

    def expiring_key(self) -> tuple[float, str, str, str] | None:
        """Its entry in the backend's expiry order; None if it never expires."""
        if self.expiry.expire_time is None:
            return None
        return (self.expiry.expire_time, self.key.app_name, self.key.user_id, self.key.session_id)

    def expired(self, now: float) -> bool:
        """Whether it has expired at ``now`` (the contract's rule: ``expire_time <= now``)."""
        expire_time = self.expiry.expire_time
        return expire_time is not None and expire_time <= now


def first_index_after_older(timestamps: list[float], after_timestamp: float, start: int = 0) -> int:
    """Index just past the last of ``timestamps[start:]`` (events' timestamps) before ``after_timestamp``.

    This is ADK's ``after_timestamp`` rule (scan back from the newest event,
    stop at the first one that is too old): for timestamps in append order it
    is simply "the events at or after after_timestamp". ``start`` if none is.
    """
    for index in range(len(timestamps) - 1, start - 1, -1):
        if timestamps[index] < after_timestamp:
            return index + 1
    return start


def _growth(scope: StateMap, delta: StateMap) -> int:
    """How much setting ``delta``'s keys in ``scope`` changes what the scope counts (may be negative)."""
    growth = 0
    for key, value in delta.items():
        growth += wire_limits.state_entry_bytes(key, value)
        old = scope.get(key)
        if old is not None:
            growth -= wire_limits.state_entry_bytes(key, old)
    return growth


class MemoryBackend(Backend):
    """Keeps everything in dictionaries of this process."""

    def __init__(self) -> None:
        self._sessions: dict[SessionKey, _StoredSession] = {}
        # Listing indexes, one per order (``_StoredSession.position``): every
        # session of an app (keyed (app_name, "")), and of one user of an app.
        # A page is then a range of one, not a sort of all of an app's sessions.
        self._by_app: dict[OrderBy, dict[tuple[str, str], _Index]] = {order: {} for order in OrderBy}
        self._by_user: dict[OrderBy, dict[tuple[str, str], _Index]] = {order: {} for order in OrderBy}
        self._app_state: dict[str, StateMap] = {}
        self._user_state: dict[tuple[str, str], StateMap] = {}
        # What each shared scope counts towards the state limit, kept as it
        # changes: a write then checks its own keys, not the whole scope.
        self._app_state_bytes: dict[str, int] = {}
        self._user_state_bytes: dict[tuple[str, str], int] = {}
        # One counter for every session, so a re-created session never
        # reuses a revision its deleted namesake handed out.
        self._revisions = itertools.count(1)
        self._expiring: _Expiring = SortedList()

    @classmethod
    def from_uri(cls, uri: str) -> Self:
        """Accepts ``memory://`` (nothing may follow it)."""
        if uri.rstrip("/") not in ("memory:", "memory:/"):
            raise ValueError(f"a memory backend URI is exactly 'memory://', got {uri!r}")
        return cls()

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
        """See ``Backend.create_session``."""
        existing = self._sessions.get(key)
        if existing is not None:
            if not existing.expired(self.clock()):
                raise SessionExistsError(key)
            # Gone for every call already: purging it first changes nothing anyone sees,
            # even if the state limits then refuse the new one.
            self._remove(existing)
            self.changes.ended(key, SessionEnd.EXPIRED)
        self._apply_state(key, None, state, limits)
        revision = next(self._revisions)
        stored = _StoredSession(
            key=key,
            state=dict(state.session),
            create_time=now,
            last_update_time=now,
            revision=revision,
            generation=revision,
            state_bytes=wire_limits.state_bytes(state.session),
            metadata=_copied(metadata),
            initial_state=dict(state.session),
        )
        self._store(stored, expiry)
        self.changes.created(key)
        return self._record(stored, [])

    def _store(self, stored: _StoredSession, expiry: Expiry) -> None:
        """Adds a new session to the sessions, the listing indexes and the expiry order."""
        self._sessions[stored.key] = stored
        for order in OrderBy:
            for index in self._indexes_of(stored.key, order, create=True):
                index.add(stored.position(order))
        self._set_expiry(stored, expiry)

    async def get_session(
        self, key: SessionKey, window: EventWindow, *, budget: ReadBudget = DEFAULT_BUDGET
    ) -> SessionRecord | None:
        """See ``Backend.get_session``: indexes into the events, copying only what it returns."""
        stored = self._live(key)
        if stored is None:
            return None
        state_size = self._state_size(stored)
        if state_size > budget.bytes:
            raise ResponseTooLargeError("the session's state", state_size, budget.bytes)
        events = stored.events
        start = 0
        if window.num_recent_events is not None:
            start = max(0, len(events) - window.num_recent_events)
        if window.after_timestamp is not None:
            start = first_index_after_older(stored.timestamps, window.after_timestamp, start)
        stop = _fitting(events, start, len(events), budget.bytes - state_size, budget.max_events)
        record = self._record(stored, events[start:stop])
        if stop < len(events):
            # Sequence n sits at index n - 1: the last one returned is ``stop``.
            record.rest = event_cursor(EventSpan(stored.generation, after=stop, upto=len(events)))
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
        """See ``Backend.list_sessions``: a walk of the order's index from the cursor, filtering."""
        order = query.order_by
        indexes = self._by_app if user_id is None else self._by_user
        index = indexes[order].get((app_name, user_id or ""))
        positions: Iterator[SessionPosition] = iter(())
        if index is not None:
            start = None if after is None else parse_session_cursor(after)
            if query.descending:
                positions = index.irange(maximum=start, inclusive=(True, False), reverse=True)
            else:
                positions = index.irange(minimum=start, inclusive=(False, True))
        kept = self._kept(app_name, positions, query.conditions)
        # One more than a page tells whether another page follows.
        chosen = list(itertools.islice(kept, page_size + 1))
        room = budget.bytes
        items: list[SessionRecord] = []
        for _, user, session_id in chosen[:page_size]:
            stored = self._sessions[SessionKey(app_name, user, session_id)]
            size = wire_limits.SESSION_HEAD_BYTES + self._state_size(stored)
            if size > room:
                if not items:
                    raise ResponseTooLargeError(f"session {session_id!r} with its state", size, budget.bytes)
                break
            room -= size
            items.append(self._record(stored, []))
        has_more = len(chosen) > len(items)
        return Page(items=items, next_cursor=session_cursor(chosen[len(items) - 1]) if has_more else None)

    async def list_apps(
        self, page_size: int, after: Cursor | None, *, among: frozenset[str] | None = None
    ) -> Page[str]:
        """See ``Backend.list_apps``: the names of the listing indexes and of shared state, merged."""
        names = {app for app, _ in self._by_app[OrderBy.UPDATE_TIME]}
        names.update(self._app_state)
        names.update(app for app, _ in self._user_state)
        if among is not None:
            names &= among
        now = self.clock()

        def holds_any(app_name: str) -> bool:
            if app_name in self._app_state or any(app == app_name for app, _ in self._user_state):
                return True
            index = self._by_app[OrderBy.UPDATE_TIME].get((app_name, ""), ())
            return any(not self._sessions[SessionKey(app_name, u, s)].expired(now) for _, u, s in index)

        return _name_page(names, after, page_size, holds_any)

    async def list_users(self, app_name: str, page_size: int, after: Cursor | None) -> Page[str]:
        """See ``Backend.list_users``."""
        by_user = self._by_user[OrderBy.UPDATE_TIME]
        names = {user for app, user in by_user if app == app_name}
        names.update(user for app, user in self._user_state if app == app_name)
        now = self.clock()

        def holds_any(user_id: str) -> bool:
            if (app_name, user_id) in self._user_state:
                return True
            index = by_user.get((app_name, user_id), ())
            return any(not self._sessions[SessionKey(app_name, user_id, s)].expired(now) for _, _, s in index)

        return _name_page(names, after, page_size, holds_any)

    async def delete_session(self, key: SessionKey) -> None:
        """See ``Backend.delete_session``."""
        stored = self._sessions.get(key)
        if stored is not None:
            self._remove(stored)
            self.changes.ended(key, SessionEnd.DELETED)

    def _remove(self, stored: _StoredSession) -> None:
        """Forgets a session: its events, its state, its places in the listings and the expiry order."""
        key = stored.key
        del self._sessions[key]
        self._set_expiry(stored, NEVER)
        for order in OrderBy:
            for index in self._indexes_of(key, order):
                index.remove(stored.position(order))
        # An app or user left without sessions leaves no empty index behind.
        for indexes, name in (
            (self._by_app, (key.app_name, "")),
            (self._by_user, (key.app_name, key.user_id)),
        ):
            for order in OrderBy:
                if not indexes[order][name]:
                    del indexes[order][name]

    async def append_event(
        self,
        key: SessionKey,
        event: NewEvent,
        expected_revision: int,
        *,
        refresh_expiry: bool = False,
        limits: StorageLimits = DEFAULT_LIMITS,
    ) -> AppendResult:
        """See ``Backend.append_event``."""
        stored = self._live(key)
        if stored is None:
            raise SessionNotFoundError(key)
        # Idempotency comes before the revision check: a retry of an append
        # that already succeeded carries the revision from before it.
        index = stored.index_of_event.get(event.id)
        if index is not None:
            original = stored.events[index]
            if original.event_json != event.event_json:
                raise EventIdConflictError(key, event.id)
            return AppendResult(
                event=original,
                revision=stored.revision_after[index],
                last_update_time=stored.timestamps[index],
                already_applied=True,
            )
        if stored.close_time is not None:
            raise SessionClosedError(key)
        if expected_revision != stored.revision:
            raise StaleRevisionError(key, expected_revision, stored.revision)
        if stored.events_bytes + event.size > limits.max_session_bytes:
            raise SessionSizeLimitError(key, limits.max_session_bytes, stored.events_bytes, event.size)

        self._apply_state(key, stored, event.state_delta, limits)
        stored.events_bytes += event.size
        record = event.stored_at(len(stored.events) + 1)
        stored.revision = next(self._revisions)
        if event.timestamp != stored.last_update_time:
            before = stored.sort_key()
            stored.last_update_time = event.timestamp
            for listing in self._indexes_of(key, OrderBy.UPDATE_TIME):
                listing.remove(before)
                listing.add(stored.sort_key())
        stored.first_of_invocation.setdefault(event.invocation_id, len(stored.events))
        stored.session_deltas.append(dict(event.state_delta.session))
        stored.index_of_event[event.id] = len(stored.events)
        stored.events.append(record)
        stored.timestamps.append(event.timestamp)
        stored.revision_after.append(stored.revision)
        stored.index_of_resume_point[stored.revision] = len(stored.resume_points)
        stored.resume_points.append(stored.revision)
        ttl = stored.expiry.ttl
        if refresh_expiry and ttl is not None:
            self._set_expiry(stored, Expiry(self.clock() + ttl, ttl))
        self.changes.appended(key, record, stored.revision)
        return AppendResult(
            event=record,
            revision=stored.revision,
            last_update_time=event.timestamp,
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
        """See ``Backend.list_events``."""
        stored = self._live(key)
        if stored is None:
            raise SessionNotFoundError(key)
        events = stored.events
        position = None if after is None else parse_event_cursor(after)
        # Sequence n sits at index n - 1, so a position is also an index.
        if isinstance(position, EventSpan):
            if position.generation != stored.generation:
                raise SessionNotFoundError(key)
            start, end = position.after, min(position.upto, len(events))
        else:
            start = (
                0 if after_timestamp is None else first_index_after_older(stored.timestamps, after_timestamp)
            )
            start, end = max(start, position or 0), len(events)
        stop = _fitting(events, start, end, budget.bytes, page_size)
        if stop == start and start < end:
            raise ResponseTooLargeError(f"event {events[start].id!r}", events[start].size, budget.bytes)
        next_cursor: Cursor | None = None
        if stop < end:
            next_cursor = event_cursor(
                EventSpan(stored.generation, stop, end) if isinstance(position, EventSpan) else stop
            )
        return Page(items=events[start:stop], next_cursor=next_cursor)

    async def get_user_state(self, app_name: str, user_id: str) -> StateMap:
        """See ``Backend.get_user_state``."""
        return dict(self._user_state.get((app_name, user_id), {}))

    async def get_app_state(self, app_name: str) -> StateMap:
        """See ``Backend.get_app_state``."""
        return dict(self._app_state.get(app_name, {}))

    async def update_session(self, key: SessionKey, update: SessionUpdate) -> SessionRecord:
        """See ``Backend.update_session``."""
        stored = self._live(key)
        if stored is None:
            raise SessionNotFoundError(key)
        if update.expiry is not None:
            self._set_expiry(stored, update.expiry)
        metadata = stored.metadata
        if update.display_name is not None:
            metadata = Metadata(update.display_name, metadata.labels)
        if update.labels is not None:
            metadata = Metadata(metadata.display_name, dict(update.labels))
        stored.metadata = metadata
        # A watch of it ends at its new expiry; a watch of its user is told of its new metadata.
        self.changes.changed(key)
        return self._record(stored, [])

    async def fork_session(
        self,
        source: SessionKey,
        session_id: str,
        now: float,
        *,
        before_invocation_id: str = "",
        expiry: Expiry = NEVER,
        metadata: Metadata = NO_METADATA,
    ) -> SessionRecord:
        """See ``Backend.fork_session``: the copies share the source's (immutable) event records."""
        original = self._live(source)
        if original is None:
            raise SessionNotFoundError(source)
        key = SessionKey(source.app_name, source.user_id, session_id)
        existing = self._sessions.get(key)
        if existing is not None:
            if not existing.expired(self.clock()):
                raise SessionExistsError(key)
            self._remove(existing)
            self.changes.ended(key, SessionEnd.EXPIRED)
        count = len(original.events)
        if before_invocation_id:
            first = original.first_of_invocation.get(before_invocation_id)
            if first is None:
                raise ForkPointNotFoundError(source, before_invocation_id)
            count = first
        state = dict(original.initial_state)
        for delta in original.session_deltas[:count]:
            state.update(delta)
        # Each copy's resume point is a revision of its own: no other session ever has it.
        resume_points = [next(self._revisions) for _ in range(count)]
        revision = next(self._revisions)
        events = original.events[:count]
        stored = _StoredSession(
            key=key,
            state=state,
            create_time=now,
            last_update_time=now,
            revision=revision,
            generation=revision,
            state_bytes=wire_limits.state_bytes(state),
            events_bytes=sum(event.size for event in events),
            events=events,
            timestamps=original.timestamps[:count],
            # A retried append of a copied event answers with the fork's first revision:
            # the source's revisions were never this session's.
            revision_after=[revision] * count,
            resume_points=resume_points,
            index_of_resume_point={point: index for index, point in enumerate(resume_points)},
            copied=count,
            index_of_event={event.id: index for index, event in enumerate(events)},
            metadata=_copied(metadata),
            forked_from=ForkOrigin(source.session_id, count, before_invocation_id, now),
            initial_state=dict(original.initial_state),
            session_deltas=original.session_deltas[:count],
            first_of_invocation={
                invocation: index
                for invocation, index in original.first_of_invocation.items()
                if index < count
            },
        )
        self._store(stored, expiry)
        self.changes.created(key)
        return self._record(stored, [])

    async def close_session(self, key: SessionKey, now: float, closed_ttl: float | None) -> SessionRecord:
        """See ``Backend.close_session``."""
        stored = self._live(key)
        if stored is None:
            raise SessionNotFoundError(key)
        if stored.close_time is None:
            stored.close_time = now
        if closed_ttl is not None:
            until = stored.close_time + closed_ttl
            current = stored.expiry.expire_time
            self._set_expiry(stored, Expiry(until if current is None else min(current, until), None))
        self.changes.closed(key)
        return self._record(stored, [])

    async def erase_user(self, app_name: str, user_id: str) -> None:
        """See ``Backend.erase_user``."""
        now = self.clock()
        for _, _, session_id in list(self._by_user[OrderBy.UPDATE_TIME].get((app_name, user_id), ())):
            stored = self._sessions[SessionKey(app_name, user_id, session_id)]
            if not stored.expired(now):
                self._set_expiry(stored, Expiry(now, None))
        self._user_state.pop((app_name, user_id), None)
        self._user_state_bytes.pop((app_name, user_id), None)
        self.changes.ended_for_user(app_name, user_id, SessionEnd.DELETED)

    async def purge_expired(
        self, limit: int, *, app_name: str | None = None, user_id: str | None = None
    ) -> PurgeBatch:
        """See ``Backend.purge_expired``."""
        now = self.clock()
        candidates: Iterable[_StoredSession]
        if app_name is not None and user_id is not None:
            keys = [
                SessionKey(app_name, user_id, s)
                for _, _, s in self._by_user[OrderBy.UPDATE_TIME].get((app_name, user_id), ())
            ]
            candidates = (self._sessions[k] for k in keys)
        else:
            candidates = (self._sessions[SessionKey(*entry[1:])] for entry in self._expired_entries(now))
        chosen = [
            stored
            for stored in candidates
            if stored.expired(now) and (app_name is None or stored.key.app_name == app_name)
        ]
        purged = [stored.key for stored in chosen[:limit]]
        events = 0
        for key in purged:
            stored = self._sessions[key]
            events += len(stored.events)
            self._remove(stored)
            self.changes.ended(key, SessionEnd.EXPIRED)
        return PurgeBatch(purged, events)

    async def read_watched(self, key: SessionKey, after_revision: int, *, budget: ReadBudget) -> WatchRead:
        """See ``Backend.read_watched``: an index into the events, by the resume point's own index."""
        stored = self._sessions.get(key)
        if stored is None:
            raise SessionNotFoundError(key)
        closed = stored.close_time is not None
        expire_time = stored.expiry.expire_time
        if stored.expired(self.clock()):
            return WatchRead([], 0, stored.revision, False, closed, expired=True, expire_time=expire_time)
        if after_revision == 0:
            start = 0
        elif after_revision == stored.generation:
            start = stored.copied
        else:
            index = stored.index_of_resume_point.get(after_revision)
            if index is None:
                raise SessionNotFoundError(key)
            start = index + 1
        events = stored.events
        stop = _fitting(events, start, len(events), budget.bytes, budget.max_events)
        if stop == start < len(events) and budget.max_events > 0:
            raise ResponseTooLargeError(f"event {events[start].id!r}", events[start].size, budget.bytes)
        watched = [WatchedEvent(events[i], stored.resume_points[i]) for i in range(start, stop)]
        return WatchRead(watched, start, stored.revision, stop < len(events), closed, expire_time=expire_time)

    async def count_expired(self) -> int:
        """See ``Backend.count_expired``."""
        return self._expired_count(self.clock())

    async def list_expired(self, limit: int) -> list[SessionKey]:
        """See ``Backend.list_expired``."""
        entries = itertools.islice(self._expired_entries(self.clock()), limit)
        return [SessionKey(*entry[1:]) for entry in entries]

    async def read_session_head(self, key: SessionKey) -> RestoredSession | None:
        """See ``Backend.read_session_head``."""
        stored = self._live(key)
        if stored is None:
            return None
        return RestoredSession(
            key=key,
            create_time=stored.create_time,
            last_update_time=stored.last_update_time,
            revision=stored.revision,
            state=dict(stored.state),
            initial_state=dict(stored.initial_state),
            event_count=len(stored.events),
            expiry=stored.expiry,
            close_time=stored.close_time,
            metadata=_copied(stored.metadata),
            forked_from=stored.forked_from,
        )

    async def restore_session(self, session: RestoredSession, events: Sequence[NewEvent] = ()) -> None:
        """See ``Backend.restore_session``: the revision is kept, and no later one repeats it."""
        existing = self._sessions.get(session.key)
        if existing is not None:
            if not existing.expired(self.clock()):
                raise SessionExistsError(session.key)
            self._remove(existing)
        revision = next(self._revisions)
        if session.revision >= revision:
            self._revisions = itertools.count(session.revision + 1)
            revision = session.revision
        stored = _StoredSession(
            key=session.key,
            state=dict(session.state),
            create_time=session.create_time,
            last_update_time=session.last_update_time,
            revision=revision,
            generation=revision,
            state_bytes=wire_limits.state_bytes(session.state),
            close_time=session.close_time,
            metadata=_copied(session.metadata),
            forked_from=session.forked_from,
            # Unknown initial state: the events' deltas over nothing (a fork before an invocation
            # then starts from what those deltas set, as for a session created without state).
            initial_state=dict(session.initial_state or {}),
        )
        self._store(stored, session.expiry)
        await self.restore_events(session.key, 1, events)

    async def restore_events(self, key: SessionKey, first_sequence: int, events: Sequence[NewEvent]) -> None:
        """See ``Backend.restore_events``."""
        stored = self._live(key)
        if stored is None:
            raise SessionNotFoundError(key)
        if first_sequence != len(stored.events) + 1:
            raise StaleRevisionError(key, first_sequence - 1, len(stored.events))
        for event in events:
            if event.id in stored.index_of_event:
                raise EventIdConflictError(key, event.id)
        for event in events:
            index = len(stored.events)
            stored.first_of_invocation.setdefault(event.invocation_id, index)
            stored.session_deltas.append(dict(event.state_delta.session))
            stored.index_of_event[event.id] = index
            stored.events.append(event.stored_at(index + 1))
            stored.timestamps.append(event.timestamp)
            stored.revision_after.append(stored.revision)
            stored.events_bytes += event.size

    async def restore_shared_state(self, app_name: str, user_id: str | None, state: StateMap) -> None:
        """See ``Backend.restore_shared_state``."""
        if not state:
            return
        if user_id is None:
            scope = self._app_state.setdefault(app_name, {})
            scope.update(state)
            self._app_state_bytes[app_name] = wire_limits.state_bytes(scope)
        else:
            user = (app_name, user_id)
            scope = self._user_state.setdefault(user, {})
            scope.update(state)
            self._user_state_bytes[user] = wire_limits.state_bytes(scope)

    def _expired_count(self, now: float) -> int:
        # ("",) * 3 after the next float sorts before every entry of a later expiry:
        # this counts the entries with expire_time <= now.
        return self._expiring.bisect_left((math.nextafter(now, math.inf), "", "", ""))

    def _expired_entries(self, now: float) -> list[tuple[float, str, str, str]]:
        """The expiry order's expired entries, soonest-expired first (a copy: purging changes the order)."""
        return list(self._expiring.islice(0, self._expired_count(now)))

    def _live(self, key: SessionKey) -> _StoredSession | None:
        """The session named ``key``, unless it is missing or expired."""
        stored = self._sessions.get(key)
        if stored is None or stored.expired(self.clock()):
            return None
        return stored

    def _kept(
        self, app_name: str, positions: Iterator[SessionPosition], conditions: tuple[Condition, ...]
    ) -> Iterator[SessionPosition]:
        """``positions`` of unexpired sessions that meet every condition."""
        now = self.clock()
        for position in positions:
            stored = self._sessions[SessionKey(app_name, position[1], position[2])]
            if not stored.expired(now) and all(_meets(stored, condition) for condition in conditions):
                yield position

    def _set_expiry(self, stored: _StoredSession, expiry: Expiry) -> None:
        """Sets a session's expiry, keeping the expiry order in step."""
        before = stored.expiring_key()
        if before is not None:
            self._expiring.discard(before)
        stored.expiry = expiry
        after = stored.expiring_key()
        if after is not None:
            self._expiring.add(after)

    def _apply_state(
        self, key: SessionKey, stored: _StoredSession | None, delta: ScopedState, limits: StorageLimits
    ) -> None:
        """Sets ``delta``'s keys in their scopes (the session scope is ``stored``'s), or none of them.

        None of them if a scope would grow past ``limits.max_state_bytes``.

        Raises:
            StateSizeLimitError: naming the first scope that would.
        """
        user = (key.app_name, key.user_id)
        app_state = self._app_state.get(key.app_name, {})
        user_state = self._user_state.get(user, {})
        app_growth = _growth(app_state, delta.app) if delta.app else 0
        user_growth = _growth(user_state, delta.user) if delta.user else 0
        session_growth = _growth(stored.state, delta.session) if stored is not None and delta.session else 0
        checks = (
            ("session", stored.state_bytes if stored is not None else 0, session_growth),
            ("user", self._user_state_bytes.get(user, 0), user_growth),
            ("app", self._app_state_bytes.get(key.app_name, 0), app_growth),
        )
        for scope, size, growth in checks:
            if growth > 0 and size + growth > limits.max_state_bytes:
                raise StateSizeLimitError(scope, limits.max_state_bytes, size + growth)
        if stored is None and delta.session:
            size = wire_limits.state_bytes(delta.session)
            if size > limits.max_state_bytes:
                raise StateSizeLimitError("session", limits.max_state_bytes, size)
        if delta.app:
            self._app_state.setdefault(key.app_name, {}).update(delta.app)
            self._app_state_bytes[key.app_name] = self._app_state_bytes.get(key.app_name, 0) + app_growth
        if delta.user:
            self._user_state.setdefault(user, {}).update(delta.user)
            self._user_state_bytes[user] = self._user_state_bytes.get(user, 0) + user_growth
        if stored is not None and delta.session:
            stored.state.update(delta.session)
            stored.state_bytes += session_growth

    def _state_size(self, stored: _StoredSession) -> int:
        """What the session's merged state counts: its three scopes' sizes."""
        key = stored.key
        return (
            stored.state_bytes
            + self._user_state_bytes.get((key.app_name, key.user_id), 0)
            + self._app_state_bytes.get(key.app_name, 0)
        )

    def _indexes_of(self, key: SessionKey, order: OrderBy, *, create: bool = False) -> tuple[_Index, ...]:
        """The listing indexes of ``order`` that hold ``key``'s session: its app's and its user's."""
        app, user = (key.app_name, ""), (key.app_name, key.user_id)
        by_app, by_user = self._by_app[order], self._by_user[order]
        if create:
            return (by_app.setdefault(app, SortedList()), by_user.setdefault(user, SortedList()))
        return (by_app[app], by_user[user])

    def _record(self, stored: _StoredSession, events: list[StoredEvent]) -> SessionRecord:
        """A read of ``stored``: merged state as it is now, and the given events."""
        key = stored.key
        return SessionRecord(
            key=key,
            state=ScopedState(
                app=dict(self._app_state.get(key.app_name, {})),
                user=dict(self._user_state.get((key.app_name, key.user_id), {})),
                session=dict(stored.state),
            ),
            events=events,
            create_time=stored.create_time,
            last_update_time=stored.last_update_time,
            revision=stored.revision,
            expiry=stored.expiry,
            close_time=stored.close_time,
            metadata=stored.metadata,
            event_count=len(stored.events),
            stored_bytes=stored.events_bytes + stored.state_bytes,
            forked_from=stored.forked_from,
        )


def _name_page(
    names: Iterable[str], after: Cursor | None, page_size: int, keep: Callable[[str], bool]
) -> Page[str]:
    """The page of the ``names`` that ``keep`` keeps after the cursor ``after``, in code point order."""
    start = None if after is None else parse_name_cursor(after)
    ordered = sorted(name for name in names if start is None or name > start)
    kept = itertools.islice((name for name in ordered if keep(name)), page_size + 1)
    chosen = list(kept)
    if len(chosen) > page_size:
        return Page(chosen[:page_size], name_cursor(chosen[page_size - 1]))
    return Page(chosen, None)


def _fitting(events: list[StoredEvent], start: int, end: int, room: int, most: int) -> int:
    """Where a response of ``events[start:end]`` stops: at most ``most`` events, sizes within ``room``."""
    stop = start
    limit = min(end, start + most)
    while stop < limit:
        room -= events[stop].size
        if room < 0:
            break
        stop += 1
    return stop


def _copied(metadata: Metadata) -> Metadata:
    """``metadata`` with labels of its own: a caller's mapping may change after the call."""
    return metadata if metadata is NO_METADATA else Metadata(metadata.display_name, dict(metadata.labels))


def _meets(stored: _StoredSession, condition: Condition) -> bool:
    """Whether ``stored`` meets one condition of a filter (``Condition`` documents their values)."""
    operator, value = condition.operator, condition.value
    actual: str | float | bool | None
    match condition.field:
        case Field.DISPLAY_NAME:
            actual = stored.metadata.display_name
        case Field.LABEL:
            actual = stored.metadata.labels.get(condition.label)
            if operator is Operator.HAS:
                return actual is not None
            if actual is None:
                # "labels.k != v" keeps the sessions without the label; "=" does not.
                return operator is Operator.NE
        case Field.CREATE_TIME:
            actual = stored.create_time
        case Field.UPDATE_TIME:
            actual = stored.last_update_time
        case Field.CLOSED:
            actual = stored.close_time is not None
    return _compare(actual, operator, value)


def _compare(actual: str | float | bool, operator: Operator, value: str | float | bool | None) -> bool:
    if operator is Operator.EQ:
        return actual == value
    if operator is Operator.NE:
        return actual != value
    # The parser gives ordering operators only to times: numbers on both sides.
    if isinstance(actual, str) or isinstance(value, (str, type(None))):
        raise ValueError(f"{operator.value!r} compares times only")
    return bool(_ORDERINGS[operator](actual, value))


_ORDERINGS: Final = {
    Operator.LT: lt,
    Operator.LE: le,
    Operator.GT: gt,
    Operator.GE: ge,
}
