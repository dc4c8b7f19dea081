"""``WritePipeline``: which way each write (an append, a create) goes: alone, or in a batch.

A write call's gRPC machinery costs more, on both sides, than the write it
carries. So while a call of one kind of write is open, writes of that kind
made meanwhile do not each open a call: they wait until the end of the event
loop's turn (so that every write made in that turn joins them) and then go
in batch calls (``BatchAppendEvents``, ``BatchCreateSessions``) of at most
``max_per_call`` writes, at most ``max_in_flight`` calls at once. There is no
batching window: a write made while nothing is open is sent at once, on its
own (how is its ``Route``'s: an append on the append stream, say), and
batches form only from writes that are made together or would otherwise
queue. Each write keeps its own outcome: its caller gets its result, or the
exception the write alone would have raised. What differs between kinds of
write is their ``Route`` (``write_routes``): the pipeline is the same.

Each write is one operation of ``retry``'s, with one deadline set when it
is made. It holds while the write waits for a free call: one still waiting
when it passes fails as a call would have (unavailable while the server is
unreachable) and is never sent. Once sent, the send settles the write by
that deadline. A batch is tried (and retried whole) until the earliest
deadline of its writes; a write the batch answered with a failure of its
own goes on alone as the next attempt of its own operation, which judges
that failure first (so a create retried whole after a lost answer meets
ALREADY_EXISTS exactly as a lone create retried would).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, Protocol, TypeVar

from google.protobuf.message import Message

from adk_grpc_sessions.client.batch_calls import MAX_BATCH_BYTES
from adk_grpc_sessions.client.retry import Attempt, AttemptFailedError, Attempts, Retrying
from adk_grpc_sessions.wire.limits import MAX_BATCH_APPENDS

RequestT = TypeVar("RequestT", bound=Message)
ResultT = TypeVar("ResultT")

DEFAULT_MAX_IN_FLIGHT: Final = 8
"""Calls of one kind of write open at once; writes made while that many are open wait."""
DEFAULT_MAX_PER_CALL: Final = 16
"""Most writes in one call. Small enough that a burst goes in several calls,
which the client, the server and the database then work on at the same time
(a pipeline); large enough that a call's own cost is shared."""


@dataclass(frozen=True, slots=True)
class PipelineLimits:
    """How writes share calls (see the module's docstring); each kind of write has its own calls."""

    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    """Calls of one kind of write open at once; 0 sends every write at once in a call of its own."""
    max_per_call: int = DEFAULT_MAX_PER_CALL
    """Most writes in one call."""
    stream: bool = True
    """Send a lone append or create on an ``AppendEventStream`` kept open (see ``append_stream``)."""

    def __post_init__(self) -> None:
        """Checks the limits.

        Raises:
            ValueError: calls in flight below 0, or writes per call outside 1 to the contract's batch limit.
        """
        if self.max_in_flight < 0 or not 1 <= self.max_per_call <= MAX_BATCH_APPENDS:
            raise ValueError(
                f"max_appends_in_flight must be at least 0 and max_appends_per_call 1 to "
                f"{MAX_BATCH_APPENDS}, got {self.max_in_flight} and {self.max_per_call}"
            )


RequestT_contra = TypeVar("RequestT_contra", bound=Message, contravariant=True)


class Route(Protocol[RequestT_contra, ResultT]):
    """How one kind of write travels: alone, and in a batch."""

    @property
    def method(self) -> str:
        """The RPC of one write alone: what each write's operation is named."""

    @property
    def batch_method(self) -> str:
        """The RPC of a batch: what a batch's operation is named."""

    def alone(self, request: RequestT_contra) -> Attempt[ResultT]:
        """The attempt of one write on its own."""

    def together(self, requests: Sequence[RequestT_contra]) -> Attempt[list[ResultT | AttemptFailedError]]:
        """The attempt of a batch: the outcome of each write (its result, or its own failure), in order.

        The attempt raises ``AttemptFailedError`` when the call as a whole fails.
        """


@dataclass(slots=True, eq=False)  # compared by identity: two waiting writes may be equal
class _Waiting(Generic[RequestT, ResultT]):
    """A write waiting for a free call, and where its answer goes."""

    request: RequestT
    size: int
    attempts: Attempts
    answer: asyncio.Future[ResultT]
    bound: asyncio.Timeout | None = None
    """The caller's wait for ``answer``: until the write's deadline while it is queued."""

    def sent(self) -> None:
        """Lifts the caller's bound: the send settles the answer by the deadline, with why it failed."""
        if self.bound is not None and not self.answer.done():
            self.bound.reschedule(None)


class WritePipeline(Generic[RequestT, ResultT]):
    """Sends the writes of one kind on one channel (see the module's docstring); made per event loop."""

    def __init__(
        self,
        route: Route[RequestT, ResultT],
        *,
        retrying: Retrying,
        limits: PipelineLimits = PipelineLimits(),  # frozen: one shared default is safe
    ) -> None:
        """Writes along ``route``, each write one operation of ``retrying``."""
        self._route = route
        self._retrying = retrying
        self._max_in_flight = limits.max_in_flight
        self._max_per_call = limits.max_per_call
        self._in_flight = 0
        self._queue: collections.deque[_Waiting[RequestT, ResultT]] = collections.deque()
        self._dispatch_due = False
        self._sending: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()

    async def send(self, request: RequestT) -> ResultT:
        """Makes one write; raises what the write alone would raise."""
        attempts = self._retrying.start(self._route.method)
        if self._max_in_flight == 0:
            return await attempts.run(self._route.alone(request))
        if self._in_flight == 0 and not self._queue:
            self._in_flight += 1
            try:
                return await attempts.run(self._route.alone(request))
            finally:
                self._in_flight -= 1
                self._dispatch()
        answer: asyncio.Future[ResultT] = self._loop.create_future()
        waiting = _Waiting(request, request.ByteSize(), attempts, answer)
        try:
            # A caller that gives up (timeout or cancellation) cancels its answer:
            # one still waiting is then never sent, and a batch under way skips it.
            async with asyncio.timeout_at(attempts.deadline) as waiting.bound:
                self._queue.append(waiting)
                if len(self._queue) >= self._max_per_call and self._in_flight < self._max_in_flight:
                    self._dispatch()  # a full call's worth: no reason to wait for the turn's end
                elif not self._dispatch_due:
                    # Sent on the loop's next turn, not now: writes made in this turn
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

    async def _send(self, batch: list[_Waiting[RequestT, ResultT]]) -> None:
        try:
            batch = [waiting for waiting in batch if not waiting.answer.done()]  # drop those given up
            if len(batch) == 1:
                await self._send_alone(batch[0])
            elif batch:
                await self._send_together(batch)
        finally:
            for waiting in batch:
                if not waiting.answer.done():  # this send itself was cancelled: so is the write
                    waiting.answer.cancel()
            self._in_flight -= 1
            self._dispatch()

    async def _send_together(self, batch: list[_Waiting[RequestT, ResultT]]) -> None:
        deadlines = [w.attempts.deadline for w in batch if w.attempts.deadline is not None]
        attempts = self._retrying.until(self._route.batch_method, min(deadlines) if deadlines else None)
        try:
            outcomes = await attempts.run(self._route.together([waiting.request for waiting in batch]))
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

    async def _send_alone(
        self, waiting: _Waiting[RequestT, ResultT], failed: AttemptFailedError | None = None
    ) -> None:
        """Sends one write on its own; ``failed``: the failure its batch answered it with."""
        if waiting.answer.done():  # its caller gave up
            return
        try:
            _settle(waiting, await waiting.attempts.run(self._route.alone(waiting.request), failed))
        except Exception as exc:  # its caller raises it
            _fail(waiting, exc)


def _settle(waiting: _Waiting[RequestT, ResultT], result: ResultT) -> None:
    if not waiting.answer.done():  # else its caller gave up
        waiting.answer.set_result(result)


def _fail(waiting: _Waiting[RequestT, ResultT], error: Exception) -> None:
    if not waiting.answer.done():  # else its caller gave up
        waiting.answer.set_exception(error)
