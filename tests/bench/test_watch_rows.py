"""The benchmark's watch rows, run small against a real server process, and their report lines."""

from __future__ import annotations

from dataclasses import replace

from bench import report, watch
from bench.plans import PLANS
from tests.server_process import ServerProcess, wait_until_serving


async def test_every_watch_row_runs_and_is_labelled_with_its_targets() -> None:
    plan = replace(PLANS["quick"], append_repeats=1, watch_appends=12, watchers=5)
    process = await ServerProcess(["serve", "--listen", "127.0.0.1:0", "--backend", "memory://"]).start()
    try:
        address = await process.address()
        await wait_until_serving(address)
        # The same server stands for the replica here: the rows' wiring is what is checked.
        rows = await watch.run(address, plan, replica=address)
    finally:
        await process.stop()

    assert sorted(rows) == sorted(
        [
            "watch_append_0_watchers",
            "watch_append_5_watchers",
            "watch_latency_hot_5_watchers",
            "watch_latency_same_replica",
            "watch_latency_across_replicas",
        ]
    )
    for name, sample in rows.items():
        assert not sample.failures, (name, sample.failures)
        assert len(sample.latencies) == 12
        assert report._label(name) != name
    assert rows["watch_append_5_watchers"].detail["watchers"] == 5
    assert rows["watch_append_5_watchers"].detail["watchers_with_every_event"] == 5
    for name in ("watch_latency_same_replica", "watch_latency_hot_5_watchers"):
        assert all(latency >= 0 for latency in rows[name].latencies)
    # Each append's receipt by all its watchers: the same appends as the row of the same run.
    assert rows["watch_latency_hot_5_watchers"].wall == rows["watch_append_5_watchers"].wall
    results = {name: sample.summary() | sample.detail for name, sample in rows.items()}
    run = {"services": [{"kind": "grpc", "label": "ours", "storage": "memory", "results": results}]}
    lines = report._watch_targets(run)
    assert len(lines) == 3
    assert "5 watchers" in lines[0] and "target ≥ 0.90" in lines[0]
    assert "same server" in lines[1] and "across two servers" in lines[2]


def test_a_watch_row_whose_watchers_did_not_all_receive_every_event_does_not_meet_its_target() -> None:
    alone = {"throughput": 100.0, "p50_ms": 1.0, "p99_ms": 2.0}
    watched = {
        "throughput": 100.0,
        "p50_ms": 1.0,
        "p99_ms": 2.0,
        "watchers": 5,
        "watchers_with_every_event": 4,
    }
    results = {"watch_append_0_watchers": alone, "watch_append_5_watchers": watched}
    run = {"services": [{"kind": "grpc", "label": "ours", "storage": "memory", "results": results}]}
    line = report._watch_targets(run)[0]
    assert "only 4 of 5 watchers received every event" in line and "**not met**" in line
    results["watch_append_5_watchers"] = watched | {"watchers_with_every_event": 5}
    assert "**met**" in report._watch_targets(run)[0]
