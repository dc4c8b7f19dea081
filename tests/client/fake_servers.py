"""Real gRPC servers that misbehave on purpose: slow, failing, or losing responses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import grpc

from adk_grpc_sessions.server.api.service import SERVICE_NAME, SessionServicer, session_service_handler
from adk_grpc_sessions.server.backends.base import Backend
from adk_grpc_sessions.server.backends.memory import MemoryBackend

Behaviour = Callable[[bytes, grpc.aio.ServicerContext[Any, Any]], Awaitable[bytes]]


@asynccontextmanager
async def serving(handler: grpc.GenericRpcHandler) -> AsyncIterator[str]:
    """Serves one generic handler on a free port; yields the address."""
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


def serve_methods(behaviours: dict[str, Behaviour]) -> AbstractAsyncContextManager[str]:
    """Serves raw-bytes behaviours under SessionService's method names; yields the address."""
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
        name: grpc.unary_unary_rpc_method_handler(
            behaviour, request_deserializer=None, response_serializer=None
        )
        for name, behaviour in behaviours.items()
    }
    return serving(grpc.method_handlers_generic_handler(SERVICE_NAME, handlers))


def slow(seconds: float) -> Behaviour:
    """Answers nothing for ``seconds``."""

    async def behaviour(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        await asyncio.sleep(seconds)
        return b""

    return behaviour


def failing(code: grpc.StatusCode, message: str = "refused") -> Behaviour:
    """Fails every call with ``code``."""

    async def behaviour(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        await context.abort(code, message)
        raise AssertionError("unreachable")

    return behaviour


class LossyServer:
    """A real server (memory-backed unless told) that performs calls but loses the first response of chosen methods.

    The call takes effect, then the client sees ``code`` (UNAVAILABLE unless
    told), as when a connection drops after the server committed: the case
    idempotent retries exist for. For a stream, its first request takes
    effect and the stream then fails. ``calls`` counts the calls of every method.
    With ``end_streams_after``, the server ends each stream (OK) after
    answering that many requests, as a draining one does.
    """

    def __init__(
        self,
        lose_first: set[str],
        code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE,
        *,
        backend: Backend | None = None,
        end_streams_after: int | None = None,
    ) -> None:
        self.lose_first = set(lose_first)
        self.end_streams_after = end_streams_after
        self.code = code
        self.backend = backend or MemoryBackend()
        self.calls: dict[str, int] = {}

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        """Starts the server; yields its address."""
        inner = session_service_handler(SessionServicer(self.backend))
        lossy = self

        class Handler(grpc.GenericRpcHandler):
            def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[Any, Any] | None:
                handler = inner.service(details)
                method = details.method.rsplit("/", 1)[-1]
                lossy.calls[method] = lossy.calls.get(method, 0) + 1
                if handler is None:
                    return None
                if handler.stream_stream is not None and lossy.end_streams_after is not None:
                    return _ending_after(handler, lossy.end_streams_after)
                if method not in lossy.lose_first:
                    return handler
                first = lossy.calls[method] == 1
                if handler.stream_stream is not None:
                    return _losing_first_answer(handler, lossy.code) if first else handler
                real: Any = handler.unary_unary  # the servicer's async behaviour

                async def behaviour(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                    response = await real(request, context)
                    if first:
                        await context.abort(lossy.code, "connection lost (test)")
                    return response

                return grpc.unary_unary_rpc_method_handler(
                    behaviour, request_deserializer=None, response_serializer=handler.response_serializer
                )

        async with serving(Handler()) as address:
            yield address


class _LosingContext:
    """A servicer context whose first write aborts the call instead (the answer is lost)."""

    def __init__(self, context: grpc.aio.ServicerContext[Any, Any], code: grpc.StatusCode) -> None:
        self._context = context
        self._code = code

    async def write(self, message: Any) -> None:
        await self._context.abort(self._code, "connection lost (test)")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def _losing_first_answer(
    handler: grpc.RpcMethodHandler[Any, Any], code: grpc.StatusCode
) -> grpc.RpcMethodHandler[Any, Any]:
    """A stream whose first request takes effect but whose answer is lost: the stream fails with ``code``."""
    real: Any = handler.stream_stream

    async def behaviour(requests: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        await real(requests, _LosingContext(context, code))

    return grpc.stream_stream_rpc_method_handler(
        behaviour, request_deserializer=None, response_serializer=None
    )


class _EndingContext:
    """A servicer context that reports the end of the requests after ``count`` of them."""

    def __init__(self, context: grpc.aio.ServicerContext[Any, Any], count: int) -> None:
        self._context = context
        self._left = count

    async def read(self) -> Any:
        if self._left == 0:
            return grpc.aio.EOF
        self._left -= 1
        return await self._context.read()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def _ending_after(handler: grpc.RpcMethodHandler[Any, Any], count: int) -> grpc.RpcMethodHandler[Any, Any]:
    real: Any = handler.stream_stream

    async def behaviour(requests: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        await real(requests, _EndingContext(context, count))

    return grpc.stream_stream_rpc_method_handler(
        behaviour, request_deserializer=None, response_serializer=None
    )
