"""Four replicas on one database, 48 writers on 6 sessions: no update lost, none twice.

On each SQL backend: four server processes on one SQLite file, and four
servers of one PostgreSQL and of one MariaDB. The database, not a process,
must decide which of two racing writers is stale (see ``tests/replicas.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adk_grpc_sessions.client import GrpcSessionService
from tests.net import free_port
from tests.replicas import APP, check_counters, run_counters
from tests.server_process import ServerProcess, wait_until_serving

pytestmark = pytest.mark.slow

REPLICAS = 4
WRITERS = 48
SESSIONS = 6
SECONDS = 8.0


async def test_many_replicas_and_writers_lose_no_update(durable_backend_uri: str, tmp_path: Path) -> None:
    addresses = [f"127.0.0.1:{free_port()}" for _ in range(REPLICAS)]
    servers = [
        ServerProcess(
            ["serve", "--listen", a, "--backend", durable_backend_uri, "--log-level", "WARNING"], cwd=tmp_path
        )
        for a in addresses
    ]
    for server in servers:
        await server.start()
    services = [GrpcSessionService(addresses[i % REPLICAS], timeout=60) for i in range(WRITERS)]
    try:
        for address in addresses:
            await wait_until_serving(address, wait=60)
        sessions = [
            await services[0].create_session(app_name=APP, user_id=f"user-{i}", session_id=f"s{i}")
            for i in range(SESSIONS)
        ]
        results = await run_counters(services, sessions, seconds=SECONDS)
        assert len(results) > 100
        assert sum(r.tries for r in results) > 1.5 * len(results), "writers raced hard"
        await check_counters(services[-1], sessions, results)
    finally:
        for service in services:
            await service.close()
        exits = [await server.stop() for server in servers]
    for server, exit_status in zip(servers, exits, strict=True):
        assert exit_status == 0, server.stderr[-2000:]
        # Contention alone must never look like an outage (a busy or locked
        # database reported as unavailable, and retried by clients unseen).
        assert "unavailable" not in server.stderr and '"ERROR"' not in server.stderr, server.stderr[-2000:]
