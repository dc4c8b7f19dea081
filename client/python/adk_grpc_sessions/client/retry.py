"""The one retry mechanism: each operation tried within one time budget, riding out UNAVAILABLE.

An operation (a call, or one append) is tried until it succeeds, fails for a
reason a retry cannot change (CANCELLED from the server is retried as
UNAVAILABLE is, see below), or its time budget is spent; the number of
attempts never ends it. A server that restarts (a deploy, a crashed sidecar)
is down for a second or two, and every call made meanwhile must see it back,
not an error.

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
  ends after an attempt count, not after a time budget; it cannot retry a
  failure reported inside a response (an append of a batch, or of the append
  stream, where each message is one append); and layered under this module
  it would multiply its attempts.

So every operation (a call, or one append however it travels) is one
``Attempts``: its deadline, set when it starts, and its retries so far. The
ways to send it (a unary call, a message on the append stream, a place in a
batch) are attempt functions that ``Attempts.run`` drives, and
``Attempts.run`` alone decides, after each failed attempt, whether to try
again or give up. An append that a batch answered with a retried failure
goes on alone as the next attempt of the same operation: the same deadline,
the same count of retries.

Retrying is safe for every RPC of this service: reads change nothing,
deletes of a missing session succeed, appends are idempotent by event id,
the client picks session ids itself, so a repeated create is recognised, and
closing a session, erasing a user or setting an expiry again changes nothing more.

A CANCELLED status is retried as UNAVAILABLE is. It only ever comes from the
other side: a call this client cancels raises ``asyncio.CancelledError``, not
a status. A gRPC server that shuts down cancels the calls that reached it
but had not started yet (as it begins to drain), so such a call may have
done nothing, or everything, like an unanswered one.

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
ResultT = TypeVar("ResultT")
Metadata = Sequence[tuple[str, str | bytes]]
Connected = Callable[[], bool]
"""Says whether the channel has a connection to the server now (READY)."""
Attempt = Callable[[float | None, bool], Awaitable[ResultT]]
"""One try of an operation, given the seconds left (None: no limit) and whether to wait for the
connection (``wait_for_ready``); it returns the result or raises ``AttemptFailedError``."""

RETRIED_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})
"""Statuses after which a call is tried again (see the module's docstring for CANCELLED)."""

CHANNEL_OPTIONS: Final[tuple[tuple[str, Any], ...]] = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
)
"""Reconnect backoff of the client's channel: a server that is back is found within half a second.

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


class Attempts:
    """The attempts of one operation under one deadline: the one place that decides to try again or give up.

    Made by ``Retrying``; see the module's docstring.
    """

    def __init__(
        self,
        what: str,
        *,
        budget: float | None,
        deadline: float | None,
        policy: RetryPolicy,
        connected: Connected,
    ) -> None:
        """The attempts of ``what`` (an RPC's name), given ``budget`` seconds ending at ``deadline``.

        ``deadline`` is the event loop's time (None: no limit); ``budget`` names the time in errors.
        """
        self.what = what
        self.deadline = deadline
        """The event loop's time by which the operation ends; None: no limit."""
        self._budget = budget
        self._policy = policy
        self._connected = connected
        self._loop = asyncio.get_running_loop()
        self._retries = 0
        self._failed: AttemptFailedError | None = None

    def remaining(self) -> float | None:
        """Seconds left until the deadline (0 once passed); None: no limit."""
        return None if self.deadline is None else max(self.deadline - self._loop.time(), 0.0)

    def out_of_time(self) -> SessionServiceError:
        """The error of an operation whose deadline passed before any answer came.

        Unavailable if the channel has no connection (the server is down or
        unreachable), a timeout if it has one (the server is there, too slow).
        """
        spent = "its time budget" if self._budget is None else f"{self._budget:.3g} s"
        if self._connected():
            return SessionServiceTimeoutError(
                f"{self.what} did not finish within {spent}", grpc.StatusCode.DEADLINE_EXCEEDED
            )
        return SessionServiceUnavailableError(
            f"{self.what}: the server could not be reached within {spent}", grpc.StatusCode.UNAVAILABLE
        )

    async def run(self, attempt: Attempt[ResultT], failed: AttemptFailedError | None = None) -> ResultT:
        """Runs ``attempt`` until it succeeds, fails for good, or the deadline passes.

        After a retried failure the next attempt waits a backoff and is made
        ``wait_for_ready``. ``failed`` is a failure this operation already had
        on another way to the server (its place in a batch): it is judged
        first, as if ``attempt`` had failed so.

        Raises:
            Exception: the ``error`` of the failure that ended the operation;
                when the deadline passed while the server was unavailable, the
                last retried failure's (see the module's docstring).
        """
        if failed is not None:
            self._judge(failed)
        while True:
            if self._failed is not None:
                await self._back_off(self._failed)
            try:
                return await attempt(self.remaining(), self._failed is not None)
            except AttemptFailedError as failure:
                self._judge(failure)

    def _judge(self, failure: AttemptFailedError) -> None:
        """Keeps a retried failure for the next attempt, or raises the error that ends the operation."""
        if failure.code in RETRIED_CODES:
            self._failed = failure
        elif failure.code == grpc.StatusCode.DEADLINE_EXCEEDED and self._failed is not None:
            raise self._failed.error from self._failed.__cause__  # still unavailable when the time ran out
        elif failure.code == grpc.StatusCode.DEADLINE_EXCEEDED and not self._connected():
            raise self.out_of_time() from failure.__cause__
        else:
            raise failure.error from failure.__cause__

    async def _back_off(self, failed: AttemptFailedError) -> None:
        """Waits before the next attempt; raises ``failed``'s error if the deadline passes first."""
        self._retries += 1
        wait = self._policy.backoff(self._retries)
        if self.deadline is not None:
            wait = min(wait, self.deadline - self._loop.time())
        if wait > 0:
            await asyncio.sleep(wait)
        if self.deadline is not None and self._loop.time() >= self.deadline:
            raise failed.error from failed.__cause__


@dataclass(frozen=True, slots=True)
class Retrying:
    """How one client's operations are tried: each within ``budget`` seconds (None: no limit) in all.

    ``connected`` tells a server that cannot be reached from one that is too
    slow, when a deadline passes (see ``Attempts.out_of_time``).
    """

    budget: float | None
    policy: RetryPolicy
    connected: Connected

    def start(self, what: str) -> Attempts:
        """The attempts of an operation starting now, with the whole budget."""
        deadline = None if self.budget is None else asyncio.get_running_loop().time() + self.budget
        return self._attempts(what, self.budget, deadline)

    def until(self, what: str, deadline: float | None) -> Attempts:
        """The attempts of an operation that must end by ``deadline`` (loop time; None: no limit)."""
        budget = None if deadline is None else max(deadline - asyncio.get_running_loop().time(), 0.0)
        return self._attempts(what, budget, deadline)

    def _attempts(self, what: str, budget: float | None, deadline: float | None) -> Attempts:
        return Attempts(what, budget=budget, deadline=deadline, policy=self.policy, connected=self.connected)

    async def call(
        self,
        method: Callable[..., Awaitable[ResultT]],
        request: RequestT,
        *,
        what: str,
        metadata: Metadata = (),
    ) -> ResultT:
        """Calls ``method(request)``, the RPC named ``what``, retried within the budget.

        Raises:
            Exception: what ``errors.error_from_rpc`` makes of the failure that
                ended the call (see ``Attempts.run``).
        """

        async def attempt(seconds: float | None, wait_for_ready: bool) -> ResultT:
            return await unary_attempt(method, request, seconds, metadata, wait_for_ready)

        return await self.start(what).run(attempt)


async def unary_attempt(
    method: Callable[..., Awaitable[ResultT]],
    request: RequestT,
    seconds: float | None,
    metadata: Metadata,
    wait_for_ready: bool,
) -> ResultT:
    """One call of ``method(request)`` within ``seconds`` (None: no limit).

    Raises:
        AttemptFailedError: the call failed.
    """
    try:
        return await method(request, timeout=seconds, metadata=metadata, wait_for_ready=wait_for_ready)
    except grpc.aio.AioRpcError as error:
        raise AttemptFailedError(error.code(), error_from_rpc(error)) from error
