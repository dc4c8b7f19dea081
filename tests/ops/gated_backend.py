"""A memory backend whose appends wait at a gate the test opens: to have calls in flight on purpose."""

from __future__ import annotations

import asyncio

from adk_grpc_sessions.server.backends.base import AppendResult, NewEvent, SessionKey
from adk_grpc_sessions.server.backends.memory import MemoryBackend


class GatedBackend(MemoryBackend):
    """Appends block until ``gate`` is set; ``waiting`` counts appends blocked right now."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = 0

    async def append_event(self, key: SessionKey, event: NewEvent, expected_revision: int) -> AppendResult:
        self.waiting += 1
        try:
            await self.gate.wait()
        finally:
            self.waiting -= 1
        return await super().append_event(key, event, expected_revision)
