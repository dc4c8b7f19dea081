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


class AttemptFailedError(Exception):
    """One attempt failed with ``code``; ``error`` is what the caller raises if it is the last."""

    def __init__(self, code: grpc.StatusCode, error: Exception) -> None:
        super().__init__(str(error))
        self.code = code
        self.error = error


async def attempts(
    attempt: Callable[[float | None], Awaitable[ResponseT]],
    *,
    budget: float | None,
    policy: RetryPolicy,
) -> ResponseT:
    """Runs ``attempt(seconds left)`` until it succeeds, fails for good, or ``budget`` runs out.

    ``attempt`` raises ``AttemptFailedError``; a retried code is tried again after a backoff.

    Raises:
        Exception: the ``error`` of the last failed attempt.
    """
    loop = asyncio.get_running_loop()
    deadline = None if budget is None else loop.time() + budget
    tried = 0
    while True:
        tried += 1
        remaining = None if deadline is None else max(deadline - loop.time(), 0.0)
        try:
            return await attempt(remaining)
        except AttemptFailedError as failure:
            if failure.code not in RETRIED_CODES or tried >= policy.max_attempts:
                raise failure.error from failure.__cause__
            wait = policy.backoff(tried)
            if deadline is not None and loop.time() + wait >= deadline:
                raise failure.error from failure.__cause__
        await asyncio.sleep(wait)


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

    async def attempt(remaining: float | None) -> ResponseT:
        return await unary_attempt(method, request, remaining, metadata)

    return await attempts(attempt, budget=budget, policy=policy)


async def unary_attempt(
    method: Callable[..., Awaitable[ResponseT]],
    request: RequestT,
    seconds: float | None,
    metadata: Metadata,
) -> ResponseT:
    """One call of ``method(request)`` within ``seconds`` (None: no limit).

    Raises:
        AttemptFailedError: the call failed.
    """
    try:
        return await method(request, timeout=seconds, metadata=metadata)
    except grpc.aio.AioRpcError as error:
        raise AttemptFailedError(error.code(), error_from_rpc(error)) from error
