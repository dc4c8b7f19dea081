"""What happens around every call: parse, authenticate, authorize, bound in time, measure, answer.

Each concern is written once, in ``CallPolicy`` (``authenticate``,
``authorize``, and ``serve``, which bounds in time, measures, reports storage
trouble and turns a failure into its status), and serves every unit of work:
a call, or one append of a batch or a stream (``append.append``).
The call frame here receives unary calls: requests arrive as raw bytes and are
parsed here, so a request that is not even valid protobuf (bad UTF-8 in a
string field, say) is answered INVALID_ARGUMENT like any other bad input
instead of failing inside gRPC. Every failure becomes a status through
``errors.status_for``; the server never dies on input.
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
from google.rpc import code_pb2, status_pb2

from adk_grpc_sessions.server.api.errors import DeadlineExceededError, rpc_status_from, status_for
from adk_grpc_sessions.server.api.messages import Encoded
from adk_grpc_sessions.server.backends.base import BackendUnavailableError
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError
from adk_grpc_sessions.server.runtime.auth import TokenAuthorizer, TokenGrant
from adk_grpc_sessions.server.runtime.logs import new_request_id, request_id
from adk_grpc_sessions.server.runtime.metrics import Metrics
from adk_grpc_sessions.wire import limits as wire_limits

T = TypeVar("T")
RequestT = TypeVar("RequestT", bound=Message)
STREAM_METHOD: Final = "AppendEventStream"
_log = logging.getLogger(__name__)

Context = grpc.aio.ServicerContext[Any, Any]
Tally = Callable[[Metrics, str, float], None]
"""Counts one served unit in the metrics, by its status code's name and its time in seconds."""


class BackendTrouble(Protocol):
    """Told when a call finds the backend unreachable (the health monitor)."""

    async def backend_unavailable(self, reason: str) -> None:
        """Records that the backend did not answer."""


@dataclass(frozen=True, slots=True)
class Failure:
    """A unit of work that failed: what was raised, and the status its caller is answered with."""

    error: Exception
    status: status_pb2.Status


def call_tally(method: str) -> Tally:
    """Counts a unit as one call of ``method``."""
    return lambda metrics, code, seconds: metrics.count_call(method, code, seconds)


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """The rules every call is served under, and ``serve``, which applies them."""

    authorizer: TokenAuthorizer | None = None
    """Checks bearer tokens and their app scopes; None serves without authentication."""
    max_call_seconds: float = wire_limits.DEFAULT_MAX_CALL_SECONDS
    """Upper bound on any call's time, whatever (or whether) the client's deadline."""
    metrics: Metrics | None = None
    trouble: BackendTrouble | None = None

    def authenticate(self, context: Context) -> TokenGrant | None:
        """The caller's grant (None when serving without authentication).

        Raises:
            UnauthenticatedError: the call carries no valid token.
        """
        return self.authorizer.authenticate(context.invocation_metadata() or ()) if self.authorizer else None

    def authorize(self, grant: TokenGrant | None, app_name: str) -> None:
        """Checks that the caller's grant covers ``app_name``.

        Raises:
            PermissionDeniedError: it does not.
        """
        if self.authorizer is not None and grant is not None:
            self.authorizer.authorize(grant, app_name)

    def covered_apps(self, grant: TokenGrant | None) -> frozenset[str] | None:
        """The apps the caller's grant covers now; None for every app (or without authentication).

        Raises:
            UnauthenticatedError: the token was revoked since it was authenticated.
        """
        if self.authorizer is None or grant is None:
            return None
        return self.authorizer.apps_of(grant)

    def time_limit(self, context: Context) -> float | None:
        """The server's own time limit for a call, or None where the caller's deadline comes first.

        gRPC cancels a handler at the caller's deadline itself; a timer of our
        own would cost more than the append it guards.
        """
        remaining = context.time_remaining()
        return None if remaining is not None and remaining <= self.max_call_seconds else self.max_call_seconds

    async def serve(
        self,
        name: str,
        work: Callable[[], Awaitable[T]],
        *,
        time_limit: float | None,
        tally: Tally,
        context: Context | None = None,
        status_of: Callable[[Exception], status_pb2.Status] = status_for,
    ) -> T | Failure:
        """Runs ``work`` within ``time_limit`` seconds; counts how it ended; returns its result or failure.

        ``time_limit`` None: something else bounds the work (the caller's
        deadline, or the batch it is part of). ``context``: the work is a whole
        call, whose cancellation is counted too. ``status_of`` gives a
        failure's status (a batch's append answers within its response's
        room). A failure that found storage unreachable is reported to ``trouble``.
        """
        started = time.perf_counter()
        try:
            if time_limit is None:
                result: T | Failure = await work()
            else:
                try:
                    async with asyncio.timeout(time_limit):
                        result = await work()
                except TimeoutError as exc:
                    raise DeadlineExceededError(f"{name} did not finish within {time_limit:.3g} s") from exc
            code = "OK"
        except asyncio.CancelledError:
            # The caller's deadline passed or the caller cancelled: gRPC answers it.
            if self.metrics is not None and context is not None:
                remaining = context.time_remaining()
                expired = remaining is not None and remaining <= 0
                code = "DEADLINE_EXCEEDED" if expired else "CANCELLED"
                tally(self.metrics, code, time.perf_counter() - started)
            raise
        except Exception as exc:
            result = Failure(exc, status_of(exc))
            code = code_pb2.Code.Name(result.status.code)
            if isinstance(exc, BackendUnavailableError) and self.trouble is not None:
                await self.trouble.backend_unavailable(str(exc))
        seconds = time.perf_counter() - started
        if self.metrics is not None:
            tally(self.metrics, code, seconds)
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("%s %s in %.1f ms", name, code, seconds * 1000)
        return result


Run = Callable[[RequestT, Context, TokenGrant | None], Awaitable[Message | Encoded | Failure]]
"""A parsed request served under the caller's grant (None when serving without authentication)."""


def _serialize(response: Message | Encoded) -> bytes:
    return response.data if isinstance(response, Encoded) else response.SerializeToString()


def call_handler(
    name: str, run: Run[RequestT], request_type: type[RequestT], policy: CallPolicy
) -> grpc.RpcMethodHandler[bytes, Message | Encoded]:
    """The frame of a unary call: its request id, the caller's grant, the parsed request, the answer."""

    async def handle(raw_request: bytes, context: Context) -> Message | Encoded:
        started = time.perf_counter()
        metadata = context.invocation_metadata() or ()
        request_id.set(next((str(v) for k, v in metadata if k == "x-request-id"), None) or new_request_id())
        try:
            grant = policy.authenticate(context)
            try:
                request = request_type.FromString(raw_request)
            except DecodeError as exc:
                raise InvalidArgumentError.single(
                    "request", f"not a valid {request_type.DESCRIPTOR.full_name}: {exc}"
                ) from None
            response = await run(request, context, grant)
        except Exception as exc:
            # Refused before it was served (no token, no protobuf): counted as the call it was.
            response = Failure(exc, status_for(exc))
            if policy.metrics is not None:
                code = code_pb2.Code.Name(response.status.code)
                policy.metrics.count_call(name, code, time.perf_counter() - started)
        if not isinstance(response, Failure):
            return response
        # Outside every except block: abort raises, and must not be caught above.
        await context.abort_with_status(rpc_status_from(response.status))
        raise AssertionError("abort_with_status returned")  # pragma: no cover

    return grpc.unary_unary_rpc_method_handler(
        handle, request_deserializer=None, response_serializer=_serialize
    )


def served(name: str, method: Callable[..., Awaitable[Any]], policy: CallPolicy) -> Run[Any]:
    """A unary method served whole by ``policy``: authorized for its request's app, bounded, counted."""

    async def work(request: Any, context: Context, grant: TokenGrant | None) -> Any:
        if name in ("BatchAppendEvents", "BatchCreateSessions"):
            # A batch names an app per item: each is authorized (and may fail) on its own.
            return await method(request, context, grant)
        if name == "ListApps":
            # ListApps names no app: it lists only those the grant covers (``covered_apps``).
            return await method(request, context, grant)
        # UpdateSession names its app inside the session it updates.
        app_name = request.session.app_name if name == "UpdateSession" else request.app_name
        policy.authorize(grant, app_name)
        return await method(request, context)

    async def run(request: Any, context: Context, grant: TokenGrant | None) -> Any:
        return await policy.serve(
            name,
            lambda: work(request, context, grant),
            time_limit=policy.time_limit(context),
            tally=call_tally(name),
            context=context,
        )

    return run
