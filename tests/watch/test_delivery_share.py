"""The watch delivery share: how much of the event loop a busy session's deliveries may take.

A hub of more than a few watchers delivers in rounds paced to its share of
the loop's time; a session appended to without pause gets fewer, larger
messages the smaller the share, and every watcher still receives every
event once, in order.
"""

from __future__ import annotations

import contextlib

import grpc
import pytest

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.api.service import SessionServicer
from adk_grpc_sessions.server.api.watch import DEFAULT_DELIVERY_SHARE, Watchers
from adk_grpc_sessions.server.backends.memory import MemoryBackend
from adk_grpc_sessions.server.runtime.config import ServerConfig
from tests.watch.conftest import Serve, Watch, created, event, watching

BACKENDS_HERE = ("memory",)
"""Pacing is the hub's, above every backend: one backend shows it."""

_WATCHERS = 12
"""Above the few watchers a hub delivers to unpaced."""
_APPENDS = 200


async def _messages_per_watcher(serve: Serve, share: float) -> int:
    """Appends ``_APPENDS`` events without pause to a session of ``_WATCHERS`` watchers, on a server
    with this delivery share; checks that each watcher got every event once, in order, and returns
    the most messages of events any of them received."""
    async with serve(watch_delivery_share=share) as running, GrpcSessionService(running.address) as client:
        session = await created(client)
        async with contextlib.AsyncExitStack() as stack:
            channel = await stack.enter_async_context(grpc.aio.insecure_channel(running.address))
            watches: list[Watch] = [
                await stack.enter_async_context(watching(running.address, "s", channel=channel))
                for _ in range(_WATCHERS)
            ]
            for watch in watches:
                await watch.wait_caught_up()
            for number in range(_APPENDS):
                await client.append_event(session, event(number))
            expected = [f"e{n}" for n in range(_APPENDS)]
            for watch in watches:
                await watch.wait_for(_APPENDS, wait=60)
                assert watch.error is None and watch.event_ids == expected
            return max(len([m for m in w.received if m.HasField("events")]) for w in watches)


async def test_a_smaller_share_gives_a_busy_session_s_watchers_fewer_larger_messages(serve: Serve) -> None:
    unpaced = await _messages_per_watcher(serve, 1.0)
    # So small a share is spent by the first few rounds: each round after them waits the longest pause.
    paced = await _messages_per_watcher(serve, 0.0001)
    assert paced < unpaced / 2, (paced, unpaced)


@pytest.mark.parametrize("share", [0.0, -0.1, 1.5, float("nan")])
def test_a_share_that_is_not_more_than_0_and_at_most_1_is_refused(share: float) -> None:
    backend = MemoryBackend()
    with pytest.raises(ValueError, match="delivery share"):
        Watchers(backend, response_bytes=1024, buffer_bytes=1024, delivery_share=share)
    with pytest.raises(ValueError, match="delivery share"):
        SessionServicer(backend, watch_delivery_share=share)


def test_the_server_s_default_share_is_the_hub_s() -> None:
    assert ServerConfig().watch_delivery_share == DEFAULT_DELIVERY_SHARE
    watchers = SessionServicer(MemoryBackend()).watchers
    assert watchers.delivery_share == DEFAULT_DELIVERY_SHARE
