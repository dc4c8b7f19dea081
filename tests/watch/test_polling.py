"""MySQL/MariaDB: a server polls the heads of all the sessions its watchers follow in one statement."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.backends.sql import SqlBackend
from adk_grpc_sessions.server.backends.sql.change_feeds import HeadPoller
from tests.watch.conftest import Serve, created, watching

BACKENDS_HERE = ("mariadb",)


async def test_one_statement_per_interval_polls_every_watched_session(serve: Serve) -> None:
    sessions, interval, seconds = 20, 0.1, 2.0
    async with (
        serve(watch_poll_interval=interval) as running,
        GrpcSessionService(running.address) as client,
        contextlib.AsyncExitStack() as stack,
    ):
        for number in range(sessions):
            await created(client, f"s{number}")
            watch = await stack.enter_async_context(watching(running.address, f"s{number}"))
            await watch.wait_caught_up()
        backend: Any = running.server._backend
        inner = getattr(backend, "_inner", backend)
        assert isinstance(inner, SqlBackend) and isinstance(inner.change_feed, HeadPoller)
        before = inner.change_feed.polls
        await asyncio.sleep(seconds)
        polls = inner.change_feed.polls - before
        # One statement per interval for all 20 sessions (a shared CPU may stretch intervals).
        assert 0 < polls <= seconds / interval + 2, polls
