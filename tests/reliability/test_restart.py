"""A server restarted under a client: calls made while it is down succeed once it is back, within their budget.

A real ``adk-grpc-sessions serve`` process on a SQLite file is killed with
SIGKILL and started again on the same file and the same port, as a rolling
deploy or a crashed sidecar would be. The client runs with its default
settings, so a lone append goes on the append stream, appends made together
go in one ``BatchAppendEvents`` call and a read is a unary call: each path
must ride out the outage, and each append must be stored exactly once.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.session import Session

from adk_grpc_sessions.client import GrpcSessionService, SessionServiceUnavailableError
from tests.net import free_port
from tests.server_process import ServerProcess, wait_until_serving

pytestmark = pytest.mark.slow

APP = "restart"
FOUND_AGAIN_WITHIN = 2.0
"""Seconds after the restarted server listens by which every waiting call must have succeeded.

The client's channel retries its connection at most 0.6 s apart (gRPC's default
backoff grows to 120 s); the rest is headroom for a shared machine."""


@dataclass
class RestartableServer:
    """One server address and SQLite file; each ``start`` is a new process on both."""

    address: str
    args: list[str]
    cwd: Path
    process: ServerProcess | None = None

    async def start(self) -> None:
        """Starts a new process and waits until it serves."""
        self.process = await ServerProcess(self.args, cwd=self.cwd).start()
        await wait_until_serving(self.address, wait=60)

    async def kill(self) -> None:
        """SIGKILL: no drain, no goodbye to the clients; returns once the process is gone."""
        assert self.process is not None and self.process.process is not None
        self.process.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM, if the process still runs."""
        running = self.process.process if self.process is not None else None
        if self.process is not None and running is not None and running.returncode is None:
            assert await self.process.stop() == 0, self.process.stderr


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RestartableServer]:
    """A server on a SQLite file, started; stopped at the end."""
    address = f"127.0.0.1:{free_port()}"
    backend = f"sqlite:///{tmp_path / 'sessions.db'}"
    args = ["serve", "--listen", address, "--backend", backend, "--log-level", "WARNING"]
    running = RestartableServer(address, args, tmp_path)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def _event(number: int) -> Event:
    return Event(author="user", actions=EventActions(state_delta={"n": number}))


async def _listening(address: str) -> float:
    """The monotonic time at which ``address`` first accepts a TCP connection (polled every 10 ms)."""
    host, port = address.rsplit(":", 1)
    while True:
        try:
            _, writer = await asyncio.open_connection(host, int(port))
        except OSError:
            await asyncio.sleep(0.01)
            continue
        listening = time.monotonic()
        writer.close()
        return listening


async def _timed(call: Awaitable[Any]) -> tuple[Any, float]:
    """The call's result (or exception) and the monotonic time it ended at."""
    try:
        result = await call
    except Exception as error:  # the test reports every outcome, not only the first failure
        result = error
    return result, time.monotonic()


async def _sessions(client: GrpcSessionService, count: int) -> list[Session]:
    sessions = [await client.create_session(app_name=APP, user_id=f"u{i}") for i in range(count)]
    for session in sessions:  # one append each before the outage: the append stream is open
        await client.append_event(session, _event(0))
    return sessions


@pytest.mark.parametrize("outage", [0.5, 1.0, 2.0, 5.0])
async def test_calls_made_while_the_server_is_down_succeed_once_it_is_back(
    server: RestartableServer, outage: float
) -> None:
    async with GrpcSessionService(server.address) as client:  # default settings: 30 s budget, stream on
        sessions = await _sessions(client, 4)
        await server.kill()
        killed = time.monotonic()

        # Made while nothing listens: one lone append (the stream), three made
        # together (one on the stream, two in one batch), and a read.
        lone = asyncio.create_task(_timed(client.append_event(sessions[0], _event(1))))
        await asyncio.sleep(0)
        together = [
            asyncio.create_task(_timed(client.append_event(session, _event(1)))) for session in sessions[1:]
        ]
        read = asyncio.create_task(
            _timed(client.get_session(app_name=APP, user_id=sessions[0].user_id, session_id=sessions[0].id))
        )
        await asyncio.sleep(max(outage - (time.monotonic() - killed), 0))
        assert not any(task.done() for task in (lone, read, *together)), "a call gave up during the outage"
        listening = asyncio.create_task(_listening(server.address))
        await server.start()
        outcomes = await asyncio.wait_for(asyncio.gather(lone, read, *together), timeout=30)
        back = await listening

        for result, _ in outcomes:
            assert not isinstance(result, Exception), f"a call made during the outage failed: {result!r}"
        latest = max(ended for _, ended in outcomes)
        print(  # for the record of a run: -s shows it
            f"outage {outage} s: the new server listened {back - killed:.2f} s after the kill, "
            f"every call made meanwhile had succeeded {latest - back:.2f} s after that"
        )
        assert latest - back < FOUND_AGAIN_WITHIN, "the client found the restarted server late"
        read_session = outcomes[1][0]
        assert isinstance(read_session, Session) and read_session.id == sessions[0].id

        for session in sessions:
            stored = await client.get_session(app_name=APP, user_id=session.user_id, session_id=session.id)
            assert stored is not None
            assert [e.id for e in stored.events] == [e.id for e in session.events], "each append once"
            assert len(stored.events) == 2 and stored.state == {"n": 1}


async def _unavailable_after(call: Awaitable[Any]) -> tuple[BaseException, float]:
    """The unavailable error ``call`` must raise, and the seconds it took to."""
    started = time.monotonic()
    with pytest.raises(SessionServiceUnavailableError) as raised:
        await call
    return raised.value, time.monotonic() - started


async def test_a_call_fails_unavailable_when_its_budget_runs_out_during_an_outage(
    server: RestartableServer,
) -> None:
    async with GrpcSessionService(server.address, timeout=2) as client:
        sessions = await _sessions(client, 3)
        await server.kill()  # and it stays down for 5 s, longer than any call's budget
        down = time.monotonic()
        first = sessions[0]
        results = await asyncio.gather(
            _unavailable_after(client.get_session(app_name=APP, user_id=first.user_id, session_id=first.id)),
            *(_unavailable_after(client.append_event(session, _event(1))) for session in sessions),
        )
        assert time.monotonic() - down < 5, "the outage outlasted every call"
        for error, seconds in results:
            print(f"timeout=2 against a 5 s outage: {type(error).__name__} after {seconds:.2f} s")
            assert 1.8 <= seconds <= 3.5, f"failed after {seconds:.2f} s with a 2 s budget: {error}"
        await asyncio.sleep(max(5 - (time.monotonic() - down), 0))
        await server.start()
