"""PostgreSQL stops for a few seconds under load: UNAVAILABLE meanwhile, health follows, nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from grpc_health.v1 import health_pb2, health_pb2_grpc

from adk_grpc_sessions.client import (
    GrpcSessionService,
    SessionServiceTimeoutError,
    SessionServiceUnavailableError,
)
from tests import databases
from tests.net import free_port
from tests.server_process import ServerProcess, wait_until_serving

pytestmark = pytest.mark.slow
BUDGET = 3.0
"""Each call's time budget: it retries the server's UNAVAILABLE until this is spent."""


@pytest.fixture
def own_postgres() -> Iterator[databases.PostgresServer]:
    """A PostgreSQL server only this test uses, so it can be stopped and started."""
    if os.environ.get(databases.ENV_POSTGRES_URL):
        pytest.skip(f"needs a server of its own to stop; {databases.ENV_POSTGRES_URL} names a shared one")
    try:
        server = databases.start_postgres(durable=True)
    except databases.ServerUnavailableError as exc:
        if databases.databases_required():
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    yield server
    server.stop()


async def _status(channel: grpc.aio.Channel) -> str:
    reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


async def _until_status(channel: grpc.aio.Channel, wanted: str, wait: float) -> None:
    """Follows the health Watch stream until it reports ``wanted``."""
    watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(), timeout=wait)
    async for reply in watch:
        if health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status) == wanted:
            watch.cancel()
            return


async def test_outage_under_load(own_postgres: databases.PostgresServer, tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    uri = await own_postgres.create_database()
    server = await ServerProcess(
        [
            "serve",
            "--listen",
            address,
            "--backend",
            uri,
            "--health-interval",
            "0.5",
            "--log-level",
            "WARNING",
        ],
        cwd=tmp_path,
    ).start()
    await wait_until_serving(address, wait=60)
    client = GrpcSessionService(address, timeout=BUDGET)
    sessions = [await client.create_session(app_name="outage", user_id=f"u{i}") for i in range(4)]
    acknowledged: dict[str, list[str]] = {s.id: [] for s in sessions}
    failures: list[tuple[str, float]] = []
    stop = asyncio.Event()

    async def writer(index: int) -> None:
        session = sessions[index]
        while not stop.is_set():
            event = Event(
                author="user", actions=EventActions(state_delta={"n": len(acknowledged[session.id]) + 1})
            )
            while not stop.is_set():
                started = time.monotonic()
                try:
                    await client.append_event(session, event)
                    acknowledged[session.id].append(event.id)
                    break
                except (SessionServiceUnavailableError, SessionServiceTimeoutError) as error:
                    failures.append((type(error).__name__, time.monotonic() - started))
                    await asyncio.sleep(0.1)

    writers = [asyncio.create_task(writer(i)) for i in range(len(sessions))]
    async with grpc.aio.insecure_channel(address) as channel:
        await asyncio.sleep(1.0)
        assert await _status(channel) == "SERVING"
        before = sum(map(len, acknowledged.values()))
        await asyncio.to_thread(own_postgres.halt)
        await _until_status(channel, "NOT_SERVING", wait=15)
        await asyncio.sleep(3.0)  # the outage goes on
        during = len(failures)
        await asyncio.to_thread(own_postgres.resume)
        await _until_status(channel, "SERVING", wait=30)
        await asyncio.sleep(2.0)  # and service goes on, without a restart
        stop.set()
        await asyncio.gather(*writers)

    assert before > 0 and during > 0
    assert all(name == "SessionServiceUnavailableError" for name, _ in failures), failures[:5]
    assert max(seconds for _, seconds in failures) < BUDGET + 0.5, "a call hung past its budget"
    assert sum(map(len, acknowledged.values())) > before, "service resumed"
    for session in sessions:
        stored = await client.get_session(app_name="outage", user_id=session.user_id, session_id=session.id)
        assert stored is not None
        assert [e.id for e in stored.events] == acknowledged[session.id]
    await client.close()
    assert await server.stop() == 0, server.stderr
