"""OpenTelemetry tracing of every call, when an OTLP endpoint is configured.

Needs the ``otel`` extra; without an endpoint nothing is imported or done.
"""

from __future__ import annotations

from typing import Any

import grpc


def tracing_interceptor(endpoint: str) -> tuple[grpc.aio.ServerInterceptor, Any]:
    """A server interceptor that traces each call and exports spans over OTLP/gRPC to ``endpoint``.

    Returns the interceptor and the tracer provider (shut it down to flush spans).

    Raises:
        ValueError: the ``otel`` extra is not installed.
    """
    try:
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
    # The append stream is left untraced: its handler writes its answers through its context
    # (to tell a wait for the next request apart), which the interceptor's stream wrapper, that
    # iterates a handler's answers, cannot serve; traced, every request on it would fail.
    untraced = filters.negate(filters.method_name("AppendEventStream"))
    interceptor: grpc.aio.ServerInterceptor = aio_server_interceptor(  # type: ignore[no-untyped-call]
        tracer_provider=provider, filter_=untraced
    )
    return interceptor, provider
