"""``AppendEventStream``: appends over a stream kept open, each served exactly as ``AppendEvent`` alone.

Why a stream: most of a lone append's time is the gRPC machinery of its
unary call, on both sides. An append sent as one more message on an open
stream skips the call's set-up and tear-down (measured on 2 cores: a bare
echo answered 470-710 unary calls/s against 720-1,800 stream round trips/s).

Each request is answered before the next one is read, so a stream's appends
are applied in order. An append's failure is its result (an
``AppendEventStreamResponse`` with the status a lone ``AppendEvent`` would have
failed with); only what concerns the stream as a whole fails it
(UNAUTHENTICATED). Each append is bounded by the server's longest call time;
a client that gives up on an append cancels the stream, which cancels the
append's storage work as a call's deadline would.

Draining: ``drain()`` ends every stream with OK as soon as it has answered
what it read (an idle one at once), so a server that stops does not wait out
its grace period for streams that would never end, and clients move to
another server by opening a new stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

import grpc
from google.protobuf.message import DecodeError
from google.rpc import code_pb2

from adk_grpc_sessions.server.api.errors import (
    DeadlineExceededError,
    rpc_status_for,
    status_for,
)
from adk_grpc_sessions.server.api.messages import stream_response
from adk_grpc_sessions.server.api.service import SessionServicer
from adk_grpc_sessions.server.backends.base import BackendUnavailableError
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError
from adk_grpc_sessions.server.runtime.auth import TokenAuthorizer, TokenGrant
from adk_grpc_sessions.server.runtime.logs import new_request_id, request_id
from adk_grpc_sessions.server.runtime.metrics import Metrics
from adk_grpc_sessions.v1 import session_service_pb2 as pb

METHOD: Final = "AppendEventStream"


class AppendStreams:
    """Serves ``AppendEventStream`` through a servicer's ``AppendEvent``; ends the streams on drain."""

    def __init__(
        self,
        servicer: SessionServicer,
        *,
        authorizer: TokenAuthorizer | None,
        max_call_seconds: float,
        metrics: Metrics | None,
        on_backend_unavailable: Callable[[str], Awaitable[None]] | None,
    ) -> None:
        """Serves with ``servicer``; ``on_backend_unavailable`` hears of appends that found storage down."""
        self._servicer = servicer
        self._authorizer = authorizer
        self._max_seconds = max_call_seconds
        self._metrics = metrics
        self._on_backend_unavailable = on_backend_unavailable
        self._idle: set[asyncio.Task[Any]] = set()
        """The streams waiting for their next request, by their handlers' tasks."""
        self._draining = False

    def handler(self) -> grpc.RpcMethodHandler[bytes, bytes]:
        """The method handler (requests arrive as bytes, so bad protobuf is answered, not fatal)."""
        return grpc.stream_stream_rpc_method_handler(
            self._serve, request_deserializer=None, response_serializer=None
        )

    def drain(self) -> None:
        """Ends every stream (with OK) once it has answered what it read; idle ones now."""
        self._draining = True
        for task in list(self._idle):
            task.cancel()

    async def _serve(
        self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        del requests  # read through the context, so that waiting for a request can be told apart
        grant = None
        if self._authorizer is not None:
            try:
                grant = self._authorizer.authenticate(context.invocation_metadata() or ())
            except Exception as exc:
                status = rpc_status_for(exc)
                self._count_stream(status.code.name)
                await context.abort_with_status(status)
        task = asyncio.current_task()
        assert task is not None  # gRPC runs every handler in a task of its own
        code = "OK"
        try:
            while not self._draining:
                self._idle.add(task)
                try:
                    raw = await context.read()
                except asyncio.CancelledError:
                    if not self._draining:
                        raise
                    task.uncancel()  # drain() ended this idle stream: end it with OK
                    break
                finally:
                    self._idle.discard(task)
                if raw is grpc.aio.EOF:
                    break
                await context.write(await self._answer(raw, context, grant))
        except asyncio.CancelledError:
            code = "CANCELLED"  # the client gave up or went away
            raise
        finally:
            self._count_stream(code)

    async def _answer(
        self, raw: bytes, context: grpc.aio.ServicerContext[Any, Any], grant: TokenGrant | None
    ) -> bytes:
        """One append's ``AppendEventStreamResponse``, encoded: its response, or the status it failed with."""
        started = time.perf_counter()
        request_id.set(new_request_id())
        try:
            try:
                request = pb.AppendEventStreamRequest.FromString(raw).append
            except DecodeError as exc:
                raise InvalidArgumentError.single(
                    "request", f"not a valid adk_grpc_sessions.v1.AppendEventStreamRequest: {exc}"
                ) from None
            if self._authorizer is not None and grant is not None:
                self._authorizer.authorize(grant, request.app_name)
            try:
                async with asyncio.timeout(self._max_seconds):
                    outcome = await self._servicer.AppendEvent(request, context)
            except TimeoutError as exc:
                raise DeadlineExceededError(
                    f"AppendEvent did not finish within {self._max_seconds:.3g} s"
                ) from exc
            code = code_pb2.OK
            answer = stream_response(outcome)
        except Exception as exc:  # the append's own failure: the stream goes on
            status = status_for(exc)
            code = status.code
            answer = stream_response(status)
            if isinstance(exc, BackendUnavailableError) and self._on_backend_unavailable is not None:
                await self._on_backend_unavailable(str(exc))
        if self._metrics is not None:
            self._metrics.streamed_appends.labels(code_pb2.Code.Name(code)).inc()
            self._metrics.rpc_seconds.labels(METHOD).observe(time.perf_counter() - started)
        return answer

    def _count_stream(self, code: str) -> None:
        # Not timed: a stream's duration says nothing; its appends are timed one by one.
        if self._metrics is not None:
            self._metrics.rpcs.labels(METHOD, code).inc()
