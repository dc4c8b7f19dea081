"""``GrpcSessionService.watch_session`` against real servers: what a Python watcher sees when things go wrong.

The server is real (in-process, real gRPC over TCP, on each watchable
backend); what is tested is the client: it resumes by itself after the
server cut it off for falling behind and after the server it watched drained
and another took its place, without losing or repeating an event; the
iteration ends normally with the reason when the session is closed, deleted
or expired; a missing session and a refused token raise ADK's and the
client's errors. The server killed with SIGKILL and restarted is in
``test_watch_client_restart.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.genai import types

from adk_grpc_sessions.client import (
    CaughtUp,
    GrpcSessionService,
    SessionServicePermissionError,
    SessionWatch,
    WatchedEvent,
    WatchEndReason,
)
from adk_grpc_sessions.server.backends.memory import MemoryBackend
from adk_grpc_sessions.server.runtime.auth import grant_line
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from tests.net import free_port
from tests.waiting import until
from tests.watch.conftest import APP, USER, Serve, event

LIMIT = 60.0
"""Seconds any one wait may take (generous: the CPU is shared)."""


class Reader:
    """A watch read in the background into ``updates``, optionally held (not reading) until released."""

    def __init__(self, watch: SessionWatch, *, held: bool = False) -> None:
        self.watch = watch
        self.updates: list[Any] = []
        self.error: BaseException | None = None
        self._go = asyncio.Event()
        if not held:
            self._go.set()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for update in self.watch:
                self.updates.append(update)
                await self._go.wait()
        except Exception as error:  # kept for the test to judge
            self.error = error

    def release(self) -> None:
        self._go.set()

    def event_ids(self) -> list[str]:
        return [u.event.id for u in self.updates if isinstance(u, WatchedEvent)]

    def caught_up(self) -> bool:
        return any(isinstance(u, CaughtUp) for u in self.updates)

    async def finished(self) -> None:
        async with asyncio.timeout(LIMIT):
            await self._task

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self.watch.aclose()


def _padded(number: int, size: int) -> Event:
    text = f"event {number} " + "x" * size
    return Event(
        id=f"e{number}",
        invocation_id="inv",
        author="agent",
        content=types.Content(role="model", parts=[types.Part(text=text)]),
    )


async def test_a_watcher_cut_off_for_falling_behind_resumes_without_losing_an_event(serve: Serve) -> None:
    # No BDP probing: the connection's flow-control window stays small, so a
    # watcher that does not read leaves the data on the server, past its bound.
    options = [("grpc.http2.bdp_probe", 0)]
    async with (
        serve(watch_buffer_bytes=16 * 1024) as running,
        GrpcSessionService(running.address) as writer,
        GrpcSessionService(running.address, channel_options=options) as client,
    ):
        session = await writer.create_session(app_name=APP, user_id=USER, session_id="s")
        reader = Reader(client.watch_session_updates(APP, USER, "s"), held=True)
        await until(lambda: reader.caught_up(), LIMIT)
        for number in range(120):
            await writer.append_event(session, _padded(number, 8 * 1024))
        reader.release()
        await until(lambda: len(reader.event_ids()) >= 120 or reader.error is not None, LIMIT)
        await reader.stop()
    assert reader.error is None, reader.error
    assert reader.event_ids() == [f"e{n}" for n in range(120)]
    assert reader.watch.reconnects >= 1  # it was cut off, and resumed


@asynccontextmanager
async def _server_on(port: int, backend: MemoryBackend, **settings: Any) -> AsyncIterator[SessionServer]:
    server = SessionServer(
        ServerConfig(listen=[f"127.0.0.1:{port}"], backend="memory://", **settings), backend
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop(0)


async def test_a_watch_of_a_draining_server_resumes_on_the_server_that_takes_its_place() -> None:
    # Two servers over one storage, one after the other on one address: a rolling deploy.
    backend, port = MemoryBackend(), free_port()
    address = f"127.0.0.1:{port}"
    async with GrpcSessionService(address, timeout=LIMIT) as client:
        first = SessionServer(ServerConfig(listen=[address], backend="memory://"), backend)
        await first.start()
        session = await client.create_session(app_name=APP, user_id=USER, session_id="s")
        for number in range(3):
            session = await _append(client, session, number)
        reader = Reader(client.watch_session_updates(APP, USER, "s"))
        await until(lambda: reader.caught_up(), LIMIT)
        await first.stop(grace=5)  # drains: the stream ends UNAVAILABLE, SERVER_DRAINING
        async with _server_on(port, backend):
            for number in range(3, 6):
                session = await _append(client, session, number)
            await until(lambda: len(reader.event_ids()) >= 6 or reader.error is not None, LIMIT)
            await reader.stop()
    assert reader.error is None, reader.error
    assert reader.event_ids() == [f"e{n}" for n in range(6)]
    assert reader.watch.reconnects == 1


async def _every_event(watch: AsyncIterator[Event]) -> list[str]:
    """The ids of every event until the watch ends."""
    async with asyncio.timeout(LIMIT):
        return [e.id async for e in watch]


async def _append(client: GrpcSessionService, session: Any, number: int) -> Any:
    await client.append_event(session, event(number))
    fresh = await client.get_session(app_name=APP, user_id=USER, session_id=session.id)
    assert fresh is not None
    return fresh


@pytest.mark.parametrize("ending", ["closed", "deleted", "expired"])
async def test_the_iteration_ends_normally_with_the_reason_the_session_ended(
    serve: Serve, ending: str
) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await client.create_session(
            app_name=APP, user_id=USER, session_id="s", ttl=3 if ending == "expired" else None
        )
        await client.append_event(session, event(1))
        watch = client.watch_session(APP, USER, "s")
        received: list[str] = []

        async def read() -> None:
            async for item in watch:
                received.append(item.id)

        task = asyncio.create_task(read())
        await until(lambda: received == ["e1"], LIMIT)
        if ending == "closed":
            await client.close_session(session=session)
        elif ending == "deleted":
            await client.delete_session(app_name=APP, user_id=USER, session_id="s")
        async with asyncio.timeout(LIMIT):
            await task
    assert watch.ended is WatchEndReason(ending)
    assert received == ["e1"]


async def test_a_missing_session_raises_adks_session_not_found_error(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        with pytest.raises(SessionNotFoundError):
            await _every_event(client.watch_session(APP, USER, "missing"))


async def test_a_watch_goes_with_the_clients_token_and_a_token_for_another_app_is_refused(
    serve: Serve,
) -> None:
    tokens = ";".join([grant_line("a", "token-a", [APP]), grant_line("b", "token-b", ["other"])])
    async with serve(tokens=tokens) as running:
        allowed = GrpcSessionService(running.address, metadata=[("authorization", "Bearer token-a")])
        async with allowed:
            session = await allowed.create_session(app_name=APP, user_id=USER, session_id="s")
            await allowed.append_event(session, event(1))
            await allowed.close_session(session=session)
            assert await _every_event(allowed.watch_session(APP, USER, "s")) == ["e1"]
        other = GrpcSessionService(running.address, metadata=[("authorization", "Bearer token-b")])
        async with other:
            with pytest.raises(SessionServicePermissionError):
                await _every_event(other.watch_session(APP, USER, "s"))
