"""The benchmark's CPU meter and its report of CPU per append."""

from __future__ import annotations

import os
import time

from bench import report
from bench.cpu import CpuMeter


def _burn(seconds: float) -> None:
    deadline = time.process_time() + seconds
    while time.process_time() < deadline:
        pass


def test_cpu_meter_counts_this_process_and_the_server_process() -> None:
    # This process stands in for the server too: both readings must see the burn.
    meter = CpuMeter(os.getpid())
    before = meter.read()
    _burn(0.2)
    per_op = CpuMeter.per_operation(before, meter.read(), operations=100)
    assert per_op["client_cpu_us"] >= 0.15 / 100 * 1e6
    assert per_op["server_cpu_us"] >= 0.1 / 100 * 1e6  # clock ticks are coarser


def test_cpu_meter_without_a_server_reports_the_client_only() -> None:
    meter = CpuMeter(None)
    before = meter.read()
    _burn(0.05)
    assert set(CpuMeter.per_operation(before, meter.read(), operations=10)) == {"client_cpu_us"}


def _sample(throughput: float = 100.0, **cpu: float) -> dict[str, float]:
    return {"ops": 10, "throughput": throughput, "p50_ms": 1.0, "p99_ms": 2.0, **cpu}


def _run(*services: dict[str, object]) -> dict[str, object]:
    """A benchmark run of a quick plan with these services, as ``report`` reads it."""
    return {
        "plan": "quick",
        "seconds": 1.0,
        "machine": {"cpus": 2, "python": "3.11", "system": "linux"},
        "services": list(services),
    }


def test_report_shows_cpu_per_append_by_process() -> None:
    run = _run(
        {
            "label": "in process",
            "kind": "adk-memory",
            "storage": "memory",
            "results": {"append_c1": _sample(client_cpu_us=50), "append_c32": _sample(client_cpu_us=40)},
        },
        {
            "label": "served",
            "kind": "grpc",
            "storage": "memory",
            "results": {
                "append_c1": _sample(client_cpu_us=500, server_cpu_us=900),
                "append_c32": _sample(client_cpu_us=400, server_cpu_us=600),
            },
        },
    )
    table = report.markdown(run)
    assert "| append, 32 sessions at once | 40 µs (in process) | 400 + 600 = 1,000 µs |" in table
    assert "| append, 1 session | 50 µs (in process) | 500 + 900 = 1,400 µs |" in table


async def test_a_failed_append_is_counted_not_fatal() -> None:
    from google.adk.sessions.in_memory_session_service import InMemorySessionService

    from bench import workloads

    class Flaky(InMemorySessionService):
        calls = 0

        async def append_event(self, session, event):  # type: ignore[no-untyped-def]
            self.calls += 1
            if self.calls % 3 == 0:
                raise RuntimeError("database\n is   locked")
            return await super().append_event(session, event)

    summary = (await workloads.append_events(Flaky(), sessions=2, per_session=6)).summary()
    assert summary["failed"] == 4
    assert summary["ops"] == 8
    assert summary["first_failure"] == "RuntimeError: database is locked"
    assert "**4 failed**" in report._cell(summary)


def test_memory_ratio_uses_the_echo_runs_paired_with_it() -> None:
    run = _run(
        {
            "label": "echo",
            "kind": "echo",
            "storage": "echo",
            "results": {"append_c1": _sample(1000.0), "append_c32": _sample(2000.0)},
        },
        {
            "label": "ours",
            "kind": "grpc",
            "storage": "memory",
            "results": {
                "append_c1": _sample(600.0),
                "append_c32": _sample(3000.0),
                "paired_echo_append_c1": _sample(750.0),
                "paired_echo_append_c32": _sample(2500.0),
            },
        },
    )
    table = report.markdown(run)
    assert "1 session: 600/s vs 750/s = 0.80× the echo ceiling (its runs alternating with ours)" in table
    assert "32 sessions: 3,000/s vs 2,500/s = 1.20× the echo ceiling (its runs alternating" in table
    assert "paired" not in table.split("Targets")[0]  # no table row of its own
