"""``BatchAppendEvents``: several appends in one call, each served exactly as ``AppendEvent`` alone.

A client with many sessions appending at once pays one call's transport cost
for all of them (measured: the gRPC machinery of one unary call is most of an
append's CPU). The appends are served concurrently, so they reach the
backend together and a SQL backend's group commit stores them in shared
transactions; each keeps its own atomicity, checks and outcome, and appends
to one session keep their request order (the backend takes one session's
appends in arrival order). Each append is authorized on its own app: a batch
may mix apps, and an append the caller's token does not cover fails alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.rpc import code_pb2, status_pb2

from adk_grpc_sessions.server.api.errors import BatchResponseFullError, status_for
from adk_grpc_sessions.server.api.messages import Encoded, batch_append_response
from adk_grpc_sessions.server.api.service import ResponseRoom, SessionServicer
from adk_grpc_sessions.server.backends.base import BackendUnavailableError
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError
from adk_grpc_sessions.server.runtime.auth import TokenAuthorizer, TokenGrant
from adk_grpc_sessions.server.runtime.metrics import Metrics
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire.limits import MAX_BATCH_APPENDS


class BatchAppender:
    """Serves ``BatchAppendEvents`` through a servicer's ``AppendEvent``."""

    def __init__(
        self,
        servicer: SessionServicer,
        authorizer: TokenAuthorizer | None,
        metrics: Metrics | None,
        on_backend_unavailable: Callable[[str], Awaitable[None]] | None,
    ) -> None:
        """Serves with ``servicer``; ``on_backend_unavailable`` hears of calls that found storage down."""
        self._servicer = servicer
        self._authorizer = authorizer
        self._metrics = metrics
        self._on_backend_unavailable = on_backend_unavailable

    async def __call__(
        self,
        request: pb.BatchAppendEventsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
        grant: TokenGrant | None,
    ) -> Encoded:
        """Serves every append of ``request`` and answers their outcomes in request order.

        Raises:
            InvalidArgumentError: the batch is empty or holds too many appends.
        """
        count = len(request.requests)
        if count == 0:
            raise InvalidArgumentError.single("requests", "required: at least one append")
        if count > MAX_BATCH_APPENDS:
            raise InvalidArgumentError.single("requests", f"at most {MAX_BATCH_APPENDS} appends, got {count}")
        failures: list[Exception] = []
        # Each append takes its answer's room before it is applied (in request
        # order: each runs to its first wait in turn), so the response never
        # passes the message limit, however large the events.
        room = ResponseRoom(self._servicer.response_bytes, count)

        async def serve(append: pb.AppendEventRequest) -> Encoded | status_pb2.Status:
            try:
                if self._authorizer is not None and grant is not None:
                    self._authorizer.authorize(grant, append.app_name)
                return await self._servicer.AppendEvent(append, context, room=room)
            except Exception as exc:  # the append's own failure: it fails alone
                failures.append(exc)
                status = status_for(exc)
                if not isinstance(exc, BatchResponseFullError) and not room.take(status.ByteSize() + 12):
                    # Nothing was applied: a short answer that says so is as true, and fits.
                    status = status_for(BatchResponseFullError())
                return status

        if count == 1:
            outcomes = [await serve(request.requests[0])]
        else:
            outcomes = list(await asyncio.gather(*map(serve, request.requests)))
        if self._metrics is not None:
            for outcome in outcomes:
                code = code_pb2.OK if isinstance(outcome, Encoded) else outcome.code
                self._metrics.batched_appends.labels(code_pb2.Code.Name(code)).inc()
        unavailable = next((f for f in failures if isinstance(f, BackendUnavailableError)), None)
        if unavailable is not None and self._on_backend_unavailable is not None:
            await self._on_backend_unavailable(str(unavailable))
        return batch_append_response(outcomes)
