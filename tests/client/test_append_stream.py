"""The client's append stream: lone appends share one open stream, and every way it can fail is survived."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from google.adk.errors import StaleSessionError
from google.adk.events.event import Event
from google.adk.sessions.session import Session

from adk_grpc_sessions.client import GrpcSessionService, SessionServiceTimeoutError
from adk_grpc_sessions.server.backends.base import EventWindow, SessionKey
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from tests.client.fake_servers import LossyServer
from tests.client.test_append_pipeline import FAST_RETRIES, _event
from tests.ops.gated_backend import GatedBackend
from tests.waiting import until


async def _stored(client: GrpcSessionService, session: Session) -> list[str]:
    stored = await client.get_session(
        app_name=session.app_name, user_id=session.user_id, session_id=session.id
    )
    assert stored is not None
    return [e.id for e in stored.events]


async def test_lone_appends_share_one_stream_and_keep_their_order() -> None:
    server = LossyServer(set())
    async with server.running() as address, GrpcSessionService(address) as client:
        session = await client.create_session(app_name="app", user_id="u1")
        for index in range(5):
            await client.append_event(session, _event(index, n=index))
        assert await _stored(client, session) == [e.id for e in session.events]
        stored = await client.get_session(app_name="app", user_id="u1", session_id=session.id)
        assert stored is not None and stored.state == {"n": 4}
    assert server.calls.get("AppendEventStream") == 1
    assert "AppendEvent" not in server.calls
    assert "BatchAppendEvents" not in server.calls


async def test_an_append_failing_on_the_stream_raises_as_a_call_would_and_the_stream_goes_on() -> None:
    server = LossyServer(set())
    async with server.running() as address, GrpcSessionService(address) as client:
        session = await client.create_session(app_name="app", user_id="u1")
        stale = session.model_copy(deep=True)
        await client.append_event(session, _event(1))
        with pytest.raises(StaleSessionError):
            await client.append_event(stale, _event(2))
        with pytest.raises(ValueError, match="event_json"):
            await client.append_event(session, Event(author="agent", timestamp=float("inf")))
        await client.append_event(session, _event(3))
        assert await _stored(client, session) == [e.id for e in session.events]
    assert server.calls.get("AppendEventStream") == 1


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED])
async def test_a_lost_stream_answer_is_retried_on_a_new_stream_and_stored_once(code: grpc.StatusCode) -> None:
    server = LossyServer({"AppendEventStream"}, code)
    async with server.running() as address, GrpcSessionService(address, retry_policy=FAST_RETRIES) as client:
        session = await client.create_session(app_name="app", user_id="u1")
        event = _event(1, n=1)
        await client.append_event(session, event)
        assert [e.id for e in session.events] == [event.id]
        assert await _stored(client, session) == [event.id]
        await client.append_event(session, _event(2))  # the session is current: not stale
    assert server.calls["AppendEventStream"] == 2


async def test_an_append_past_its_time_budget_drops_the_stream_and_is_not_stored() -> None:
    backend = GatedBackend()
    server = LossyServer(set(), backend=backend)
    async with server.running() as address, GrpcSessionService(address, timeout=0.3) as client:
        session = await client.create_session(app_name="app", user_id="u1")
        started = time.monotonic()
        with pytest.raises(SessionServiceTimeoutError):
            await client.append_event(session, _event(1))
        assert time.monotonic() - started < 1
        await backend.until_waiting(0)  # the server gave up too: the stream's cancel reached storage
        backend.gate.set()
        assert await _stored(client, session) == []
        await client.append_event(session, _event(2))  # on a new stream
        assert await _stored(client, session) == [session.events[0].id]
    assert server.calls["AppendEventStream"] == 2


async def test_appends_made_while_the_stream_is_busy_go_in_calls() -> None:
    backend = GatedBackend()
    server = LossyServer(set(), backend=backend)
    async with server.running() as address, GrpcSessionService(address, max_appends_in_flight=0) as client:
        sessions = [await client.create_session(app_name="app", user_id=f"u{i}") for i in range(3)]
        appending = asyncio.gather(*(client.append_event(s, _event(1)) for s in sessions))
        await backend.until_waiting(3)
        backend.gate.set()
        await appending
        for session in sessions:
            assert await _stored(client, session) == [session.events[0].id]
    assert server.calls["AppendEventStream"] == 1
    assert server.calls["AppendEvent"] == 2


async def test_draining_ends_idle_streams_at_once_and_busy_ones_after_their_answer() -> None:
    backend = GatedBackend()
    server = SessionServer(
        ServerConfig(listen=["127.0.0.1:0"], backend="memory://", metrics_listen="127.0.0.1:0"),
        backend=backend,
    )
    await server.start()
    address = f"127.0.0.1:{server.ports[0]}"
    assert server.metrics is not None
    sample = server.metrics.registry.get_sample_value
    streams_ended = {"method": "AppendEventStream", "code": "OK"}
    try:
        async with GrpcSessionService(address) as idle, GrpcSessionService(address) as busy:
            quiet = await idle.create_session(app_name="app", user_id="u1")
            backend.gate.set()
            await idle.append_event(quiet, _event(1))  # its stream is open, and idle from now on
            backend.gate.clear()
            session = await busy.create_session(app_name="app", user_id="u2")
            event = _event(2)
            appending = asyncio.create_task(busy.append_event(session, event))
            await backend.until_waiting(1)
            started = time.monotonic()
            stopping = asyncio.create_task(server.stop(grace=30))
            # The idle stream ends at once, while the busy one's append is still held.
            await until(lambda: sample("adk_grpc_sessions_rpcs_total", streams_ended) == 1)
            assert backend.waiting == 1 and not appending.done()
            backend.gate.set()  # the busy stream's append finishes, and is answered
            await appending
            await stopping
            # Not the 30 s grace: every stream ended once it had answered.
            assert time.monotonic() - started < 5
            assert sample("adk_grpc_sessions_rpcs_total", streams_ended) == 2
            assert [e.id for e in session.events] == [event.id]
            stored = await backend.get_session(SessionKey("app", "u2", session.id), EventWindow())
            assert stored is not None and [e.id for e in stored.events] == [event.id]
    finally:
        backend.gate.set()
        await server.stop(grace=0)


async def test_a_stream_the_server_ended_is_replaced_without_a_failure() -> None:
    server = LossyServer(set(), end_streams_after=1)
    async with server.running() as address, GrpcSessionService(address, retry_policy=FAST_RETRIES) as client:
        session = await client.create_session(app_name="app", user_id="u1")
        for index in range(3):
            await client.append_event(session, _event(index))
        assert await _stored(client, session) == [e.id for e in session.events]
    assert server.calls["AppendEventStream"] >= 3
    assert "AppendEvent" not in server.calls


async def test_streamed_appends_are_counted_by_their_own_codes() -> None:
    server = SessionServer(
        ServerConfig(listen=["127.0.0.1:0"], backend="memory://", metrics_listen="127.0.0.1:0")
    )
    await server.start()
    try:
        async with GrpcSessionService(f"127.0.0.1:{server.ports[0]}") as client:
            session = await client.create_session(app_name="app", user_id="u1")
            stale = session.model_copy(deep=True)
            await client.append_event(session, _event(1))
            with pytest.raises(StaleSessionError):
                await client.append_event(stale, _event(2))
        assert server.metrics is not None
        sample = server.metrics.registry.get_sample_value
        assert sample("adk_grpc_sessions_streamed_appends_total", {"code": "OK"}) == 1
        assert sample("adk_grpc_sessions_streamed_appends_total", {"code": "ABORTED"}) == 1
        assert sample("adk_grpc_sessions_streamed_creates_total", {"code": "OK"}) == 1  # the create went too
        seconds = {"method": "AppendEventStream"}
        assert sample("adk_grpc_sessions_rpc_duration_seconds_count", seconds) == 3
    finally:
        await server.stop(grace=0)
