"""Runs the workloads against one session service, in a process of its own, and prints JSON results.

One process per service keeps services from sharing caches, connections or
garbage, and lets each one's peak memory be read on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop
from google.adk.sessions.base_session_service import BaseSessionService

from bench import ceilings, echo, workloads
from bench.cpu import CpuMeter
from bench.plans import GROUPS, PLANS, Plan, runs_any

DATA_DIRECTORY_VARIABLE = "ADK_GRPC_SESSIONS_BENCH_DATA_DIRECTORY"
"""Where the database server keeps its files: the directory whose disk flush is the ceiling."""
LIST_USER_APP = "bench-list-user"
LIST_ALL_APP = "bench-list-app"


def rss_mib(pid: int | str, field: str = "VmRSS") -> float:
    """A process's resident memory (``VmRSS``) or peak (``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no {field} for process {pid}")


async def _adk_bulk_sessions(service: Any, app_name: str, users: int, count: int) -> None:
    """Fills ADK's DatabaseSessionService tables directly: its API would take many minutes for 100,000."""
    from datetime import UTC, datetime

    from google.adk.sessions.schemas.v1 import StorageSession
    from sqlalchemy import Table

    await service.create_session(app_name=app_name, user_id="user-0")  # creates tables and state rows
    table = StorageSession.__table__
    assert isinstance(table, Table)
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        {
            "app_name": app_name,
            "user_id": f"user-{i % users}",
            "id": f"bulk-{uuid.uuid4().hex}",
            "state": {},
            "create_time": now,
            "update_time": now,
        }
        for i in range(count)
    ]
    async with service.db_engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            await connection.execute(table.insert(), rows[start : start + 5000])


async def _our_bulk_sessions(backend_uri: str, app_name: str, users: int, count: int) -> None:
    """Fills our SQL backend's sessions table directly, as ``_adk_bulk_sessions`` fills ADK's.

    Each create through the API is a transaction of its own (a flush to disk
    each on SQLite): 100,000 would take about ten minutes, and they are not
    what the listing workloads measure. The rows are what a create of a
    session without state writes; the revision is then set as a create sets
    it (``creation_revision``), in SQL.
    """
    import sqlalchemy as sa

    from adk_grpc_sessions.server.backends.sql import SqlBackend
    from adk_grpc_sessions.server.backends.sql.schema import sessions

    backend = SqlBackend.from_uri(backend_uri)
    now = time.time()
    rows = [
        {
            "app_name": app_name,
            "user_id": f"user-{i % users}",
            "session_id": f"bulk-{uuid.uuid4().hex}",
            "create_time": now,
            "last_update_time": now,
            "revision": 0,
            "last_sequence": 0,
        }
        for i in range(count)
    ]
    try:
        async with backend.engine.begin() as connection:
            for start in range(0, len(rows), 5000):
                # Each chunk's revisions are set by its own key range: one UPDATE of every row
                # loaded would outlast a driver's statement timeout at a million rows.
                before = (
                    await connection.execute(
                        sa.select(sa.func.coalesce(sa.func.max(sessions.c.session_pk), 0))
                    )
                ).scalar_one()
                await connection.execute(sessions.insert(), rows[start : start + 5000])
                await connection.execute(
                    sessions.update()
                    .where(sessions.c.session_pk > before, sessions.c.revision == 0)
                    .values(revision=2 * sessions.c.session_pk + 1)
                )
    finally:
        await backend.close()
    await _analyze(backend_uri)


async def _analyze(database_url: str) -> None:
    """Has PostgreSQL clean up and gather statistics after a bulk load, as its autovacuum soon would.

    Not left to autovacuum: a load leaves dead rows behind (ours sets each
    new session's revision in a second statement), and autovacuum would
    clean them up while the reads that follow are being measured, on the
    same 2 cores and disk (a 100,000-session first page once read p99
    25.6 ms against 12-18 ms in other runs of the same code).
    """
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    url = sa.make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        return
    engine = create_async_engine(url.set(drivername="postgresql+asyncpg"))
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("VACUUM ANALYZE")
    finally:
        await engine.dispose()


async def _checkpoint(backend: Any) -> None:
    """Writes a bulk load back to the database's files now, not while the sweeper is measured.

    PostgreSQL's ``CHECKPOINT`` (skipped, with a warning, where the user may
    not), SQLite's WAL checkpoint.
    """
    async with backend.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        if connection.dialect.name == "sqlite":
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        try:
            await connection.exec_driver_sql("CHECKPOINT")
        except Exception as exc:  # the driver's privilege error, whichever driver it is
            print(f"WARNING: no CHECKPOINT before the sweep: {exc}", file=sys.stderr)


async def _sweep(backend_uri: str, plan: Plan) -> workloads.Sample:
    """Loads expired sessions into a storage of their own and has the server's sweeper purge them all."""
    # Imported here, as ``_open`` imports our client: a worker of ADK's
    # services, whose own memory is measured, loads none of our code.
    from adk_grpc_sessions.server.backends import build_backend
    from adk_grpc_sessions.server.backends.sql import SqlBackend
    from adk_grpc_sessions.server.runtime.config import ServerConfig
    from bench import sweep

    backend = build_backend(backend_uri)
    try:
        await backend.upgrade_schema()
        await backend.start()
        events = sweep.stored_events(plan.sweep_events_per_session)
        await sweep.load_expired_sessions(backend, plan.sweep_sessions, events)
        if isinstance(backend, SqlBackend):
            await _analyze(backend_uri)
            await _checkpoint(backend)
        # The batch size a server runs with unless told otherwise (--purge-batch-size).
        return await sweep.sweep(backend, ServerConfig().purge_batch_size, plan.sweep_events_per_session)
    finally:
        await backend.close()


async def _populate(
    service: BaseSessionService, kind: str, target: str, app_name: str, users: int, count: int
) -> None:
    if kind == "adk-database":
        await _adk_bulk_sessions(service, app_name, users, count)
        await _analyze(target)
    elif target.startswith(("sqlite:", "postgresql:")):
        await _our_bulk_sessions(target, app_name, users, count)
    else:
        await workloads.populate_sessions(service, app_name, users, count)


def _open(kind: str, target: str) -> BaseSessionService:
    if kind == "adk-memory":
        from google.adk.sessions.in_memory_session_service import InMemorySessionService

        return InMemorySessionService()
    if kind == "adk-database":
        from google.adk.sessions.database_session_service import DatabaseSessionService

        return DatabaseSessionService(target)
    from adk_grpc_sessions.client import GrpcSessionService

    return GrpcSessionService(target, timeout=120)


def _median(samples: list[workloads.Sample]) -> workloads.Sample:
    """The run of median throughput, listing every run's throughput in its detail."""
    ordered = sorted(samples, key=lambda sample: sample.summary()["throughput"])
    median = ordered[len(ordered) // 2]
    median.detail["throughput_of_runs"] = [round(s.summary()["throughput"], 1) for s in ordered]
    return median


async def _median_run(plan: Plan, workload: Callable[[], Awaitable[workloads.Sample]]) -> workloads.Sample:
    """``workload`` run ``plan.append_repeats`` times: the run of median throughput.

    On a shared machine one short run can land in a slow spell; the median
    of three makes the ratios between services steadier.
    """
    return _median([await workload() for _ in range(plan.append_repeats)])


async def _paired_median_runs(
    plan: Plan,
    ours: Callable[[], Awaitable[workloads.Sample]],
    theirs: Callable[[], Awaitable[workloads.Sample]],
) -> tuple[workloads.Sample, workloads.Sample]:
    """Like ``_median_run`` for two workloads whose runs alternate (theirs, ours, theirs, ...).

    Both then meet the same spells of a shared machine, and their ratio is
    steadier than that of runs taken minutes apart.
    """
    pairs = [(await theirs(), await ours()) for _ in range(plan.append_repeats)]
    return _median([mine for _, mine in pairs]), _median([echoed for echoed, _ in pairs])


async def run(
    kind: str,
    target: str,
    plan: Plan,
    server_pid: int | None,
    backend_uri: str = "-",
    paired_echo: tuple[str, int] | None = None,
    sweep_backend_uri: str | None = None,
    replica: str | None = None,
    only: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Every workload of ``plan`` against one service (or those in ``only``); results by workload name.

    ``backend_uri`` is the storage of our server (``grpc``), where sessions to
    list are loaded in bulk; ADK's are loaded in bulk into ``target``.
    ``paired_echo`` (address, pid) is an echo pair whose append runs alternate
    with this service's; they are recorded as ``paired_echo_append_c1`` and ``_c32``.
    ``sweep_backend_uri`` is a storage of the same kind as our server's, not the
    server's, where the sweeper's workload runs in this process. ``replica`` is
    the address of a second server on our server's database (watched across replicas).
    """
    storage = target if kind == "adk-database" else backend_uri
    results: dict[str, Any] = {}
    memory_of = server_pid if server_pid is not None else "self"
    meter = CpuMeter(server_pid)

    def wanted(workload: str) -> bool:
        return only is None or workload in only

    def record(name: str, sample: workloads.Sample) -> None:
        results[name] = sample.summary() | sample.detail
        print(
            f"  {kind:<14} {name:<24} {results[name]['throughput']:>10.1f}/s  p50 "
            f"{results[name]['p50_ms']:>8.2f} ms  p99 {results[name]['p99_ms']:>8.2f} ms",
            flush=True,
        )

    if kind == "raw":
        if runs_any(kind, only):
            await _raw_ceilings(target, plan, record)
        return results

    if kind == "echo":

        def echo_workload(concurrency: int, per_writer: int) -> Awaitable[workloads.Sample]:
            return _median_run(plan, lambda: echo.echo_appends(target, concurrency, per_writer, meter))

        for name, concurrency, per_writer in (
            ("append_c1", 1, plan.append_c1),
            ("append_c32", 32, plan.append_c32_per_session),
        ):
            if wanted(name):
                record(name, await echo_workload(concurrency, per_writer))
        return results

    service = _open(kind, target)
    echo_meter = CpuMeter(paired_echo[1]) if paired_echo is not None else None

    async def appends(name: str, concurrency: int, per_writer: int) -> workloads.Sample:
        def ours() -> Awaitable[workloads.Sample]:
            return workloads.append_events(service, concurrency, per_writer, meter)

        if paired_echo is None or echo_meter is None:
            return await _median_run(plan, ours)
        mine, echoed = await _paired_median_runs(
            plan, ours, lambda: echo.echo_appends(paired_echo[0], concurrency, per_writer, echo_meter)
        )
        record(f"paired_echo_{name}", echoed)
        return mine

    steps: list[tuple[str, Callable[[], Awaitable[workloads.Sample]]]] = [
        ("create_session", lambda: workloads.create_sessions(service, plan.creates, meter)),
        (
            "create_session_c32",
            lambda: workloads.create_sessions_at_once(service, 32, plan.creates // 32, meter),
        ),
        ("append_c1", lambda: appends("append_c1", 1, plan.append_c1)),
        ("append_c32", lambda: appends("append_c32", 32, plan.append_c32_per_session)),
        ("get_10_events", lambda: workloads.get_session(service, 10, plan.get_reads[10])),
        ("get_100_events", lambda: workloads.get_session(service, 100, plan.get_reads[100])),
        ("get_1000_events", lambda: workloads.get_session(service, 1000, plan.get_reads[1000])),
        ("agent_turn", lambda: workloads.agent_turn(service, plan.turns)),
    ]
    for name, step in steps:
        if wanted(name):
            record(name, await step())
    if kind == "grpc" and wanted("expiry"):
        from adk_grpc_sessions.client import GrpcSessionService

        assert isinstance(service, GrpcSessionService)
        without, with_expiry = await workloads.get_session_with_and_without_expiry(
            service, 10, plan.expiry_check_reads
        )
        record("get_10_events_no_expiry", without)
        record("get_10_events_expiring", with_expiry)
    if kind == "grpc" and wanted("watch"):
        from bench import watch

        for name, sample in (await watch.run(target, plan, replica)).items():
            record(name, sample)
    if wanted("lists"):
        await _lists(service, kind, storage, plan, results, record, memory_of)
    close = getattr(service, "close", None)
    if close is not None:
        await close()
    results["peak_rss_mib"] = rss_mib(memory_of, "VmHWM")
    if sweep_backend_uri is not None and wanted("sweep"):
        record(f"sweep_{plan.sweep_events_per_session}_events", await _sweep(sweep_backend_uri, plan))
        if not sweep_backend_uri.startswith("memory:"):
            from bench import metadata

            for name, sample in (await metadata.run(sweep_backend_uri, plan, _analyze)).items():
                record(name, sample)
    return results


async def _lists(
    service: BaseSessionService,
    kind: str,
    storage: str,
    plan: Plan,
    results: dict[str, Any],
    record: Callable[[str, workloads.Sample], None],
    memory_of: int | str,
) -> None:
    """The first pages of a user of many sessions and of an app of very many, and memory as the app grows."""
    started = time.perf_counter()
    await _populate(service, kind, storage, LIST_USER_APP, 1, plan.user_sessions)
    results["populate_user_seconds"] = time.perf_counter() - started
    record(
        f"list_user_{plan.user_sessions}",
        await workloads.list_first_page(
            service, LIST_USER_APP, "user-0", plan.list_reads, plan.list_budget_seconds
        ),
    )
    await _populate(service, kind, storage, LIST_ALL_APP, 1000, plan.app_sessions // 10)
    results["rss_mib_after_app_tenth"] = rss_mib(memory_of)
    await _populate(service, kind, storage, LIST_ALL_APP, 1000, plan.app_sessions - plan.app_sessions // 10)
    results["rss_mib_after_app_all"] = rss_mib(memory_of)
    record(
        f"list_app_{plan.app_sessions}",
        await workloads.list_first_page(
            service, LIST_ALL_APP, None, plan.list_reads, plan.list_budget_seconds
        ),
    )


async def _raw_ceilings(target: str, plan: Plan, record: Callable[[str, workloads.Sample], None]) -> None:
    """The raw driver's creates and lone appends on our tables, and the disk's flush (``bench.ceilings``).

    The appends' CPU time is this process's: the driver runs in it.
    """
    from adk_grpc_sessions.server.backends import build_backend

    meter = CpuMeter(None)

    backend = build_backend(target)
    await backend.upgrade_schema()  # our tables and indexes: what the raw transactions write
    await backend.close()
    if target.startswith("sqlite:"):
        path = Path(target.removeprefix("sqlite:///"))
        directory = path.parent
        create = await ceilings.raw_sqlite_creates(path, plan.creates)
        appends = await _median_run(plan, lambda: ceilings.raw_sqlite_appends(path, plan.append_c1, meter))
    else:
        import sqlalchemy as sa

        url = sa.make_url(target).set(drivername="postgresql").render_as_string(hide_password=False)
        directory = Path(os.environ.get(DATA_DIRECTORY_VARIABLE, tempfile.gettempdir()))
        create = await ceilings.raw_postgres_creates(url, plan.creates)
        appends = await _median_run(plan, lambda: ceilings.raw_postgres_appends(url, plan.append_c1, meter))
    for name, sample in (
        ("create_session", create),
        ("append_c1", appends),
        ("disk_flush", ceilings.disk_flushes(directory, plan.append_c1)),
    ):
        record(name, sample)


def main() -> None:
    """Entry point: ``python -m bench.worker KIND TARGET --plan quick [--server-pid PID]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["adk-memory", "adk-database", "grpc", "echo", "raw"])
    parser.add_argument("target", help="database URL (adk-database), server address (grpc, echo), or -")
    parser.add_argument("--plan", choices=sorted(PLANS), default="quick")
    parser.add_argument("--server-pid", type=int)
    parser.add_argument("--backend-uri", default="-", help="our server's backend (grpc), for bulk loads")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--paired-echo", help="ADDRESS,PID of an echo pair to alternate append runs with")
    parser.add_argument("--replica", help="ADDRESS of a second server on our server's database (grpc)")
    parser.add_argument(
        "--sweep-backend-uri", help="a storage of our server's kind, not its own, for the sweeper's workload"
    )
    parser.add_argument("--only", choices=sorted(GROUPS), help="run only this group of workloads")
    args = parser.parse_args()
    paired_echo = None
    if args.paired_echo:
        address, _, pid = args.paired_echo.rpartition(",")
        paired_echo = (address, int(pid))
    # Every service, ADK's and ours, runs on the same event loop: uvloop,
    # which our server uses too (and uvicorn, under `adk web`, where installed).
    results = uvloop.run(
        run(
            args.kind,
            args.target,
            PLANS[args.plan],
            args.server_pid,
            args.backend_uri,
            paired_echo,
            args.sweep_backend_uri,
            args.replica,
            GROUPS[args.only] if args.only else None,
        )
    )
    args.output.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
