"""``adk-grpc-sessions copy``: SQLite -> PostgreSQL -> MariaDB -> SQLite, killed mid-way and resumed, every row compared.

The source holds thousands of sessions: most small, some with big or unicode
events, state and ids, forks, closed and expiring sessions with metadata, and
one session of thousands of events. The first hop runs as a user runs it (a
process of its own), is killed with SIGKILL while it copies, and is run
again; every database is then compared with the source, row by row, through
the tables themselves (every column but the surrogate keys and the
revisions, which SQL derives from them).
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import signal
import sys
import time
from typing import Any

import pytest
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    Backend,
    RestoredSession,
    ScopedState,
    SessionKey,
)
from adk_grpc_sessions.server.backends.sql import SqlBackend, schema
from adk_grpc_sessions.server.cli.copy import copy
from adk_grpc_sessions.server.cli.transfer import Report, restorable_event
from tests.ops.transfer_data import (
    RICH_EVENTS,
    RICH_SESSIONS,
    event_json,
    fill,
    quiet,
    started_backend,
    table_rows,
)
from tests.sql.conftest import new_database_uri

pytestmark = pytest.mark.slow

SMALL_SESSIONS = 1500
BIG_SESSION_EVENTS = 3000


async def _held_sessions(uri: str) -> int:
    backend = SqlBackend.from_uri(uri)
    try:
        async with backend.transaction(write=False) as connection:
            try:
                return int(
                    (
                        await connection.execute(sa.select(sa.func.count()).select_from(schema.sessions))
                    ).scalar_one()
                )
            except sa.exc.DBAPIError:
                return 0  # its tables are not made yet
    finally:
        await backend.engine.dispose()


async def _copy_killed_then_resumed(source: str, destination: str, total: int) -> None:
    """``copy`` as a process, SIGKILLed once it has written part of the sessions, then run again."""
    command = [
        sys.executable,
        "-m",
        "adk_grpc_sessions.server.cli",
        "copy",
        "--from",
        source,
        "--to",
        destination,
    ]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while await _held_sessions(destination) < total // 5:
        assert time.monotonic() < deadline and process.returncode is None, "the copy did not get going"
        await asyncio.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    assert process.returncode == -signal.SIGKILL
    held_when_killed = await _held_sessions(destination)
    assert 0 < held_when_killed < total
    rerun = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(rerun.communicate(), timeout=300)
    assert rerun.returncode == 0, err.decode()
    summary = err.decode()
    assert "verified" in summary and f"{total:,} sessions" in summary, summary
    assert await _held_sessions(destination) == total


async def test_copy_through_every_database_is_exact_and_resumes_after_a_kill(tmp_path: pathlib.Path) -> None:
    source_uri = await new_database_uri("sqlite", tmp_path)
    postgres_uri = await new_database_uri("postgresql", tmp_path)
    mariadb_uri = await new_database_uri("mariadb", tmp_path)
    back_uri = f"sqlite:///{tmp_path / 'back.db'}"
    source = await started_backend(source_uri)
    try:
        await fill(source, SMALL_SESSIONS, BIG_SESSION_EVENTS)
        expected = await table_rows(source)
    finally:
        await source.close()
    total = len(expected["sessions"])
    assert total == RICH_SESSIONS + SMALL_SESSIONS + 1
    assert len(expected["events"]) == RICH_EVENTS + SMALL_SESSIONS * 3 // 2 + BIG_SESSION_EVENTS

    started = time.perf_counter()
    await _copy_killed_then_resumed(source_uri, postgres_uri, total)
    reports: list[Report] = []
    for hop_from, hop_to in ((postgres_uri, mariadb_uri), (mariadb_uri, back_uri)):
        report = await copy(hop_from, hop_to, console=quiet())
        assert report.problems == [] and report.sessions == total
        reports.append(report)
    print(
        f"copy: {len(expected['events'])} events in {total} sessions, three hops in "
        f"{time.perf_counter() - started:.1f} s; PostgreSQL -> MariaDB {total / reports[0].seconds:.0f} "
        f"sessions/s, {reports[0].events / reports[0].seconds:.0f} events/s"
    )
    for uri in (postgres_uri, mariadb_uri, back_uri):
        backend = await started_backend(uri)
        try:
            rows = await table_rows(backend)
        finally:
            await backend.close()
        for table, expected_rows in expected.items():
            assert rows[table] == expected_rows, (uri, table)


async def test_a_copy_into_a_session_that_is_not_the_sources_reports_it_and_exits_1(
    tmp_path: pathlib.Path,
) -> None:
    source_uri, destination_uri = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    for uri, create_time in ((source_uri, 1.0), (destination_uri, 2.0)):
        backend = await started_backend(uri)
        await backend.create_session(SessionKey("app", "u", "s"), ScopedState(), create_time)
        await backend.close()
    report = await copy(source_uri, destination_uri, console=quiet())
    assert len(report.problems) == 1 and "another session of that name" in report.problems[0]
    done = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adk_grpc_sessions.server.cli",
        "copy",
        "--from",
        source_uri,
        "--to",
        destination_uri,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )
    _, err = await done.communicate()
    assert done.returncode == 1
    assert "verification failed" in err.decode()


async def test_copy_from_a_store_that_cannot_be_listed_is_one_line_and_exit_2(tmp_path: pathlib.Path) -> None:
    done = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adk_grpc_sessions.server.cli",
        "copy",
        "--from",
        "nosuch://x",
        "--to",
        "memory://",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await done.communicate()
    assert done.returncode == 2
    assert err.decode().count("\n") == 1 and "unknown backend URI scheme" in err.decode()


async def test_an_interrupted_session_resumes_where_its_stored_events_end(tmp_path: pathlib.Path) -> None:
    """In process, deterministic: the destination fails after its second chunk of a big session."""
    source_uri, destination_uri = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    source = await started_backend(source_uri)
    key = SessionKey("app", "u", "big")
    events = [restorable_event(event_json(f"e{n}", 10.0 + n, "i", "t", {"n": n})) for n in range(1_600)]
    await source.restore_session(RestoredSession(key, 1.0, 2.0, 0, {"n": "1599"}, {}, 1_600), events[:500])
    for first in range(500, 1_600, 500):
        await source.restore_events(key, first + 1, events[first : first + 500])
    await source.close()

    class _InterruptedError(Exception):
        pass

    calls = 0
    original = SqlBackend.restore_events

    async def failing(self: Backend, key: SessionKey, first_sequence: int, chunk: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise _InterruptedError
        await original(self, key, first_sequence, chunk)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SqlBackend, "restore_events", failing)
        with pytest.raises(_InterruptedError):
            await copy(source_uri, destination_uri, console=quiet())
    destination = await started_backend(destination_uri)
    held = await destination.read_session_head(key)
    await destination.close()
    assert held is not None and held.event_count == 1_000  # the create's chunk and the first restore_events
    report = await copy(source_uri, destination_uri, console=quiet())
    assert report.problems == [] and report.sessions_written == 0 and report.events_written == 600
