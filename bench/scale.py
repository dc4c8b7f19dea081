"""``make bench-scale``: whether a call costs the same in a big session and a big app as in a small one.

Three questions, each asked of our server on SQLite and on PostgreSQL,
through gRPC and the Python client as an agent asks them:
- does an append into a session of 10,000 events cost what one into a new
  session costs? (lone appends into the two alternate; p50 within 10 %) And
  do the appends that grow it to 10,000 cost the same all along? (p50 of
  the last tenth within 10 % of the first tenth's)
- does reading a session's 20 most recent events cost little however many
  it holds? (``get_session(num_recent_events=20)`` of 100,000; p50 < 5 ms)
- does the first page of an app cost little however many sessions it holds?
  (100 of 1,000,000; p99 < 20 ms)

The session of 10,000 events grows as an agent's does, by lone appends
through the server, and its appends are timed before anything else is in
the database: its storage is then as appends leave it (on PostgreSQL, each
append's update of the session row leaves the old version behind until a
vacuum, and the tables have the statistics appends alone leave), which an
append's cost must not grow with either. The 100,000-event session and the
big app are loaded in bulk afterwards, straight into the tables (rows as
our appends and creates write them, through the backend's own row
builders): through the API they would take most of an hour, and the
loading is not what is measured. The results go to
``bench/results/scale.*`` and, for a run at full size, into
docs/performance.md between its ``bench-scale`` markers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop
from google.adk.events.event_actions import EventActions
from google.adk.sessions.base_session_service import GetSessionConfig

from bench import workloads
from bench.run import RESULTS, Service, _commit, _postgres, _server
from bench.worker import _analyze, _our_bulk_sessions
from bench.workloads import Sample, model_event
from tests.databases import create_database_blocking

APP = "bench-scale"
PAGE_START = "<!-- bench-scale:start -->"
PAGE_END = "<!-- bench-scale:end -->"


@dataclass(frozen=True)
class Scale:
    """How big the big things are, and how many calls are timed."""

    append_events: int = 10_000
    read_events: int = 100_000
    app_sessions: int = 1_000_000
    appends: int = 300
    reads: int = 300


async def load_events(backend_uri: str, session_id: str, count: int) -> None:
    """Creates a session holding ``count`` stored events, written in bulk as appends would store them.

    The events carry no state delta, so the session's state (empty) is what
    the appends would have left.
    """
    import sqlalchemy as sa

    from adk_grpc_sessions.server.api import wire_cache
    from adk_grpc_sessions.server.backends.event_json import parse_event
    from adk_grpc_sessions.server.backends.records import ScopedState, SessionKey
    from adk_grpc_sessions.server.backends.sql import SqlBackend
    from adk_grpc_sessions.server.backends.sql.queries.rows import event_row
    from adk_grpc_sessions.server.backends.sql.schema import event_revision, events, sessions

    backend = SqlBackend.from_uri(backend_uri)
    await backend.upgrade_schema()
    await backend.start()
    try:
        key = SessionKey(APP, "big", session_id)
        created = await backend.create_session(key, ScopedState(), time.time())
        session_pk = (created.revision - 1) // 2
        total_bytes, last_timestamp, last_pk = 0, created.create_time, 0
        for start in range(0, count, 2_000):
            rows = []
            for sequence in range(start + 1, min(count, start + 2_000) + 1):
                event = model_event(sequence)
                event.actions = EventActions()
                stored = parse_event(event.model_dump_json(by_alias=True, exclude_none=True))
                wire_cache.attach(stored)
                total_bytes += stored.size
                last_timestamp = stored.timestamp
                rows.append(event_row(session_pk, sequence, stored))
            async with backend.engine.begin() as connection:
                await connection.execute(events.insert(), rows)
                last_pk = (
                    await connection.execute(
                        sa.select(sa.func.max(events.c.event_pk)).where(events.c.session_pk == session_pk)
                    )
                ).scalar_one()
        async with backend.engine.begin() as connection:
            await connection.execute(
                sessions.update()
                .where(sessions.c.session_pk == session_pk)
                .values(
                    last_sequence=count,
                    events_bytes=total_bytes,
                    last_update_time=last_timestamp,
                    revision=event_revision(last_pk),
                )
            )
    finally:
        await backend.close()
    await _analyze(backend_uri)


async def grow_by_appends(service: Any, session_id: str, count: int) -> Sample:
    """Creates the session ``session_id`` and appends ``count`` events to it, a call each, as agents do.

    Returns the appends' latencies, in order.
    """
    session = await service.create_session(app_name=APP, user_id="big", session_id=session_id)
    sample = Sample()
    for turn in range(count):
        started = time.perf_counter()
        await service.append_event(session, model_event(turn))
        sample.latencies.append(time.perf_counter() - started)
    sample.wall = sum(sample.latencies)
    return sample


def growth_summary(sample: Sample) -> dict[str, Any]:
    """The p50 (ms) of a growing session's first tenth of appends and of its last tenth."""
    tenth = max(1, len(sample.latencies) // 10)
    return {
        "appends": len(sample.latencies),
        "seconds": round(sample.wall, 1),
        "first_tenth_p50_ms": statistics.median(sample.latencies[:tenth]) * 1000,
        "last_tenth_p50_ms": statistics.median(sample.latencies[-tenth:]) * 1000,
    }


async def lone_appends_small_and_big(
    service: Any, big_session_id: str, appends: int
) -> tuple[Sample, Sample]:
    """Lone appends into a new session and into the big one, alternating; (small, big)."""
    small = await service.create_session(app_name=APP, user_id="big")
    big = await service.get_session(
        app_name=APP, user_id="big", session_id=big_session_id, config=GetSessionConfig(num_recent_events=0)
    )
    assert big is not None
    samples = (Sample(), Sample())
    events = [model_event(turn) for turn in range(2 * appends)]
    for index in range(appends):
        pair = [(samples[0], small), (samples[1], big)]
        for (sample, session), event in zip(
            pair if index % 2 == 0 else reversed(pair), events[2 * index :], strict=False
        ):
            started = time.perf_counter()
            await service.append_event(session, event)
            sample.latencies.append(time.perf_counter() - started)
    for sample in samples:
        sample.wall = sum(sample.latencies)
    return samples


async def recent_reads(service: Any, session_id: str, reads: int, expected: int) -> Sample:
    """``get_session(num_recent_events=20)`` of a session, ``reads`` times."""
    sample = Sample()
    config = GetSessionConfig(num_recent_events=20)
    started = time.perf_counter()
    for _ in range(reads):
        before = time.perf_counter()
        session = await service.get_session(app_name=APP, user_id="big", session_id=session_id, config=config)
        sample.latencies.append(time.perf_counter() - before)
        assert session is not None and len(session.events) == min(20, expected)
    sample.wall = time.perf_counter() - started
    return sample


async def measure(storage: str, target: str, scale: Scale) -> dict[str, Any]:
    """Times calls through a server on ``target`` (a backend URI), a big session and app in it.

    The appends first, into a session grown by appends (``grow_by_appends``)
    in a database that holds nothing else yet: its tables as appends alone
    leave them, statistics included, which loads in bulk (and the ``VACUUM
    ANALYZE`` after them) would tidy up. Then the big session to read and the
    big app are loaded in bulk, and read.
    """
    append_session, read_session = f"append-{uuid.uuid4().hex[:8]}", f"read-{uuid.uuid4().hex[:8]}"
    results: dict[str, Any] = {}
    from adk_grpc_sessions.client import GrpcSessionService

    async with _server(Service(f"ours ({storage})", "grpc", storage, target)) as (address, _):
        service = GrpcSessionService(address, timeout=120)
        try:
            grown = await grow_by_appends(service, append_session, scale.append_events)
            results["append_while_growing"] = growth_summary(grown)
            small, big = await lone_appends_small_and_big(service, append_session, scale.appends)
            results["append_new_session"] = small.summary()
            results[f"append_{scale.append_events}_event_session"] = big.summary()
            started = time.perf_counter()
            await load_events(target, read_session, scale.read_events)
            await _our_bulk_sessions(target, APP + "-app", 1000, scale.app_sessions)
            results["load_seconds"] = round(time.perf_counter() - started, 1)
            reads = await recent_reads(service, read_session, scale.reads, scale.read_events)
            results[f"recent_20_of_{scale.read_events}"] = reads.summary()
            page = await workloads.list_first_page(service, APP + "-app", None, scale.reads, 60.0)
            results[f"list_app_{scale.app_sessions}"] = page.summary() | page.detail
        finally:
            await service.close()
    return results


def targets(storage: str, results: dict[str, Any], scale: Scale) -> list[str]:
    """The issue's targets for one storage, with this run's figures."""

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**not met**"

    small, big = results["append_new_session"], results[f"append_{scale.append_events}_event_session"]
    growth = big["p50_ms"] / small["p50_ms"] - 1
    growing = results["append_while_growing"]
    drift = growing["last_tenth_p50_ms"] / growing["first_tenth_p50_ms"] - 1
    recent = results[f"recent_20_of_{scale.read_events}"]
    page = results[f"list_app_{scale.app_sessions}"]
    return [
        f"- {storage}: a lone append into a session of {scale.append_events:,} events, p50 "
        f"{big['p50_ms']:.2f} ms vs {small['p50_ms']:.2f} ms into a new one = {growth:+.1%} (target within "
        f"10 %): {verdict(growth <= 0.10)}",
        f"- {storage}: lone appends growing a session to {scale.append_events:,} events, p50 of the last "
        f"tenth {growing['last_tenth_p50_ms']:.2f} ms vs the first tenth {growing['first_tenth_p50_ms']:.2f} "
        f"ms = {drift:+.1%} (target within 10 %): {verdict(drift <= 0.10)}",
        f"- {storage}: the 20 most recent of {scale.read_events:,} events, p50 {recent['p50_ms']:.2f} ms "
        f"(p99 {recent['p99_ms']:.2f}) (target p50 < 5 ms): {verdict(recent['p50_ms'] < 5)}",
        f"- {storage}: the first page of an app of {scale.app_sessions:,} sessions, "
        f"p99 {page['p99_ms']:.2f} ms (p50 {page['p50_ms']:.2f}) (target p99 < 20 ms): "
        f"{verdict(page['p99_ms'] < 20)}",
    ]


def markdown(run: dict[str, Any], scale: Scale) -> str:
    """The scale run's targets as Markdown."""
    lines = [
        f"Commit `{run['commit']}`, {run['seconds']:.0f} s in all (loading included); through our server "
        "(gRPC, the Python client); the session appended to grown by lone appends through it, "
        "the rest loaded in bulk afterwards.",
        "",
    ]
    for storage, results in run["storages"].items():
        lines += targets(storage, results, scale)
    return "\n".join(lines) + "\n"


def _update_page(page: Path, table: str) -> None:
    text = page.read_text()
    start, end = text.find(PAGE_START), text.find(PAGE_END)
    if start < 0 or end < start:
        raise ValueError(f"{page} has no {PAGE_START} ... {PAGE_END} markers")
    page.write_text(text[: start + len(PAGE_START)] + "\n" + table + text[end:])


async def run(scale: Scale, postgres_url: str | None) -> dict[str, Any]:
    """Every storage at ``scale``: results by storage."""
    started = time.time()
    storages: dict[str, Any] = {}
    postgres = _postgres(postgres_url)
    try:
        with tempfile.TemporaryDirectory(prefix="adk-bench-scale-") as scratch:
            targets_by_storage = {"SQLite": f"sqlite:///{scratch}/scale.db"}
            if postgres is not None:
                targets_by_storage["PostgreSQL"] = create_database_blocking(postgres)
            for storage, target in targets_by_storage.items():
                print(f"{storage}:", flush=True)
                storages[storage] = await measure(storage.lower(), target, scale)
                print(json.dumps(storages[storage], indent=1), flush=True)
    finally:
        if postgres is not None:
            postgres.stop()
    return {
        "commit": _commit(),
        "seconds": round(time.time() - started, 1),
        "scale": vars(scale),
        "storages": storages,
    }


def main() -> None:
    """Runs the scale benchmark (full size unless told smaller) and writes its results."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--app-sessions", type=int, default=Scale.app_sessions)
    parser.add_argument("--read-events", type=int, default=Scale.read_events)
    parser.add_argument("--append-events", type=int, default=Scale.append_events)
    parser.add_argument(
        "--postgres-url", help="use this PostgreSQL (postgresql://...) instead of starting one"
    )
    args = parser.parse_args()
    scale = Scale(
        append_events=args.append_events, read_events=args.read_events, app_sessions=args.app_sessions
    )
    result = uvloop.run(run(scale, args.postgres_url))
    table = markdown(result, scale)
    RESULTS.mkdir(exist_ok=True)
    full = scale == Scale()
    stem = "scale" if full else "scale-small"
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2))
    (RESULTS / f"{stem}.md").write_text(table)
    if full:
        _update_page(Path(__file__).parents[1] / "docs" / "performance.md", table)
    print(table)


if __name__ == "__main__":
    main()
