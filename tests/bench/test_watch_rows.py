"""The benchmark's watch rows, run small against a real server process, and their report lines."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench import report, watch
from bench.plans import PLANS
from bench.workloads import Sample
from tests.server_process import ServerProcess, wait_until_serving


async def test_every_watch_row_runs_and_is_labelled_with_its_targets() -> None:
    plan = replace(PLANS["quick"], watch_pairs=2, watch_appends=12, watchers=5)
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
    # Judged on the pairs' ratios: one per pair, their median, and an interval around it.
    ratio_of = rows["watch_append_5_watchers"].detail
    assert len(ratio_of["throughput_ratio_of_pairs"]) == 2
    low, high = ratio_of["throughput_ratio_interval"]
    assert low <= ratio_of["throughput_ratio"] <= high
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


def _watched_row(ratio: float, complete: int = 5, **extra: object) -> dict[str, object]:
    return {
        "throughput": 100.0,
        "p50_ms": 1.0,
        "p99_ms": 2.0,
        "watchers": 5,
        "watchers_with_every_event": complete,
        "throughput_ratio": ratio,
        "throughput_ratio_interval": [ratio - 0.05, ratio + 0.05],
        "throughput_ratio_of_pairs": [ratio - 0.05, ratio, ratio + 0.05],
        **extra,
    }


def test_a_watch_row_whose_watchers_did_not_all_receive_every_event_does_not_meet_its_target() -> None:
    alone = {"throughput": 100.0, "p50_ms": 1.0, "p99_ms": 2.0}
    watched = _watched_row(1.0, complete=4)
    results = {"watch_append_0_watchers": alone, "watch_append_5_watchers": watched}
    run = {"services": [{"kind": "grpc", "label": "ours", "storage": "memory", "results": results}]}
    line = report._watch_targets(run)[0]
    assert "only 4 of 5 watchers received every event" in line and "**not met**" in line
    results["watch_append_5_watchers"] = watched | {"watchers_with_every_event": 5}
    assert "**met**" in report._watch_targets(run)[0]


def test_the_watch_target_is_judged_on_the_median_of_the_paired_ratios_with_its_interval() -> None:
    # The median pair's own throughputs are equal; the pairs' median ratio is what counts.
    alone = {"throughput": 100.0, "p50_ms": 1.0, "p99_ms": 2.0}
    results = {"watch_append_0_watchers": alone, "watch_append_5_watchers": _watched_row(0.89)}
    run = {"services": [{"kind": "grpc", "label": "ours", "storage": "memory", "results": results}]}

    line = report._watch_targets(run)[0]
    assert "median of 3 paired runs' throughput ratios 0.89 (95% interval 0.84 to 0.94" in line
    assert line.endswith("**not met**")
    results["watch_append_5_watchers"] = _watched_row(0.90)
    assert report._watch_targets(run)[0].endswith("**met**")


def _run(throughput: float, complete: int | None = None) -> watch.WatchedAppends:
    appends = Sample(latencies=[0.001] * 100, wall=100 / throughput)
    if complete is not None:
        appends.detail["watchers_with_every_event"] = complete
    return watch.WatchedAppends(appends, None)


def test_the_reported_pair_is_the_one_of_median_ratio_and_counts_the_worst_run_s_watchers() -> None:
    pairs = [
        (_run(1000), _run(950, complete=5)),  # 0.95
        (_run(500), _run(400, complete=3)),  # 0.80
        (_run(800), _run(720, complete=5)),  # 0.90: the median
    ]

    alone, watched = watch._median_pair(pairs)

    assert alone is pairs[2][0] and watched is pairs[2][1]
    assert watched.appends.detail["throughput_ratio"] == pytest.approx(0.90)
    assert watched.appends.detail["throughput_ratio_of_pairs"] == [0.8, 0.9, 0.95]
    low, high = watched.appends.detail["throughput_ratio_interval"]
    assert 0.8 - 1e-9 <= low <= 0.9 <= high <= 0.95 + 1e-9
    assert watched.appends.detail["watchers_with_every_event"] == 3
