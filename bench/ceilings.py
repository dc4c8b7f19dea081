"""The ceilings of a lone durable call: the raw driver, and the disk under it.

A lone append through our server costs a gRPC round trip, the server's own
work, and one database transaction. These workloads measure the last part
alone, as fast as the database and its driver allow: the same transaction
an append makes (claim the session by its revision, insert the event, set
the revision, upsert a session-scoped and a user-scoped state key), on our
own tables (created by our migrations, so the same rows and indexes are
written), through the driver directly (the ``sqlite3`` module with WAL and
``synchronous=FULL`` as our SQLite backend sets them; asyncpg with prepared
statements on PostgreSQL's default durability), with no gRPC, no
SQLAlchemy and no server. A session's create is measured the same way.
Below both: the disk, the latency of one 8 KiB write made durable
(``fdatasync``) in the database's directory.

What is left between our lone call and ``echo + raw driver`` is our own
overhead; the issue's rule allows it 0.3 ms. The appends' CPU time in this
process (SQLite's whole work, which runs in the process using it; asyncpg's
side alone on PostgreSQL) added to the memory backend's server CPU is the
floor of a durable lone append's server CPU.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any, Final

from bench.cpu import CpuMeter, CpuReading
from bench.workloads import Sample, model_event

_APP: Final = "bench-raw"
_USER: Final = "raw-user"
_STATE_KEY_DIGEST: Final = hashlib.sha256(b"turn").hexdigest()
_USER_KEY_DIGEST: Final = hashlib.sha256(b"last_topic").hexdigest()

_CLAIM: Final = (
    "UPDATE ags_sessions SET last_sequence = last_sequence + 1, last_update_time = {p}, "
    "events_bytes = events_bytes + {p} WHERE app_name = {p} AND user_id = {p} AND session_id = {p} "
    "AND revision = {p} RETURNING session_pk, last_sequence"
)
_INSERT_EVENT: Final = (
    "INSERT INTO ags_events (session_pk, sequence, event_id, invocation_id, author, branch, "
    "timestamp, state_delta, event_json, size_bytes) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}) RETURNING event_pk"
)
_SET_REVISION: Final = "UPDATE ags_sessions SET revision = {p} WHERE session_pk = {p}"
_UPSERT_SESSION_STATE: Final = (
    "INSERT INTO ags_session_state (session_pk, key_digest, state_key, value, entry_bytes) "
    "VALUES ({p}, {p}, {p}, {p}, {p}) ON CONFLICT (session_pk, key_digest) "
    "DO UPDATE SET value = excluded.value, entry_bytes = excluded.entry_bytes"
)
_UPSERT_USER_STATE: Final = (
    "INSERT INTO ags_user_state (app_name, user_id, key_digest, state_key, value, entry_bytes) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT (app_name, user_id, key_digest) "
    "DO UPDATE SET value = excluded.value, entry_bytes = excluded.entry_bytes"
)
_CREATE: Final = (
    "INSERT INTO ags_sessions (app_name, user_id, session_id, create_time, last_update_time, "
    "revision, last_sequence, events_bytes, state_bytes) VALUES ({p}, {p}, {p}, {p}, {p}, 0, 0, 0, 0) "
    "RETURNING session_pk"
)


def _sqlite(statement: str) -> str:
    return statement.replace("{p}", "?")


def _postgres(statement: str) -> str:
    parts = statement.split("{p}")
    return "".join(part + (f"${n}" if n < len(parts) else "") for n, part in enumerate(parts, start=1))


def _event_row(turn: int) -> tuple[str, str, float, str]:
    """(event id, invocation id as stored, timestamp, event JSON) of the benchmark's model event."""
    event = model_event(turn)
    return event.id, f'"{event.invocation_id}"', event.timestamp, event.model_dump_json(by_alias=True)


async def raw_sqlite_appends(path: Path, count: int, meter: CpuMeter | None = None) -> Sample:
    """``count`` lone appends to one session through the ``sqlite3`` module, each its own transaction.

    With ``meter``, this process's CPU time per append of the timed part is in the sample's detail: the
    driver's and SQLite's own work, which runs in the process that uses it.
    """
    connection = _sqlite_connection(path)
    try:
        session_id = f"s-{uuid.uuid4().hex}"
        revision = _sqlite_create(connection, session_id)
        rows = _event_rows(count)
        sample = Sample()
        cpu_before = meter.read() if meter else None
        started = time.perf_counter()
        for turn, (event_id, invocation, timestamp, event_json) in enumerate(rows):
            before = time.perf_counter()
            connection.execute("BEGIN IMMEDIATE")
            session_pk, sequence = connection.execute(
                _sqlite(_CLAIM), (timestamp, len(event_json), _APP, _USER, session_id, revision)
            ).fetchone()
            (event_pk,) = connection.execute(
                _sqlite(_INSERT_EVENT),
                (
                    session_pk,
                    sequence,
                    event_id,
                    invocation,
                    '"planner"',
                    '""',
                    timestamp,
                    None,
                    event_json,
                    len(event_json),
                ),
            ).fetchone()
            revision = 2 * event_pk
            connection.execute(_sqlite(_SET_REVISION), (revision, session_pk))
            connection.execute(
                _sqlite(_UPSERT_SESSION_STATE), (session_pk, _STATE_KEY_DIGEST, '"turn"', str(turn), 24)
            )
            connection.execute(
                _sqlite(_UPSERT_USER_STATE),
                (_APP, _USER, _USER_KEY_DIGEST, '"last_topic"', '"release plan"', 40),
            )
            connection.execute("COMMIT")
            sample.latencies.append(time.perf_counter() - before)
        sample.wall = time.perf_counter() - started
        _add_cpu(sample, meter, cpu_before)
        return sample
    finally:
        connection.close()


def _event_rows(count: int) -> list[tuple[str, str, float, str]]:
    # Built before the clock starts, as ``workloads.append_events`` builds its events: making the
    # event is the agent's work, not the driver's, and would count in the time and CPU measured.
    return [_event_row(turn) for turn in range(count)]


def _add_cpu(sample: Sample, meter: CpuMeter | None, before: CpuReading | None) -> None:
    if meter is not None and before is not None:
        sample.detail.update(meter.per_operation(before, meter.read(), len(sample.latencies)))


async def raw_sqlite_creates(path: Path, count: int) -> Sample:
    """``count`` lone session creates through the ``sqlite3`` module, each its own transaction."""
    connection = _sqlite_connection(path)
    try:
        sample = Sample()
        started = time.perf_counter()
        for _ in range(count):
            before = time.perf_counter()
            _sqlite_create(connection, f"s-{uuid.uuid4().hex}")
            sample.latencies.append(time.perf_counter() - before)
        sample.wall = time.perf_counter() - started
        return sample
    finally:
        connection.close()


def _sqlite_connection(path: Path) -> sqlite3.Connection:
    # As our backend's connections: autocommit off in the driver, WAL, synchronous=FULL.
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


def _sqlite_create(connection: sqlite3.Connection, session_id: str) -> int:
    now = time.time()
    connection.execute("BEGIN IMMEDIATE")
    (session_pk,) = connection.execute(_sqlite(_CREATE), (_APP, _USER, session_id, now, now)).fetchone()
    revision = 2 * session_pk + 1
    connection.execute(_sqlite(_SET_REVISION), (revision, session_pk))
    connection.execute("COMMIT")
    return int(revision)


async def raw_postgres_appends(url: str, count: int, meter: CpuMeter | None = None) -> Sample:
    """``count`` lone appends to one session through asyncpg (prepared statements), each a transaction.

    With ``meter``, this process's CPU time per append of the timed part is in the sample's detail:
    asyncpg's side alone, as PostgreSQL's own processes are counted for no service.
    """
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        claim, insert, set_revision, session_state, user_state, create = [
            await connection.prepare(_postgres(s))
            for s in (
                _CLAIM,
                _INSERT_EVENT,
                _SET_REVISION,
                _UPSERT_SESSION_STATE,
                _UPSERT_USER_STATE,
                _CREATE,
            )
        ]
        session_id = f"s-{uuid.uuid4().hex}"
        revision = await _postgres_create(connection, create, set_revision, session_id)
        rows = _event_rows(count)
        sample = Sample()
        cpu_before = meter.read() if meter else None
        started = time.perf_counter()
        for turn, (event_id, invocation, timestamp, event_json) in enumerate(rows):
            before = time.perf_counter()
            async with connection.transaction():
                session_pk, sequence = await claim.fetchrow(
                    timestamp, len(event_json), _APP, _USER, session_id, revision
                )
                event_pk = await insert.fetchval(
                    session_pk,
                    sequence,
                    event_id,
                    invocation,
                    '"planner"',
                    '""',
                    timestamp,
                    None,
                    event_json,
                    len(event_json),
                )
                revision = 2 * event_pk
                await set_revision.fetch(revision, session_pk)
                await session_state.fetch(session_pk, _STATE_KEY_DIGEST, '"turn"', str(turn), 24)
                await user_state.fetch(_APP, _USER, _USER_KEY_DIGEST, '"last_topic"', '"release plan"', 40)
            sample.latencies.append(time.perf_counter() - before)
        sample.wall = time.perf_counter() - started
        _add_cpu(sample, meter, cpu_before)
        return sample
    finally:
        await connection.close()


async def raw_postgres_creates(url: str, count: int) -> Sample:
    """``count`` lone session creates through asyncpg (prepared statements), each its own transaction."""
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        create = await connection.prepare(_postgres(_CREATE))
        set_revision = await connection.prepare(_postgres(_SET_REVISION))
        sample = Sample()
        started = time.perf_counter()
        for _ in range(count):
            before = time.perf_counter()
            await _postgres_create(connection, create, set_revision, f"s-{uuid.uuid4().hex}")
            sample.latencies.append(time.perf_counter() - before)
        sample.wall = time.perf_counter() - started
        return sample
    finally:
        await connection.close()


async def _postgres_create(connection: Any, create: Any, set_revision: Any, session_id: str) -> int:
    now = time.time()
    async with connection.transaction():
        session_pk = await create.fetchval(_APP, _USER, session_id, now, now)
        revision = 2 * session_pk + 1
        await set_revision.fetch(revision, session_pk)
    return int(revision)


def disk_flushes(directory: Path, count: int) -> Sample:
    """``count`` 8 KiB writes to one file in ``directory``, each made durable with ``fdatasync``."""
    probe = directory / f"fsync-probe-{uuid.uuid4().hex}"
    block = os.urandom(8192)
    descriptor = os.open(probe, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, block)
        os.fsync(descriptor)  # the file's size and blocks exist: each flush below is of data alone
        sample = Sample()
        started = time.perf_counter()
        for _ in range(count):
            before = time.perf_counter()
            os.pwrite(descriptor, block, 0)
            os.fdatasync(descriptor)
            sample.latencies.append(time.perf_counter() - before)
        sample.wall = time.perf_counter() - started
        return sample
    finally:
        os.close(descriptor)
        probe.unlink()
