"""The benchmark's ceilings of a lone durable call, and the targets the report judges against them."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import EventWindow, SessionKey
from adk_grpc_sessions.server.backends.sql import SqlBackend
from bench import ceilings, report
from bench.cpu import CpuMeter
from tests.sql.conftest import new_database_uri


async def _new_schema(kind: str, tmp_path: Path) -> str:
    uri = await new_database_uri(kind, tmp_path)
    backend = SqlBackend.from_uri(uri)
    await backend.upgrade_schema()
    await backend.close()
    return uri


async def _stored(uri: str) -> list[tuple[SessionKey, int, int]]:
    """Each stored session: its key, how many events our backend reads back, and its revision."""
    backend = SqlBackend.from_uri(uri)
    await backend.start()
    try:
        async with backend.engine.connect() as connection:
            keys = [
                SessionKey(*row)
                for row in await connection.execute(
                    sa.text("SELECT app_name, user_id, session_id FROM ags_sessions")
                )
            ]
        found = []
        for key in keys:
            session = await backend.get_session(key, EventWindow())
            assert session is not None
            found.append((key, len(session.events), session.revision))
        return found
    finally:
        await backend.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_the_raw_driver_writes_appends_our_backend_reads_back_as_a_session(
    kind: str, tmp_path: Path
) -> None:
    uri = await _new_schema(kind, tmp_path)
    meter = CpuMeter(None)
    if kind == "sqlite":
        sample = await ceilings.raw_sqlite_appends(Path(uri.removeprefix("sqlite:///")), 7, meter)
    else:
        sample = await ceilings.raw_postgres_appends(
            sa.make_url(uri).set(drivername="postgresql").render_as_string(False), 7, meter
        )

    assert len(sample.latencies) == 7 and sample.wall > 0
    # The driver's CPU per append, in this process (no server process is metered).
    assert sample.detail["client_cpu_us"] >= 0 and "server_cpu_us" not in sample.detail
    ((key, events, revision),) = await _stored(uri)
    assert key.app_name == "bench-raw"
    # Every append claimed the session at the revision the one before left: none was refused.
    assert events == 7
    assert revision % 2 == 0


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_the_raw_driver_creates_sessions_our_backend_reads(kind: str, tmp_path: Path) -> None:
    uri = await _new_schema(kind, tmp_path)
    if kind == "sqlite":
        sample = await ceilings.raw_sqlite_creates(Path(uri.removeprefix("sqlite:///")), 5)
    else:
        sample = await ceilings.raw_postgres_creates(
            sa.make_url(uri).set(drivername="postgresql").render_as_string(False), 5
        )

    assert len(sample.latencies) == 5
    stored = await _stored(uri)
    assert len(stored) == 5
    assert all(events == 0 and revision % 2 == 1 for _, events, revision in stored)


def test_the_disk_flush_times_each_write_and_leaves_no_file(tmp_path: Path) -> None:
    sample = ceilings.disk_flushes(tmp_path, 5)
    assert len(sample.latencies) == 5 and all(latency > 0 for latency in sample.latencies)
    assert list(tmp_path.iterdir()) == []


def _row(p50: float, throughput: float = 100.0, **extra: float) -> dict[str, float]:
    return {"ops": 10, "throughput": throughput, "p50_ms": p50, "p99_ms": 2 * p50, **extra}


def _service(kind: str, storage: str, results: dict[str, object]) -> dict[str, object]:
    return {"label": f"{kind} {storage}", "kind": kind, "storage": storage, "results": results}


def test_the_report_judges_lone_calls_against_echo_plus_raw_driver_plus_a_third_of_a_millisecond() -> None:
    run = {
        "services": [
            _service("echo", "echo", {"append_c1": _row(0.40)}),
            _service(
                "raw",
                "sqlite",
                {
                    "append_c1": _row(0.50, client_cpu_us=300),
                    "create_session": _row(0.30),
                    "disk_flush": _row(0.15),
                },
            ),
            _service(
                "grpc",
                "memory",
                {"append_c1": _row(0.7, server_cpu_us=500), "agent_turn": _row(10, throughput=100)},
            ),
            _service(
                "grpc",
                "sqlite",
                {
                    # 0.40 + 0.50 + 0.3 = 1.20: met at 1.19; the create, 0.40 + 0.30 + 0.3 = 1.00, not at 1.25.
                    "append_c1": _row(1.19, server_cpu_us=760),
                    "create_session": _row(1.25),
                    "agent_turn": _row(10, throughput=69),
                    "create_session_c32": _row(5, throughput=500),
                },
            ),
            _service("adk-database", "sqlite", {"create_session_c32": _row(50, throughput=100)}),
        ]
    }

    lines = report.lone_call_targets(run)

    assert [line.rsplit(": ", 1)[1] for line in lines] == [
        "**met**",  # the append, under the bound
        "**not met**",  # the create, over its bound
        "**not met**",  # CPU 760 µs > 1.5 × 500
        "**not met**",  # agent turns 0.69 × memory's
        "**met**",  # creates at once 5.0 × ADK's
    ]
    assert "1.19 ms vs echo 0.40 + raw driver 0.50 + 0.3 = 1.20 ms" in lines[0]
    assert "disk flush p50 0.15 ms" in lines[0]


def test_the_cpu_target_line_gives_the_floor_of_memory_plus_the_raw_driver_and_keeps_its_verdict() -> None:
    memory = _service("grpc", "memory", {"append_c1": _row(0.7, server_cpu_us=500)})
    # 760 µs is within the floor's reach (800 µs) but over 1.5 × 500: the verdict is the target's alone.
    sqlite = _service("grpc", "sqlite", {"append_c1": _row(1.19, server_cpu_us=760)})
    raw = _service("raw", "sqlite", {"append_c1": _row(0.5, client_cpu_us=300)})

    (line,) = report.lone_call_targets({"services": [memory, sqlite, raw]})
    (without_raw,) = report.lone_call_targets({"services": [memory, sqlite]})

    assert "(target ≤ 1.5×) (floor: memory + raw driver = 500 + 300 = 800 µs, 1.60× memory's)" in line
    assert line.endswith("**not met**")
    assert "floor" not in without_raw and without_raw.endswith("**not met**")


def test_the_agent_turn_line_gives_what_raw_driver_appends_alone_would_leave_and_keeps_its_verdict() -> None:
    # Memory: 100 turns/s = 10 ms a turn; four raw transactions of 1.25 ms make it 15 ms: 0.67× memory's.
    memory = _service("grpc", "memory", {"agent_turn": _row(10, throughput=100)})
    postgres = _service("grpc", "postgresql", {"agent_turn": _row(10, throughput=71)})
    raw = _service("raw", "postgresql", {"append_c1": _row(1.25)})

    (line,) = report.lone_call_targets({"services": [memory, postgres, raw]})
    (without_raw,) = report.lone_call_targets({"services": [memory, postgres]})

    assert (
        "(memory's turn with 4 raw-driver transactions added: 10.00 + 4 × 1.25 ms = 0.67× memory's)" in line
    )
    assert line.endswith("**met**")  # 0.71× memory's: the verdict is the target's alone
    assert "raw-driver" not in without_raw and without_raw.endswith("**met**")
