"""``memory://``: sessions kept in this process, for development and tests.

Every method runs without awaiting in between, so on one event loop each call
is atomic without locks. Nothing survives the process.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Self

from sortedcontainers import SortedList

from adk_grpc_sessions.server.backends.base import (
    AppendResult,
    Backend,
    EventCursor,
    EventIdConflictError,
    EventRecord,
    EventWindow,
    NewEvent,
    Page,
    ScopedState,
    SessionCursor,
    SessionExistsError,
    SessionKey,
    SessionNotFoundError,
    SessionPosition,
    SessionRecord,
    StaleRevisionError,
    StateMap,
)

_BY_POSITION = "the memory backend pages by position, never by storage page token"
_Index = SortedList[SessionPosition]
"""Sessions' positions (``_StoredSession.sort_key``) in listing order."""


@dataclass(slots=True)
class _StoredSession:
    key: SessionKey
    state: StateMap
    create_time: float
    last_update_time: float
    revision: int
    events: list[EventRecord] = field(default_factory=list)
    revision_after: list[int] = field(default_factory=list)
    """The session's revision right after each event: a retry's original result."""
    index_of_event: dict[str, int] = field(default_factory=dict)

    def sort_key(self) -> SessionPosition:
        return (self.last_update_time, self.key.user_id, self.key.session_id)


def first_index_after_older(events: list[EventRecord], after_timestamp: float) -> int:
    """Index just past the last event whose timestamp is before ``after_timestamp``.

    This is ADK's ``after_timestamp`` rule (scan back from the newest event,
    stop at the first one that is too old): for timestamps in append order it
    is simply "the events at or after after_timestamp".
    """
    for index in range(len(events) - 1, -1, -1):
        if events[index].timestamp < after_timestamp:
            return index + 1
    return 0


class MemoryBackend(Backend):
    """Keeps everything in dictionaries of this process."""

    def __init__(self) -> None:
        self._sessions: dict[SessionKey, _StoredSession] = {}
        # Listing indexes, in listing order (``sort_key``): every session of
        # an app, and of one user of an app. A page is then a range of one,
        # not a sort of all of an app's sessions (48 ms at 100,000).
        self._by_app: dict[str, _Index] = {}
        self._by_user: dict[tuple[str, str], _Index] = {}
        self._app_state: dict[str, StateMap] = {}
        self._user_state: dict[tuple[str, str], StateMap] = {}
        # One counter for every session, so a re-created session never
        # reuses a revision its deleted namesake handed out.
        self._revisions = itertools.count(1)

    @classmethod
    def from_uri(cls, uri: str) -> Self:
        """Accepts ``memory://`` (nothing may follow it)."""
        if uri.rstrip("/") not in ("memory:", "memory:/"):
            raise ValueError(f"a memory backend URI is exactly 'memory://', got {uri!r}")
        return cls()

    async def create_session(self, key: SessionKey, state: ScopedState, now: float) -> SessionRecord:
        """See ``Backend.create_session``."""
        if key in self._sessions:
            raise SessionExistsError(key)
        if state.app:
            self._app_state.setdefault(key.app_name, {}).update(state.app)
        if state.user:
            self._user_state.setdefault((key.app_name, key.user_id), {}).update(state.user)
        stored = _StoredSession(
            key=key,
            state=dict(state.session),
            create_time=now,
            last_update_time=now,
            revision=next(self._revisions),
        )
        self._sessions[key] = stored
        for index in self._indexes_of(key, create=True):
            index.add(stored.sort_key())
        return self._record(stored, [])

    async def get_session(self, key: SessionKey, window: EventWindow) -> SessionRecord | None:
        """See ``Backend.get_session``."""
        stored = self._sessions.get(key)
        if stored is None:
            return None
        events = stored.events
        if window.num_recent_events is not None:
            events = events[-window.num_recent_events :] if window.num_recent_events else []
        if window.after_timestamp is not None:
            events = events[first_index_after_older(events, window.after_timestamp) :]
        return self._record(stored, list(events))

    async def list_sessions(
        self, app_name: str, user_id: str | None, page_size: int, after: SessionCursor | None
    ) -> Page[SessionRecord, SessionCursor]:
        """See ``Backend.list_sessions``."""
        index = self._by_app.get(app_name) if user_id is None else self._by_user.get((app_name, user_id))
        positions: Iterator[SessionPosition] = iter(())
        if index is not None:
            if after is None:
                positions = iter(index)
            elif isinstance(after, str):
                raise TypeError(_BY_POSITION)
            else:
                positions = index.irange(minimum=after, inclusive=(False, True))
        # One more than a page tells whether another page follows.
        chosen = list(itertools.islice(positions, page_size + 1))
        has_more = len(chosen) > page_size
        chosen = chosen[:page_size]
        return Page(
            items=[
                self._record(self._sessions[SessionKey(app_name, user, session_id)], [])
                for _, user, session_id in chosen
            ],
            next_cursor=chosen[-1] if has_more else None,
        )

    async def delete_session(self, key: SessionKey) -> None:
        """See ``Backend.delete_session``."""
        stored = self._sessions.pop(key, None)
        if stored is None:
            return
        position = stored.sort_key()
        for index in self._indexes_of(key):
            index.remove(position)
        # An app or user left without sessions leaves no empty index behind.
        if not self._by_app[key.app_name]:
            del self._by_app[key.app_name]
        if not self._by_user[(key.app_name, key.user_id)]:
            del self._by_user[(key.app_name, key.user_id)]

    async def append_event(self, key: SessionKey, event: NewEvent, expected_revision: int) -> AppendResult:
        """See ``Backend.append_event``."""
        stored = self._sessions.get(key)
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
                last_update_time=original.timestamp,
                already_applied=True,
            )
        if expected_revision != stored.revision:
            raise StaleRevisionError(key, expected_revision, stored.revision)

        delta = event.state_delta
        if delta.app:
            self._app_state.setdefault(key.app_name, {}).update(delta.app)
        if delta.user:
            self._user_state.setdefault((key.app_name, key.user_id), {}).update(delta.user)
        stored.state.update(delta.session)
        record = event.stored_at(len(stored.events) + 1)
        stored.revision = next(self._revisions)
        if event.timestamp != stored.last_update_time:
            before = stored.sort_key()
            stored.last_update_time = event.timestamp
            for listing in self._indexes_of(key):
                listing.remove(before)
                listing.add(stored.sort_key())
        stored.index_of_event[event.id] = len(stored.events)
        stored.events.append(record)
        stored.revision_after.append(stored.revision)
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
        after: EventCursor | None,
    ) -> Page[EventRecord, EventCursor]:
        """See ``Backend.list_events``."""
        stored = self._sessions.get(key)
        if stored is None:
            raise SessionNotFoundError(key)
        start = 0 if after_timestamp is None else first_index_after_older(stored.events, after_timestamp)
        # Sequence n sits at index n - 1, so the cursor is also an index.
        if after is not None:
            if isinstance(after, str):
                raise TypeError(_BY_POSITION)
            start = max(start, after)
        chosen = stored.events[start : start + page_size]
        has_more = start + page_size < len(stored.events)
        return Page(items=list(chosen), next_cursor=chosen[-1].sequence if has_more and chosen else None)

    async def get_user_state(self, app_name: str, user_id: str) -> StateMap:
        """See ``Backend.get_user_state``."""
        return dict(self._user_state.get((app_name, user_id), {}))

    async def get_app_state(self, app_name: str) -> StateMap:
        """See ``Backend.get_app_state``."""
        return dict(self._app_state.get(app_name, {}))

    def _indexes_of(self, key: SessionKey, *, create: bool = False) -> tuple[_Index, ...]:
        """The listing indexes that hold ``key``'s session: its app's and its user's."""
        user = (key.app_name, key.user_id)
        if create:
            return (
                self._by_app.setdefault(key.app_name, SortedList()),
                self._by_user.setdefault(user, SortedList()),
            )
        return (self._by_app[key.app_name], self._by_user[user])

    def _record(self, stored: _StoredSession, events: list[EventRecord]) -> SessionRecord:
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
        )
