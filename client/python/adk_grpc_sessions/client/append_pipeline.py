"""``AppendPipeline``: which way each append goes: alone (on the append stream, or a call), or in a batch.

An append call's gRPC machinery costs more, on both sides, than the append
it carries. So while an append call is open, appends made meanwhile do not
each open a call: they wait until the end of the event loop's turn (so that
every append made in that turn joins them) and then go in batch appends
(``BatchAppendEvents``, see ``batch_appends``) of at most ``max_per_call``
appends, at most ``max_in_flight`` calls at once. There is no batching
window: an append made while nothing is open is sent at once, on its own
(on the append stream, see ``append_stream``, or in a call of its own when
the stream is busy or turned off), and batches form only from appends that
are made together or would otherwise queue. Each append keeps its own
outcome: its caller gets its result, or the exception a lone ``AppendEvent``
would have raised.

Each append is one operation of ``retry``'s, with one deadline set when it
is made. It holds while the append waits for a free call: one still waiting
when it passes fails as a call would have (unavailable while the server is
unreachable) and is never sent. Once sent, the send settles the append by
that deadline. A batch is tried (and retried whole) until the earliest
deadline of its appends; an append the batch answered with a failure of its
own goes on alone as the next attempt of its own operation, which judges
that failure first.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Final

from adk_grpc_sessions.client.append_stream import AppendStream
from adk_grpc_sessions.client.batch_appends import MAX_BATCH_BYTES, batch_attempt
from adk_grpc_sessions.client.retry import (
    Attempt,
    AttemptFailedError,
    Attempts,
    Metadata,
    Retrying,
    unary_attempt,
)
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from adk_grpc_sessions.wire.limits import MAX_BATCH_APPENDS

DEFAULT_MAX_IN_FLIGHT: Final = 8
"""Append calls open at once; appends made while that many are open wait."""
DEFAULT_MAX_PER_CALL: Final = 16
"""Most appends in one call. Small enough that a burst goes in several calls,
which the client, the server and the database then work on at the same time
(a pipeline); large enough that a call's own cost is shared."""


@dataclass(frozen=True, slots=True)
class PipelineLimits:
    """How appends share calls (see the module's docstring)."""

    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    """Append calls open at once; 0 sends every append at once in a call of its own."""
    max_per_call: int = DEFAULT_MAX_PER_CALL
    """Most appends in one call."""
    stream: bool = True
    """Send a lone append on an ``AppendEventStream`` kept open (see ``append_stream``)."""

    def __post_init__(self) -> None:
        """Checks the limits.

        Raises:
            ValueError: calls in flight below 0, or appends per call outside 1 to the contract's batch limit.
        """
        if self.max_in_flight < 0 or not 1 <= self.max_per_call <= MAX_BATCH_APPENDS:
            raise ValueError(
                f"max_appends_in_flight must be at least 0 and max_appends_per_call 1 to "
                f"{MAX_BATCH_APPENDS}, got {self.max_in_flight} and {self.max_per_call}"
            )


@dataclass(slots=True, eq=False)  # compared by identity: two waiting appends may be equal
class _Waiting:
    """An append waiting for a free call, and where its answer goes."""

    request: pb.AppendEventRequest
    size: int
    attempts: Attempts
    answer: asyncio.Future[pb.AppendEventResponse]
    bound: asyncio.Timeout | None = None
    """The caller's wait for ``answer``: until the append's deadline while it is queued."""

    def sent(self) -> None:
        """Lifts the caller's bound: the send settles the answer by the deadline, with why it failed."""
        if self.bound is not None and not self.answer.done():
            self.bound.reschedule(None)


class AppendPipeline:
    """Sends the appends of one channel (see the module's docstring); made per event loop."""

    def __init__(
        self,
        stub: pb_grpc.SessionServiceAsyncStub,
        *,
        retrying: Retrying,
        metadata: Metadata,
        limits: PipelineLimits = PipelineLimits(),  # frozen: one shared default is safe
    ) -> None:
        """Appends through ``stub``, each append one operation of ``retrying``."""
        self._stub = stub
        self._retrying = retrying
        self._metadata = metadata
        self._max_in_flight = limits.max_in_flight
        self._max_per_call = limits.max_per_call
        self._in_flight = 0
        self._queue: collections.deque[_Waiting] = collections.deque()
        self._dispatch_due = False
        self._sending: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()
        self._stream = AppendStream(stub, metadata) if limits.stream else None

    async def append(self, request: pb.AppendEventRequest) -> pb.AppendEventResponse:
        """Stores one append (see ``AppendEvent``); raises what a lone ``AppendEvent`` would raise."""
        attempts = self._retrying.start("AppendEvent")
        if self._max_in_flight == 0:
            return await attempts.run(self._alone(request))
        if self._in_flight == 0 and not self._queue:
            self._in_flight += 1
            try:
                return await attempts.run(self._alone(request))
            finally:
                self._in_flight -= 1
                self._dispatch()
        waiting = _Waiting(request, request.ByteSize(), attempts, self._loop.create_future())
        try:
            # A caller that gives up (timeout or cancellation) cancels its answer:
            # one still waiting is then never sent, and a batch under way skips it.
            async with asyncio.timeout_at(attempts.deadline) as waiting.bound:
                self._queue.append(waiting)
                if len(self._queue) >= self._max_per_call and self._in_flight < self._max_in_flight:
                    self._dispatch()  # a full call's worth: no reason to wait for the turn's end
                elif not self._dispatch_due:
                    # Sent on the loop's next turn, not now: appends made in this turn
                    # (say, by every caller a finished batch woke) then go together.
                    self._dispatch_due = True
                    self._loop.call_soon(self._dispatch)
                return await waiting.answer
        except TimeoutError:
            if waiting.bound is None or not waiting.bound.expired():
                raise  # the send's own answer (a timeout the server or the stream reported)
            raise attempts.out_of_time() from None  # still queued: never sent
        finally:
            if waiting in self._queue:
                self._queue.remove(waiting)

    def _alone(self, request: pb.AppendEventRequest) -> Attempt[pb.AppendEventResponse]:
        """The attempt of one append on its own: on the append stream if it is free, else in a call."""

        async def attempt(seconds: float | None, wait_for_ready: bool) -> pb.AppendEventResponse:
            stream = self._stream
            if stream is not None and not stream.busy:
                return await stream.append(request, seconds, wait_for_ready)
            response: pb.AppendEventResponse = await unary_attempt(
                self._stub.AppendEvent, request, seconds, self._metadata, wait_for_ready
            )
            return response

        return attempt

    def _dispatch(self) -> None:
        """Sends what waits, while calls are free."""
        self._dispatch_due = False
        while self._queue and self._in_flight < self._max_in_flight:
            batch = [self._queue.popleft()]
            size = batch[0].size
            while (
                self._queue
                and len(batch) < self._max_per_call
                and size + self._queue[0].size <= MAX_BATCH_BYTES
            ):
                size += self._queue[0].size
                batch.append(self._queue.popleft())
            for waiting in batch:
                waiting.sent()
            self._in_flight += 1
            task = self._loop.create_task(self._send(batch))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[_Waiting]) -> None:
        try:
            batch = [waiting for waiting in batch if not waiting.answer.done()]  # drop those given up
            if len(batch) == 1:
                await self._send_alone(batch[0])
            elif batch:
                await self._send_together(batch)
        finally:
            for waiting in batch:
                if not waiting.answer.done():  # this send itself was cancelled: so is the append
                    waiting.answer.cancel()
            self._in_flight -= 1
            self._dispatch()

    async def _send_together(self, batch: list[_Waiting]) -> None:
        deadlines = [w.attempts.deadline for w in batch if w.attempts.deadline is not None]
        attempts = self._retrying.until("BatchAppendEvents", min(deadlines) if deadlines else None)
        try:
            requests = [waiting.request for waiting in batch]
            outcomes = await attempts.run(batch_attempt(self._stub, requests, self._metadata))
        except Exception as exc:  # every waiter must hear of it
            for waiting in batch:
                _fail(waiting, exc)
            return
        failed: list[Awaitable[None]] = []
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, AttemptFailedError):
                failed.append(self._send_alone(waiting, outcome))
            else:
                _settle(waiting, outcome)
        await asyncio.gather(*failed)

    async def _send_alone(self, waiting: _Waiting, failed: AttemptFailedError | None = None) -> None:
        """Sends one append on its own; ``failed``: the failure its batch answered it with."""
        if waiting.answer.done():  # its caller gave up
            return
        try:
            _settle(waiting, await waiting.attempts.run(self._alone(waiting.request), failed))
        except Exception as exc:  # its caller raises it
            _fail(waiting, exc)


def _settle(waiting: _Waiting, result: pb.AppendEventResponse) -> None:
    if not waiting.answer.done():  # else its caller gave up
        waiting.answer.set_result(result)


def _fail(waiting: _Waiting, error: Exception) -> None:
    if not waiting.answer.done():  # else its caller gave up
        waiting.answer.set_exception(error)
