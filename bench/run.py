"""``make bench``: every workload against ADK's services and ours, in one run, side by side.

Each service runs in a worker process of its own; our servers and the echo
ceiling run as separate server processes, as in production. PostgreSQL is
started the way the tests start theirs. Results go to ``bench/results/``:
``latest.json``, ``latest.md`` (the table, with ratios to ADK and to the echo
ceiling) and ``latest.png`` (the chart).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import report
from tests.net import free_port
from tests.server_process import CLI, wait_until_serving

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Service:
    """One column of the benchmark: a session service and how to reach it."""

    label: str
    kind: str
    """adk-memory, adk-database, grpc or echo."""
    storage: str
    """memory, sqlite, postgresql or echo: ADK and our services on the same storage are compared."""
    target: str = "-"
    """A database URL (adk-database) or a backend URI (grpc)."""


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


async def _measure(service: Service, plan: str, scratch: Path) -> dict[str, Any]:
    async with _server(service) as (target, pid):
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
        worker = await asyncio.create_subprocess_exec(*command)
        if await worker.wait() != 0:
            raise RuntimeError(f"the worker for {service.label} failed")
        result: dict[str, Any] = json.loads(output.read_text())
        return result


def _services(scratch: Path, postgres_url: str | None) -> list[Service]:
    services = [
        Service("ADK InMemorySessionService", "adk-memory", "memory"),
        Service(
            "ADK DatabaseSessionService (SQLite)",
            "adk-database",
            "sqlite",
            f"sqlite+aiosqlite:///{scratch}/adk.db",
        ),
    ]
    if postgres_url:
        services.append(
            Service("ADK DatabaseSessionService (PostgreSQL)", "adk-database", "postgresql", postgres_url)
        )
    services.append(Service("gRPC echo ceiling", "echo", "echo"))
    services.append(Service("adk-grpc-sessions (memory)", "grpc", "memory", "memory://"))
    return services


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
    args = parser.parse_args()
    plan = "quick" if args.quick else "full"
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="adk-bench-") as scratch_name:
        scratch = Path(scratch_name)
        services = _services(scratch, args.postgres_url)
        results = {}
        for service in services:
            print(f"{service.label}:", flush=True)
            results[service.label] = asyncio.run(_measure(service, plan, scratch))
    run = {
        "plan": plan,
        "seconds": round(time.time() - started, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "services": [vars(s) | {"results": results[s.label]} for s in services],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(run, indent=2))
    table = report.markdown(run)
    (RESULTS / "latest.md").write_text(table)
    report.chart(run, RESULTS / "latest.png")
    print(table)


if __name__ == "__main__":
    main()
