"""SIGTERM while appends stream in: the server drains, exits 0, and every acknowledged event is stored."""

from __future__ import annotations

import asyncio
from pathlib import Path

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions

from adk_grpc_sessions.client import (
    GrpcSessionService,
    SessionServiceTimeoutError,
    SessionServiceUnavailableError,
)
from tests.server_process import ServerProcess
from tests.waiting import until


async def test_sigterm_during_appends_loses_no_acknowledged_event(tmp_path: Path) -> None:
    backend = f"sqlite:///{tmp_path / 'sessions.db'}"
    args = ["serve", "--listen", "127.0.0.1:0", "--backend", backend, "--grace-seconds", "10"]
    server = await ServerProcess(args, cwd=tmp_path).start()
    address = await server.address()
    # Each call retries a refusing or absent server until its budget is spent, then fails.
    client = GrpcSessionService(address, timeout=3)
    sessions = [await client.create_session(app_name="drain", user_id=f"u{i}") for i in range(8)]
    acknowledged: dict[str, list[str]] = {s.id: [] for s in sessions}
    refused = 0

    async def writer(index: int) -> None:
        nonlocal refused
        session = sessions[index]
        while True:
            event = Event(
                author="user", actions=EventActions(state_delta={"n": len(acknowledged[session.id])})
            )
            try:
                await client.append_event(session, event)
            except (SessionServiceUnavailableError, SessionServiceTimeoutError):
                refused += 1
                return  # the server is going away: this writer stops, as a client would
            acknowledged[session.id].append(event.id)

    writers = [asyncio.create_task(writer(i)) for i in range(len(sessions))]
    # Stopped mid-stream: every writer has had appends acknowledged, and goes on.
    await until(lambda: all(len(ids) >= 8 for ids in acknowledged.values()), wait=60)
    assert await server.stop() == 0, server.stderr
    await asyncio.wait_for(asyncio.gather(*writers), timeout=30)
    await client.close()
    assert refused == len(sessions), "after the drain every writer was refused"
    assert sum(map(len, acknowledged.values())) > 50

    restarted = await ServerProcess(args, cwd=tmp_path).start()
    try:
        async with GrpcSessionService(await restarted.address()) as reader:
            for session in sessions:
                stored = await reader.get_session(
                    app_name="drain", user_id=session.user_id, session_id=session.id
                )
                assert stored is not None
                assert [e.id for e in stored.events] == acknowledged[session.id]
    finally:
        assert await restarted.stop() == 0
