"""WatchSession under load: slow watchers cut off and resumed, shared reads and encodings, a thousand watchers."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import signal
from collections.abc import Sequence

import grpc
import pytest
from google.adk.events.event import Event

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.api import messages as server_messages
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.server_process import ServerProcess, wait_until_serving
from tests.watch.conftest import APP, USER, Running, Serve, Watch, created, event, reason_of, watching

pytestmark = pytest.mark.timeout(280)

_PAD = 32 * 1024


def _large(number: int) -> Event:
    """An event of about 32 KiB."""
    large = event(number)
    large.custom_metadata = {"pad": "x" * _PAD}
    return large


async def _read_all(
    call: grpc.aio.UnaryStreamCall[pb.WatchSessionRequest, pb.WatchSessionResponse],
    into: list[pb.WatchedEvent],
) -> None:
    async for message in call:
        into.extend(message.events.events)


def _reads(running: Running) -> float:
    metrics = running.server.metrics
    assert metrics is not None
    value = metrics.registry.get_sample_value(
        "adk_grpc_sessions_backend_duration_seconds_count", {"operation": "read_watched"}
    )
    return value or 0.0


async def test_a_slow_watcher_is_cut_off_without_slowing_others_and_resumes_without_loss(
    serve: Serve,
) -> None:
    count = 300
    async with (
        serve(watch_buffer_bytes=256 * 1024) as running,
        GrpcSessionService(running.address) as client,
        grpc.aio.insecure_channel(running.address) as channel,
    ):
        session = await created(client)
        request = pb.WatchSessionRequest(app_name=APP, user_id=USER, session_id="s")
        slow = pb_grpc.SessionServiceStub(channel).WatchSession(request)  # not read until the appends end
        async with watching(running.address, "s") as fast:
            await fast.wait_caught_up()
            for number in range(count):
                await client.append_event(session, _large(number))
            await fast.wait_for(count, wait=60)
            assert fast.event_ids == [f"e{n}" for n in range(count)] and fast.error is None
        received: list[pb.WatchedEvent] = []
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await _read_all(slow, received)
        assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert reason_of(raised.value) == "WATCHER_TOO_SLOW"
        assert len(received) < count
        resume_from = received[-1].revision if received else 0
        async with watching(running.address, "s", resume_from) as resumed:
            await resumed.wait_caught_up(wait=60)
        ids = [w.event.id for w in received] + resumed.event_ids
        assert ids == [f"e{n}" for n in range(count)]


async def test_the_watchers_of_one_session_share_one_read_per_change(serve: Serve) -> None:
    watchers, appends = 20, 10
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await created(client)
        async with contextlib.AsyncExitStack() as stack:
            watches: list[Watch] = [
                await stack.enter_async_context(watching(running.address, "s")) for _ in range(watchers)
            ]
            for watch in watches:
                await watch.wait_caught_up()
            metrics = running.server.metrics
            assert metrics is not None
            assert metrics.registry.get_sample_value("adk_grpc_sessions_watchers") == watchers
            before = _reads(running)
            for number in range(appends):
                await client.append_event(session, event(number))
                for watch in watches:
                    await watch.wait_for(number + 1)
            reads = _reads(running) - before
            assert all(w.event_ids == [f"e{n}" for n in range(appends)] for w in watches)
            # One read per append (the poll of MySQL/MariaDB may add one); a read per watcher would be 200.
            assert reads <= 2 * appends, reads
            delivered = metrics.registry.get_sample_value("adk_grpc_sessions_watched_events_total")
            assert delivered == watchers * appends


async def test_each_round_is_encoded_once_whatever_the_number_of_watchers(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    watchers, appends = 50, 10
    encoded: list[int] = []
    encode = server_messages.watch_events_response

    def counted(entries: Sequence[bytes]) -> bytes:
        encoded.append(len(entries))
        return encode(entries)

    monkeypatch.setattr(server_messages, "watch_events_response", counted)
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await created(client)
        async with contextlib.AsyncExitStack() as stack:
            channels = [
                await stack.enter_async_context(grpc.aio.insecure_channel(running.address)) for _ in range(4)
            ]
            watches: list[Watch] = [
                await stack.enter_async_context(watching(running.address, "s", channel=channels[n % 4]))
                for n in range(watchers)
            ]
            for watch in watches:
                await watch.wait_caught_up()
            encoded.clear()
            for number in range(appends):
                await client.append_event(session, event(number))
                for watch in watches:
                    await watch.wait_for(number + 1)
            assert all(w.event_ids == [f"e{n}" for n in range(appends)] for w in watches)
            # Each append is a round of its own here (every watcher has it before the next): one
            # encoding each, not one per watcher (that would be 500).
            assert encoded == [1] * appends, f"{len(encoded)} encodings for {appends} rounds"


async def test_a_hundred_watchers_of_a_session_appended_without_pause_get_each_event_once_in_order(
    serve: Serve,
) -> None:
    watchers, appends = 100, 300
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await created(client)
        async with contextlib.AsyncExitStack() as stack:
            channels = [
                await stack.enter_async_context(grpc.aio.insecure_channel(running.address)) for _ in range(4)
            ]
            watches: list[Watch] = [
                await stack.enter_async_context(watching(running.address, "s", channel=channels[n % 4]))
                for n in range(watchers)
            ]
            for watch in watches:
                await watch.wait_caught_up()
            for number in range(appends):
                await client.append_event(session, event(number))
            info = await client.get_session_info(app_name=APP, user_id=USER, session_id="s")
            assert info is not None
            for watch in watches:
                await watch.wait_for(appends, wait=120)
            await asyncio.sleep(0.3)  # room for a duplicate to arrive
            expected = [f"e{n}" for n in range(appends)]
            first = watches[0].revisions
            assert first == sorted(set(first)) and first[-1] == info.revision
            for watch in watches:
                assert watch.error is None
                assert watch.event_ids == expected
                assert watch.revisions == first
                # Rounds, not appends, make the messages: several events share one.
                assert len([m for m in watch.received if m.HasField("events")]) < appends


def _rss_kib(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def test_a_thousand_watchers_cost_the_server_bounded_memory() -> None:
    # One backend (memory): the hubs and buffers measured are the same for every backend.
    process = await ServerProcess(["serve", "--listen", "127.0.0.1:0", "--backend", "memory://"]).start()
    try:
        address = await process.address()
        await wait_until_serving(address)
        assert process.process is not None
        pid = process.process.pid
        async with GrpcSessionService(address) as client:
            session = await created(client)
            await client.append_event(session, event(0))
            idle = _rss_kib(pid)
            async with contextlib.AsyncExitStack() as stack:
                channels = [
                    await stack.enter_async_context(grpc.aio.insecure_channel(address)) for _ in range(10)
                ]
                watches = [
                    await stack.enter_async_context(watching(address, "s", channel=channels[n % 10]))
                    for n in range(1000)
                ]
                for watch in watches:
                    await watch.wait_caught_up(wait=120)
                for number in range(1, 11):
                    await client.append_event(session, event(number))
                for watch in watches:
                    await watch.wait_for(11, wait=120)
                assert all(w.event_ids == [f"e{n}" for n in range(11)] for w in watches)
                watching_rss = _rss_kib(pid)
            grown = watching_rss - idle
            print(f"server RSS: {idle} KiB idle, {watching_rss} KiB with 1,000 watchers (+{grown} KiB)")
            assert grown < 150 * 1024, f"1,000 watchers took {grown} KiB"
    finally:
        await process.stop(signal.SIGKILL)
        await asyncio.sleep(0)


async def test_a_long_backlog_arrives_in_messages_of_about_a_mebibyte(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await created(client)
        for number in range(100):
            await client.append_event(session, _large(number))
        async with watching(running.address, "s") as watch:
            await watch.wait_caught_up(wait=60)
        sizes = [m.ByteSize() for m in watch.received if m.HasField("events")]
        assert watch.event_ids == [f"e{n}" for n in range(100)]
        assert len(sizes) >= 3
        assert max(sizes) <= 1024 * 1024 + _PAD + 4096
