"""``GroupCommit``: concurrent requests stored in shared transactions, a batch at a time.

A transaction's fixed costs (round trips to begin and commit, the commit's
flush to disk, the driver's per-statement overhead) are paid once per batch
instead of once per request. There is no batching window: a writer takes
what is pending the moment it is free, so a lone request is stored at once,
and batches grow only while the writers are busy, exactly when waiting is
cheaper than another transaction.

Several writers may store batches at the same time, for a database whose
round trips are long next to its work; but while one batch is being stored,
another starts only once ``parallel_threshold`` requests wait. Otherwise
every free writer takes a batch of one or two, and the cost per
transaction comes back.

Requests are grouped by keys (for appends: the session, and each shared
scope of state the append changes). One batch never holds two requests of
a key, and two writers never work on one key at the same time: a later
request of a key waits for the next batch. Requests of one key are thus
taken in the order they arrived.

This module knows nothing of databases: ``store`` gets a batch and answers
one outcome per request (a result, or an exception for that request alone).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeAlias, TypeVar, Union

_log = logging.getLogger(__name__)

R = TypeVar("R")
"""A request."""
A = TypeVar("A")
"""The answer to a request."""

Outcome: TypeAlias = Union[A, BaseException]  # noqa: UP007 - "|" cannot join a TypeVar at runtime on 3.11
"""What a batch's store answers for one request: its answer, or the exception to raise to its caller."""


@dataclass(slots=True)
class _Pending(Generic[R, A]):
    request: R
    keys: tuple[Hashable, ...]
    answer: asyncio.Future[A]


class GroupCommit(Generic[R, A]):
    """Queues requests and stores them in batches with ``writers`` concurrent writer tasks."""

    def __init__(
        self,
        store: Callable[[list[R]], Awaitable[list[Outcome[A]]]],
        keys: Callable[[R], tuple[Hashable, ...]],
        *,
        writers: int,
        max_batch: int,
        parallel_threshold: int = 1,
    ) -> None:
        """A group commit whose batches ``store`` stores.

        Args:
            store: stores a batch (in one transaction) and answers one outcome per request, in order.
            keys: the keys of a request; requests sharing a key are never stored together or concurrently.
            writers: how many batches may be stored at the same time.
            max_batch: the most requests in one batch.
            parallel_threshold: how many requests must wait before a batch starts while another
                is being stored.
        """
        if writers < 1 or max_batch < 1 or parallel_threshold < 1:
            raise ValueError("a group commit needs a writer, batches of at least one, a threshold of one")
        self._store = store
        self._keys = keys
        self._writer_count = writers
        self._max_batch = max_batch
        self._parallel_threshold = parallel_threshold
        self._storing = 0
        """Batches being stored now."""
        self._pending: collections.deque[_Pending[R, A]] = collections.deque()
        self._busy_keys: set[Hashable] = set()
        self._work = asyncio.Event()
        self._writers: list[asyncio.Task[None]] = []
        self._closed = False

    async def submit(self, request: R) -> A:
        """Stores ``request`` in the next batch that may take it; returns its answer or raises its exception.

        Cancelling the caller withdraws a request not yet taken into a batch;
        one already taken is stored all the same (its answer is dropped).
        """
        if self._closed:
            raise RuntimeError("the group commit is closed")
        if not self._writers:
            self._writers = [
                asyncio.create_task(self._write(), name=f"group-commit-writer-{n}")
                for n in range(self._writer_count)
            ]
        answer: asyncio.Future[A] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(request, self._keys(request), answer))
        self._work.set()
        return await answer

    async def close(self) -> None:
        """Lets the writers store what is already queued, then stops them; no request is taken after."""
        self._closed = True
        self._work.set()
        writers, self._writers = self._writers, []
        await asyncio.gather(*writers, return_exceptions=True)

    def _take_batch(self) -> list[_Pending[R, A]]:
        """Up to ``max_batch`` pending requests, oldest first, sharing no key, none with a busy key.

        None at all while another batch is being stored and fewer than
        ``parallel_threshold`` requests wait: they go with the next batch.
        """
        batch: list[_Pending[R, A]] = []
        if self._storing and len(self._pending) < self._parallel_threshold:
            return batch
        waiting: collections.deque[_Pending[R, A]] = collections.deque()
        while self._pending and len(batch) < self._max_batch:
            pending = self._pending.popleft()
            if pending.answer.done():  # the caller gave up before it was taken
                continue
            if not self._busy_keys.isdisjoint(pending.keys):
                waiting.append(pending)
                continue
            self._busy_keys.update(pending.keys)
            batch.append(pending)
        # What was passed over goes back in front, in its order.
        self._pending.extendleft(reversed(waiting))
        return batch

    async def _write(self) -> None:
        while True:
            batch = self._take_batch()
            if not batch:
                if self._closed and not self._pending:
                    return
                self._work.clear()
                await self._work.wait()
                continue
            self._storing += 1
            try:
                outcomes = await self._store([pending.request for pending in batch])
                if len(outcomes) != len(batch):
                    raise RuntimeError(f"a batch of {len(batch)} got {len(outcomes)} outcomes")
            except asyncio.CancelledError:
                for pending in batch:
                    pending.answer.cancel()
                raise
            except Exception as exc:
                _log.exception("storing a batch of %d failed", len(batch))
                outcomes = [exc] * len(batch)
            finally:
                self._storing -= 1
                for pending in batch:
                    self._busy_keys.difference_update(pending.keys)
                if self._pending:
                    # Requests passed over for a busy key may go now.
                    self._work.set()
            for pending, outcome in zip(batch, outcomes, strict=True):
                if pending.answer.done():
                    continue
                if isinstance(outcome, BaseException):
                    pending.answer.set_exception(outcome)
                else:
                    pending.answer.set_result(outcome)
