"""The sweeper: a task of the server that purges expired sessions from storage, batch by batch.

Expired sessions are already invisible to every call (the backend judges
expiry on every read); the sweeper only reclaims their storage. Each batch
is one short transaction of the backend's ``purge_expired`` (bounded by
``batch_size`` sessions, and by the events they hold: a backend may take
fewer), so it never holds a long lock; several replicas sweeping one
database each delete different sessions (the backend skips rows another
transaction holds), and a crash mid-batch rolls that batch back for the
next run to take again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from adk_grpc_sessions.server.backends.base import Backend, BackendError, BackendRefusedError, Refusal
from adk_grpc_sessions.server.runtime.metrics import Metrics

_log = logging.getLogger(__name__)


class Sweeper:
    """Purges expired sessions every ``interval`` seconds, ``batch_size`` at a time, until none are left."""

    def __init__(
        self, backend: Backend, *, interval: float, batch_size: int, metrics: Metrics | None = None
    ) -> None:
        self._backend = backend
        self._interval = interval
        self._batch_size = batch_size
        self._metrics = metrics
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Starts sweeping in the background (the first run after one interval)."""
        self._task = asyncio.create_task(self._loop(), name="sweeper")

    async def stop(self) -> None:
        """Stops sweeping; a batch under way is cancelled, and its transaction rolled back."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.run_once()
            except BackendRefusedError as exc:
                if exc.refusal is Refusal.UNSUPPORTED:
                    _log.info("sweeper stopped: the backend does not purge expired sessions (%s)", exc)
                    return
                _log.warning("sweeper: purge refused, trying again next run: %s", exc)
            except BackendError as exc:
                _log.warning("sweeper: purge failed, trying again next run: %s", exc)

    async def run_once(self) -> int:
        """Purges batches until one comes back empty; returns how many sessions it deleted.

        Not until one comes back short: a backend bounds a batch by the events
        it deletes too, so a short batch does not mean that none are left.

        Raises:
            BackendError: storage failed (what earlier batches deleted stays deleted).
        """
        total = 0
        while True:
            started = time.perf_counter()
            batch = await self._backend.purge_expired(self._batch_size)
            seconds = time.perf_counter() - started
            if batch.done:
                break
            total += len(batch.purged)
            _log.info(
                "purged %d expired sessions (%d events) in %.1f ms",
                len(batch.purged),
                batch.events_deleted,
                seconds * 1000,
                extra={
                    "sessions_purged": len(batch.purged),
                    "events_purged": batch.events_deleted,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
            if self._metrics is not None:
                self._metrics.sessions_purged.inc(len(batch.purged))
                self._metrics.events_purged.inc(batch.events_deleted)
        if self._metrics is not None:
            self._metrics.purge_backlog.set(await self._backend.count_expired())
            self._metrics.purge_last_run.set(time.time())
        return total
