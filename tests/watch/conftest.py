"""A real server per test on each backend, watched through the raw generated stub.

The servers are the lifecycle suite's (``tests/lifecycle/conftest.py``: memory,
a SQLite file, PostgreSQL and MariaDB on real servers, Agent Engine on the
stand-in), reached through real gRPC. Sessions are written with the Python
client (``GrpcSessionService``); watches are read with the generated stub, so
what is tested is the server's stream as any language's client receives it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import grpc
import pytest
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.session import Session
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.lifecycle.conftest import BACKENDS, Running, Serve, eventually, serve

__all__ = ["BACKENDS", "Running", "Serve", "eventually", "serve"]

APP, USER = "app", "u1"
WATCHABLE = ("memory", "sqlite", "postgresql", "mariadb")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Runs each case on every watchable backend, or on those its module's ``BACKENDS_HERE`` names."""
    if "backend_kind" in metafunc.fixturenames:
        kinds = getattr(metafunc.module, "BACKENDS_HERE", WATCHABLE)
        metafunc.parametrize("backend_kind", kinds, indirect=True)


@pytest.fixture
def backend_kind(request: pytest.FixtureRequest) -> str:
    """Which backend the test runs against."""
    kind: str = request.param
    return kind


def event(number: int, invocation: str = "inv", **delta: object) -> Event:
    """A small event numbered ``number`` (its id is ``e<number>``)."""
    return Event(
        id=f"e{number}",
        invocation_id=invocation,
        author="agent",
        actions=EventActions(state_delta=dict(delta)),
    )


@dataclass
class Watch:
    """One WatchSession stream, read in the background into ``received``."""

    call: grpc.aio.UnaryStreamCall[pb.WatchSessionRequest, pb.WatchSessionResponse]
    received: list[pb.WatchSessionResponse] = field(default_factory=list)
    error: grpc.aio.AioRpcError | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def event_ids(self) -> list[str]:
        """The ids of the events received, in order."""
        return [w.event.id for m in self.received if m.HasField("events") for w in m.events.events]

    @property
    def revisions(self) -> list[int]:
        """The revision delivered with each event, in order."""
        return [w.revision for m in self.received if m.HasField("events") for w in m.events.events]

    @property
    def caught_up(self) -> list[int]:
        """The revision of each caught_up message received."""
        return [m.caught_up.revision for m in self.received if m.HasField("caught_up")]

    @property
    def ended(self) -> list[int]:
        """The reason of each ended message received."""
        return [m.ended.reason for m in self.received if m.HasField("ended")]

    async def wait_for(self, count: int, wait: float = 20.0) -> None:
        """Returns once ``count`` events have arrived (or the stream ended)."""
        await eventually(self._has(count), wait)

    def _has(self, count: int):  # type: ignore[no-untyped-def]
        async def check() -> bool:
            return len(self.event_ids) >= count or self.done.is_set()

        return check

    async def wait_caught_up(self, wait: float = 20.0) -> None:
        """Returns once the caught_up message has arrived (or the stream ended)."""

        async def check() -> bool:
            return bool(self.caught_up) or self.done.is_set()

        await eventually(check, wait)

    async def finished(self, wait: float = 20.0) -> None:
        """Returns once the stream has ended."""
        async with asyncio.timeout(wait):
            await self.done.wait()


@contextlib.asynccontextmanager
async def watching(
    address: str,
    session_id: str,
    after_revision: int = 0,
    *,
    app_name: str = APP,
    user_id: str = USER,
    metadata: tuple[tuple[str, str], ...] = (),
    channel: grpc.aio.Channel | None = None,
) -> AsyncIterator[Watch]:
    """A WatchSession stream read by a task of its own until it ends or the block exits."""
    async with contextlib.AsyncExitStack() as stack:
        if channel is None:
            channel = await stack.enter_async_context(grpc.aio.insecure_channel(address))
        stub = pb_grpc.SessionServiceStub(channel)
        request = pb.WatchSessionRequest(
            app_name=app_name, user_id=user_id, session_id=session_id, after_revision=after_revision
        )
        watch = Watch(stub.WatchSession(request, metadata=metadata or None))

        async def read() -> None:
            try:
                async for message in watch.call:
                    watch.received.append(message)
            except grpc.aio.AioRpcError as exc:
                watch.error = exc
            finally:
                watch.done.set()

        task = asyncio.create_task(read())
        try:
            yield watch
        finally:
            watch.call.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def created(client: GrpcSessionService, session_id: str = "s") -> Session:
    """A new empty session of ``APP``/``USER``."""
    return await client.create_session(app_name=APP, user_id=USER, session_id=session_id)


def reason_of(error: grpc.aio.AioRpcError | None) -> str:
    """The ErrorInfo reason of a failed call."""
    assert error is not None
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return str(info.reason)
    raise AssertionError(f"no ErrorInfo in {error}")


Kind = pb.SessionNotice.Kind
LISTED, CREATED, UPDATED = Kind.KIND_LISTED, Kind.KIND_CREATED, Kind.KIND_UPDATED
CLOSED, DELETED, EXPIRED = Kind.KIND_CLOSED, Kind.KIND_DELETED, Kind.KIND_EXPIRED


@dataclass
class SessionsWatch:
    """One WatchSessions stream, read in the background into ``received``."""

    call: grpc.aio.UnaryStreamCall[pb.WatchSessionsRequest, pb.WatchSessionsResponse]
    received: list[pb.WatchSessionsResponse] = field(default_factory=list)
    error: grpc.aio.AioRpcError | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def notices(self) -> list[pb.SessionNotice]:
        """Every notice received, in order."""
        return [n for m in self.received if m.HasField("notices") for n in m.notices.notices]

    @property
    def live(self) -> list[tuple[int, str]]:
        """(kind, session_id) of each notice after the last caught_up."""
        last = max((i for i, m in enumerate(self.received) if m.HasField("caught_up")), default=-1)
        return [
            (n.kind, n.session_id)
            for m in self.received[last + 1 :]
            if m.HasField("notices")
            for n in m.notices.notices
        ]

    @property
    def caught_up(self) -> list[int]:
        """The listed count of each caught_up received."""
        return [m.caught_up.listed for m in self.received if m.HasField("caught_up")]

    async def wait(self, condition: Callable[[SessionsWatch], object], wait: float = 20.0) -> None:
        """Returns once ``condition(self)`` holds (or the stream ended)."""

        async def check() -> bool:
            return bool(condition(self)) or self.done.is_set()

        await eventually(check, wait)

    async def wait_caught_up(self, count: int = 1) -> None:
        """Returns once ``count`` caught_up messages arrived."""
        await self.wait(lambda w: len(w.caught_up) >= count)

    async def wait_live(self, count: int, wait: float = 20.0) -> None:
        """Returns once ``count`` live notices arrived."""
        await self.wait(lambda w: len(w.live) >= count, wait)


@contextlib.asynccontextmanager
async def watching_sessions(
    address: str, *, user_id: str = USER, metadata: tuple[tuple[str, str], ...] = ()
) -> AsyncIterator[SessionsWatch]:
    """A WatchSessions stream read by a task of its own until it ends or the block exits."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.SessionServiceStub(channel)
        request = pb.WatchSessionsRequest(app_name=APP, user_id=user_id)
        watch = SessionsWatch(stub.WatchSessions(request, metadata=metadata or None))

        async def read() -> None:
            try:
                async for message in watch.call:
                    watch.received.append(message)
            except grpc.aio.AioRpcError as exc:
                watch.error = exc
            finally:
                watch.done.set()

        task = asyncio.create_task(read())
        try:
            yield watch
        finally:
            watch.call.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
