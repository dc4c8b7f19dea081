"""The benchmark's lifecycle rows: the sweeper's workload, the expiry check's statistics, and their report."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adk_grpc_sessions.server.backends import build_backend
from bench import report, sweep
from bench.workloads import p50_change

_TABLES = ("ags_sessions", "ags_events", "ags_session_state")


async def test_the_sweeper_purges_every_expired_session_and_times_each_batch() -> None:
    backend = build_backend("memory://")
    await backend.start()
    await sweep.load_expired_sessions(backend, 5, sweep.stored_events(3))
    assert await backend.count_expired() == 5

    sample = await sweep.sweep(backend, batch_size=2, events_per_session=3)

    assert await backend.count_expired() == 0
    summary = sample.summary() | sample.detail
    assert summary["ops"] == 5  # sessions, not batches
    assert summary["batches"] == 3  # 2 + 2 + 1, each timed from the sweeper's log line
    assert len(sample.latencies) == 3
    assert summary["events_per_second"] == pytest.approx(summary["throughput"] * 3)


async def test_the_sweeper_leaves_nothing_of_the_loaded_sessions_in_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "sweep.db"
    backend = build_backend(f"sqlite:///{path}")
    await backend.upgrade_schema()
    await backend.start()
    try:
        await sweep.load_expired_sessions(backend, 3, sweep.stored_events(4))
        with sqlite3.connect(path) as tables:
            assert [tables.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in _TABLES] == [3, 12, 3]
            # Each session as its last append would leave it: its revision is its latest event's.
            assert tables.execute(
                "SELECT count(*) FROM ags_sessions s WHERE last_sequence = 4 AND revision = "
                "2 * (SELECT max(event_pk) FROM ags_events e WHERE e.session_pk = s.session_pk)"
            ).fetchone() == (3,)

        sample = await sweep.sweep(backend, batch_size=100, events_per_session=4)

        assert sample.summary()["ops"] == 3
        with sqlite3.connect(path) as tables:
            assert [tables.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in _TABLES] == [0, 0, 0]
    finally:
        await backend.close()


def test_the_p50_change_interval_holds_zero_for_the_same_latencies() -> None:
    latencies = [0.001 + 0.00001 * (i % 37) for i in range(300)]
    change, low, high = p50_change(latencies, list(reversed(latencies)))
    assert change == 0
    assert low <= 0 <= high


def test_the_p50_change_interval_lies_above_zero_for_slower_reads() -> None:
    latencies = [0.001 + 0.00001 * (i % 37) for i in range(300)]
    change, low, high = p50_change(latencies, [value + 0.0005 for value in latencies])
    assert abs(change - 0.0005) < 1e-12
    assert 0 < low <= change <= high


def _ours(results: dict[str, object]) -> dict[str, object]:
    return {"label": "ours", "kind": "grpc", "storage": "sqlite", "results": results}


def _read(p50_ms: float, **detail: object) -> dict[str, object]:
    return {"ops": 50, "throughput": 300.0, "p50_ms": p50_ms, "p99_ms": 9.0, **detail}


def _run(*services: dict[str, object]) -> dict[str, object]:
    return {
        "plan": "quick",
        "seconds": 1.0,
        "machine": {"cpus": 2, "python": "3.11", "system": "linux"},
        "services": [
            {
                "label": "ADK",
                "kind": "adk-database",
                "storage": "sqlite",
                "results": {"get_10_events": _read(9.0)},
            },
            *services,
        ],
    }


def test_the_report_shows_the_sweeper_in_sessions_events_and_batches() -> None:
    sweeper = {
        "ops": 500,
        "throughput": 68.4,
        "p50_ms": 1487.9,
        "p99_ms": 1671.2,
        "unit": "sessions",
        "batch_size": 100,
        "sessions": 500,
        "batches": 5,
        "events_per_second": 68437.8,
    }
    table = report.markdown(_run(_ours({"sweep_1000_events": sweeper})))
    assert (
        "| sweeper: expired sessions of 1,000 events purged | — | 68 sessions/s · 68,438 events/s · "
        "500 sessions in 5 batches of up to 100 · a batch p50 1488 · p99 1671 ms |"
    ) in table
    # Only ours has the row: no ratio to ADK's or the echo ceiling is made up for it.
    assert "| ours | sweeper" not in table


def test_the_expiry_check_is_met_unless_its_interval_lies_wholly_above_zero() -> None:
    def verdict(low: float, high: float) -> str:
        expiring = _read(3.2, p50_change_ms=0.05, p50_change_interval_ms=[low, high])
        run = _run(_ours({"get_10_events_no_expiry": _read(3.15), "get_10_events_expiring": expiring}))
        (line,) = [line for line in report.markdown(run).splitlines() if "Expiry check" in line]
        return line.rpartition(": ")[2]

    assert verdict(-0.1, 0.2) == "**met**"
    assert verdict(-0.3, -0.1) == "**met**"
    assert verdict(0.01, 0.2) == "**not met**"
