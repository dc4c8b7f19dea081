"""The watch workloads: appends with and without watchers, and how soon a watcher receives an append.

Measured through our server over gRPC, as clients see it:
- ``watch_append_0_watchers`` / ``watch_append_100_watchers``: appends to one
  session, one after another, with no watcher, then with 100 watchers of
  that session attached (each reading its stream as it comes, in a process of
  their own at the lowest CPU priority), alternating runs; the target is a
  throughput within 10% of none. After the timed appends the watchers' process
  says how many of them received every event: a row whose watchers were cut
  off (``WATCHER_TOO_SLOW``) or fell behind would measure fewer watchers, and
  says so.
- ``watch_latency_same_replica``: the time from an append's acknowledgement
  (the append call returning) to a watcher's receipt of that event, the
  watcher on the same server; one append at a time. A watcher may receive the
  event before the appender has its acknowledgement (the server tells its
  watchers as it answers): that counts as 0.
- ``watch_latency_across_replicas`` (PostgreSQL): the same with the watcher on
  a second server process on the same database, told by its notification.
The watchers read through the generated stub, as a client in any language does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Final

import grpc
from google.adk.events.event import Event

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from bench.plans import Plan
from bench.workloads import Sample

APP: Final = "bench-watch"
USER: Final = "watcher"
_CHANNELS: Final = 4
"""Channels the watchers share (HTTP/2 multiplexes their streams)."""
WatchCall = grpc.aio.UnaryStreamCall[pb.WatchSessionRequest, pb.WatchSessionResponse]


class Receipts:
    """When each event id arrived on a watch stream (the first stream to report it)."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.caught_up = 0
        self.arrived = asyncio.Event()
        self.events: list[int] = []
        """How many events each stream has received."""
        self.failed = 0
        """Streams that ended with an error."""

    def note(self, message: pb.WatchSessionResponse) -> None:
        """Records the message's events' arrival time (or its caught_up)."""
        now = time.perf_counter()
        if message.HasField("caught_up"):
            self.caught_up += 1
        for watched in message.events.events:
            self.at.setdefault(watched.event.id, now)
        self.arrived.set()


@contextlib.asynccontextmanager
async def watchers(address: str, session_id: str, count: int, receipts: Receipts) -> AsyncIterator[None]:
    """``count`` watch streams of the session, read in the background, each caught up on entry."""
    async with contextlib.AsyncExitStack() as stack:
        channels = [
            await stack.enter_async_context(grpc.aio.insecure_channel(address)) for _ in range(_CHANNELS)
        ]
        request = pb.WatchSessionRequest(app_name=APP, user_id=USER, session_id=session_id)
        stubs = [pb_grpc.SessionServiceStub(channel) for channel in channels]
        calls = [stubs[n % _CHANNELS].WatchSession(request) for n in range(count)]

        async def read(stream: int, call: WatchCall) -> None:
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    async for message in call:
                        receipts.note(message)
                        receipts.events[stream] += len(message.events.events)
                except grpc.aio.AioRpcError as exc:
                    if exc.code() != grpc.StatusCode.CANCELLED:
                        receipts.failed += 1
                        receipts.arrived.set()

        receipts.events = [0] * count
        tasks = [asyncio.create_task(read(n, call)) for n, call in enumerate(calls)]
        try:
            async with asyncio.timeout(120):
                while receipts.caught_up < count:
                    receipts.arrived.clear()
                    await receipts.arrived.wait()
            yield
        finally:
            for call in calls:
                call.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _appends(client: GrpcSessionService, session_id: str, count: int) -> Sample:
    """``count`` appends to the session, one after another."""
    session = await client.get_session(app_name=APP, user_id=USER, session_id=session_id)
    assert session is not None
    sample = Sample()
    started = time.perf_counter()
    for number in range(count):
        event = Event(id=f"w{number}-{uuid.uuid4().hex[:8]}", invocation_id="inv", author="agent")
        before = time.perf_counter()
        try:
            await client.append_event(session, event)
        except Exception as exc:  # counted, as every workload counts its failures
            sample.failures.append(f"{type(exc).__name__}: {exc}")
        sample.latencies.append(time.perf_counter() - before)
    sample.wall = time.perf_counter() - started
    return sample


class WatcherProcess:
    """``count`` watchers of one session in a process of their own (``watcher_process``)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def complete(self, events: int) -> int:
        """How many of the watchers received ``events`` events, once each has (or after 60 s)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{events}\n".encode())
        await self.process.stdin.drain()
        async with asyncio.timeout(90):
            line = await self.process.stdout.readline()
        return int(line)


@contextlib.asynccontextmanager
async def watcher_process(address: str, session_id: str, count: int) -> AsyncIterator[WatcherProcess]:
    """``count`` watchers of the session in a process of their own, caught up on entry.

    Apart from the appender's process, and at the lowest CPU priority: on a
    machine of few cores, reading a hundred streams would otherwise take the
    server's and the appender's CPU, and the row would measure the watchers'
    client instead of the server's cost of serving them.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.watch",
        address,
        session_id,
        str(count),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        os.setpriority(os.PRIO_PROCESS, process.pid, 19)
        assert process.stdout is not None
        async with asyncio.timeout(120):
            line = await process.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"the watchers did not start: {line!r}")
        yield WatcherProcess(process)
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def appends_with_watchers(address: str, count: int, watcher_count: int) -> Sample:
    """``count`` appends to one session with ``watcher_count`` watchers of it attached."""
    async with GrpcSessionService(address) as client:
        session_id = f"appends-{uuid.uuid4().hex}"
        await client.create_session(app_name=APP, user_id=USER, session_id=session_id)
        if watcher_count == 0:
            sample = await _appends(client, session_id, count)
        else:
            async with watcher_process(address, session_id, watcher_count) as process:
                sample = await _appends(client, session_id, count)
                sample.detail["watchers_with_every_event"] = await process.complete(count)
        sample.detail["watchers"] = watcher_count
        return sample


async def receipt_latency(append_address: str, watch_address: str, count: int) -> Sample:
    """For ``count`` appends, one at a time: from the append's acknowledgement to the watcher's receipt."""
    async with GrpcSessionService(append_address) as client:
        session_id = f"latency-{uuid.uuid4().hex}"
        await client.create_session(app_name=APP, user_id=USER, session_id=session_id)
        receipts = Receipts()
        sample = Sample()
        async with watchers(watch_address, session_id, 1, receipts):
            started = time.perf_counter()
            session = await client.get_session(app_name=APP, user_id=USER, session_id=session_id)
            assert session is not None
            for number in range(count):
                event = Event(id=f"l{number}", invocation_id="inv", author="agent")
                await client.append_event(session, event)
                acked = time.perf_counter()
                async with asyncio.timeout(30):
                    while event.id not in receipts.at:
                        receipts.arrived.clear()
                        await receipts.arrived.wait()
                sample.latencies.append(max(0.0, receipts.at[event.id] - acked))
            sample.wall = time.perf_counter() - started
        return sample


async def run(address: str, plan: Plan, replica: str | None = None) -> dict[str, Sample]:
    """Every watch row for our server at ``address`` (and ``replica``, a second server on its database)."""
    rows: dict[str, Sample] = {}
    none: list[Sample] = []
    some: list[Sample] = []
    for _ in range(plan.append_repeats):
        # Alternating: on a shared machine, figures taken minutes apart differ more than 10%.
        none.append(await appends_with_watchers(address, plan.watch_appends, 0))
        some.append(await appends_with_watchers(address, plan.watch_appends, plan.watchers))
    rows["watch_append_0_watchers"] = _median(none)
    rows[f"watch_append_{plan.watchers}_watchers"] = _median(some)
    rows["watch_latency_same_replica"] = await receipt_latency(address, address, plan.watch_appends)
    if replica is not None:
        rows["watch_latency_across_replicas"] = await receipt_latency(address, replica, plan.watch_appends)
    return rows


def _median(samples: list[Sample]) -> Sample:
    ordered = sorted(samples, key=lambda s: len(s.latencies) / s.wall if s.wall else 0.0)
    return ordered[len(ordered) // 2]


async def _watch_until_stopped(address: str, session_id: str, count: int) -> None:
    """The watcher process: ``count`` watchers, "ready" on stdout once all are caught up.

    Then, given a number of events on stdin, it writes how many of its
    watchers have received that many, once all have (or after 60 s), and exits.
    """
    receipts = Receipts()
    async with watchers(address, session_id, count, receipts):
        print("ready", flush=True)
        expected = int(await asyncio.to_thread(sys.stdin.readline))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(60):
                while sum(n >= expected for n in receipts.events) + receipts.failed < count:
                    receipts.arrived.clear()
                    await receipts.arrived.wait()
        print(sum(n >= expected for n in receipts.events), flush=True)


if __name__ == "__main__":
    asyncio.run(_watch_until_stopped(sys.argv[1], sys.argv[2], int(sys.argv[3])))
