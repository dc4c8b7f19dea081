"""Waiting for a condition instead of sleeping for a guess: what tests synchronize on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(condition: Callable[[], bool], wait: float = 10.0, every: float = 0.01) -> None:
    """Returns once ``condition()`` holds, checked every ``every`` seconds.

    Raises:
        TimeoutError: it did not hold within ``wait`` seconds.
    """
    async with asyncio.timeout(wait):
        # Polled: the conditions are other processes' or threads' state, which no Event can carry.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(every)
