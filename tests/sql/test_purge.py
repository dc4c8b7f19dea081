"""Purging expired sessions: once across processes, nothing lost to a crash, and through the index.

On PostgreSQL and MariaDB (whose purges skip each other's rows), and SQLite for the plan. The processes are real: each
runs ``tests.sql.purging_process`` on its own engine against one database.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.sql import SqlBackend, schema
from adk_grpc_sessions.server.backends.sql.driver_sql import DriverStatement
from adk_grpc_sessions.server.backends.sql.queries import lifecycle
from tests.sql.conftest import new_database_uri

T = TypeVar("T")
T0 = 1_700_000_000.0
ROOT = pathlib.Path(__file__).resolve().parents[2]


async def wait_for(condition: Callable[[], Awaitable[T]], within: float) -> T:
    """The first truthy answer of ``condition()``, polled, within ``within`` seconds."""
    async with asyncio.timeout(within):
        # Polled: the condition is another process's state, which no Event can carry.
        while not (found := await condition()):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return found


async def _new_database(kind: str, tmp_path: pathlib.Path) -> str:
    """A new database of ``kind`` with the current schema."""
    uri = await new_database_uri(kind, tmp_path)
    backend = SqlBackend.from_uri(uri)
    await backend.upgrade_schema()
    await backend.close()
    return uri


@pytest.fixture
async def postgresql_uri(tmp_path: pathlib.Path) -> str:
    """A new PostgreSQL database with the current schema."""
    return await _new_database("postgresql", tmp_path)


async def _fill(uri: str, *, expired: int, live: int, events: int, event_bytes: int = 0) -> None:
    """``expired`` sessions expired at T0 - n (n = 1..), ``live`` that never expire; ``events`` each.

    Each event counts ``event_bytes`` towards its session's size (as if its response form took that).
    """
    backend = SqlBackend.from_uri(uri)
    mariadb = backend.engine.dialect.name in ("mysql", "mariadb")

    def numbers(n: int) -> str:
        """The numbers 1 to n as a table g(i), in the database's words."""
        return f"(SELECT seq AS i FROM seq_1_to_{n}) g" if mariadb else f"generate_series(1, {n}) g(i)"

    def joined(prefix: str, number: str) -> str:
        return f"CONCAT('{prefix}', {number})" if mariadb else f"'{prefix}' || {number}"

    # (MOD, not %: the driver of MariaDB takes % for a parameter.)
    user_id, session_id, event_id = joined("u", "MOD(i, 50)"), joined("s", "i"), joined("e", "i")
    try:
        async with backend.transaction(write=True) as connection:
            await connection.exec_driver_sql(
                "INSERT INTO ags_sessions (app_name, user_id, session_id, create_time, last_update_time, "
                "revision, last_sequence, events_bytes, expire_time) "
                f"SELECT 'app', {user_id}, {session_id}, 1.0, 1.0, 1, {events}, {events * event_bytes}, "
                f"CASE WHEN i <= {expired} THEN {T0} - i END FROM {numbers(expired + live)}"
            )
            if events:
                await connection.exec_driver_sql(
                    "INSERT INTO ags_events (session_pk, sequence, event_id, invocation_id, author, branch, "
                    "timestamp, event_json, size_bytes) "
                    f"SELECT session_pk, i, {event_id}, '\"i\"', '\"a\"', '\"\"', 1.0, '{{}}', {event_bytes} "
                    f"FROM ags_sessions, {numbers(events)}"
                )
            await connection.exec_driver_sql(
                "ANALYZE TABLE ags_sessions, ags_events" if mariadb else "ANALYZE"
            )
    finally:
        await backend.close()


async def _start_purger(uri: str, limit: int, *flags: str) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.sql.purging_process",
        uri,
        str(limit),
        *flags,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert (await asyncio.wait_for(process.stdout.readline(), 60)).strip() == b"ready"
    return process


async def _purged_by(process: asyncio.subprocess.Process) -> list[tuple[str, ...]]:
    out, _ = await asyncio.wait_for(process.communicate(), 300)
    assert process.returncode == 0
    return [tuple(key) for key in json.loads(out)]


async def _count(uri: str, table: str, where: str = "") -> int:
    backend = SqlBackend.from_uri(uri)
    try:
        async with backend.transaction(write=False) as connection:
            return int(
                (await connection.exec_driver_sql(f"SELECT count(*) FROM {table} {where}")).scalar_one()
            )
    finally:
        await backend.close()


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
async def test_two_processes_purging_one_database_purge_each_session_once(
    kind: str, tmp_path: pathlib.Path
) -> None:
    uri = await _new_database(kind, tmp_path)
    await _fill(uri, expired=3_000, live=200, events=3)
    purgers = [await _start_purger(uri, 40) for _ in range(2)]
    for purger in purgers:  # both at once
        assert purger.stdin is not None
        purger.stdin.write(b"go\n")
        await purger.stdin.drain()
    first, second = [await _purged_by(purger) for purger in purgers]

    assert first and second, "the two purgers did not both purge"
    assert len(set(first) & set(second)) == 0
    assert len(first) + len(second) == len(set(first) | set(second)) == 3_000
    assert {int(key[2][1:]) for key in first + second} == set(range(1, 3_001))
    assert await _count(uri, "ags_sessions") == 200
    assert await _count(uri, "ags_events") == 600
    assert await _count(uri, "ags_sessions", "WHERE expire_time IS NOT NULL") == 0


async def _backend_waiting_for_a_lock(uri: str) -> int:
    """The process id of the PostgreSQL backend whose purge waits for a row lock."""
    backend = SqlBackend.from_uri(uri)
    try:
        async with backend.transaction(write=False) as connection:
            found = await connection.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'DELETE FROM ags_sessions%'"
            )
            pids = [int(row[0]) for row in found]
    finally:
        await backend.close()
    return pids[0] if pids else 0


async def _alive(uri: str, pid: int) -> bool:
    return await _count(uri, "pg_stat_activity", f"WHERE pid = {pid}") > 0


async def test_a_purge_killed_mid_batch_loses_nothing_and_the_next_run_takes_the_batch(
    postgresql_uri: str,
) -> None:
    await _fill(postgresql_uri, expired=300, live=20, events=2)
    holder = SqlBackend.from_uri(postgresql_uri)
    try:
        # An event of the batch's last session is locked, so the purge stops
        # in the middle of its delete, with the other sessions deleted in its
        # transaction, until it is killed.
        async with holder.transaction(write=True) as connection:
            await connection.exec_driver_sql(
                "SELECT 1 FROM ags_events e JOIN ags_sessions s USING (session_pk) "
                "WHERE s.session_id = 's1' FOR UPDATE OF e"
            )
            purger = await _start_purger(postgresql_uri, 1_000, "--once")
            assert purger.stdin is not None
            purger.stdin.write(b"go\n")
            await purger.stdin.drain()
            pid = await wait_for(lambda: _backend_waiting_for_a_lock(postgresql_uri), within=60)
            purger.send_signal(signal.SIGKILL)
            assert await purger.wait() == -signal.SIGKILL
        # The lock is released: the killed purge's transaction runs on, finds
        # its client gone, and rolls back.
        await wait_for(lambda: _gone(postgresql_uri, pid), within=60)

        assert await _count(postgresql_uri, "ags_sessions") == 320
        assert await _count(postgresql_uri, "ags_events") == 640
        await holder.start()
        batch = await holder.purge_expired(1_000)
        assert len(batch.purged) == 300
        assert batch.events_deleted == 600
        assert await _count(postgresql_uri, "ags_sessions") == 20
        assert await _count(postgresql_uri, "ags_events") == 40
    finally:
        await holder.close()


async def _gone(uri: str, pid: int) -> bool:
    return not await _alive(uri, pid)


def _plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(found for child in node.get("Plans", []) for found in _plan_nodes(child))]


async def test_the_sweepers_selection_uses_the_expire_time_index_on_postgresql(postgresql_uri: str) -> None:
    await _fill(postgresql_uri, expired=100, live=50_000, events=0)
    backend = SqlBackend.from_uri(postgresql_uri)
    try:
        async with backend.transaction(write=False) as connection:
            for lock in (True, False):
                statement, values = lifecycle.select_expired(T0, 100, lock=lock)
                assert isinstance(values, dict)
                compiled = DriverStatement(statement, connection.dialect)  # type: ignore[arg-type]
                plan = (
                    await connection.exec_driver_sql(
                        "EXPLAIN (FORMAT JSON) " + compiled.sql, compiled.parameters(values)
                    )
                ).scalar_one()
                plan = json.loads(plan) if isinstance(plan, str) else plan
                nodes = _plan_nodes(plan[0]["Plan"])
                scans = [node for node in nodes if node.get("Relation Name") == "ags_sessions"]
                assert [node.get("Index Name") for node in scans] == ["ix_ags_sessions_expire_time"], plan
    finally:
        await backend.close()


async def test_the_sweepers_selection_uses_the_expire_time_index_on_sqlite(tmp_path: pathlib.Path) -> None:
    backend = SqlBackend.from_uri(await new_database_uri("sqlite", tmp_path))
    try:
        await backend.upgrade_schema()
        async with backend.transaction(write=True) as connection:
            await connection.execute(
                sa.insert(schema.sessions),
                [
                    {
                        "app_name": "app",
                        "user_id": f"u{i % 50}",
                        "session_id": f"s{i}",
                        "create_time": 1.0,
                        "last_update_time": 1.0,
                        "revision": 1,
                        "last_sequence": 0,
                        "expire_time": T0 - i if i < 100 else None,
                    }
                    for i in range(20_000)
                ],
            )
            await connection.exec_driver_sql("ANALYZE")
        async with backend.transaction(write=False) as connection:
            for query in (lifecycle.select_expired(T0, 100, lock=True), lifecycle.count_expired(T0)):
                statement, values = query
                assert isinstance(values, dict)
                compiled = DriverStatement(statement, connection.dialect)  # type: ignore[arg-type]
                plan = (
                    await connection.exec_driver_sql(
                        "EXPLAIN QUERY PLAN " + compiled.sql, compiled.parameters(values)
                    )
                ).all()
                details = " | ".join(str(row[-1]) for row in plan)
                assert "USING" in details and "INDEX ix_ags_sessions_expire_time" in details, details
    finally:
        await backend.close()


@pytest.mark.parametrize(
    ("events_per_batch", "batches"),
    [
        (25, [(2, 20)] * 5),
        # A session larger than a batch loses its newest events first, then goes whole.
        (5, [(0, 5), (1, 5)] * 10),
        (3, [(0, 3), (0, 3), (0, 3), (1, 1)] * 10),
    ],
)
async def test_a_purge_batch_is_bounded_by_the_events_it_deletes_and_always_deletes_some(
    postgresql_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    events_per_batch: int,
    batches: list[tuple[int, int]],
) -> None:
    """Sessions of 10 events: a batch stops before the events would pass the bound, never at none."""
    from adk_grpc_sessions.server.backends.sql import writing

    await _fill(postgresql_uri, expired=10, live=0, events=10)
    monkeypatch.setattr(writing, "PURGE_EVENTS_PER_BATCH", events_per_batch)
    backend = SqlBackend.from_uri(postgresql_uri)
    await backend.start()
    backend.clock = lambda: T0  # type: ignore[method-assign]
    try:
        seen = []
        while not (batch := await backend.purge_expired(100)).done:
            seen.append((len(batch.purged), batch.events_deleted))
    finally:
        await backend.close()
    assert seen == batches
    assert await _count(postgresql_uri, "ags_sessions") == 0
    assert await _count(postgresql_uri, "ags_events") == 0


async def test_a_purge_batch_is_bounded_by_the_bytes_it_deletes(
    postgresql_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sessions of 10 events of 1,000 bytes, 25,000 bytes a batch: two sessions, or 25 events of a larger one."""
    from adk_grpc_sessions.server.backends.sql import writing

    uri = postgresql_uri
    await _fill(uri, expired=5, live=0, events=10, event_bytes=1_000)
    await _fill_one(uri, "large", events=60, event_bytes=1_000, expire_time=T0 - 100)
    monkeypatch.setattr(writing, "PURGE_BYTES_PER_BATCH", 25_000)
    backend = SqlBackend.from_uri(uri)
    await backend.start()
    backend.clock = lambda: T0  # type: ignore[method-assign]
    try:
        seen = []
        while not (batch := await backend.purge_expired(100)).done:
            seen.append((len(batch.purged), batch.events_deleted))
            row = await _session_row(uri, "large")
            if row is not None:
                # What is left of the large session is what its row says.
                assert row == (await _count(uri, "ags_events", _OF_LARGE), 1_000 * row[0])
    finally:
        await backend.close()
    # The large one expired first: 25 + 25 events, then its last 10 and one whole session.
    assert seen == [(0, 25), (0, 25), (2, 20), (2, 20), (2, 20)]
    assert await _count(uri, "ags_events") == 0


async def test_a_session_of_thirty_thousand_events_is_purged_in_bounded_batches_and_invisible_throughout(
    tmp_path: pathlib.Path,
) -> None:
    """The default bounds on a real session: no batch deletes more than 10,000 events, and reads never see it."""
    from adk_grpc_sessions.server.backends.base import EventWindow, SessionKey

    uri = await _new_database("sqlite", tmp_path)
    await _fill_one(uri, "large", events=30_000, event_bytes=100, expire_time=T0 - 1)
    backend = SqlBackend.from_uri(uri)
    await backend.start()
    backend.clock = lambda: T0  # type: ignore[method-assign]
    key = SessionKey("app", "u-large", "large")
    try:
        seen = []
        while not (batch := await backend.purge_expired(100)).done:
            seen.append((len(batch.purged), batch.events_deleted))
            assert await backend.get_session(key, EventWindow()) is None
            assert (await backend.list_sessions("app", "u-large", 10, None)).items == []
    finally:
        await backend.close()
    assert seen == [(0, 10_000), (0, 10_000), (1, 10_000)]
    assert await _count(uri, "ags_sessions") == 0


async def _fill_one(uri: str, session_id: str, *, events: int, event_bytes: int, expire_time: float) -> None:
    """One session ``session_id`` of user ``u-<session_id>`` with ``events`` events of ``event_bytes`` each."""
    backend = SqlBackend.from_uri(uri)
    try:
        async with backend.transaction(write=True) as connection:
            pk = (
                await connection.execute(
                    sa.insert(schema.sessions).returning(schema.sessions.c.session_pk),
                    {
                        "app_name": "app",
                        "user_id": f"u-{session_id}",
                        "session_id": session_id,
                        "create_time": 1.0,
                        "last_update_time": 1.0,
                        "revision": 1,
                        "last_sequence": events,
                        "events_bytes": events * event_bytes,
                        "expire_time": expire_time,
                    },
                )
            ).scalar_one()
            await connection.execute(
                sa.insert(schema.events),
                [
                    {
                        "session_pk": pk,
                        "sequence": n,
                        "event_id": f"e{n}",
                        "invocation_id": '"i"',
                        "author": '"a"',
                        "branch": '""',
                        "timestamp": 1.0,
                        "event_json": "{}",
                        "size_bytes": event_bytes,
                    }
                    for n in range(1, events + 1)
                ],
            )
    finally:
        await backend.close()


_OF_LARGE = "WHERE session_pk = (SELECT session_pk FROM ags_sessions WHERE session_id = 'large')"


async def _session_row(uri: str, session_id: str) -> tuple[int, int] | None:
    """The (last_sequence, events_bytes) of the session ``session_id``, or None once it is gone."""
    backend = SqlBackend.from_uri(uri)
    try:
        async with backend.transaction(write=False) as connection:
            row = (
                await connection.execute(
                    sa.select(schema.sessions.c.last_sequence, schema.sessions.c.events_bytes).where(
                        schema.sessions.c.session_id == session_id
                    )
                )
            ).first()
    finally:
        await backend.close()
    return None if row is None else (row[0], row[1])
