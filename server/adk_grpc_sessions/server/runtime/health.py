"""The ``grpc.health.v1`` status, kept true: SERVING only while the backend answers.

A background task asks the backend every few seconds; a call that finds the
backend unreachable flips the status at once, and the next good answer flips
it back, so probes and load balancers see outages as they happen. Draining
reports NOT_SERVING for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from grpc_health.v1 import health, health_pb2

from adk_grpc_sessions.server.backends.base import Backend, BackendUnavailableError

_log = logging.getLogger(__name__)
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class HealthMonitor:
    """Feeds a ``HealthServicer`` from the backend's ``check()``."""

    def __init__(
        self,
        backend: Backend,
        servicer: health.aio.HealthServicer,
        services: Sequence[str],
        interval: float = 2.0,
    ) -> None:
        self._backend = backend
        self._servicer = servicer
        self._services = tuple(services)
        self._interval = interval
        self._serving: bool | None = None
        self._draining = False
        self._task: asyncio.Task[None] | None = None

    @property
    def serving(self) -> bool:
        """Whether the last report was SERVING."""
        return bool(self._serving)

    async def start(self) -> None:
        """Reports the current status, then keeps it current in the background."""
        await self._probe()
        self._task = asyncio.create_task(self._watch(), name="health-monitor")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._probe()

    async def _probe(self) -> None:
        try:
            async with asyncio.timeout(max(self._interval, 1.0)):
                await self._backend.check()
        except (BackendUnavailableError, TimeoutError) as exc:
            await self._report(False, str(exc) or "no answer in time")
        else:
            await self._report(True, "")

    async def backend_unavailable(self, reason: str) -> None:
        """Called when a request found the backend unreachable: NOT_SERVING until it answers again."""
        await self._report(False, reason)

    async def _report(self, serving: bool, reason: str) -> None:
        if self._draining or serving == self._serving:
            return
        self._serving = serving
        if serving:
            _log.info("backend answers: health SERVING")
        else:
            _log.warning("backend unavailable (%s): health NOT_SERVING", reason)
        for service in self._services:
            await self._servicer.set(service, SERVING if serving else NOT_SERVING)

    async def drain(self) -> None:
        """Reports NOT_SERVING from now on, whatever the backend says."""
        self._draining = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._servicer.enter_graceful_shutdown()
