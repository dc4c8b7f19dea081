"""``make bench``: every workload against ADK's services and ours, in one run, side by side.

Each service runs in a worker process of its own; our servers and the echo
ceiling run as separate server processes, as in production. PostgreSQL is
started the way the tests start theirs. A full run's results go to
``bench/results/``: ``latest.json``, ``latest.md`` (the table, with ratios to
ADK and to the echo ceiling) and ``latest.png`` (the chart), and its table into
docs/performance.md. A quick run (``--quick``, a routine check) writes
``quick.*`` beside them, which git ignores, and changes no document; so does a
run of some workloads only (``--only watch``, ``lone``, ``appends`` or ``creates``: the
services that run none of them are left out), at the full plan's counts unless
``--quick``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench import report
from bench.plans import GROUPS, WORKLOADS_OF_KIND, runs_any
from bench.worker import DATA_DIRECTORY_VARIABLE
from tests.databases import (
    DatabaseServer,
    PostgresServer,
    ServerUnavailableError,
    create_database_blocking,
    start_postgres,
)
from tests.net import free_port
from tests.server_process import CLI, wait_until_serving

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Service:
    """One column of the benchmark: a session service and how to reach it."""

    label: str
    kind: str
    """adk-memory, adk-database, grpc, echo or raw (the raw driver's ceiling, ``bench.ceilings``)."""
    storage: str
    """memory, sqlite, postgresql or echo: ADK and our services on the same storage are compared."""
    target: str = "-"
    """A database URL (adk-database) or a backend URI (grpc)."""
    sweep_target: str | None = None
    """A backend URI of the same kind as ``target``, apart from it, for the sweeper's workload (grpc)."""


@contextlib.asynccontextmanager
async def _server(service: Service) -> AsyncIterator[tuple[str, int | None]]:
    """Starts the server process a service needs; yields (address, pid)."""
    if service.kind not in ("grpc", "echo"):
        yield service.target, None
        return
    address = f"127.0.0.1:{free_port()}"
    if service.kind == "grpc":
        command = [CLI, "serve", "--listen", address, "--backend", service.target, "--log-level", "WARNING"]
    else:
        command = [sys.executable, "-m", "bench.echo", "--listen", address]
    process = await asyncio.create_subprocess_exec(*command, stderr=asyncio.subprocess.DEVNULL)
    try:
        if service.kind == "grpc":
            await wait_until_serving(address, wait=60)
        else:
            await asyncio.sleep(1.0)
        yield address, process.pid
    finally:
        process.terminate()
        await process.wait()


async def _measure(service: Service, plan: str, scratch: Path, only: str | None) -> dict[str, Any]:
    extra = ["--only", only] if only else []
    pairs_echo = only is None or bool(GROUPS[only] & WORKLOADS_OF_KIND["echo"])
    if service.kind == "grpc" and service.storage == "memory" and pairs_echo:
        # The memory backend's appends are compared with the echo ceiling, so
        # an echo pair runs beside it, its runs alternating with ours: on a
        # shared machine, figures taken minutes apart swing by a third.
        async with _server(Service("paired echo", "echo", "echo")) as (echo_target, echo_pid):
            return await _measure_one(
                service, plan, scratch, [*extra, "--paired-echo", f"{echo_target},{echo_pid}"]
            )
    return await _measure_one(service, plan, scratch, extra)


async def _measure_one(service: Service, plan: str, scratch: Path, extra: list[str]) -> dict[str, Any]:
    async with contextlib.AsyncExitStack() as stack:
        target, pid = await stack.enter_async_context(_server(service))
        if service.kind == "grpc" and service.storage == "postgresql":
            # A second server on the same database: a watcher there learns of appends by notification.
            replica, _ = await stack.enter_async_context(_server(service))
            extra = [*extra, "--replica", replica]
        output = scratch / f"{service.label}.json".replace(" ", "_").replace("/", "_")
        command = [
            sys.executable,
            "-m",
            "bench.worker",
            service.kind,
            target,
            "--plan",
            plan,
            "--output",
            str(output),
        ]
        if pid is not None:
            command += ["--server-pid", str(pid)]
        if service.kind == "grpc":
            command += ["--backend-uri", service.target]
        if service.sweep_target is not None:
            command += ["--sweep-backend-uri", service.sweep_target]
        command += extra
        worker = await asyncio.create_subprocess_exec(*command)
        if await worker.wait() != 0:
            raise RuntimeError(f"the worker for {service.label} failed")
        result: dict[str, Any] = json.loads(output.read_text())
        return result


def _services(scratch: Path, postgres: DatabaseServer | None) -> list[Service]:
    services = [
        Service("ADK InMemorySessionService", "adk-memory", "memory"),
        Service(
            "ADK DatabaseSessionService (SQLite)",
            "adk-database",
            "sqlite",
            f"sqlite+aiosqlite:///{scratch}/adk.db",
        ),
    ]
    if postgres is not None:
        adk_url = make_url(create_database_blocking(postgres)).set(drivername="postgresql+asyncpg")
        services.append(
            Service(
                "ADK DatabaseSessionService (PostgreSQL)",
                "adk-database",
                "postgresql",
                adk_url.render_as_string(hide_password=False),
            )
        )
    services.append(Service("gRPC echo ceiling", "echo", "echo"))
    services.append(Service("Raw driver ceiling (SQLite)", "raw", "sqlite", f"sqlite:///{scratch}/raw.db"))
    if postgres is not None:
        services.append(
            Service(
                "Raw driver ceiling (PostgreSQL)", "raw", "postgresql", create_database_blocking(postgres)
            )
        )
    # Each of ours has a second storage for the sweeper's workload: in the
    # server's own, its sweeper would take some of the expired sessions.
    services.append(Service("adk-grpc-sessions (memory)", "grpc", "memory", "memory://", "memory://"))
    services.append(
        Service(
            "adk-grpc-sessions (SQLite)",
            "grpc",
            "sqlite",
            f"sqlite:///{scratch}/ours.db",
            f"sqlite:///{scratch}/sweep.db",
        )
    )
    if postgres is not None:
        services.append(
            Service(
                "adk-grpc-sessions (PostgreSQL)",
                "grpc",
                "postgresql",
                create_database_blocking(postgres),
                create_database_blocking(postgres),
            )
        )
    return services


async def _settle(postgres: DatabaseServer | None) -> None:
    """Lets the disk catch up with the services measured before the next one starts.

    PostgreSQL writes a bulk load back to its files over minutes (a spread
    checkpoint), and would otherwise do it while the next service is being
    measured, on the same 2 cores and disk: a ``CHECKPOINT`` does it now.
    """
    os.sync()
    if not isinstance(postgres, PostgresServer):
        return
    import asyncpg

    connection = await asyncpg.connect(postgres.url.set(drivername="postgresql").render_as_string(False))
    try:
        await connection.execute("CHECKPOINT")
    except asyncpg.InsufficientPrivilegeError:
        print("WARNING: no CHECKPOINT between services (the PostgreSQL user may not)", file=sys.stderr)
    finally:
        await connection.close()


def selected(services: list[Service], only: str | None) -> list[Service]:
    """The services that run any workload of the group ``only`` (None: every service)."""
    return [s for s in services if runs_any(s.kind, GROUPS[only] if only else None)]


def results_stem(plan: str, only: str | None) -> str:
    """The name of a run's result files: ``latest`` for a whole full run alone, ``quick`` for the rest."""
    return "latest" if plan == "full" and only is None else "quick"


def _postgres(url: str | None) -> DatabaseServer | None:
    """The PostgreSQL to measure on: the one named, or one started as the tests start theirs (crash-safe)."""
    if url:
        return PostgresServer(url=make_url(url).set(drivername="postgresql"))
    try:
        return start_postgres(durable=True)
    except ServerUnavailableError as exc:
        print(f"WARNING: no PostgreSQL, its columns are left out: {exc}", file=sys.stderr)
        return None


def _commit() -> str:
    """The checkout's commit, marked ``+changes`` when the work tree differs from it."""
    root = Path(__file__).parents[1]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=root, check=False).returncode
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+changes" if changed else "")


def main() -> None:
    """Runs the benchmark and writes the results."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="small counts: a routine check in under 2 minutes"
    )
    parser.add_argument(
        "--postgres-url", help="use this PostgreSQL (postgresql://...) instead of starting one"
    )
    parser.add_argument(
        "--only",
        choices=sorted(GROUPS),
        help="run only these workloads (full counts unless --quick), writing quick.* as --quick does",
    )
    args = parser.parse_args()
    plan = "quick" if args.quick else "full"
    started = time.time()
    postgres = _postgres(args.postgres_url)
    if isinstance(postgres, PostgresServer) and postgres.data_dir is not None:
        # The raw ceiling's worker measures the disk flush where PostgreSQL keeps its files.
        os.environ[DATA_DIRECTORY_VARIABLE] = str(postgres.data_dir)
    try:
        with tempfile.TemporaryDirectory(prefix="adk-bench-") as scratch_name:
            scratch = Path(scratch_name)
            services = selected(_services(scratch, postgres), args.only)
            results = {}
            for service in services:
                asyncio.run(_settle(postgres))
                print(f"{service.label}:", flush=True)
                results[service.label] = asyncio.run(_measure(service, plan, scratch, args.only))
    finally:
        if postgres is not None:
            postgres.stop()
    run = {
        "plan": plan,
        "only": args.only,
        "seconds": round(time.time() - started, 1),
        "commit": _commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "services": [vars(s) | {"results": results[s.label]} for s in services],
    }
    RESULTS.mkdir(exist_ok=True)
    stem = results_stem(plan, args.only)
    (RESULTS / f"{stem}.json").write_text(json.dumps(run, indent=2))
    table = report.markdown(run)
    (RESULTS / f"{stem}.md").write_text(table)
    report.chart(run, RESULTS / f"{stem}.png")
    if stem == "latest":
        report.update_page(Path(__file__).parents[1] / "docs" / "performance.md", table)
    print(table)


if __name__ == "__main__":
    main()
