"""``GrpcSessionService.watch_sessions`` against real servers: a Python watcher of one user's sessions.

The servers are real (in-process, real gRPC over TCP); what is tested is the
client: it yields the listing, its end and each change as typed updates,
keeps ``sessions`` as the user's sessions stand, starts over with a new
listing (``Relisting``) after a server drains or cuts it off for falling
behind, dropping what the new listing no longer holds, and raises the
client's error for a refused token.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from google.adk.sessions.session import Session

from adk_grpc_sessions.client import (
    GrpcSessionService,
    Relisting,
    SessionNotice,
    SessionNoticeKind,
    SessionsCaughtUp,
    SessionServicePermissionError,
    UserSessionsWatch,
)
from adk_grpc_sessions.server.backends.base import SessionKey
from adk_grpc_sessions.server.backends.memory import MemoryBackend
from adk_grpc_sessions.server.runtime.auth import grant_line
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from tests.net import free_port
from tests.waiting import until
from tests.watch.conftest import APP, USER, Serve, event

BACKENDS_HERE = ("memory", "sqlite")

LIMIT = 60.0
"""Seconds any one wait may take (generous: the CPU is shared)."""


class Reader:
    """A watch of the user's sessions read in the background into ``updates``, optionally held."""

    def __init__(self, watch: UserSessionsWatch, *, held: bool = False) -> None:
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

    def caught_up(self, count: int = 1) -> bool:
        return sum(isinstance(u, SessionsCaughtUp) for u in self.updates) >= count

    def notices(self, kind: SessionNoticeKind) -> list[str]:
        return [u.session_id for u in self.updates if isinstance(u, SessionNotice) and u.kind is kind]

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self.watch.aclose()


async def test_the_watch_yields_the_listing_then_each_change_and_keeps_the_sessions(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await client.create_session(app_name=APP, user_id=USER, session_id="old", state={"k": 1})
        reader = Reader(client.watch_sessions(app_name=APP, user_id=USER))
        try:
            await until(reader.caught_up, LIMIT)
            assert reader.notices(SessionNoticeKind.LISTED) == ["old"]
            assert reader.updates[1] == SessionsCaughtUp(1)
            session = await client.create_session(app_name=APP, user_id=USER, session_id="new")
            await client.append_event(session, event(0, n=1))
            await until(lambda: reader.watch.sessions.get("new", None) is not None, LIMIT)
            await until(lambda: reader.notices(SessionNoticeKind.UPDATED) == ["new"], LIMIT)
            updated = [u for u in reader.updates if isinstance(u, SessionNotice)][-1]
            assert isinstance(updated.session, Session) and updated.session.state == {"n": 1}
            assert updated.info is not None and updated.info.revision == reader.watch.sessions["new"].revision
            await client.delete_session(app_name=APP, user_id=USER, session_id="old")
            await until(lambda: "old" not in reader.watch.sessions, LIMIT)
            assert set(reader.watch.sessions) == {"new"}
            assert reader.watch.caught_up and reader.error is None
        finally:
            await reader.stop()


async def test_a_watch_of_a_draining_server_starts_over_on_the_server_that_takes_its_place() -> None:
    # Two servers over one storage, one after the other on one address: a rolling deploy.
    backend, port = MemoryBackend(), free_port()
    address = f"127.0.0.1:{port}"
    async with GrpcSessionService(address, timeout=LIMIT) as client:
        first = SessionServer(ServerConfig(listen=[address], backend="memory://"), backend)
        await first.start()
        for name in ("a", "b"):
            await client.create_session(app_name=APP, user_id=USER, session_id=name)
        reader = Reader(client.watch_sessions(app_name=APP, user_id=USER))
        try:
            await until(reader.caught_up, LIMIT)
            await first.stop(grace=5)  # drains: the stream ends UNAVAILABLE, SERVER_DRAINING
            await backend.delete_session(SessionKey(APP, USER, "a"))  # unseen: no server serves a watch of it
            second = SessionServer(ServerConfig(listen=[address], backend="memory://"), backend)
            await second.start()
            try:
                await until(lambda: reader.caught_up(2) or reader.error is not None, LIMIT)
            finally:
                await second.stop(0)
        finally:
            await reader.stop()
    assert reader.error is None, reader.error
    assert any(isinstance(u, Relisting) for u in reader.updates)
    assert reader.watch.reconnects == 1
    assert set(reader.watch.sessions) == {"b"}


async def test_a_watcher_cut_off_for_falling_behind_starts_over_with_a_new_listing(serve: Serve) -> None:
    # No BDP probing: the connection's flow-control window stays small, so a
    # watcher that does not read leaves its notices on the server, past its bound.
    options = [("grpc.http2.bdp_probe", 0)]
    pad = "x" * 8 * 1024
    async with (
        serve(watch_sessions_pending=5) as running,
        GrpcSessionService(running.address) as writer,
        GrpcSessionService(running.address, channel_options=options) as client,
    ):
        reader = Reader(client.watch_sessions(app_name=APP, user_id=USER), held=True)
        try:
            await until(reader.caught_up, LIMIT)
            for number in range(60):
                await writer.create_session(
                    app_name=APP, user_id=USER, session_id=f"s{number:02}", state={"pad": pad}
                )
            reader.release()
            await until(lambda: len(reader.watch.sessions) == 60 or reader.error is not None, LIMIT)
        finally:
            await reader.stop()
    assert reader.error is None, reader.error
    assert reader.watch.reconnects >= 1  # it was cut off, and started over
    assert any(isinstance(u, Relisting) for u in reader.updates)


async def test_a_token_for_another_app_is_refused_with_the_clients_permission_error(serve: Serve) -> None:
    tokens = grant_line("b", "token-b", ["other"])
    async with (
        serve(tokens=tokens) as running,
        GrpcSessionService(running.address, metadata=[("authorization", "Bearer token-b")]) as client,
    ):
        watch = client.watch_sessions(app_name=APP, user_id=USER)
        try:
            async with asyncio.timeout(LIMIT):
                try:
                    await anext(watch)
                except SessionServicePermissionError:
                    return
            raise AssertionError("the watch was not refused")
        finally:
            await watch.aclose()
