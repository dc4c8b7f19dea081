"""With an OTLP endpoint configured, every call is traced and the spans reach a real collector."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.adk.events.event import Event
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP trace receiver that keeps every span name it is sent."""

    def __init__(self) -> None:
        self.spans: list[str] = []
        self.services: set[str] = set()
        self.arrived = asyncio.Event()

    async def Export(  # noqa: N802 - the OTLP method name
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        for resource_spans in request.resource_spans:
            for attribute in resource_spans.resource.attributes:
                if attribute.key == "service.name":
                    self.services.add(attribute.value.string_value)
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(span.name for span in scope_spans.spans)
        self.arrived.set()
        return trace_service_pb2.ExportTraceServiceResponse()


@contextlib.asynccontextmanager
async def _traced_server() -> AsyncIterator[tuple[str, Collector]]:
    """A memory-backed server tracing to a real OTLP receiver: its address, and what the receiver got.

    On leaving, the server stops (which flushes its spans) and the receiver waits for them.
    """
    collector = Collector()
    receiver = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, receiver)  # type: ignore[no-untyped-call]
    port = receiver.add_insecure_port("127.0.0.1:0")
    await receiver.start()
    server = SessionServer(
        ServerConfig(listen=["127.0.0.1:0"], backend="memory://", otel_endpoint=f"http://127.0.0.1:{port}")
    )
    await server.start()
    try:
        yield f"127.0.0.1:{server.ports[0]}", collector
    finally:
        await server.stop(grace=0)
    await asyncio.wait_for(collector.arrived.wait(), timeout=10)
    await receiver.stop(0)


async def test_calls_are_traced_to_the_configured_collector(app_name: str) -> None:
    # Calls of their own (the stream's requests have a test of their own below).
    async with (
        _traced_server() as (address, collector),
        GrpcSessionService(address, stream_appends=False) as client,
    ):
        await client.create_session(app_name=app_name, user_id="u1")
        await client.get_user_state(app_name=app_name, user_id="u1")
    assert "/adk_grpc_sessions.v1.SessionService/CreateSession" in collector.spans
    assert "/adk_grpc_sessions.v1.SessionService/GetUserState" in collector.spans
    assert collector.services == {"adk-grpc-sessions"}


async def test_with_tracing_on_lone_creates_and_appends_on_the_stream_are_served(app_name: str) -> None:
    server = SessionServer(
        ServerConfig(listen=["127.0.0.1:0"], backend="memory://", otel_endpoint="http://127.0.0.1:1")
    )
    await server.start()
    try:
        async with GrpcSessionService(f"127.0.0.1:{server.ports[0]}", timeout=5) as client:
            session = await client.create_session(app_name=app_name, user_id="u1")
            await client.append_event(session, Event(author="user"))
            stored = await client.get_session(app_name=app_name, user_id="u1", session_id=session.id)
            assert stored is not None and len(stored.events) == 1
    finally:
        await server.stop(grace=0)


async def test_requests_on_the_append_stream_are_traced_as_the_calls_they_stand_for(app_name: str) -> None:
    # The client's defaults: a lone create and a lone append go on its append stream.
    async with _traced_server() as (address, collector), GrpcSessionService(address) as client:
        session = await client.create_session(app_name=app_name, user_id="u1")
        await client.append_event(session, Event(author="user"))
    assert "/adk_grpc_sessions.v1.SessionService/CreateSession" in collector.spans
    assert "/adk_grpc_sessions.v1.SessionService/AppendEvent" in collector.spans
    assert not any(span.endswith("/AppendEventStream") for span in collector.spans)
