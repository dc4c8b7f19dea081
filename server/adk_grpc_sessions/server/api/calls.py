"""What happens around every call: parse, authenticate, authorize, bound in time, measure, answer.

Requests arrive as raw bytes and are parsed here, so a request that is not
even valid protobuf (bad UTF-8 in a string field, say) is answered
INVALID_ARGUMENT like any other bad input instead of failing inside gRPC.
Every failure becomes a status through ``errors.status_for``; the server never
dies on input.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeVar

import grpc
from google.protobuf.message import DecodeError, Message

from adk_grpc_sessions.server.api.append_stream import METHOD as STREAM_METHOD
from adk_grpc_sessions.server.api.append_stream import AppendStreams
from adk_grpc_sessions.server.api.appends import BatchAppender
from adk_grpc_sessions.server.api.errors import DeadlineExceededError, rpc_status_for
from adk_grpc_sessions.server.api.messages import Encoded
from adk_grpc_sessions.server.api.service import SERVICE_NAME, SessionServicer
from adk_grpc_sessions.server.backends.base import BackendUnavailableError
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError
from adk_grpc_sessions.server.runtime.auth import TokenAuthorizer, TokenGrant
from adk_grpc_sessions.server.runtime.logs import new_request_id, request_id
from adk_grpc_sessions.server.runtime.metrics import Metrics
from adk_grpc_sessions.v1 import session_service_pb2 as pb

RequestT = TypeVar("RequestT", bound=Message)
ResponseT = TypeVar("ResponseT", bound=Message | Encoded)
DEFAULT_MAX_CALL_SECONDS: Final = 60.0
_log = logging.getLogger(__name__)


class _AppScopedRequest(Protocol):
    app_name: str


class BackendTrouble(Protocol):
    """Told when a call finds the backend unreachable (the health monitor)."""

    async def backend_unavailable(self, reason: str) -> None:
        """Records that the backend did not answer."""


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """The rules every call is served under."""

    authorizer: TokenAuthorizer | None = None
    """Checks bearer tokens and their app scopes; None serves without authentication."""
    max_call_seconds: float = DEFAULT_MAX_CALL_SECONDS
    """Upper bound on any call's time, whatever (or whether) the client's deadline."""
    metrics: Metrics | None = None
    trouble: BackendTrouble | None = None


Context = grpc.aio.ServicerContext[Any, Any]
Method = Callable[[RequestT, Context], Awaitable[ResponseT]]
Run = Callable[[RequestT, Context, TokenGrant | None], Awaitable[ResponseT]]
"""A parsed request served under the caller's grant (None when serving without authentication)."""


def _serialize(response: Message | Encoded) -> bytes:
    return response.data if isinstance(response, Encoded) else response.SerializeToString()


def _for_one_app(
    method: Method[RequestT, ResponseT], authorizer: TokenAuthorizer | None
) -> Run[RequestT, ResponseT]:
    """``method`` served only if the grant covers the request's app."""

    async def run(request: RequestT, context: Context, grant: TokenGrant | None) -> ResponseT:
        if authorizer is not None and grant is not None:
            app_name: str = getattr(request, "app_name")  # noqa: B009 - every such request names its app
            authorizer.authorize(grant, app_name)
        return await method(request, context)

    return run


def _count(metrics: Metrics, name: str, code: str, started: float) -> None:
    metrics.rpcs.labels(name, code).inc()
    metrics.rpc_seconds.labels(name).observe(time.perf_counter() - started)


def _call_handler(
    name: str,
    run: Run[RequestT, ResponseT],
    request_type: type[RequestT],
    policy: CallPolicy,
) -> grpc.RpcMethodHandler[bytes, ResponseT]:
    async def handle(raw_request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> ResponseT:
        started = time.perf_counter()
        metadata = context.invocation_metadata() or ()
        request_id.set(next((str(v) for k, v in metadata if k == "x-request-id"), None) or new_request_id())
        failure: Exception | None = None
        try:
            grant = policy.authorizer.authenticate(metadata) if policy.authorizer else None
            try:
                request = request_type.FromString(raw_request)
            except DecodeError as exc:
                raise InvalidArgumentError.single(
                    "request", f"not a valid {request_type.DESCRIPTOR.full_name}: {exc}"
                ) from None
            remaining = context.time_remaining()
            if remaining is not None and remaining <= policy.max_call_seconds:
                # gRPC cancels this task at the caller's deadline itself; a
                # timer of our own would cost more than the append it guards.
                response = await run(request, context, grant)
            else:
                try:
                    async with asyncio.timeout(policy.max_call_seconds):
                        response = await run(request, context, grant)
                except TimeoutError as exc:
                    raise DeadlineExceededError(
                        f"{name} did not finish within {policy.max_call_seconds:.3g} s"
                    ) from exc
        except asyncio.CancelledError:
            # The caller's deadline passed or the caller cancelled: gRPC answers it.
            if policy.metrics is not None:
                remaining = context.time_remaining()
                expired = remaining is not None and remaining <= 0
                _count(policy.metrics, name, "DEADLINE_EXCEEDED" if expired else "CANCELLED", started)
            raise
        except Exception as exc:
            failure = exc
        status = rpc_status_for(failure) if failure is not None else None
        code = status.code if status is not None else grpc.StatusCode.OK
        if policy.metrics is not None:
            _count(policy.metrics, name, code.name, started)
        if isinstance(failure, BackendUnavailableError) and policy.trouble is not None:
            await policy.trouble.backend_unavailable(str(failure))
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("%s %s in %.1f ms", name, code.name, (time.perf_counter() - started) * 1000)
        if status is None:
            return response
        # Outside every except block: abort raises, and must not be caught above.
        await context.abort_with_status(status)
        raise AssertionError("abort_with_status returned")  # pragma: no cover

    return grpc.unary_unary_rpc_method_handler(
        handle, request_deserializer=None, response_serializer=_serialize
    )


def append_streams(servicer: SessionServicer, policy: CallPolicy | None = None) -> AppendStreams:
    """What serves ``AppendEventStream`` for ``servicer`` under ``policy``; ``drain`` ends its streams."""
    policy = policy or CallPolicy()
    return AppendStreams(
        servicer,
        authorizer=policy.authorizer,
        max_call_seconds=policy.max_call_seconds,
        metrics=policy.metrics,
        on_backend_unavailable=policy.trouble.backend_unavailable if policy.trouble is not None else None,
    )


def session_service_handler(
    servicer: SessionServicer, policy: CallPolicy | None = None, streams: AppendStreams | None = None
) -> grpc.GenericRpcHandler:
    """The generic handler that serves ``servicer`` as ``adk_grpc_sessions.v1.SessionService``.

    ``streams`` serves ``AppendEventStream``; by default one of ``append_streams(servicer, policy)``.
    """
    policy = policy or CallPolicy()
    service = pb.DESCRIPTOR.services_by_name["SessionService"]
    unary = [method for method in service.methods if method.name != STREAM_METHOD]
    runs: dict[str, Run[Any, Any]] = {
        method.name: _for_one_app(getattr(servicer, method.name), policy.authorizer)
        for method in unary
        if method.name != "BatchAppendEvents"
    }
    # A batch names an app per append: each is authorized (and may fail) on its own.
    runs["BatchAppendEvents"] = BatchAppender(
        servicer,
        policy.authorizer,
        policy.metrics,
        policy.trouble.backend_unavailable if policy.trouble is not None else None,
    )
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
        method.name: _call_handler(
            method.name, runs[method.name], getattr(pb, method.input_type.name), policy
        )
        for method in unary
    }
    handlers[STREAM_METHOD] = (streams or append_streams(servicer, policy)).handler()
    return grpc.method_handlers_generic_handler(SERVICE_NAME, handlers)
