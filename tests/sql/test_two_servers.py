"""Two server processes on one PostgreSQL: no update is lost, no event stored twice.

16 clients, half on each server, increment a ``user:`` counter in a few
shared sessions. Each increment reads the session, appends an event that
sets the counter one higher, and on ``StaleSessionError`` reloads and tries
again. The revision check is made by the database, so across both processes
exactly one of two racing writers wins, and every acknowledged event is
stored once.
"""

from __future__ import annotations

import asyncio
import pathlib
from collections import Counter

import pytest
from google.adk.errors import StaleSessionError
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions

from adk_grpc_sessions.client import GrpcSessionService
from tests import databases
from tests.databases import free_port
from tests.server_process import ServerProcess, wait_until_serving

pytestmark = pytest.mark.slow

CLIENTS = 16
SESSIONS = 4
INCREMENTS_PER_CLIENT = 15


async def _increment(service: GrpcSessionService, user_id: str, session_id: str) -> tuple[str, int]:
    """Adds one to the user's counter; returns the acknowledged event's id and how many tries it took."""
    tries = 0
    while True:
        tries += 1
        session = await service.get_session(app_name="app", user_id=user_id, session_id=session_id)
        assert session is not None
        count = session.state.get("user:count", 0)
        event = Event(
            author="counter", invocation_id="inc", actions=EventActions(state_delta={"user:count": count + 1})
        )
        try:
            await service.append_event(session, event)
        except StaleSessionError:
            continue
        return event.id, tries


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
            await services[0].create_session(app_name="app", user_id=f"user-{i}", session_id=f"s{i}")
            for i in range(SESSIONS)
        ]

        async def client(index: int) -> list[tuple[str, str, int]]:
            done = []
            for step in range(INCREMENTS_PER_CLIENT):
                target = sessions[(index + step) % SESSIONS]
                event_id, tries = await _increment(services[index], target.user_id, target.id)
                done.append((target.id, event_id, tries))
            return done

        results = [r for batch in await asyncio.gather(*(client(i) for i in range(CLIENTS))) for r in batch]
        acknowledged = Counter(session_id for session_id, _, _ in results)
        assert sum(tries for _, _, tries in results) > len(results), "the clients never raced"
        for session in sessions:
            stored = await services[1].get_session(
                app_name="app", user_id=session.user_id, session_id=session.id
            )
            assert stored is not None
            stored_ids = [e.id for e in stored.events]
            assert len(stored_ids) == len(set(stored_ids)), "an event was stored twice"
            assert set(stored_ids) == {e for s, e, _ in results if s == session.id}
            assert stored.state["user:count"] == acknowledged[session.id] == len(stored_ids)
    finally:
        for service in services:
            await service.close()
        for server in servers:
            await server.stop()
