"""Events already read, kept per session, so that the next read of a session fetches only what is new.

An agent reads its whole session at every turn, and the session grows by a
few events a turn: on SQLite, fetching every row again and building its
event costs more than all the rest of the read. A stored event never
changes: its row, found by ``(session_pk, sequence)``, holds the same event
for as long as it exists, and ``session_pk`` is never handed out twice (see
``schema``), so events read once may be served again without asking the
database whether they changed. The database still decides everything
else: each read finds the session's row in its own snapshot (whether it
exists, has expired, how many events it holds), and only events that row
counts are returned; the newer ones are fetched in the same snapshot.

Each session's entry is a run of consecutive events, under the session's
name, and serves only the row it was read for (the same ``session_pk``
and creation time: a second guard against a key seen again, in a database
whose tables were made anew). Entries go least recently read first once
the events kept pass ``max_bytes``; a session this server deletes,
purges or erases has its entry dropped at once (an entry a read was
making meanwhile may come back, never to be served: no row is that
session any more). Used by SQLite's reads, which run in several reader
threads: the entries change under a lock, and an entry's list is
replaced, never changed, so a list handed out stays as it was.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from sys import getsizeof
from typing import Final

from adk_grpc_sessions.server.backends.base import (
    DEFAULT_EVENT_CACHE_BYTES,
    EventCacheStats,
    SessionKey,
    StoredEvent,
)

EVENT_OVERHEAD_BYTES: Final = 110
"""What an event kept takes beyond its text and bytes: its object, its sequence, its place in a list."""

Fetch = Callable[[int, int], list[StoredEvent]]
"""Reads a session's events from sequence ``first`` to ``last`` (both included), in order."""


def kept_bytes(events: Sequence[StoredEvent]) -> int:
    """What ``events`` take in memory, as the cache counts them against its bound."""
    # The objects' sizes, not their lengths: text outside Latin-1 takes two or four bytes a character.
    return sum(
        getsizeof(event.id) + getsizeof(event.event_json) + getsizeof(event.wire_cache) + EVENT_OVERHEAD_BYTES
        for event in events
    )


@dataclass(slots=True)
class _Run:
    """A session's consecutive events kept, from sequence ``first`` on, read for its row ``session_pk``."""

    session_pk: int
    create_time: float
    first: int
    events: list[StoredEvent]
    size: int

    @property
    def last(self) -> int:
        """The sequence of the last event kept (``first - 1`` for none)."""
        return self.first + len(self.events) - 1


class EventCache:
    """A bounded map of each session's key to the run of its events read last (see the module)."""

    def __init__(self, max_bytes: int = DEFAULT_EVENT_CACHE_BYTES) -> None:
        """Keeps at most ``max_bytes`` of events (``kept_bytes``); 0 keeps none."""
        self._max_bytes = max_bytes
        self._runs: OrderedDict[SessionKey, _Run] = OrderedDict()
        self._size = 0
        self._served = 0
        self._fetched = 0
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """What the events kept count now (``kept_bytes``)."""
        return self._size

    def stats(self) -> EventCacheStats:
        """What is kept now, and how many events reads were served from it and fetched since it was made."""
        with self._lock:
            return EventCacheStats(self._size, self._served, self._fetched)

    def events(
        self, key: SessionKey, session_pk: int, create_time: float, first: int, last: int, fetch: Fetch
    ) -> list[StoredEvent]:
        """The session ``key``'s events from sequence ``first`` to ``last``: those kept, then ``fetch``'s.

        ``session_pk`` and ``create_time`` are of the session's row, and
        ``last`` at most its last sequence, as the caller's snapshot has
        them; ``fetch`` reads in that snapshot.
        """
        if last < first:
            return []
        with self._lock:
            run = self._runs.get(key)
            if run is not None and run.session_pk == session_pk and run.create_time == create_time:
                self._runs.move_to_end(key)
            else:
                run = None
        if run is None or run.first > first or run.last < first - 1:
            fetched = fetch(first, last)
            self._count(0, len(fetched))
            if _consecutive(fetched, first, last):
                self._keep(key, _Run(session_pk, create_time, first, fetched, kept_bytes(fetched)), None)
            return fetched
        start = first - run.first
        if run.last >= last:
            self._count(last - first + 1, 0)
            return run.events[start : last - run.first + 1]
        newer = fetch(run.last + 1, last)
        self._count(run.last - first + 1, len(newer))
        if not _consecutive(newer, run.last + 1, last):
            return run.events[start:] + newer
        grown = _Run(session_pk, create_time, run.first, run.events + newer, run.size + kept_bytes(newer))
        self._keep(key, grown, run)
        return grown.events[start:]

    def _count(self, served: int, fetched: int) -> None:
        with self._lock:
            self._served += served
            self._fetched += fetched

    def appended(self, key: SessionKey, event: StoredEvent) -> None:
        """Adds ``event``, just committed to the session ``key``, to its run if it follows on from it.

        The run is taken to be of the session the event went to: should it be
        of an earlier session of that name (deleted by another server), the
        next read finds another ``session_pk`` on the row and reads afresh.
        """
        with self._lock:
            run = self._runs.get(key)
            if run is None or run.last != event.sequence - 1:
                return
            size = kept_bytes([event])
            if run.size + size > self._max_bytes:
                return
            # A new run, not the old one grown in place: a list handed out stays as it was.
            self._runs[key] = _Run(
                run.session_pk, run.create_time, run.first, [*run.events, event], run.size + size
            )
            self._runs.move_to_end(key)
            self._size += size
            while self._size > self._max_bytes:
                _, dropped = self._runs.popitem(last=False)
                self._size -= dropped.size

    def forget(self, key: SessionKey) -> None:
        """Drops the events kept of the session ``key`` (it was deleted or purged)."""
        with self._lock:
            self._drop(key)

    def forget_user(self, app_name: str, user_id: str) -> None:
        """Drops the events kept of every session of the user ``user_id`` in ``app_name`` (erased)."""
        with self._lock:
            for key in [key for key in self._runs if key.app_name == app_name and key.user_id == user_id]:
                self._drop(key)

    def _drop(self, key: SessionKey) -> None:
        """Drops the session's entry, if any (under the lock)."""
        dropped = self._runs.pop(key, None)
        if dropped is not None:
            self._size -= dropped.size

    def _keep(self, key: SessionKey, run: _Run, replaced: _Run | None) -> None:
        """Keeps ``run`` for the session, unless another read has kept as much of it since ``replaced``."""
        if run.size > self._max_bytes:
            return
        with self._lock:
            held = self._runs.get(key)
            if (
                held is not None
                and held is not replaced
                and held.session_pk == run.session_pk
                and held.create_time == run.create_time
                and held.first <= run.first
                and held.last >= run.last
            ):
                return
            self._drop(key)
            self._runs[key] = run
            self._size += run.size
            while self._size > self._max_bytes:
                _, dropped = self._runs.popitem(last=False)
                self._size -= dropped.size


def _consecutive(events: Sequence[StoredEvent], first: int, last: int) -> bool:
    """Whether ``events`` are exactly the sequences ``first`` to ``last``, in order."""
    return len(events) == last - first + 1 and events[0].sequence == first and events[-1].sequence == last
