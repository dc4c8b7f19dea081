"""A lone write on SQLite: the threads that run transactions.

The threads take work from one queue and hand results back to the event
loop themselves; what a caller sees must be what any executor gives: the
result, the work's own exception, and a clean end on close.
"""

from __future__ import annotations

import asyncio
import pathlib
import threading
import time
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.errors import BackendUnavailableError
from adk_grpc_sessions.server.backends.sql.dialects import database_url
from adk_grpc_sessions.server.backends.sql.transactions.sqlite import SqliteThreads

_NAME = "lone-path-test"


@pytest.fixture
async def readers(tmp_path: pathlib.Path) -> AsyncIterator[SqliteThreads]:
    """Two reader threads on a new SQLite file, closed after the test."""
    threads = SqliteThreads(
        database_url(f"sqlite:///{tmp_path / 'threads.db'}"), threads=2, begin="DEFERRED", name=_NAME
    )
    await threads.prepare()
    yield threads
    await threads.close()


def _alive() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(_NAME)]


async def test_work_run_in_a_thread_hands_its_result_to_the_caller(readers: SqliteThreads) -> None:
    done: list[int] = []

    await readers.run(lambda connection: connection.execute(sa.text("SELECT 41 + 1")).scalar_one(), done)

    assert done == [42]


async def test_work_that_raises_raises_its_own_exception_in_the_caller(readers: SqliteThreads) -> None:
    def fail(connection: sa.Connection) -> int:
        raise LookupError("from the thread")

    with pytest.raises(LookupError, match="from the thread"):
        await readers.run(fail, [])
    done: list[int] = []
    await readers.run(lambda connection: 7, done)
    assert done == [7], "the thread serves on after a failure"


async def test_a_caller_that_gives_up_leaves_the_threads_serving(readers: SqliteThreads) -> None:
    waiting = asyncio.create_task(readers.run(lambda connection: time.sleep(0.2), []))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting

    results: list[int] = []
    await asyncio.gather(*(readers.run(lambda connection, n=n: n, results) for n in range(4)))

    assert sorted(results) == [0, 1, 2, 3]


async def test_work_queued_before_close_is_done_and_the_threads_end(tmp_path: pathlib.Path) -> None:
    threads = SqliteThreads(
        database_url(f"sqlite:///{tmp_path / 'threads.db'}"), threads=2, begin="DEFERRED", name=_NAME
    )
    await threads.prepare()
    done: list[int] = []

    def slow_read(connection: sa.Connection, n: int) -> int:
        time.sleep(0.02)
        return int(connection.execute(sa.text("SELECT :n"), {"n": n}).scalar_one())

    queued = [
        asyncio.create_task(threads.run(lambda connection, n=n: slow_read(connection, n), done))
        for n in range(6)
    ]
    await asyncio.sleep(0)  # every one is queued
    await threads.close()

    await asyncio.gather(*queued)
    assert sorted(done) == list(range(6))
    assert _alive() == []


async def test_work_asked_for_after_close_fails_as_unavailable(readers: SqliteThreads) -> None:
    await readers.close()

    with pytest.raises(BackendUnavailableError, match="closed"):
        await readers.run(lambda connection: 1, [])
    await readers.close()  # again: nothing happens
