"""PostgreSQL finds an append's session through its name's unique index once the app has grown.

A connection prepares each statement once, and PostgreSQL settles on one
generic plan for it (and for the foreign key check an insert of an event
makes), made for the tables as they were: on a new database's tables of a
page, reading a whole table or any index looks as cheap as the right index.
Kept, such a plan finds the session by reading every session of its app, or
the whole table: an append then costs more the more sessions there are. This
runs the statement a lone append (and a batch) is stored with on one of the
backend's own connections while the tables are small, until PostgreSQL uses
its generic plan, grows the app to many sessions (the tables' statistics left
as they were, as between two analyses), and, once the connection's plans have
outlived their lifetime (``PLAN_LIFETIME_SECONDS``), checks how the statement
reads the sessions table.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from adk_grpc_sessions.server.backends.base import DEFAULT_LIMITS, ScopedState, SessionKey
from adk_grpc_sessions.server.backends.records import NewEvent
from adk_grpc_sessions.server.backends.sql import SqlBackend
from adk_grpc_sessions.server.backends.sql.appends import postgresql
from adk_grpc_sessions.server.backends.sql.appends.batch import PendingAppend
from adk_grpc_sessions.server.backends.sql.driver_sql import driver_statement
from adk_grpc_sessions.server.backends.sql.transactions import server
from tests.sql.conftest import new_database_uri

_LIFETIME = 1.0
"""The connections' plans' lifetime in this test: short, so that the test waits it out."""
_FIRST = 60
"""Sessions in the app when its table is first analyzed: as autovacuum first analyzes a new table."""
_GROWN = 20_000
"""Sessions added to the app once the statement's plan is settled: many pages of every index."""
_RUNS = 7
"""Runs of the statement: PostgreSQL plans the first five for their values, then may settle on a generic plan."""
KEY = SessionKey("app", "u", "s")
OTHER = SessionKey("app", "u", "t")


def _event(number: int) -> NewEvent:
    return NewEvent(
        id=f"e{number}",
        invocation_id="inv",
        author="agent",
        branch="",
        timestamp=1_700_000_000.0 + number,
        state_delta=ScopedState(),
        event_json=json.dumps({"id": f"e{number}"}),
    )


@pytest.fixture
async def postgresql_backend(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SqlBackend]:
    """A started backend on a new PostgreSQL database, its tables analyzed only when the test says."""
    monkeypatch.setattr(server, "PLAN_LIFETIME_SECONDS", _LIFETIME)
    uri = await new_database_uri("postgresql", tmp_path)
    backend = SqlBackend.from_uri(uri)
    await backend.upgrade_schema()
    connection = await asyncpg.connect(_driver_url(uri))
    try:
        # An analysis of a table makes PostgreSQL plan its statements again: none may come by chance.
        for table in ("ags_sessions", "ags_events"):
            await connection.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
    finally:
        await connection.close()
    await backend.start()
    yield backend
    await backend.close()


def _driver_url(uri: str) -> str:
    return make_url(uri).set(drivername="postgresql").render_as_string(False)


async def _grow(backend: SqlBackend, sessions: int, prefix: str) -> None:
    """Adds ``sessions`` sessions to the app, of the same user, created before the ones appended to."""
    connection = await asyncpg.connect(_driver_url(backend.display_url))
    try:
        await connection.execute(
            "INSERT INTO ags_sessions (app_name, user_id, session_id, create_time, last_update_time,"
            " revision, last_sequence) SELECT 'app', 'u', $1::text || g, 0.5, 0.5, 0, 0"
            " FROM generate_series(1, $2) g",
            prefix,
            sessions,
        )
    finally:
        await connection.close()


async def _scans(driver: asyncpg.Connection) -> dict[str, int]:
    """How often ``ags_sessions`` was read by each of its indexes, and whole (``seq``), by this connection.

    Counted since its counts were last reported to the statistics, which is
    never within a transaction.
    """
    rows = await driver.fetch(
        "SELECT indexrelid::regclass::text, pg_stat_get_xact_numscans(indexrelid) FROM pg_index"
        " WHERE indrelid = 'ags_sessions'::regclass"
    )
    scans = {name: count for name, count in rows}
    scans["seq"] = await driver.fetchval("SELECT pg_stat_get_xact_numscans('ags_sessions'::regclass)")
    return scans


@pytest.mark.parametrize("lone", [True, False], ids=["lone append", "batch of appends"])
async def test_an_append_finds_its_session_by_the_unique_name_index_after_the_app_grew(
    postgresql_backend: SqlBackend, lone: bool
) -> None:
    backend = postgresql_backend
    keys = [KEY] if lone else [KEY, OTHER]
    revisions = {key: (await backend.create_session(key, ScopedState(), 1.0)).revision for key in keys}

    def bound(number: int) -> tuple[str, tuple[Any, ...]]:
        appends = [PendingAppend(key, _event(number), revisions[key], now=2.0) for key in keys]
        statement, values = postgresql._bound_batch(appends, DEFAULT_LIMITS)
        compiled = driver_statement(statement, backend.engine.dialect)
        return compiled.sql, compiled.parameters(values)

    async with backend.engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        # As autovacuum does once a new database's tables have a few rows: statistics of small tables.
        await _grow(backend, _FIRST, "first")
        await driver.execute("ANALYZE")
        # Prepared, and planned until the plan is settled, while the tables fit in a page.
        for number in range(_RUNS):
            sql, parameters = bound(number)
            rows = await server._fetch_on_driver(connection, sql, parameters)
            for (_position, _session_pk, _sequence, event_pk, _notified), key in zip(rows, keys, strict=True):
                revisions[key] = 2 * event_pk
        await _grow(backend, _GROWN, "grown")
        await asyncio.sleep(_LIFETIME * 1.5)

        for run in range(_RUNS):
            transaction = driver.transaction()
            await transaction.start()
            try:
                sql, parameters = bound(_RUNS + run)
                before = await _scans(driver)
                stored = await server._fetch_on_driver(connection, sql, parameters)
                scans = {name: count - before[name] for name, count in (await _scans(driver)).items()}
            finally:
                await transaction.rollback()
            assert len(stored) == len(keys), run
            assert scans.pop("uq_ags_sessions_name") >= 1, (run, scans)
            # The claim reads the sessions it found again by their key; nothing else of the table.
            scans.pop("ags_sessions_pkey")
            assert not any(scans.values()), (run, scans)


async def test_a_pooled_connection_plans_its_statements_again_once_its_plans_are_old(
    postgresql_backend: SqlBackend,
) -> None:
    """As above, for a connection of SQLAlchemy's pool, which transactions run on (prepared by its driver adapter)."""
    backend = postgresql_backend
    revision = (await backend.create_session(KEY, ScopedState(), 1.0)).revision
    statement, values = postgresql._bound_batch(
        [PendingAppend(KEY, _event(0), revision, now=2.0)], DEFAULT_LIMITS
    )
    compiled = driver_statement(statement, backend.engine.dialect)
    sql, parameters = compiled.sql, compiled.parameters(values)

    async def run_rolled_back(connection: AsyncConnection) -> dict[str, int]:
        """Runs the statement through SQLAlchemy in a transaction it rolls back; how it read the sessions."""
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        transaction = await connection.begin()
        try:
            before = await _scans(driver)
            stored = (await connection.exec_driver_sql(sql, parameters)).all()
            after = await _scans(driver)
        finally:
            await transaction.rollback()
        assert len(stored) == 1
        return {name: count - before[name] for name, count in after.items()}

    await _grow(backend, _FIRST, "first")
    async with backend.engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        await connection.exec_driver_sql("ANALYZE")
        await connection.commit()
        # Prepared, and planned until the plan is settled, while the tables fit in a page.
        for _ in range(_RUNS):
            await run_rolled_back(connection)
    await _grow(backend, _GROWN, "grown")
    await asyncio.sleep(_LIFETIME * 1.5)

    async with backend.engine.connect() as connection:
        # The pool hands out the connection used last: the one whose plans were settled.
        assert (await connection.get_raw_connection()).driver_connection is driver
        for run in range(_RUNS):
            scans = await run_rolled_back(connection)
            assert scans.pop("uq_ags_sessions_name") >= 1, (run, scans)
            scans.pop("ags_sessions_pkey")
            assert not any(scans.values()), (run, scans)


async def test_a_pooled_connection_lost_while_its_plans_are_renewed_is_replaced(
    postgresql_backend: SqlBackend,
) -> None:
    """The renewal finds the connection gone (the database ended it while pooled): the pool hands out a new one."""
    backend = postgresql_backend
    async with backend.engine.connect() as connection:
        lost = (await connection.get_raw_connection()).driver_connection
        assert lost is not None
        pid = lost.get_server_pid()
    ender = await asyncpg.connect(_driver_url(backend.display_url))
    try:
        assert await ender.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await ender.close()
    await asyncio.sleep(_LIFETIME * 1.5)

    async with backend.engine.connect() as connection:
        assert (await connection.exec_driver_sql("SELECT pg_backend_pid()")).scalar() != pid
