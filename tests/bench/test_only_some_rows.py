"""``bench.run --only GROUP``: some rows of the benchmark, on the services that have them, written as quick.*."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bench import report, run, worker
from bench.plans import GROUPS, PLANS, WORKLOADS_OF_KIND
from tests.server_process import ServerProcess, wait_until_serving

_KINDS = ("adk-memory", "adk-database", "echo", "raw", "grpc")


def _services() -> list[run.Service]:
    return [run.Service(f"{kind} service", kind, "memory") for kind in _KINDS]


def test_only_the_watch_rows_run_on_our_servers_alone() -> None:
    assert [s.kind for s in run.selected(_services(), "watch")] == ["grpc"]


def test_the_lone_calls_run_with_their_ceilings_and_adk_s_services() -> None:
    assert [s.kind for s in run.selected(_services(), "lone")] == list(_KINDS)


def test_every_service_runs_without_only() -> None:
    assert run.selected(_services(), None) == _services()


def test_every_group_names_workloads_some_kind_runs() -> None:
    every = frozenset().union(*WORKLOADS_OF_KIND.values())
    assert all(workloads and workloads <= every for workloads in GROUPS.values())


@pytest.mark.parametrize(
    ("plan", "only", "stem"),
    [
        ("full", None, "latest"),
        ("quick", None, "quick"),
        ("full", "watch", "quick"),
        ("quick", "lone", "quick"),
    ],
)
def test_only_a_whole_full_run_writes_the_latest_results(plan: str, only: str | None, stem: str) -> None:
    assert run.results_stem(plan, only) == stem


async def test_the_worker_runs_only_the_group_s_workloads(tmp_path: Path) -> None:
    plan = replace(PLANS["quick"], watch_pairs=1, watch_appends=5, watchers=2)
    process = await ServerProcess(["serve", "--listen", "127.0.0.1:0", "--backend", "memory://"]).start()
    try:
        address = await process.address()
        await wait_until_serving(address)
        results = await worker.run("grpc", address, plan, None, "memory://", only=GROUPS["watch"])
    finally:
        await process.stop()

    rows = {name for name, value in results.items() if isinstance(value, dict)}
    assert rows == {
        "watch_append_0_watchers",
        "watch_append_2_watchers",
        "watch_latency_hot_2_watchers",
        "watch_latency_same_replica",
    }


def _row(**extra: Any) -> dict[str, Any]:
    return {"ops": 10, "throughput": 100.0, "p50_ms": 1.0, "p99_ms": 2.0, **extra}


def _service(kind: str, storage: str, names: list[str]) -> dict[str, Any]:
    return {
        "label": f"{kind} {storage}",
        "kind": kind,
        "storage": storage,
        "results": {name: _row(server_cpu_us=500, client_cpu_us=300) for name in names},
    }


@pytest.mark.parametrize(
    "services",
    [
        # --only lone: the lone calls, their ceilings, ADK's.
        [
            _service("echo", "echo", ["append_c1"]),
            _service("raw", "sqlite", ["create_session", "append_c1", "disk_flush"]),
            _service("adk-database", "sqlite", ["create_session", "append_c1", "agent_turn"]),
            _service(
                "grpc", "memory", ["create_session", "append_c1", "agent_turn", "paired_echo_append_c1"]
            ),
            _service("grpc", "sqlite", ["create_session", "append_c1", "get_10_events", "agent_turn"]),
        ],
        # --only appends: no creates, no turns.
        [
            _service("echo", "echo", ["append_c1", "append_c32"]),
            _service("raw", "sqlite", ["create_session", "append_c1", "disk_flush"]),
            _service("grpc", "memory", ["append_c1", "append_c32"]),
            _service("grpc", "sqlite", ["append_c1", "append_c32"]),
        ],
    ],
    ids=["lone", "appends"],
)
def test_the_report_of_some_rows_judges_the_targets_it_has_figures_for(
    services: list[dict[str, Any]],
) -> None:
    table = report.markdown(
        {
            "plan": "full",
            "only": "some",
            "seconds": 1.0,
            "commit": "abc",
            "machine": {"cpus": 2, "python": "3.12"},
            "services": services,
        }
    )

    assert "Plan `full` (only `some`)" in table
    assert "Lone append on SQLite" in table and "Server CPU per lone append on SQLite" in table
