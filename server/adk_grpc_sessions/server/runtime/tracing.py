"""OpenTelemetry tracing of every call, when an OTLP endpoint is configured.

Needs the ``otel`` extra; without an endpoint nothing is imported or done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import grpc

RequestSpan = Callable[[str, Sequence[tuple[str, Any]]], AbstractContextManager[Any]]
"""A span for one request served on a stream: ``(method, the stream's metadata)`` → its context manager.

``method`` is the full name of the call it stands for
(``/adk_grpc_sessions.v1.SessionService/AppendEvent``), so that a streamed
request is traced as its call of its own would be; the metadata carries
the caller's trace context."""


def tracing_interceptor(endpoint: str) -> tuple[grpc.aio.ServerInterceptor, Any, RequestSpan]:
    """A server interceptor that traces each call and exports spans over OTLP/gRPC to ``endpoint``.

    Returns the interceptor, the tracer provider (shut it down to flush
    spans) and the ``RequestSpan`` of the requests the append stream serves.

    Raises:
        ValueError: the ``otel`` extra is not installed.
    """
    try:
        from opentelemetry import propagate, trace
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.grpc import aio_server_interceptor, filters
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise ValueError(
            f"tracing needs the otel extra (pip install 'adk-grpc-sessions[otel]'): {exc.name} is missing"
        ) from None
    provider = TracerProvider(resource=Resource.create({"service.name": "adk-grpc-sessions"}))
    insecure = endpoint.startswith("http://") or not endpoint.startswith("https://")
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=insecure)))
    # The append stream is traced request by request (``RequestSpan``), not by the interceptor:
    # its handler writes its answers through its context (to tell a wait for the next request
    # apart), which the interceptor's stream wrapper, that iterates a handler's answers, cannot
    # serve; wrapped, every request on it would fail.
    untraced = filters.negate(filters.method_name("AppendEventStream"))
    interceptor: grpc.aio.ServerInterceptor = aio_server_interceptor(  # type: ignore[no-untyped-call]
        tracer_provider=provider, filter_=untraced
    )
    tracer = provider.get_tracer(__name__)

    def request_span(method: str, metadata: Sequence[tuple[str, Any]]) -> AbstractContextManager[Any]:
        return tracer.start_as_current_span(
            method,
            context=propagate.extract(dict(metadata)),
            kind=trace.SpanKind.SERVER,
            attributes={"rpc.system": "grpc", "adk_grpc_sessions.stream": "AppendEventStream"},
        )

    return interceptor, provider, request_span
