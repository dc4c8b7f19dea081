"""The watch workloads: appends with and without watchers, and how soon a watcher receives an append.

Measured through our server over gRPC, as clients see it:
- ``watch_append_0_watchers`` / ``watch_append_100_watchers``: appends to one
  session, one after another, with no watcher, then with 100 watchers of
  that session attached (each reading its stream as it comes, in a process of
  their own at the lowest CPU priority), in pairs of runs; the target is a
  throughput within 10% of none, judged on the median of the pairs' ratios
  (the rows are the pair of median ratio). After the timed appends the
  watchers' process says how many of them received every event: a row whose
  watchers were cut off (``WATCHER_TOO_SLOW``) or fell behind would measure
  fewer watchers, and says so.
- ``watch_latency_hot_100_watchers``: in those same runs (the watched run of
  the pair of median ratio), the time from each append's acknowledgement to its receipt by
  the last of the 100 watchers: what following a busy session costs its
  watchers, the server delivering to them in paced rounds
  (``--watch-delivery-share``).
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
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

import grpc
from google.adk.events.event import Event

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from bench.plans import Plan
from bench.workloads import Sample, bootstrap_interval, p50

APP: Final = "bench-watch"
USER: Final = "watcher"
_CHANNELS: Final = 4
"""Channels the watchers share (HTTP/2 multiplexes their streams)."""
_REPORT_BYTES: Final = 64 * 1024 * 1024
"""Longest line the watcher process may write: its receipt times, one per event."""
WatchCall = grpc.aio.UnaryStreamCall[pb.WatchSessionRequest, pb.WatchSessionResponse]


def now() -> float:
    """The clock of acknowledgements and receipts: ``time.monotonic``, one clock for every process of the
    machine, so that the appender's acknowledgements compare with the watcher process's receipts."""
    return time.monotonic()


class Receipts:
    """When each event id arrived on a watch stream: on the first stream to report it, and on the last."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.last: dict[str, float] = {}
        """When the latest stream (of those that received it) received each event."""
        self.caught_up = 0
        self.arrived = asyncio.Event()
        self.events: list[int] = []
        """How many events each stream has received."""
        self.failed = 0
        """Streams that ended with an error."""

    def note(self, message: pb.WatchSessionResponse) -> None:
        """Records the message's events' arrival time (or its caught_up)."""
        arrived = now()
        if message.HasField("caught_up"):
            self.caught_up += 1
        for watched in message.events.events:
            self.at.setdefault(watched.event.id, arrived)
            self.last[watched.event.id] = arrived
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


async def _appends(
    client: GrpcSessionService, session_id: str, count: int, acked: dict[str, float]
) -> Sample:
    """``count`` appends to the session, one after another; ``acked`` gets when each was acknowledged."""
    session = await client.get_session(app_name=APP, user_id=USER, session_id=session_id)
    assert session is not None
    sample = Sample()
    started = time.perf_counter()
    for number in range(count):
        event = Event(id=f"w{number}-{uuid.uuid4().hex[:8]}", invocation_id="inv", author="agent")
        before = time.perf_counter()
        try:
            await client.append_event(session, event)
            acked[event.id] = now()
        except Exception as exc:  # counted, as every workload counts its failures
            sample.failures.append(f"{type(exc).__name__}: {exc}")
        sample.latencies.append(time.perf_counter() - before)
    sample.wall = time.perf_counter() - started
    return sample


@dataclass(frozen=True)
class Completion:
    """What the watcher process saw of the appends."""

    complete: int
    """How many of its watchers received every event."""
    last: dict[str, float]
    """When the last of its watchers (of those that received it) received each event (``now``)."""


class WatcherProcess:
    """``count`` watchers of one session in a process of their own (``watcher_process``)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def complete(self, events: int) -> Completion:
        """What the watchers received of ``events`` events, once each has them all (or after 60 s)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{events}\n".encode())
        await self.process.stdin.drain()
        async with asyncio.timeout(90):
            line = await self.process.stdout.readline()
        seen = json.loads(line)
        return Completion(seen["complete"], seen["last"])


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
        limit=_REPORT_BYTES,
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


@dataclass(frozen=True)
class WatchedAppends:
    """One run of appends to a session with watchers attached, and how soon all its watchers had each."""

    appends: Sample
    received: Sample | None
    """From each append's acknowledgement to its receipt by the last watcher (None without watchers)."""


async def appends_with_watchers(address: str, count: int, watcher_count: int) -> WatchedAppends:
    """``count`` appends to one session with ``watcher_count`` watchers of it attached."""
    async with GrpcSessionService(address) as client:
        session_id = f"appends-{uuid.uuid4().hex}"
        await client.create_session(app_name=APP, user_id=USER, session_id=session_id)
        acked: dict[str, float] = {}
        received = None
        if watcher_count == 0:
            sample = await _appends(client, session_id, count, acked)
        else:
            async with watcher_process(address, session_id, watcher_count) as process:
                sample = await _appends(client, session_id, count, acked)
                completion = await process.complete(count)
            sample.detail["watchers_with_every_event"] = completion.complete
            # An event the watchers received before its acknowledgement counts as 0, as in the rows below.
            received = Sample(
                latencies=[
                    max(0.0, completion.last[e] - at) for e, at in acked.items() if e in completion.last
                ],
                wall=sample.wall,
                detail=dict(sample.detail, watchers=watcher_count),
            )
        sample.detail["watchers"] = watcher_count
        return WatchedAppends(sample, received)


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
                acked = now()
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
    pairs: list[tuple[WatchedAppends, WatchedAppends]] = []
    for number in range(plan.watch_pairs):
        # Paired and alternating, which goes first alternating too: on a shared machine, figures
        # taken minutes apart differ more than 10%, and a machine warming up favours the later run.
        if number % 2 == 0:
            alone = await appends_with_watchers(address, plan.watch_appends, 0)
            watched = await appends_with_watchers(address, plan.watch_appends, plan.watchers)
        else:
            watched = await appends_with_watchers(address, plan.watch_appends, plan.watchers)
            alone = await appends_with_watchers(address, plan.watch_appends, 0)
        pairs.append((alone, watched))
    alone, watched = _median_pair(pairs)
    rows["watch_append_0_watchers"] = alone.appends
    rows[f"watch_append_{plan.watchers}_watchers"] = watched.appends
    assert watched.received is not None
    rows[f"watch_latency_hot_{plan.watchers}_watchers"] = watched.received
    rows["watch_latency_same_replica"] = await receipt_latency(address, address, plan.watch_appends)
    if replica is not None:
        rows["watch_latency_across_replicas"] = await receipt_latency(address, replica, plan.watch_appends)
    return rows


def _throughput(run: WatchedAppends) -> float:
    throughput: float = run.appends.summary()["throughput"]
    return throughput


def _median_pair(pairs: list[tuple[WatchedAppends, WatchedAppends]]) -> tuple[WatchedAppends, WatchedAppends]:
    """The pair (without, with watchers) of median throughput ratio, its ratio's figures in its detail.

    The row with watchers holds the median of the pairs' ratios
    (``throughput_ratio``), a 95% bootstrap interval of it
    (``throughput_ratio_interval``), every pair's (``throughput_ratio_of_pairs``),
    and how many watchers received every event in the worst of its runs.
    """
    ratios = [_throughput(watched) / _throughput(alone) for alone, watched in pairs]
    order = sorted(range(len(pairs)), key=ratios.__getitem__)
    alone, watched = pairs[order[len(order) // 2]]
    low, high = bootstrap_interval(p50, ratios)
    watched.appends.detail.update(
        throughput_ratio=p50(ratios),
        throughput_ratio_interval=[low, high],
        throughput_ratio_of_pairs=[round(ratios[n], 3) for n in order],
        watchers_with_every_event=min(w.appends.detail["watchers_with_every_event"] for _, w in pairs),
    )
    return alone, watched


async def _watch_until_stopped(address: str, session_id: str, count: int) -> None:
    """The watcher process: ``count`` watchers, "ready" on stdout once all are caught up.

    Then, given a number of events on stdin, it writes (a line of JSON) how
    many of its watchers have received that many, once all have (or after
    60 s), and when the last of them received each event; and exits.
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
        complete = sum(n >= expected for n in receipts.events)
        print(json.dumps({"complete": complete, "last": receipts.last}), flush=True)


if __name__ == "__main__":
    asyncio.run(_watch_until_stopped(sys.argv[1], sys.argv[2], int(sys.argv[3])))
