"""Two server processes on one database: no update is lost, no event stored twice.

16 clients, half on each server, increment a ``user:`` counter in a few shared
sessions (see ``tests/replicas.py``), on each SQL backend: two processes on
one SQLite file, and two servers of one PostgreSQL and of one MariaDB.
"""

from __future__ import annotations

import asyncio
import pathlib
from typing import Final

import pytest
from sqlalchemy.engine import make_url

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.backends.sql import SqlBackend, schema_version
from tests import databases
from tests.net import free_port
from tests.replicas import APP, check_counters, run_counters
from tests.server_process import ServerProcess, wait_until_serving

pytestmark = pytest.mark.slow

CLIENTS = 16
SESSIONS = 4
INCREMENTS_PER_CLIENT = 15
MIGRATION_LOCK: Final = "adk_grpc_sessions_migrate"
"""The name of the lock MySQL and MariaDB migrators take (``dialects``)."""


async def test_two_servers_on_one_database_lose_no_update(database_uri: str, tmp_path: pathlib.Path) -> None:
    addresses = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    servers = [
        ServerProcess(["serve", "--listen", a, "--backend", database_uri], cwd=tmp_path) for a in addresses
    ]
    # Started together: both migrate the empty database at once, under the migration lock.
    for server in servers:
        await server.start()
    services = [GrpcSessionService(addresses[i % 2]) for i in range(CLIENTS)]
    try:
        for address in addresses:
            await wait_until_serving(address, wait=60)
        sessions = [
            await services[0].create_session(app_name=APP, user_id=f"user-{i}", session_id=f"s{i}")
            for i in range(SESSIONS)
        ]
        results = await run_counters(services, sessions, increments=INCREMENTS_PER_CLIENT)
        assert sum(r.tries for r in results) > len(results), "the clients never raced"
        await check_counters(services[1], sessions, results)
    finally:
        for service in services:
            await service.close()
        exits = [await server.stop() for server in servers]
    assert exits == [0, 0], [server.stderr[-2000:] for server in servers]


async def test_the_migration_lock_is_held_until_the_migration_is_committed() -> None:
    """On MariaDB, whose DDL commits as it goes, the next migrator must find the last one's work committed.

    A second migrator, waiting for the lock while the first migrates, reads
    the schema version the moment it gets the lock (in one server-side
    block, so nothing of the first's can land in between): it must find the
    head, or it would run the last migration again and fail (as servers
    started together on an empty database did).
    """
    uri = "mariadb://" + (await databases.server_for_tests("mariadb").create_database()).split("://", 1)[1]
    migrator = SqlBackend.from_uri(uri)
    watcher = await databases.mysql_connect(make_url(uri))
    try:
        migration = asyncio.create_task(migrator.upgrade_schema())
        async with watcher.cursor() as cursor:
            while True:  # until the migrator holds the lock, so that the watcher waits for it
                assert not migration.done(), "the migration ended before it was seen holding its lock"
                await cursor.execute("SELECT IS_USED_LOCK(%s)", (MIGRATION_LOCK,))
                if (await cursor.fetchone())[0] is not None:
                    break
            await cursor.execute(
                "BEGIN NOT ATOMIC"
                "  DO GET_LOCK(%s, 60);"
                "  SELECT version_num FROM ags_schema_version;"
                "  DO RELEASE_LOCK(%s);"
                " END",
                (MIGRATION_LOCK, MIGRATION_LOCK),
            )
            found = await cursor.fetchall()
        await migration
        assert [row[0] for row in found] == [schema_version.head_revision()]
    finally:
        watcher.close()
        await migrator.close()
