"""The Python client's watch against a scripted WatchSession server on a real socket.

Each stream the script serves answers from a stored list of events exactly as
the contract says (the events after ``after_revision``, then ``caught_up``)
and then does what the test asks: fail with a status, end with ``ended``, or
close without one. What the client must do with each is the contract's
"Watching" paragraph: resume after the last revision received, never deliver
an event twice or skip one, end normally with the reason, raise the ADK error.
The real server's side of the same behaviours is tested in
tests/reliability/test_watch_client_faults.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from adk_grpc_sessions.client import (
    CaughtUp,
    GrpcSessionService,
    SessionServicePermissionError,
    SessionServiceUnavailableError,
    WatchedEvent,
    WatchEnded,
    WatchEndReason,
)
from adk_grpc_sessions.server.api.service import SERVICE_NAME
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from tests.client.fake_servers import serving
from tests.waiting import until

Step = Callable[[grpc.aio.ServicerContext[Any, Any]], Any]


def _event(n: int) -> pb.Event:
    adk = Event(id=f"e{n}", author="agent", invocation_id="i1")
    return pb.Event(
        id=adk.id, author=adk.author, event_json=adk.model_dump_json(by_alias=True, exclude_none=True)
    )


def _status(code: grpc.StatusCode, reason: str, message: str) -> status_pb2.Status:
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="adk-grpc-sessions"))
    return status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=[detail])


@dataclass
class Script:
    """A session's events (revision n after event n) and, per stream, what happens after its backlog."""

    events: list[pb.Event] = field(default_factory=lambda: [_event(n) for n in range(1, 4)])
    after: list[str] = field(default_factory=list)
    """Per stream in order: "ended", "drain", "drain_in_backlog" (before caught_up), "too_slow", "close",
    "live" (wait), "gone" (NOT_FOUND at once); the last repeats."""
    requests: list[pb.WatchSessionRequest] = field(default_factory=list)
    metadata: list[dict[str, str]] = field(default_factory=list)
    appended: asyncio.Event = field(default_factory=asyncio.Event)

    def append(self, count: int) -> None:
        """Stores ``count`` more events; live streams send them."""
        start = len(self.events) + 1
        self.events += [_event(n) for n in range(start, start + count)]
        self.appended.set()


async def _watch(script: Script, request: pb.WatchSessionRequest, context: Any) -> AsyncIterator[Any]:
    script.requests.append(request)
    script.metadata.append({key: value for key, value in context.invocation_metadata()})
    if request.session_id != "s1":
        status = _status(
            grpc.StatusCode.NOT_FOUND, "SESSION_NOT_FOUND", f"Session {request.session_id} not found."
        )
        await context.abort_with_status(rpc_status.to_status(status))
    if script.metadata[-1].get("authorization") not in (None, "Bearer right"):
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, "token not valid for app")
    sent = request.after_revision
    behaviour = script.after[min(len(script.requests), len(script.after)) - 1] if script.after else "live"
    if behaviour == "gone":
        status = _status(grpc.StatusCode.NOT_FOUND, "SESSION_NOT_FOUND", "Session s1 not found.")
        await context.abort_with_status(rpc_status.to_status(status))

    def backlog() -> pb.WatchSessionResponse | None:
        nonlocal sent
        if sent >= len(script.events):
            return None
        watched = [pb.WatchedEvent(event=e, revision=n) for n, e in enumerate(script.events, 1) if n > sent]
        sent = len(script.events)
        return pb.WatchSessionResponse(events=pb.WatchedEvents(events=watched))

    first = backlog()
    if first is not None:
        yield first
    if behaviour == "drain_in_backlog":
        status = _status(grpc.StatusCode.UNAVAILABLE, "SERVER_DRAINING", "server draining")
        await context.abort_with_status(rpc_status.to_status(status))
    yield pb.WatchSessionResponse(caught_up=pb.WatchCaughtUp(revision=sent))
    if behaviour == "ended":
        yield pb.WatchSessionResponse(ended=pb.WatchEnded(reason=pb.WatchEnded.REASON_CLOSED))
    elif behaviour == "drain":
        status = _status(grpc.StatusCode.UNAVAILABLE, "SERVER_DRAINING", "server draining")
        await context.abort_with_status(rpc_status.to_status(status))
    elif behaviour == "too_slow":
        status = _status(grpc.StatusCode.RESOURCE_EXHAUSTED, "WATCHER_TOO_SLOW", "watcher too slow")
        await context.abort_with_status(rpc_status.to_status(status))
    elif behaviour == "live":
        while True:
            await script.appended.wait()
            script.appended.clear()
            more = backlog()
            if more is not None:
                yield more


@asynccontextmanager
async def scripted(script: Script) -> AsyncIterator[str]:
    """Serves ``script`` as WatchSession; yields the address."""

    async def handler(request: pb.WatchSessionRequest, context: Any) -> AsyncIterator[Any]:
        async for message in _watch(script, request, context):
            yield message

    method = grpc.unary_stream_rpc_method_handler(
        handler,
        request_deserializer=pb.WatchSessionRequest.FromString,
        response_serializer=pb.WatchSessionResponse.SerializeToString,
    )
    async with serving(
        grpc.method_handlers_generic_handler(SERVICE_NAME, {"WatchSession": method})
    ) as address:
        yield address


async def _events(watch: Any, count: int | None = None) -> list[str]:
    ids: list[str] = []
    async with asyncio.timeout(20):
        async for event in watch:
            ids.append(event.id)
            if count is not None and len(ids) == count:
                break
    return ids


async def test_a_watch_yields_the_stored_events_then_ends_with_the_reason() -> None:
    script = Script(after=["ended"])
    async with scripted(script) as address, GrpcSessionService(address) as service:
        watch = service.watch_session("app", "u", "s1")
        assert await _events(watch) == ["e1", "e2", "e3"]
        assert watch.ended is WatchEndReason.CLOSED
        assert watch.revision == 3


async def test_updates_carry_each_event_revision_the_caught_up_marker_and_the_end() -> None:
    script = Script(after=["ended"])
    async with scripted(script) as address, GrpcSessionService(address) as service:
        updates = [u async for u in service.watch_session_updates("app", "u", "s1", after_revision=1)]
    assert [type(u) for u in updates] == [WatchedEvent, WatchedEvent, CaughtUp, WatchEnded]
    assert [u.revision for u in updates if isinstance(u, WatchedEvent)] == [2, 3]
    assert updates[2] == CaughtUp(3)
    assert updates[3] == WatchEnded(WatchEndReason.CLOSED)
    assert script.requests[0].after_revision == 1


@pytest.mark.parametrize("cut", ["drain", "too_slow", "close"])
async def test_a_broken_stream_is_resumed_after_the_last_revision_received(cut: str) -> None:
    script = Script(after=[cut, cut, "ended"])
    async with scripted(script) as address, GrpcSessionService(address, timeout=10) as service:
        watch = service.watch_session_updates("app", "u", "s1")
        updates: list[Any] = []
        async with asyncio.timeout(20):
            async for update in watch:
                updates.append(update)
                if isinstance(update, CaughtUp) and len(script.requests) < 3:
                    script.append(2)  # stored while the stream is cut: the next one must carry them
    ids = [u.event.id for u in updates if isinstance(u, WatchedEvent)]
    assert ids == [f"e{n}" for n in range(1, 8)], ids
    assert [r.after_revision for r in script.requests] == [0, 3, 5]
    assert watch.reconnects == 2 and watch.ended is WatchEndReason.CLOSED


async def test_a_stream_broken_before_it_caught_up_resumes_after_its_last_event() -> None:
    script = Script(after=["drain_in_backlog", "ended"])
    async with scripted(script) as address, GrpcSessionService(address, timeout=10) as service:
        assert await _events(service.watch_session("app", "u", "s1", after_revision=1)) == ["e2", "e3"]
    assert [r.after_revision for r in script.requests] == [1, 3]


async def test_live_events_arrive_on_the_open_stream() -> None:
    script = Script(after=["live"])
    async with scripted(script) as address, GrpcSessionService(address) as service:
        watch = service.watch_session("app", "u", "s1", after_revision=3)
        received: list[str] = []

        async def read() -> None:
            async for event in watch:
                received.append(event.id)
                if len(received) == 2:
                    return

        reader = asyncio.create_task(read())
        await until(lambda: bool(script.requests))
        script.append(2)
        async with asyncio.timeout(10):
            await reader
        await watch.aclose()
    assert received == ["e4", "e5"]


async def test_a_session_that_does_not_exist_raises_adks_not_found_error() -> None:
    async with scripted(Script()) as address, GrpcSessionService(address) as service:
        with pytest.raises(SessionNotFoundError, match="Session nope not found"):
            await _events(service.watch_session("app", "u", "nope"))


async def test_a_session_gone_while_the_watch_reconnects_ends_it_deleted() -> None:
    script = Script(after=["drain", "gone"])
    async with scripted(script) as address, GrpcSessionService(address, timeout=10) as service:
        watch = service.watch_session_updates("app", "u", "s1")
        async with asyncio.timeout(20):
            updates = [update async for update in watch]
    assert updates[-1] == WatchEnded(WatchEndReason.DELETED)
    assert [type(u) for u in updates].count(WatchedEvent) == 3
    assert watch.ended is WatchEndReason.DELETED and len(script.requests) == 2


async def test_the_clients_token_goes_with_every_stream_and_a_refusal_is_raised() -> None:
    script = Script(after=["drain", "ended"])
    async with scripted(script) as address:
        async with GrpcSessionService(address, metadata=[("authorization", "Bearer right")]) as service:
            assert await _events(service.watch_session("app", "u", "s1")) == ["e1", "e2", "e3"]
        assert [m.get("authorization") for m in script.metadata] == ["Bearer right", "Bearer right"]
        async with GrpcSessionService(address, metadata=[("authorization", "Bearer wrong")]) as service:
            with pytest.raises(SessionServicePermissionError):
                await _events(service.watch_session("app", "u", "s1"))


async def test_a_server_that_cannot_be_reached_within_the_budget_ends_the_watch_unavailable() -> None:
    async with scripted(Script()) as address:
        pass  # stopped: nothing listens there any more
    async with GrpcSessionService(address, timeout=1.0) as service:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(SessionServiceUnavailableError):
            await _events(service.watch_session("app", "u", "s1"))
        assert loop.time() - started < 10


async def test_breaking_out_of_the_loop_cancels_the_stream() -> None:
    script = Script(after=["live"])
    async with scripted(script) as address, GrpcSessionService(address) as service:
        watch = service.watch_session("app", "u", "s1")
        assert await _events(watch, count=2) == ["e1", "e2"]
        await watch.aclose()
        assert [event.id async for event in watch] == []


async def test_closing_a_watch_from_another_task_ends_its_iteration_normally() -> None:
    script = Script(after=["live"])
    async with scripted(script) as address, GrpcSessionService(address) as service:
        watch = service.watch_session("app", "u", "s1")
        received: list[str] = []

        async def read() -> None:
            async for event in watch:
                received.append(event.id)

        reader = asyncio.create_task(read())
        await until(lambda: len(received) == 3)
        await watch.aclose()  # the reader is waiting for the next event meanwhile
        async with asyncio.timeout(10):
            await reader  # ends without an error, and without opening another stream
        assert len(script.requests) == 1
        assert watch.ended is None
