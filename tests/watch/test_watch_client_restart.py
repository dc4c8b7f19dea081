"""A watch that outlives its server: SIGKILL, then a new process on the same address and SQLite file.

The server is a real process, killed without warning (no drain, no goodbye:
the stream just breaks), and started again on the same port and database.
The Python client's watch (and ``adk-grpc-sessions tail``) must resume by
itself after the last revision it received: every event stored before and
after the crash, once each, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adk_grpc_sessions.client import GrpcSessionService, WatchedEvent, WatchEndReason
from tests.net import free_port
from tests.server_process import ServerProcess
from tests.waiting import until
from tests.watch.conftest import APP, USER, event

LIMIT = 60.0
"""Seconds any one wait may take (generous: the CPU is shared, a server process takes seconds to start)."""


class Crashing:
    """A server process on a fixed address and SQLite file, to kill and start again."""

    def __init__(self, tmp_path: Path) -> None:
        self.address = f"127.0.0.1:{free_port()}"
        self.database = tmp_path / "sessions.db"
        self.process: ServerProcess | None = None

    async def start(self) -> None:
        self.process = await ServerProcess(
            ["serve", "--listen", self.address, "--backend", f"sqlite:///{self.database}"]
        ).start()
        await self.process.address(LIMIT)

    async def kill(self) -> None:
        assert self.process is not None
        await self.process.stop(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop()


@pytest.fixture
async def crashing(tmp_path: Path) -> AsyncIterator[Crashing]:
    """A started server process that the test may kill and start again."""
    server = Crashing(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_a_watch_resumes_after_the_server_is_killed_and_started_again(crashing: Crashing) -> None:
    async with GrpcSessionService(crashing.address, timeout=LIMIT) as client:
        session = await client.create_session(app_name=APP, user_id=USER, session_id="s")
        for number in range(3):
            await client.append_event(session, event(number))
        watch = client.watch_session_updates(APP, USER, "s")
        updates: list[object] = []

        async def read() -> None:
            async for update in watch:
                updates.append(update)

        reader = asyncio.create_task(read())
        await until(lambda: watch.caught_up, LIMIT)
        await crashing.kill()
        await crashing.start()
        fresh = await client.get_session(app_name=APP, user_id=USER, session_id="s")
        assert fresh is not None
        for number in range(3, 6):
            await client.append_event(fresh, event(number))
        await client.close_session(session=fresh)
        async with asyncio.timeout(LIMIT):
            await reader
    assert [u.event.id for u in updates if isinstance(u, WatchedEvent)] == [f"e{n}" for n in range(6)]
    assert watch.reconnects == 1
    assert watch.ended is WatchEndReason.CLOSED


async def test_tail_resumes_after_the_server_is_killed_and_started_again(crashing: Crashing) -> None:
    async with GrpcSessionService(crashing.address, timeout=LIMIT) as client:
        session = await client.create_session(app_name=APP, user_id=USER, session_id="s")
        await client.append_event(session, event(0))
        tail = await ServerProcess(
            ["tail", APP, USER, "s", "--from-start", "--json", "--address", crashing.address]
        ).start()

        def lines() -> list[dict[str, object]]:
            return [json.loads(line) for line in tail.stdout.splitlines() if line.strip()]

        try:
            await until(lambda: any(line["type"] == "caught_up" for line in lines()), LIMIT)
            await crashing.kill()
            await crashing.start()
            fresh = await client.get_session(app_name=APP, user_id=USER, session_id="s")
            assert fresh is not None
            await client.append_event(fresh, event(1))
            await client.close_session(session=fresh)
            assert await tail.wait(LIMIT) == 0, tail.stderr
        finally:
            with contextlib.suppress(ProcessLookupError, AssertionError):
                await tail.stop(signal.SIGKILL)
    events = [line["event"] for line in lines() if line["type"] == "event"]
    assert [e["id"] for e in events if isinstance(e, dict)] == ["e0", "e1"]
    assert lines()[-1] == {"type": "ended", "reason": "closed"}
    assert "resuming after revision" in tail.stderr


async def test_closing_a_watch_while_its_server_is_down_ends_it_at_once(crashing: Crashing) -> None:
    async with GrpcSessionService(crashing.address, timeout=LIMIT) as client:
        await client.create_session(app_name=APP, user_id=USER, session_id="s")
        watch = client.watch_session_updates(APP, USER, "s")
        updates: list[object] = []

        async def read() -> None:
            async for update in watch:
                updates.append(update)

        reader = asyncio.create_task(read())
        await until(lambda: watch.caught_up, LIMIT)
        await crashing.kill()
        await asyncio.sleep(0.5)  # the watch is now reopening its stream, with a minute of budget
        loop = asyncio.get_running_loop()
        closed = loop.time()
        await watch.aclose()
        async with asyncio.timeout(LIMIT):
            await reader  # ends without an error
        assert loop.time() - closed < 5
        assert watch.ended is None
