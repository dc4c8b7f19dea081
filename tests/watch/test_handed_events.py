"""Events an append of this process committed reach its watchers without a storage read, and gaps are read.

In process, on the backends whose appends hand the watch layer what they
committed (memory and SQLite; PostgreSQL's and MariaDB's take the same path
and are covered by the end-to-end watch suite): the hub of a session offers
handed events that follow on from what it offered, reads storage for
anything else, and never offers an event twice, out of order, or one that
was not committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import pathlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from adk_grpc_sessions.server.api.watch import Watchers
from adk_grpc_sessions.server.backends.base import (
    Backend,
    BackendUnavailableError,
    EventWindow,
    NewEvent,
    ReadBudget,
    ScopedState,
    SessionKey,
    StaleRevisionError,
    WatchRead,
)
from adk_grpc_sessions.server.backends.memory import MemoryBackend
from adk_grpc_sessions.server.backends.sql import SqlBackend
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from tests.watch.conftest import eventually

KEY = SessionKey("app", "user", "session")
_WAIT = 20.0


def _event(number: int) -> NewEvent:
    body = {"id": f"e{number}", "author": "agent", "timestamp": 1_700_000_000.0 + number}
    return NewEvent(
        id=f"e{number}",
        invocation_id="inv",
        author="agent",
        branch="",
        timestamp=1_700_000_000.0 + number,
        state_delta=ScopedState(),
        event_json=json.dumps(body),
    )


class _CountedReads:
    """Counts the backend's ``read_watched`` calls (the hub's and the backlog's)."""

    def __init__(self, backend: Backend) -> None:
        self.count = 0
        self.failures = 0
        """How many of the next reads fail as if storage were unreachable."""
        self._read = backend.read_watched

    async def __call__(self, key: SessionKey, after_revision: int, *, budget: ReadBudget) -> WatchRead:
        self.count += 1
        if self.failures:
            self.failures -= 1
            raise BackendUnavailableError("storage unreachable (the test's)")
        return await self._read(key, after_revision, budget=budget)


class _Watch:
    """One in-process watch stream, read into ``ids`` and ``revisions`` by a task of its own."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.revisions: list[int] = []
        self.caught_up = asyncio.Event()
        self.ended: list[pb.WatchEnded.Reason.ValueType] = []
        self.error: BaseException | None = None

    async def read(self, watchers: Watchers, after_revision: int = 0) -> None:
        try:
            async for data in watchers.stream(KEY, after_revision):
                message = pb.WatchSessionResponse.FromString(data)
                if message.HasField("caught_up"):
                    self.caught_up.set()
                if message.HasField("ended"):
                    self.ended.append(message.ended.reason)
                for watched in message.events.events:
                    self.ids.append(watched.event.id)
                    self.revisions.append(watched.revision)
        except Exception as exc:
            self.error = exc

    async def wait_for(self, count: int) -> None:
        async def arrived() -> bool:
            return len(self.ids) >= count or self.error is not None

        await eventually(arrived, _WAIT)


@pytest.fixture(params=["memory", "sqlite"])
async def backend(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> AsyncIterator[Backend]:
    """A started backend with one empty session, ``KEY``."""
    opened: Backend
    if request.param == "memory":
        opened = MemoryBackend()
    else:
        opened = SqlBackend.from_uri(f"sqlite:///{tmp_path / 'sessions.db'}")
        await opened.upgrade_schema()
    await opened.start()
    await opened.create_session(KEY, ScopedState(), 1_700_000_000.0)
    yield opened
    await opened.close()


_listeners: dict[Backend, Watchers] = {}
"""The watch layer listening to each backend's changes (``_watching``'s)."""


@contextlib.asynccontextmanager
async def _watching(backend: Backend) -> AsyncIterator[tuple[_Watch, _CountedReads]]:
    """A watch of ``KEY`` that has caught up, and the count of storage reads from then on."""
    reads = _CountedReads(backend)
    backend.read_watched = reads  # type: ignore[method-assign]  # counted, then the real read
    watchers = Watchers(backend, response_bytes=4 * 1024 * 1024, buffer_bytes=64 * 1024 * 1024)
    _listeners[backend] = watchers
    watch = _Watch()
    task = asyncio.create_task(watch.read(watchers))
    try:
        async with asyncio.timeout(_WAIT):
            await watch.caught_up.wait()
        yield watch, reads
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        backend.changes.listen(None)


async def _revision(backend: Backend) -> int:
    session = await backend.get_session(KEY, EventWindow(num_recent_events=0))
    assert session is not None
    return session.revision


async def _append(backend: Backend, number: int) -> int:
    """Appends event ``number`` at the session's revision now; returns its revision after."""
    result = await backend.append_event(KEY, _event(number), await _revision(backend))
    return result.revision


async def _unwatched(backend: Backend, append: Callable[[], Awaitable[object]]) -> None:
    """Runs ``append`` with the watch layer told nothing of it (a change another server made)."""
    listener = _listeners[backend]
    backend.changes.listen(None)
    try:
        await append()
    finally:
        backend.changes.listen(listener)


async def test_appends_of_this_process_reach_watchers_without_a_storage_read(backend: Backend) -> None:
    async with _watching(backend) as (watch, reads):
        await _append(backend, 0)  # the first live round learns where storage stands: one read
        await watch.wait_for(1)
        read_before = reads.count
        revisions = [await _append(backend, number) for number in range(1, 11)]
        await watch.wait_for(11)
        assert watch.error is None
        assert watch.ids == [f"e{n}" for n in range(11)]
        assert watch.revisions[1:] == revisions
        assert reads.count == read_before


async def test_a_gap_in_what_was_handed_is_read_from_storage_in_order(backend: Backend) -> None:
    async with _watching(backend) as (watch, reads):
        await _append(backend, 0)
        await watch.wait_for(1)
        read_before = reads.count
        await _unwatched(backend, lambda: _append(backend, 1))
        await _append(backend, 2)
        await watch.wait_for(3)
        assert watch.error is None
        assert watch.ids == ["e0", "e1", "e2"]
        assert reads.count == read_before + 1


async def test_events_handed_out_of_order_are_offered_in_order_once(backend: Backend) -> None:
    async with _watching(backend) as (watch, reads):
        await _append(backend, 0)
        await watch.wait_for(1)
        stored = []

        async def store_two() -> None:
            for number in (1, 2):
                result = await backend.append_event(KEY, _event(number), await _revision(backend))
                stored.append(result)

        await _unwatched(backend, store_two)
        read_before = reads.count
        # Told in the wrong order in one step of the loop: the hub waits for what follows on.
        for result in reversed(stored):
            backend.changes.appended(KEY, result.event, result.revision)
        await _append(backend, 3)
        await watch.wait_for(4)
        await asyncio.sleep(0.05)
        assert watch.error is None
        assert watch.ids == ["e0", "e1", "e2", "e3"]
        assert reads.count == read_before


async def test_refused_and_retried_appends_never_reach_a_watcher_twice_or_at_all(backend: Backend) -> None:
    async with _watching(backend) as (watch, _):
        stale = await _revision(backend)
        await _append(backend, 0)
        with pytest.raises(StaleRevisionError):
            await backend.append_event(KEY, _event(1), stale)
        retried = await backend.append_event(KEY, _event(0), stale)  # a retry of e0: its original result
        assert retried.already_applied
        await _append(backend, 2)
        await watch.wait_for(2)
        await asyncio.sleep(0.05)
        assert watch.error is None
        assert watch.ids == ["e0", "e2"]


async def test_concurrent_appenders_watchers_get_every_committed_event_once_in_storage_order(
    backend: Backend,
) -> None:
    appenders, each = 4, 12

    async def appender(first: int) -> None:
        for number in range(first, first + each):
            while True:
                try:
                    await _append(backend, number)
                    break
                except StaleRevisionError:
                    await asyncio.sleep(0)

    async with _watching(backend) as (watch, _):
        await asyncio.gather(*(appender(n * 100) for n in range(appenders)))
        await watch.wait_for(appenders * each)
        await asyncio.sleep(0.05)
        everything = await backend.read_watched(KEY, 0, budget=ReadBudget())
        assert watch.error is None
        assert watch.ids == [w.event.id for w in everything.events]
        assert watch.revisions == [w.revision for w in everything.events]


async def test_a_change_whose_read_failed_is_read_again_though_nothing_was_handed(backend: Backend) -> None:
    async with _watching(backend) as (watch, reads):
        await _append(backend, 0)
        await watch.wait_for(1)
        reads.failures = 1
        await backend.close_session(KEY, 1_700_000_100.0, None)

        async def ended() -> bool:
            return bool(watch.ended) or watch.error is not None

        await eventually(ended, _WAIT)
        assert watch.error is None
        assert watch.ended == [pb.WatchEnded.REASON_CLOSED]
        assert watch.ids == ["e0"]


async def test_a_notice_of_an_event_already_handed_calls_for_no_read(backend: Backend) -> None:
    async with _watching(backend) as (watch, reads):
        await _append(backend, 0)
        await watch.wait_for(1)
        read_before = reads.count
        revisions = [await _append(backend, number) for number in (1, 2)]
        # The database's notifications of this server's own appends, before and after their round.
        backend.changes.changed(KEY, revisions[0])
        await watch.wait_for(3)
        backend.changes.changed(KEY, revisions[0])
        backend.changes.changed(KEY, revisions[1])
        await _append(backend, 3)
        await watch.wait_for(4)
        await asyncio.sleep(0.05)
        assert watch.error is None
        assert watch.ids == ["e0", "e1", "e2", "e3"]
        assert reads.count == read_before
