"""Calling one RPC within a total time budget, riding out UNAVAILABLE (and server-caused CANCELLED).

A call is tried until it succeeds, fails for a reason a retry cannot change,
or its time budget is spent; the number of attempts never ends it. A server
that restarts (a deploy, a crashed sidecar) is down for a second or two, and
every call made meanwhile must see it back, not an error.

What gRPC does, and why the rest is written here:

- Waiting for the server to be back is gRPC's: every attempt after a failed
  one is made ``wait_for_ready``, so while the channel reconnects it waits
  (within what remains of the budget) instead of failing at once. The first
  attempt is not, so that a server that cannot be reached is reported with
  gRPC's reason (connection refused, handshake failed), not only a deadline.
- Finding the server when it is back is the channel's reconnect backoff,
  tuned by ``CHANNEL_OPTIONS`` to retry the connection every 0.1 to 0.5 s
  (gRPC's default grows from 1 s to 120 s, so a server back after a few
  seconds would be found seconds later still).
- Trying a call again is this module's. gRPC's retry policy (service config)
  ends after an attempt count, at most 5, not after a time budget; it cannot
  retry a failure reported inside a response (an append of a batch, or of the
  append stream, where each message is one append); and layered under this
  loop it would multiply its attempts. So the retrying is one loop, here,
  shared by unary calls, batches and the append stream.

Retrying is safe for every RPC of this service: reads change nothing,
deletes of a missing session succeed, appends are idempotent by event id, and
the client picks session ids itself, so a repeated create is recognised.

A CANCELLED status is retried as UNAVAILABLE is. It only ever comes from the
other side: a call this client cancels raises ``asyncio.CancelledError``, not
a status. A gRPC server that shuts down cancels the calls that reached it
but had not started yet (seen at the instant a server began to drain), so
such a call may have done nothing, or everything, like an unanswered one.

When the budget runs out while the server is unreachable (an attempt waiting
for the connection hits the deadline, or earlier attempts failed with a
retried code), the call raises ``SessionServiceUnavailableError``, as the
server being down is the cause; a server that is reachable but too slow
gives ``SessionServiceTimeoutError``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import grpc

from adk_grpc_sessions.client.errors import (
    SessionServiceError,
    SessionServiceTimeoutError,
    SessionServiceUnavailableError,
    error_from_rpc,
)

RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")
Metadata = Sequence[tuple[str, str | bytes]]
Connected = Callable[[], bool]
"""Says whether the channel has a connection to the server now (READY)."""

RETRIED_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})
"""Statuses after which a call is tried again (see the module's docstring for CANCELLED)."""

CHANNEL_OPTIONS: Final[tuple[tuple[str, Any], ...]] = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
)
"""Reconnect backoff of the client's channel: a server that is back is found within 0.5 s (+20% jitter).

``grpc.min_reconnect_backoff_ms`` is left alone: in gRPC's core it is the
shortest time a connection attempt is given (20 s by default), not a backoff,
and lowering it would fail connections over slow links."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The wait between attempts: exponential backoff with full jitter, capped.

    Only the call's time budget (``GrpcSessionService(timeout=...)``) ends
    the retrying; this says how often to try within it.
    """

    initial_backoff: float = 0.05
    """Seconds before the first retry (at most; the actual wait is random below it)."""
    max_backoff: float = 1.0
    """Upper bound of any one wait, in seconds."""
    multiplier: float = 2.0
    """Growth of the bound after each retry."""

    def __post_init__(self) -> None:
        """Checks the policy.

        Raises:
            ValueError: a wait bound not above 0, or a multiplier below 1 (retries would spin).
        """
        if not (0 < self.initial_backoff <= self.max_backoff and self.multiplier >= 1):
            raise ValueError(
                "RetryPolicy needs 0 < initial_backoff <= max_backoff and multiplier >= 1, got "
                f"{self.initial_backoff}, {self.max_backoff} and {self.multiplier}"
            )

    def backoff(self, retry: int) -> float:
        """A random wait before retry number ``retry`` (1-based)."""
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier ** min(retry - 1, 64))
        return random.uniform(0, ceiling)


class AttemptFailedError(Exception):
    """One attempt failed with ``code``; ``error`` is what the caller raises if it is the last."""

    def __init__(self, code: grpc.StatusCode, error: Exception) -> None:
        super().__init__(str(error))
        self.code = code
        self.error = error


def out_of_time(what: str, budget: float | None, connected: bool) -> SessionServiceError:
    """The error of ``what`` whose ``budget`` ran out before any answer came.

    Unavailable if the channel has no connection (the server is down or
    unreachable), a timeout if it has one (the server is there, too slow).
    """
    spent = "its time budget" if budget is None else f"{budget:.3g} s"
    if connected:
        return SessionServiceTimeoutError(
            f"{what} did not finish within {spent}", grpc.StatusCode.DEADLINE_EXCEEDED
        )
    return SessionServiceUnavailableError(
        f"{what}: the server could not be reached within {spent}", grpc.StatusCode.UNAVAILABLE
    )


async def attempts(
    attempt: Callable[[float | None, bool], Awaitable[ResponseT]],
    *,
    what: str,
    budget: float | None,
    policy: RetryPolicy,
    connected: Connected,
    failed: AttemptFailedError | None = None,
) -> ResponseT:
    """Runs ``attempt(seconds left, wait_for_ready)`` until it succeeds, fails for good, or time runs out.

    ``attempt`` raises ``AttemptFailedError``; a retried code is tried again
    after a backoff, ``wait_for_ready`` from then on. ``failed`` is a retried
    failure that came before this call (an append its batch answered
    UNAVAILABLE): the first attempt is then a retry.

    Raises:
        Exception: the ``error`` of the failure that ended the call; when the
            budget ran out while the server was unavailable, the last retried
            failure's (see the module's docstring).
    """
    loop = asyncio.get_running_loop()
    deadline = None if budget is None else loop.time() + budget
    retries = 0
    while True:
        if failed is not None:
            retries += 1
            wait = policy.backoff(retries)
            if deadline is not None:
                wait = min(wait, deadline - loop.time())
            if wait > 0:
                await asyncio.sleep(wait)
            if deadline is not None and loop.time() >= deadline:
                raise failed.error from failed.__cause__
        remaining = None if deadline is None else max(deadline - loop.time(), 0.0)
        try:
            return await attempt(remaining, failed is not None)
        except AttemptFailedError as failure:
            if failure.code in RETRIED_CODES:
                failed = failure
            elif failure.code == grpc.StatusCode.DEADLINE_EXCEEDED and failed is not None:
                raise failed.error from failed.__cause__  # still unavailable when the time ran out
            elif failure.code == grpc.StatusCode.DEADLINE_EXCEEDED and not connected():
                raise out_of_time(what, budget, connected=False) from failure.__cause__
            else:
                raise failure.error from failure.__cause__


async def call(
    method: Callable[..., Awaitable[ResponseT]],
    request: RequestT,
    *,
    what: str,
    budget: float | None,
    policy: RetryPolicy,
    connected: Connected,
    metadata: Metadata = (),
) -> ResponseT:
    """Calls ``method(request)``, the RPC named ``what``; all attempts share one deadline ``budget`` s away.

    Raises:
        Exception: what ``errors.error_from_rpc`` makes of the failure that
            ended the call (see ``attempts``).
    """

    async def attempt(remaining: float | None, wait_for_ready: bool) -> ResponseT:
        return await unary_attempt(method, request, remaining, metadata, wait_for_ready)

    return await attempts(attempt, what=what, budget=budget, policy=policy, connected=connected)


async def unary_attempt(
    method: Callable[..., Awaitable[ResponseT]],
    request: RequestT,
    seconds: float | None,
    metadata: Metadata,
    wait_for_ready: bool,
) -> ResponseT:
    """One call of ``method(request)`` within ``seconds`` (None: no limit).

    Raises:
        AttemptFailedError: the call failed.
    """
    try:
        return await method(request, timeout=seconds, metadata=metadata, wait_for_ready=wait_for_ready)
    except grpc.aio.AioRpcError as error:
        raise AttemptFailedError(error.code(), error_from_rpc(error)) from error
