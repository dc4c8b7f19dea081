"""The database itself crashes under append load: everything acknowledged is there afterwards, exactly once.

PostgreSQL runs with the durable settings users run (its shipped defaults:
``fsync``, ``synchronous_commit`` and ``full_page_writes`` on), checked from a
live connection. Under load from the Python client's default paths (see
``append_load``), while appends are in flight, it is stopped as a crash
would stop it: ``pg_ctl stop -m immediate`` (every process quits at once,
no checkpoint), and, separately, SIGKILL of the postmaster. It is started
again (crash recovery), the server reconnects by itself, the writers' retries
finish what they had under way, and storage holds every acknowledged event
exactly once, in order, with exactly the state their deltas make.

A test cannot pull a machine's power; what makes an acknowledged commit
survive that is the durability the database runs with, so the server's own
connections are read for it: PostgreSQL's ``fsync`` and
``synchronous_commit``, and SQLite's ``journal_mode`` (WAL) and
``synchronous`` (FULL), on every connection the server takes, the append
writer's included. (SQLite under a killed server is ``test_crash``'s case.)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Final, Literal

import asyncpg
import pytest
import sqlalchemy as sa
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from sqlalchemy import event
from sqlalchemy.engine import make_url

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from tests import databases
from tests.net import free_port
from tests.reliability.append_load import (
    BATCH,
    STREAM,
    AppendLoad,
    Wire,
    check_stored,
    count_appends_on_the_wire,
    read_through_server,
    until,
)
from tests.server_process import ServerProcess, wait_until_serving

pytestmark = pytest.mark.slow

PROGRESS: Final = 150
"""Appends acknowledged before the crash."""
TOTAL: Final = 300
"""Appends acknowledged in all, the crash in between."""
DURABLE_POSTGRES: Final = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
DURABLE_SQLITE: Final = {"journal_mode": "wal", "synchronous": 2}
"""``PRAGMA synchronous`` answers a number: 2 is FULL."""


@pytest.fixture(scope="module")
def durable_postgres() -> Iterator[databases.PostgresServer]:
    """A PostgreSQL of this module's own, with PostgreSQL's shipped (durable) settings, to crash."""
    if os.environ.get(databases.ENV_POSTGRES_URL):
        pytest.skip(f"needs a server of its own to crash; {databases.ENV_POSTGRES_URL} names a shared one")
    try:
        server = databases.start_postgres(durable=True)
    except databases.ServerUnavailableError as exc:
        if databases.databases_required():
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    yield server
    server.stop()


async def _postgres_settings(url: str) -> dict[str, str]:
    connection = await asyncpg.connect(url)
    try:
        return {name: await connection.fetchval(f"SHOW {name}") for name in DURABLE_POSTGRES}
    finally:
        await connection.close()


def _ready_to_crash(load: AppendLoad, wire: Wire) -> bool:
    return load.acknowledged >= PROGRESS and wire.in_flight[STREAM] > 0 and wire.in_flight[BATCH] > 0


@pytest.mark.parametrize("how", ["immediate", "kill"])
async def test_acknowledged_appends_survive_a_database_crash(
    durable_postgres: databases.PostgresServer,
    how: Literal["immediate", "kill"],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uri = await durable_postgres.create_database()
    assert await _postgres_settings(uri) == DURABLE_POSTGRES
    wire = count_appends_on_the_wire(monkeypatch)
    address = f"127.0.0.1:{free_port()}"
    server = await ServerProcess(
        ["serve", "--listen", address, "--backend", uri, "--log-level", "ERROR"], cwd=tmp_path
    ).start()
    await wait_until_serving(address, wait=60)
    load = await AppendLoad.start(address, batched_sessions=8, total=TOTAL)
    try:
        await until(
            functools.partial(_ready_to_crash, load, wire),
            wire,
            wait=120,
            what=f"after {PROGRESS} acknowledged with appends in flight on the stream and in batches",
        )
        in_flight = {method: wire.in_flight[method] for method in (STREAM, BATCH)}
        acknowledged = load.acknowledged
        await asyncio.to_thread(durable_postgres.crash, how)
        load.pause()
        await asyncio.to_thread(durable_postgres.resume)
        assert await _postgres_settings(uri) == DURABLE_POSTGRES
        failures = await load.settled(wait=120)
        # Storage first: a lost acknowledged append also fails its writer's next one (as stale).
        check_stored(load, await read_through_server(load, address), pending_allowed=bool(failures))
        assert failures == []
        await load.finish(wait=120)
        check_stored(load, await read_through_server(load, address), pending_allowed=False)
    finally:
        await load.stop()
        exit_status = await server.stop()
    print(f"{how}: {acknowledged} acknowledged before the crash, in flight {in_flight}")
    assert in_flight[STREAM] > 0 and in_flight[BATCH] > 0
    assert exit_status == 0, server.stderr


class ConnectionSettings:
    """Records the durability settings of every connection to one database that a pool hands out.

    It listens to every SQLAlchemy pool in the process, as the server under
    test builds its engines out of sight; connections of other drivers, or to
    other databases (other tests' servers run in this process too), are left
    alone, and nothing that could fail is run on them.
    """

    def __init__(self, driver: str, database: tuple[Any, ...]) -> None:
        self.driver = driver
        """What the DB-API connection's class name or module holds for the driver: "sqlite", "postgresql"."""
        self.database = database
        """What ``_identity`` reads on a connection to the database under test."""
        self.seen: list[tuple[str, dict[str, Any]]] = []
        """(thread name, settings) per connection handed out."""

    def checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        """Pool ``checkout`` listener: reads the settings of a connection to the database under test."""
        kind = type(dbapi_connection)
        if self.driver not in f"{kind.__module__}.{kind.__name__}".lower():
            return
        cursor = dbapi_connection.cursor()
        try:
            if self._identity(cursor) == self.database:
                self.seen.append((threading.current_thread().name, self._settings(cursor)))
        finally:
            cursor.close()
            if self.driver == "postgresql":
                dbapi_connection.rollback()  # leave no transaction open behind the pool's back

    def _identity(self, cursor: Any) -> tuple[Any, ...]:
        if self.driver == "sqlite":
            cursor.execute("PRAGMA database_list")
            return tuple(row[2] for row in cursor.fetchall() if row[1] == "main")
        cursor.execute("SELECT current_database(), current_setting('port')")
        return tuple(cursor.fetchone())

    def _settings(self, cursor: Any) -> dict[str, Any]:
        found = {}
        for name in DURABLE_SQLITE if self.driver == "sqlite" else DURABLE_POSTGRES:
            cursor.execute(f"PRAGMA {name}" if self.driver == "sqlite" else f"SHOW {name}")
            found[name] = cursor.fetchone()[0]
        return found

    @classmethod
    @contextlib.asynccontextmanager
    async def installed(cls, driver: str, database: tuple[Any, ...]) -> AsyncIterator[ConnectionSettings]:
        """Listens to every pool's checkouts (the server's included) inside the block."""
        settings = cls(driver, database)
        event.listen(sa.pool.Pool, "checkout", settings.checkout)
        try:
            yield settings
        finally:
            event.remove(sa.pool.Pool, "checkout", settings.checkout)


async def _append_on_both_paths(address: str) -> None:
    """Appends alone (the append stream) and from many sessions at once (batches), then reads."""
    async with GrpcSessionService(address) as client:
        sessions = [await client.create_session(app_name="durable", user_id=f"u{i}") for i in range(8)]
        for number in range(3):
            await client.append_event(
                sessions[0], Event(author="user", actions=EventActions(state_delta={"n": number}))
            )
            await asyncio.gather(
                *(
                    client.append_event(
                        s, Event(author="user", actions=EventActions(state_delta={"n": number}))
                    )
                    for s in sessions
                )
            )
        for session in sessions:
            stored = await client.get_session(
                app_name="durable", user_id=session.user_id, session_id=session.id
            )
            assert stored is not None and stored.state == {"n": 2}


async def test_every_sqlite_connection_of_the_server_is_durable(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    async with ConnectionSettings.installed("sqlite", (str(path),)) as settings:
        server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend=f"sqlite:///{path}"))
        await server.start()
        try:
            await _append_on_both_paths(f"127.0.0.1:{server.ports[0]}")
        finally:
            await server.stop(grace=1.0)
    assert settings.seen and all(found == DURABLE_SQLITE for _, found in settings.seen), settings.seen
    assert any(thread.startswith("sqlite-writer") for thread, _ in settings.seen), (
        "the append writer's connection"
    )
    # WAL is a property of the file, kept for every later connection.
    with sqlite3.connect(path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_every_postgres_connection_of_the_server_is_durable(
    durable_postgres: databases.PostgresServer,
) -> None:
    uri = await durable_postgres.create_database()
    url = make_url(uri)
    async with ConnectionSettings.installed("postgresql", (url.database, str(url.port))) as settings:
        server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend=uri))
        await server.start()
        try:
            await _append_on_both_paths(f"127.0.0.1:{server.ports[0]}")
        finally:
            await server.stop(grace=1.0)
    assert settings.seen and all(found == DURABLE_POSTGRES for _, found in settings.seen), settings.seen
