"""Turns a benchmark run into the Markdown table (with ratios and targets) and the PNG chart."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

WORKLOAD_LABELS = {
    "create_session": "create session",
    "append_c1": "append, 1 session",
    "append_c32": "append, 32 sessions at once",
    "get_10_events": "get session of 10 events",
    "get_100_events": "get session of 100 events",
    "get_1000_events": "get session of 1,000 events",
    "agent_turn": "agent turn (get, 4 appends, list)",
}


def _workloads(run: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for service in run["services"]:
        for name, value in service["results"].items():
            if isinstance(value, dict) and name not in names:
                names.append(name)
    return names


def _label(name: str) -> str:
    if name.startswith("list_user_"):
        return f"first page, user of {int(name.removeprefix('list_user_')):,} sessions"
    if name.startswith("list_app_"):
        return f"first page, app of {int(name.removeprefix('list_app_')):,} sessions"
    return WORKLOAD_LABELS.get(name, name)


def _cell(result: dict[str, Any] | None) -> str:
    if not result:
        return "—"
    return f"{result['throughput']:,.0f}/s · p50 {result['p50_ms']:.2f} · p99 {result['p99_ms']:.2f} ms"


def _by_label(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["label"]: s for s in run["services"]}


def _ratio(ours: float, theirs: float) -> str:
    if not theirs or math.isnan(theirs) or math.isnan(ours):
        return "—"
    return f"{ours / theirs:.2f}×"


def markdown(run: dict[str, Any]) -> str:
    """The results as Markdown: figures per workload and service, ratios, and the issue's targets."""
    services = run["services"]
    lines = [
        f"Plan `{run['plan']}`, {run['machine']['cpus']} CPUs, Python {run['machine']['python']}, "
        f"{run['seconds']:.0f} s in all. Each cell: throughput · p50 · p99.",
        "",
        "| workload | " + " | ".join(s["label"] for s in services) + " |",
        "|---|" + "---|" * len(services),
    ]
    for name in _workloads(run):
        lines.append(
            f"| {_label(name)} | " + " | ".join(_cell(s["results"].get(name)) for s in services) + " |"
        )
    lines.append(
        "| server peak RSS | "
        + " | ".join(f"{s['results'].get('peak_rss_mib', float('nan')):.0f} MiB" for s in services)
        + " |"
    )
    lines += ["", "Ratios of our throughput to ADK's on the same storage, and to the echo ceiling:", ""]
    lines += [
        "| ours | workload | vs ADK (throughput) | vs ADK (p99) | vs echo ceiling |",
        "|---|---|---|---|---|",
    ]
    by_storage = {s["storage"]: s for s in services if s["kind"] in ("adk-memory", "adk-database")}
    echo = next((s for s in services if s["kind"] == "echo"), None)
    for ours in (s for s in services if s["kind"] == "grpc"):
        adk = by_storage.get(ours["storage"])
        for name in _workloads(run):
            mine = ours["results"].get(name)
            if not mine:
                continue
            theirs = adk["results"].get(name) if adk else None
            ceiling = echo["results"].get(name) if echo else None
            lines.append(
                f"| {ours['label']} | {_label(name)} | "
                f"{_ratio(mine['throughput'], theirs['throughput']) if theirs else '—'} | "
                f"{_ratio(mine['p99_ms'], theirs['p99_ms']) if theirs else '—'} | "
                f"{_ratio(mine['throughput'], ceiling['throughput']) if ceiling else '—'} |"
            )
    return "\n".join(lines) + "\n"


def chart(run: dict[str, Any], path: Path) -> None:
    """A grouped bar chart of throughput (log scale) per workload and service."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = _workloads(run)
    services = run["services"]
    figure, axes = plt.subplots(figsize=(max(10, 1.6 * len(names)), 6))
    width = 0.8 / max(1, len(services))
    for index, service in enumerate(services):
        values = [service["results"].get(n, {}).get("throughput", 0) or 0 for n in names]
        positions = [i + index * width for i in range(len(names))]
        axes.bar(positions, values, width, label=service["label"])
    axes.set_yscale("log")
    axes.set_ylabel("operations per second (log scale)")
    axes.set_xticks([i + width * (len(services) - 1) / 2 for i in range(len(names))])
    axes.set_xticklabels([_label(n) for n in names], rotation=30, ha="right", fontsize=8)
    axes.legend(fontsize=8)
    axes.set_title(f"adk-grpc-sessions vs ADK's session services ({run['plan']} plan)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
