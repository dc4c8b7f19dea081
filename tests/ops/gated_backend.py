"""A memory backend whose appends wait at a gate the test opens: to have calls in flight on purpose."""

from __future__ import annotations

import asyncio

from adk_grpc_sessions.server.backends.base import (
    DEFAULT_LIMITS,
    AppendResult,
    NewEvent,
    SessionKey,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.memory import MemoryBackend


class GatedBackend(MemoryBackend):
    """Appends block until ``gate`` is set; ``waiting`` counts appends blocked right now."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = 0
        self._changed = asyncio.Condition()

    async def until_waiting(self, count: int, wait: float = 5.0) -> None:
        """Returns once exactly ``count`` appends are blocked at the gate (fails after ``wait`` seconds)."""
        async with asyncio.timeout(wait), self._changed:
            await self._changed.wait_for(lambda: self.waiting == count)

    async def _count(self, change: int) -> None:
        async with self._changed:
            self.waiting += change
            self._changed.notify_all()

    async def append_event(
        self,
        key: SessionKey,
        event: NewEvent,
        expected_revision: int,
        *,
        refresh_expiry: bool = False,
        limits: StorageLimits = DEFAULT_LIMITS,
    ) -> AppendResult:
        await self._count(+1)
        try:
            await self.gate.wait()
        finally:
            await asyncio.shield(self._count(-1))
        return await super().append_event(
            key, event, expected_revision, refresh_expiry=refresh_expiry, limits=limits
        )
