"""The watch delivery share: how much of the event loop a busy session's deliveries may take.

A hub of more than a few watchers delivers in rounds paced to its share of
the loop's time; a session appended to without pause gets fewer, larger
messages the smaller the share, and every watcher still receives every
event once, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import grpc
import pytest

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.api.service import SessionServicer
from adk_grpc_sessions.server.api.watch import DEFAULT_DELIVERY_SHARE, Watchers, _Batch, _Round, _Watcher
from adk_grpc_sessions.server.backends.base import NewEvent, ScopedState, SessionKey
from adk_grpc_sessions.server.backends.memory import MemoryBackend
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.v1 import session_service_pb2 as pb
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


def _burn(seconds: float) -> None:
    """Spends ``seconds`` of this thread's CPU time: what the pacing counts."""
    deadline = time.thread_time() + seconds
    while time.thread_time() < deadline:
        pass


def _new_event(number: int) -> NewEvent:
    body = json.dumps({"id": f"e{number}", "invocationId": "inv", "author": "agent", "timestamp": 1.0})
    return NewEvent(f"e{number}", "inv", "agent", "", 1.0, ScopedState(), body, size=len(body))


async def _rounds(start_cost: float, completion_cost: float) -> int:
    """Delivery rounds of 1.5 s of appends to 12 watchers whose every write takes the loop ``start_cost``
    of CPU time as the watcher takes the round and ``completion_cost`` once the write completes; checks
    that each watcher got every event once, in order."""
    backend = MemoryBackend()
    watchers = Watchers(backend, response_bytes=1 << 20, buffer_bytes=1 << 20, delivery_share=0.2)
    key = SessionKey("app", "user", "s")
    revision = (await backend.create_session(key, ScopedState(), time.time())).revision
    received: list[list[pb.WatchSessionResponse]] = [[] for _ in range(_WATCHERS)]
    arrived = asyncio.Event()

    async def watch(messages: list[pb.WatchSessionResponse]) -> None:
        # As gRPC's writes do: the write starts in the step that took the round, completes later
        # (the loop free meanwhile), and the stream's next step follows its completion.
        async for data in watchers.stream(key, revision):
            messages.append(pb.WatchSessionResponse.FromString(data))
            arrived.set()
            _burn(start_cost)
            await asyncio.sleep(0.001)
            _burn(completion_cost)

    def ids(messages: list[pb.WatchSessionResponse]) -> list[str]:
        return [watched.event.id for m in messages for watched in m.events.events]

    tasks = [asyncio.create_task(watch(messages)) for messages in received]
    try:
        while not all(messages for messages in received):  # each has its caught_up
            arrived.clear()
            await arrived.wait()
        appends = 0
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            revision = (await backend.append_event(key, _new_event(appends), revision)).revision
            appends += 1
            await asyncio.sleep(0.002)
        async with asyncio.timeout(10):
            while not all(len(ids(messages)) == appends for messages in received):
                arrived.clear()
                await arrived.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert all(ids(messages) == [f"e{n}" for n in range(appends)] for messages in received)
    return max(len(messages) for messages in received) - 1  # less the caught_up


async def test_a_round_is_charged_for_its_writes_completions_as_well_as_for_starting_them() -> None:
    # The same loop time per write, spent as it starts or half of it once it completed: as many rounds.
    at_start = await _rounds(0.002, 0.0)
    half_at_completion = await _rounds(0.001, 0.001)
    assert half_at_completion <= 1.3 * at_start + 1, (half_at_completion, at_start)


def test_a_watcher_gone_before_writing_its_round_does_not_keep_the_round_from_being_charged() -> None:
    watcher = _Watcher(1024)
    watcher.idle = True  # waiting for the hub: the round waits for it to take it, and to write it
    delivery = _Round()
    charged: list[bool] = []
    assert watcher.offer(_Batch([]), delivery)
    delivery.when_written(lambda: charged.append(True))
    assert charged == []

    watcher.gone()

    assert charged == [True] and delivery.done.is_set()
