"""Two server processes on one PostgreSQL: no update is lost, no event stored twice.

16 clients, half on each server, increment a ``user:`` counter in a few shared
sessions (see ``tests/replicas.py``).
"""

from __future__ import annotations

import pathlib

import pytest

from adk_grpc_sessions.client import GrpcSessionService
from tests import databases
from tests.net import free_port
from tests.replicas import APP, check_counters, run_counters
from tests.server_process import ServerProcess, wait_until_serving

pytestmark = pytest.mark.slow

CLIENTS = 16
SESSIONS = 4
INCREMENTS_PER_CLIENT = 15


async def test_two_servers_on_one_postgres_lose_no_update(tmp_path: pathlib.Path) -> None:
    uri = await databases.server_for_tests("postgresql").create_database()
    addresses = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    servers = [ServerProcess(["serve", "--listen", a, "--backend", uri], cwd=tmp_path) for a in addresses]
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
        for server in servers:
            await server.stop()
