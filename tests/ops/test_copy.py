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
import io
import json
import os
import pathlib
import signal
import sys
import time
from typing import Any

import pytest
import sqlalchemy as sa
from rich.console import Console

from adk_grpc_sessions.server.backends.base import (
    Backend,
    Expiry,
    Metadata,
    RestoredSession,
    ScopedState,
    SessionKey,
)
from adk_grpc_sessions.server.backends.sql import SqlBackend, schema
from adk_grpc_sessions.server.cli.copy import copy
from adk_grpc_sessions.server.cli.transfer import Report, restorable_event
from tests.sql.conftest import new_database_uri

pytestmark = pytest.mark.slow

SMALL_SESSIONS = 2000
BIG_SESSION_EVENTS = 3000
_FAR = 4_000_000_000.0
"""An expiry that has not come (2096): expiring sessions are copied, not skipped."""


def _event(event_id: str, timestamp: float, invocation: str, text: str, delta: dict[str, Any] | None) -> str:
    event: dict[str, Any] = {
        "id": event_id,
        "invocationId": invocation,
        "author": "agent" if event_id.endswith("a") else "user",
        "timestamp": timestamp,
        "content": {"role": "model", "parts": [{"text": text}]},
    }
    if delta:
        event["actions"] = {"stateDelta": delta}
    return json.dumps(event, ensure_ascii=False)


async def _fill(backend: SqlBackend) -> None:
    """The source: rich sessions made through the API's calls, then many small ones and a big one restored."""
    now = backend.clock()
    for number in range(40):
        app = ["café ☕", "shop", "zoo 🦓"][number % 3]
        key = SessionKey(app, f"ü-{number % 7} 😀", f"rich-{number}")
        record = await backend.create_session(
            key,
            ScopedState(
                app={"ver": str(number)}, user={"name": '"Zoë"'}, session={"big": str(2**70 + number)}
            ),
            1_700_000_000.0 + number,
            expiry=Expiry(_FAR + number, 86_400.0 * (number % 2) or None) if number % 4 == 0 else Expiry(),
            metadata=Metadata(f"chat #{number} 💬", {"team": "search", "n": str(number)})
            if number % 3
            else Metadata(),
        )
        revision = record.revision
        for e in range(4):
            text = "日本語のテキスト " * (12_000 if (number, e) == (5, 2) else 3)  # one event of ~300 KB
            event = restorable_event(
                _event(
                    f"{number}-{e}{'a' * (e % 2)}",
                    1_700_000_100.0 + number + e / 8,
                    f"inv-{e // 2}",
                    text,
                    {"k": e, "app:seen": number},
                )
            )
            revision = (await backend.append_event(key, event, revision)).revision
        if number % 10 == 1:
            await backend.fork_session(key, f"fork-{number}", 1_700_000_500.0, before_invocation_id="inv-1")
        if number % 5 == 2:
            await backend.close_session(key, 1_700_000_600.0, None)
    for number in range(SMALL_SESSIONS):
        key = SessionKey(f"app-{number % 4}", f"user-{number % 97}", f"s-{number:05}")
        events = [
            restorable_event(
                _event(f"e{number}-{e}", 1_700_001_000.0 + number + e, "i", f"hi {number}", None)
            )
            for e in range(1 + number % 2)
        ]
        head = RestoredSession(
            key=key,
            create_time=1_700_001_000.0 + number,
            last_update_time=1_700_001_001.0 + number,
            revision=0,
            state={"n": str(number)},
            initial_state={},
            event_count=len(events),
            expiry=Expiry(_FAR) if number % 50 == 0 else Expiry(),
        )
        await backend.restore_session(head, events)
    big = SessionKey("a-big", "user", "big")
    events = [
        restorable_event(_event(f"b{n}", 1_700_002_000.0 + n / 1000, f"i{n // 100}", "x" * 800, {"n": n}))
        for n in range(BIG_SESSION_EVENTS)
    ]
    await backend.restore_session(
        RestoredSession(big, 1_700_002_000.0, 1_700_002_003.0, 0, {"n": "2999"}, {}, BIG_SESSION_EVENTS),
        events[:500],
    )
    for first in range(500, BIG_SESSION_EVENTS, 500):
        await backend.restore_events(big, first + 1, events[first : first + 500])
    await backend.restore_shared_state("only-state", None, {"a": '"app only"'})
    await backend.restore_shared_state("only-state", "someone", {"u": "[1, 2]"})
    assert now  # the clock was read: expiry above is judged against it


async def _rows(backend: SqlBackend) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, by names, without surrogate keys and revisions (derived from keys)."""
    s, e = schema.sessions, schema.events
    name = (s.c.app_name, s.c.user_id, s.c.session_id)
    session_columns = [c for c in s.c if c.name not in ("session_pk", "revision")]
    event_columns = [c for c in e.c if c.name not in ("event_pk", "session_pk")]
    queries = {
        "sessions": sa.select(*session_columns).order_by(*name),
        "events": sa.select(*name, *event_columns)
        .join(s, s.c.session_pk == e.c.session_pk)
        .order_by(*name, e.c.sequence),
        "session_state": sa.select(*name, *[c for c in schema.session_state.c if c.name != "session_pk"])
        .join(s, s.c.session_pk == schema.session_state.c.session_pk)
        .order_by(*name, schema.session_state.c.key_digest),
        "labels": sa.select(*name, schema.session_labels.c.label_key, schema.session_labels.c.label_value)
        .join(s, s.c.session_pk == schema.session_labels.c.session_pk)
        .order_by(*name, schema.session_labels.c.label_key),
        "user_state": sa.select(schema.user_state).order_by(*schema.user_state.primary_key.columns),
        "app_state": sa.select(schema.app_state).order_by(*schema.app_state.primary_key.columns),
        "user_state_size": sa.select(
            schema.user_state_size.c.app_name,
            schema.user_state_size.c.user_id,
            schema.user_state_size.c.state_bytes,
        )
        .where(schema.user_state_size.c.state_bytes > 0)
        .order_by(schema.user_state_size.c.app_name, schema.user_state_size.c.user_id),
        "app_state_size": sa.select(schema.app_state_size.c.app_name, schema.app_state_size.c.state_bytes)
        .where(schema.app_state_size.c.state_bytes > 0)
        .order_by(schema.app_state_size.c.app_name),
    }
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with backend.transaction(write=False) as connection:
        for table, query in queries.items():
            fetched = (await connection.execute(query)).all()
            # Names are ordered in code point order by every database (KeyString): no sort here.
            rows[table] = [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in fetched
            ]
    return rows


async def _started(uri: str) -> SqlBackend:
    backend = SqlBackend.from_uri(uri)
    await backend.upgrade_schema()
    await backend.start()
    return backend


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


def _quiet() -> Console:
    return Console(file=io.StringIO(), force_terminal=False)


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
    source = await _started(source_uri)
    try:
        await _fill(source)
        expected = await _rows(source)
    finally:
        await source.close()
    total = len(expected["sessions"])
    assert total == 40 + 4 + SMALL_SESSIONS + 1
    assert len(expected["events"]) == 40 * 4 + 4 * 2 + SMALL_SESSIONS * 3 // 2 + BIG_SESSION_EVENTS

    started = time.perf_counter()
    await _copy_killed_then_resumed(source_uri, postgres_uri, total)
    reports: list[Report] = []
    for hop_from, hop_to in ((postgres_uri, mariadb_uri), (mariadb_uri, back_uri)):
        report = await copy(hop_from, hop_to, console=_quiet())
        assert report.problems == [] and report.sessions == total
        reports.append(report)
    print(
        f"copy: {len(expected['events'])} events in {total} sessions, three hops in "
        f"{time.perf_counter() - started:.1f} s; PostgreSQL -> MariaDB {total / reports[0].seconds:.0f} "
        f"sessions/s, {reports[0].events / reports[0].seconds:.0f} events/s"
    )
    for uri in (postgres_uri, mariadb_uri, back_uri):
        backend = await _started(uri)
        try:
            rows = await _rows(backend)
        finally:
            await backend.close()
        for table, expected_rows in expected.items():
            assert rows[table] == expected_rows, (uri, table)


async def test_a_copy_into_a_session_that_is_not_the_sources_reports_it_and_exits_1(
    tmp_path: pathlib.Path,
) -> None:
    source_uri, destination_uri = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    for uri, create_time in ((source_uri, 1.0), (destination_uri, 2.0)):
        backend = await _started(uri)
        await backend.create_session(SessionKey("app", "u", "s"), ScopedState(), create_time)
        await backend.close()
    report = await copy(source_uri, destination_uri, console=_quiet())
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
    source = await _started(source_uri)
    key = SessionKey("app", "u", "big")
    events = [restorable_event(_event(f"e{n}", 10.0 + n, "i", "t", {"n": n})) for n in range(1_600)]
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
            await copy(source_uri, destination_uri, console=_quiet())
    destination = await _started(destination_uri)
    held = await destination.read_session_head(key)
    await destination.close()
    assert held is not None and held.event_count == 1_000  # the create's chunk and the first restore_events
    report = await copy(source_uri, destination_uri, console=_quiet())
    assert report.problems == [] and report.sessions_written == 0 and report.events_written == 600
