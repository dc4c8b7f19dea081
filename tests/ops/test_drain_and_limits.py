"""Draining on stop, deadlines honoured down into the backend, keepalive, health."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from google.adk.events.event import Event
from grpc_health.v1 import health_pb2, health_pb2_grpc

from adk_grpc_sessions.client import (
    GrpcSessionService,
    SessionServiceTimeoutError,
    SessionServiceUnavailableError,
)
from adk_grpc_sessions.server.backends.base import EventWindow, SessionKey
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from tests.ops.gated_backend import GatedBackend
from tests.waiting import until


async def _health(address: str) -> str:
    async with grpc.aio.insecure_channel(address) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


async def _until_refusing(address: str, wait: float = 10.0) -> None:
    """Returns once the server at ``address`` refuses new calls (UNAVAILABLE), as a draining one does."""
    async with asyncio.timeout(wait):
        while True:
            try:
                await _health(address)
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.CANCELLED:
                    # A check that arrived as the stop began: gRPC cancels it. Ask again.
                    continue
                if error.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
                return
            await asyncio.sleep(0.01)


async def test_stop_drains_in_flight_appends_and_refuses_new_calls(app_name: str) -> None:
    backend = GatedBackend()
    server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend="memory://"), backend=backend)
    await server.start()
    address = f"127.0.0.1:{server.ports[0]}"
    client = GrpcSessionService(address, timeout=20)
    sessions = [await client.create_session(app_name=app_name, user_id=f"u{i}") for i in range(5)]
    appends = [asyncio.create_task(client.append_event(s, Event(author="user"))) for s in sessions]
    await backend.until_waiting(5)
    assert await _health(address) == "SERVING"

    stopping = asyncio.create_task(server.stop(grace=10))
    await _until_refusing(address)
    assert backend.waiting == 5  # refused while the in-flight appends are still held
    late = GrpcSessionService(address, timeout=2)
    with pytest.raises(SessionServiceUnavailableError):
        await late.get_user_state(app_name=app_name, user_id="u0")
    await late.close()
    backend.gate.set()
    results = await asyncio.gather(*appends)
    await stopping
    assert len(results) == 5
    # Every acknowledged append is in storage.
    for session in sessions:
        stored = await backend.get_session(SessionKey(app_name, session.user_id, session.id), EventWindow())
        assert stored is not None and len(stored.events) == 1
    await client.close()


async def test_health_is_not_serving_while_draining(app_name: str) -> None:
    backend = GatedBackend()
    server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend="memory://"), backend=backend)
    await server.start()
    address = f"127.0.0.1:{server.ports[0]}"
    async with grpc.aio.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        watch = health.Watch(health_pb2.HealthCheckRequest())
        first = await watch.read()
        assert first.status == health_pb2.HealthCheckResponse.SERVING
        stopping = asyncio.create_task(server.stop(grace=5))
        second = await watch.read()
        assert second.status == health_pb2.HealthCheckResponse.NOT_SERVING
        watch.cancel()  # an open watch is a call in flight: it would hold the stop for its grace
        await stopping


@pytest.mark.parametrize("stream_appends", [True, False], ids=["stream", "call"])
async def test_client_deadline_reaches_the_backend(app_name: str, stream_appends: bool) -> None:
    backend = GatedBackend()
    server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend="memory://"), backend=backend)
    await server.start()
    address = f"127.0.0.1:{server.ports[0]}"
    try:
        async with GrpcSessionService(address, timeout=0.5, stream_appends=stream_appends) as client:
            session = await client.create_session(app_name=app_name, user_id="u1")
            started = time.monotonic()
            with pytest.raises(SessionServiceTimeoutError):
                await client.append_event(session, Event(author="user"))
            assert time.monotonic() - started < 2
        # The server gave up too: the backend call was cancelled, nothing is left waiting.
        await backend.until_waiting(0)
    finally:
        backend.gate.set()
        await server.stop(grace=0)


async def test_calls_ended_by_the_client_deadline_are_counted(app_name: str) -> None:
    backend = GatedBackend()
    config = ServerConfig(listen=["127.0.0.1:0"], backend="memory://", metrics_listen="127.0.0.1:0")
    server = SessionServer(config, backend=backend)
    await server.start()
    try:
        address = f"127.0.0.1:{server.ports[0]}"
        async with GrpcSessionService(address, timeout=0.5, stream_appends=False) as client:
            session = await client.create_session(app_name=app_name, user_id="u1")
            with pytest.raises(SessionServiceTimeoutError):
                await client.append_event(session, Event(author="user"))
        await backend.until_waiting(0)
        assert server.metrics is not None
        labels = {"method": "AppendEvent", "code": "DEADLINE_EXCEEDED"}
        sample = server.metrics.registry.get_sample_value
        # The handler counts it as its cancellation unwinds, soon after.
        await until(lambda: sample("adk_grpc_sessions_rpcs_total", labels) == 1, wait=5)
    finally:
        backend.gate.set()
        await server.stop(grace=0)


async def test_server_bounds_calls_that_carry_no_deadline(app_name: str) -> None:
    backend = GatedBackend()
    server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], max_call_seconds=0.3), backend=backend)
    await server.start()
    try:
        async with GrpcSessionService(f"127.0.0.1:{server.ports[0]}", timeout=None) as client:
            session = await client.create_session(app_name=app_name, user_id="u1")
            with pytest.raises(SessionServiceTimeoutError, match=r"did not finish within 0\.3 s"):
                await client.append_event(session, Event(author="user"))
        await backend.until_waiting(0)
    finally:
        backend.gate.set()
        await server.stop(grace=0)


async def test_frequent_client_keepalive_pings_are_tolerated(app_name: str) -> None:
    server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend="memory://"))
    await server.start()
    options = [
        ("grpc.keepalive_time_ms", 1000),
        ("grpc.keepalive_timeout_ms", 1000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]
    try:
        async with GrpcSessionService(f"127.0.0.1:{server.ports[0]}", channel_options=options) as client:
            await client.create_session(app_name=app_name, user_id="u1")
            channel = client._connection.channel
            assert channel is not None
            await asyncio.sleep(4)  # four idle pings, far more often than the server's own interval
            assert channel.get_state() == grpc.ChannelConnectivity.READY
            await client.create_session(app_name=app_name, user_id="u1")
            assert channel.get_state() == grpc.ChannelConnectivity.READY
    finally:
        await server.stop(grace=0)
