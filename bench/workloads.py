"""The benchmark workloads, written once against ``BaseSessionService``.

The same code drives ADK's own services in process and ``GrpcSessionService``
over the network, so every figure compares like with like. The expiry
check's workload is ours alone (ADK's services have no expiry).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.base_session_service import BaseSessionService
from google.adk.sessions.session import Session
from google.genai import types

from bench.cpu import CpuMeter

if TYPE_CHECKING:
    from adk_grpc_sessions.client import GrpcSessionService

APP = "bench"
_REPLY = (
    "The second plan fits the budget and leaves slack before the release; I recommend it. "
    "Shall I draft the schedule?"
)


def model_event(turn: int) -> Event:
    """A realistic model message of about 600 bytes of JSON, with a small state delta."""
    return Event(
        author="planner",
        invocation_id=f"e-{uuid.uuid4()}",
        content=types.Content(role="model", parts=[types.Part(text=_REPLY)]),
        usage_metadata=types.GenerateContentResponseUsageMetadata(
            prompt_token_count=812, candidates_token_count=64, total_token_count=876
        ),
        actions=EventActions(state_delta={"turn": turn, "user:last_topic": "release plan"}),
    )


@dataclass
class Sample:
    """Latencies (seconds) of the operations of one workload, and its wall time."""

    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    """What each operation that raised raised (type and message), in order."""
    operations: int | None = None
    """What the throughput counts where that is not one per latency (a sweep: sessions, timed per batch)."""

    def summary(self) -> dict[str, Any]:
        """Throughput (operations that succeeded, per second), p50 and p99 (ms, of every latency)."""
        ordered = sorted(self.latencies)
        count = len(ordered)
        succeeded = count - len(self.failures) if self.operations is None else self.operations

        def quantile(q: float) -> float:
            return ordered[min(count - 1, int(q * count))] * 1000 if count else float("nan")

        failed = {"failed": len(self.failures), "first_failure": self.failures[0]} if self.failures else {}
        return failed | {
            "ops": succeeded,
            "throughput": succeeded / self.wall if self.wall else float("nan"),
            "p50_ms": quantile(0.50),
            "p99_ms": quantile(0.99),
        }


async def _timed(sample: Sample, operation: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    started = time.perf_counter()
    try:
        return await operation(*args, **kwargs)
    finally:
        # A failed operation's wait counts in the latencies too.
        sample.latencies.append(time.perf_counter() - started)


async def create_sessions(service: BaseSessionService, count: int, meter: CpuMeter | None = None) -> Sample:
    """``count`` sessions created one after another; with ``meter``, the CPU time per create in the detail."""
    sample = Sample()
    before = meter.read() if meter else None
    started = time.perf_counter()
    for index in range(count):
        await _timed(sample, service.create_session, app_name=APP, user_id=f"create-{index % 50}")
    sample.wall = time.perf_counter() - started
    if meter and before:
        sample.detail.update(meter.per_operation(before, meter.read(), len(sample.latencies)))
    return sample


async def create_sessions_at_once(
    service: BaseSessionService, writers: int, per_writer: int, meter: CpuMeter | None = None
) -> Sample:
    """``writers`` callers creating ``per_writer`` sessions each, one after another, all at once.

    With ``meter``, the CPU time per create is in the sample's detail.
    """
    sample = Sample()
    before = meter.read() if meter else None

    async def writer(index: int) -> None:
        for _ in range(per_writer):
            try:
                await _timed(sample, service.create_session, app_name=APP, user_id=f"create-c-{index}")
            except Exception as exc:
                # Counted, as an append's failure is (ADK's SQLite service may find its database locked).
                sample.failures.append(" ".join(f"{type(exc).__name__}: {exc}".split())[:300])

    started = time.perf_counter()
    await asyncio.gather(*(writer(index) for index in range(writers)))
    sample.wall = time.perf_counter() - started
    if meter and before:
        sample.detail.update(meter.per_operation(before, meter.read(), len(sample.latencies)))
    return sample


async def append_events(
    service: BaseSessionService, sessions: int, per_session: int, meter: CpuMeter | None = None
) -> Sample:
    """``sessions`` sessions appending ``per_session`` events each, all at once (concurrency = sessions).

    With ``meter``, the CPU time per append of the timed part is in the sample's detail.
    """
    created = [
        await service.create_session(app_name=APP, user_id=f"append-{uuid.uuid4().hex[:8]}")
        for _ in range(sessions)
    ]
    # Built before the clock starts, as the echo pair serializes its request
    # once: building an ADK Event (~0.1 ms of pydantic) is the agent's work,
    # not the session service's, and would otherwise be counted against every
    # service in the throughput (though not in the latencies).
    events = [[model_event(turn) for turn in range(per_session)] for _ in created]
    sample = Sample()

    async def writer(session: Session, to_append: list[Event]) -> None:
        for event in to_append:
            try:
                await _timed(sample, service.append_event, session, event)
            except Exception as exc:
                # Counted, not fatal: ADK's DatabaseSessionService on SQLite
                # gives up with "database is locked" when 32 sessions append
                # at once for long enough. The throughput counts successes.
                sample.failures.append(" ".join(f"{type(exc).__name__}: {exc}".split())[:300])

    before = meter.read() if meter else None
    started = time.perf_counter()
    await asyncio.gather(*(writer(s, e) for s, e in zip(created, events, strict=True)))
    sample.wall = time.perf_counter() - started
    if meter and before:
        sample.detail.update(meter.per_operation(before, meter.read(), len(sample.latencies)))
    return sample


async def get_session(service: BaseSessionService, events: int, reads: int) -> Sample:
    """Reading, ``reads`` times, a whole session of ``events`` events (client-side objects included)."""
    session = await service.create_session(app_name=APP, user_id=f"get-{events}")
    for turn in range(events):
        await service.append_event(session, model_event(turn))
    sample = Sample()
    started = time.perf_counter()
    for _ in range(reads):
        loaded = await _timed(
            sample, lambda: service.get_session(app_name=APP, user_id=session.user_id, session_id=session.id)
        )
        assert loaded is not None and len(loaded.events) == events
    sample.wall = time.perf_counter() - started
    return sample


async def get_session_with_and_without_expiry(
    service: GrpcSessionService, events: int, reads: int
) -> tuple[Sample, Sample]:
    """The expiry check's cost on a read: two sessions of ``events`` events, one with an expiry, read in turn.

    One never expires, the other has an ``expire_time`` a day ahead; each is
    read ``reads`` times, alternating (and which goes first alternating too),
    so both meet the same spells of a shared machine. Returns (without, with);
    the latter's detail holds the change of p50 and a 95% bootstrap interval
    of it (``p50_change_ms``, ``p50_change_interval_ms``).
    """
    plain = await service.create_session(app_name=APP, user_id="expiry-check")
    expiring = await service.create_session(
        app_name=APP, user_id="expiry-check", expire_time=time.time() + 86_400
    )
    for session in (plain, expiring):
        for turn in range(events):
            await service.append_event(session, model_event(turn))
    without, with_expiry = Sample(), Sample()

    async def read(sample: Sample, session: Session) -> None:
        loaded = await _timed(
            sample, lambda: service.get_session(app_name=APP, user_id=session.user_id, session_id=session.id)
        )
        assert loaded is not None and len(loaded.events) == events

    for index in range(reads):
        pair = [(without, plain), (with_expiry, expiring)]
        for sample, session in pair if index % 2 == 0 else reversed(pair):
            await read(sample, session)
    for sample in (without, with_expiry):
        # Each side's own reads (the wall time is both sides' together).
        sample.wall = sum(sample.latencies)
    change, low, high = p50_change(without.latencies, with_expiry.latencies)
    with_expiry.detail.update(p50_change_ms=change * 1000, p50_change_interval_ms=[low * 1000, high * 1000])
    return without, with_expiry


def p50(values: list[float]) -> float:
    """The p50 as ``Sample.summary`` takes it (of an even count, the upper of the middle two)."""
    return sorted(values)[len(values) // 2]


def bootstrap_interval(
    statistic: Callable[..., float], *samples: list[float], resamples: int = 2000
) -> tuple[float, float]:
    """A 95% bootstrap interval (percentile method) of ``statistic(*samples)``, each resampled alone."""
    draw = random.Random(0)  # seeded: the same figures always give the same interval
    values = sorted(
        statistic(*(draw.choices(sample, k=len(sample)) for sample in samples)) for _ in range(resamples)
    )
    return values[int(0.025 * resamples)], values[int(0.975 * resamples) - 1]


def p50_change(before: list[float], after: list[float], resamples: int = 2000) -> tuple[float, float, float]:
    """The p50 of ``after`` less that of ``before``, and a 95% bootstrap interval of it (percentile method).

    p50 as ``Sample.summary`` takes it. The interval holds 0 when the
    difference is within what resampling the same latencies gives.
    """
    low, high = bootstrap_interval(
        lambda later, earlier: p50(later) - p50(earlier), after, before, resamples=resamples
    )
    return p50(after) - p50(before), low, high


async def agent_turn(service: BaseSessionService, turns: int) -> Sample:
    """What one agent turn asks of the store: read the session, append 4 events, read its events back."""
    session = await service.create_session(app_name=APP, user_id=f"turns-{uuid.uuid4().hex[:8]}")
    sample = Sample()
    list_events = getattr(service, "list_events", None)

    async def turn(number: int) -> None:
        current = await service.get_session(app_name=APP, user_id=session.user_id, session_id=session.id)
        assert current is not None
        for step in range(4):
            await service.append_event(current, model_event(number * 4 + step))
        if list_events is not None:
            await list_events(app_name=APP, user_id=session.user_id, session_id=session.id, page_size=100)
        else:  # ADK's services have no list_events: reading the session is their equivalent
            await service.get_session(app_name=APP, user_id=session.user_id, session_id=session.id)

    started = time.perf_counter()
    for number in range(turns):
        await _timed(sample, turn, number)
    sample.wall = time.perf_counter() - started
    return sample


async def populate_sessions(service: BaseSessionService, app_name: str, users: int, count: int) -> None:
    """Creates ``count`` sessions spread over ``users`` users, through the service's own API, 64 at a time."""
    semaphore = asyncio.Semaphore(64)

    async def create(index: int) -> None:
        async with semaphore:
            await service.create_session(app_name=app_name, user_id=f"user-{index % users}")

    await asyncio.gather(*(create(i) for i in range(count)))


async def list_first_page(
    service: BaseSessionService, app_name: str, user_id: str | None, reads: int, budget_seconds: float
) -> Sample:
    """The first page of sessions (100 where the service pages; everything where it cannot).

    ``reads`` reads, or as many as fit in ``budget_seconds`` (at least 3): a
    service that loads every session takes seconds per read at 100,000
    sessions, and 30 such reads would add minutes to a run without changing
    its median.
    """
    sample = Sample()
    page_of = getattr(service, "list_sessions_page", None)
    started = time.perf_counter()
    for done in range(reads):
        if done >= 3 and time.perf_counter() - started > budget_seconds:
            break
        if page_of is not None:
            page = await _timed(sample, lambda: page_of(app_name=app_name, user_id=user_id, page_size=100))
            sample.detail["returned"] = len(page.sessions)
        else:
            listed = await _timed(sample, lambda: service.list_sessions(app_name=app_name, user_id=user_id))
            sample.detail["returned"] = len(listed.sessions)
    sample.wall = time.perf_counter() - started
    return sample
