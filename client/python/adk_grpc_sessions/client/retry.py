"""Calling one RPC with a total time budget, retrying UNAVAILABLE (and CANCELLED) with backoff.

Retrying is safe for every RPC of this service: reads change nothing,
deletes of a missing session succeed, appends are idempotent by event id, and
the client picks session ids itself, so a repeated create is recognised.

A CANCELLED status is retried as UNAVAILABLE is. It only ever comes from the
other side: a call this client cancels raises ``asyncio.CancelledError``, not
a status. A gRPC server that shuts down cancels the calls that reached it
but had not started yet (seen at the instant a server began to drain), so
such a call may have done nothing, or everything, like an unanswered one.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import grpc

from adk_grpc_sessions.client.errors import error_from_rpc

RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")
Metadata = Sequence[tuple[str, str | bytes]]

RETRIED_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})
"""Statuses after which a call is tried again (see the module's docstring for CANCELLED)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How UNAVAILABLE (and CANCELLED) calls are retried: exponential backoff with full jitter."""

    max_attempts: int = 5
    """Attempts in all, the first included; 1 disables retries."""
    initial_backoff: float = 0.05
    """Seconds before the first retry (at most; the actual wait is random below it)."""
    max_backoff: float = 2.0
    """Upper bound of any one wait, in seconds."""
    multiplier: float = 2.0

    def backoff(self, retry: int) -> float:
        """A random wait before retry number ``retry`` (1-based)."""
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier ** (retry - 1))
        return random.uniform(0, ceiling)


async def call(
    method: Callable[..., Awaitable[ResponseT]],
    request: RequestT,
    *,
    budget: float | None,
    policy: RetryPolicy,
    metadata: Metadata = (),
) -> ResponseT:
    """Calls ``method(request)``; every attempt shares one deadline ``budget`` seconds away.

    Raises:
        Exception: what ``errors.error_from_rpc`` makes of the last failure.
    """
    loop = asyncio.get_running_loop()
    deadline = None if budget is None else loop.time() + budget
    attempt = 0
    while True:
        attempt += 1
        remaining = None if deadline is None else max(deadline - loop.time(), 0.0)
        try:
            return await method(request, timeout=remaining, metadata=metadata)
        except grpc.aio.AioRpcError as error:
            if error.code() not in RETRIED_CODES or attempt >= policy.max_attempts:
                raise error_from_rpc(error) from error
            wait = policy.backoff(attempt)
            if deadline is not None and loop.time() + wait >= deadline:
                raise error_from_rpc(error) from error
        await asyncio.sleep(wait)
