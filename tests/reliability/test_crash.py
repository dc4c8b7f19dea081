"""SIGKILL mid-stream, several times: every acknowledged append is stored exactly once, in order."""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path

import pytest
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions

from adk_grpc_sessions.client import (
    GrpcSessionService,
    RetryPolicy,
    SessionServiceTimeoutError,
    SessionServiceUnavailableError,
)
from tests.net import free_port
from tests.server_process import ServerProcess, wait_until_serving

pytestmark = pytest.mark.slow

EVENTS = 150
KILLS = 4
RETRIES = RetryPolicy(initial_backoff=0.05, max_backoff=0.5)


async def test_acknowledged_appends_survive_repeated_kills(durable_backend_uri: str, tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    args = ["serve", "--listen", address, "--backend", durable_backend_uri, "--log-level", "WARNING"]
    server = await ServerProcess(args, cwd=tmp_path).start()
    await wait_until_serving(address, wait=60)
    client = GrpcSessionService(address, retry_policy=RETRIES, timeout=20)
    session = await client.create_session(app_name="crash", user_id="u1", state={"user:total": 0})
    acknowledged: list[str] = []
    kills = 0

    async def writer() -> None:
        for number in range(1, EVENTS + 1):
            event = Event(
                author="user",
                actions=EventActions(state_delta={"n": number, f"k{number}": number, "user:total": number}),
            )
            while True:  # an application that keeps trying while the server is down
                try:
                    await client.append_event(session, event)
                    break
                except (SessionServiceUnavailableError, SessionServiceTimeoutError):
                    await asyncio.sleep(0.1)
            acknowledged.append(event.id)

    async def killer() -> None:
        nonlocal server, kills
        for _ in range(KILLS):
            await asyncio.sleep(random.uniform(0.3, 1.0))
            assert server.process is not None
            server.process.send_signal(signal.SIGKILL)
            await server.wait()
            kills += 1
            server = await ServerProcess(args, cwd=tmp_path).start()
            await wait_until_serving(address, wait=60)

    writing = asyncio.create_task(writer())
    await killer()
    await asyncio.wait_for(writing, timeout=240)
    assert kills == KILLS
    assert len(acknowledged) == EVENTS

    async with GrpcSessionService(address) as reader:
        stored = await reader.get_session(app_name="crash", user_id="u1", session_id=session.id)
    assert stored is not None
    assert [e.id for e in stored.events] == acknowledged, "each acknowledged event once, in order"
    assert stored.state == {"n": EVENTS, "user:total": EVENTS} | {f"k{i}": i for i in range(1, EVENTS + 1)}
    await client.close()
    assert await server.stop() == 0
