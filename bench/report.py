"""Turns a benchmark run into the Markdown table (with ratios and targets) and the PNG chart."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

WORKLOAD_LABELS = {
    "create_session": "create session",
    "create_session_c32": "create session, 32 callers at once",
    "disk_flush": "disk: an 8 KiB write made durable (fdatasync)",
    "append_c1": "append, 1 session",
    "append_c32": "append, 32 sessions at once",
    "get_10_events": "get session of 10 events",
    "get_100_events": "get session of 100 events",
    "get_1000_events": "get session of 1,000 events",
    "agent_turn": "agent turn (get, 4 appends, list)",
    "get_10_events_no_expiry": (
        "get session of 10 events without expiry (reads alternate with the next row's)"
    ),
    "get_10_events_expiring": "get session of 10 events expiring in a day",
    "watch_append_0_watchers": "append to a session nobody watches",
    "watch_latency_same_replica": "append acknowledged → watcher's receipt, same server",
    "watch_latency_across_replicas": "append acknowledged → watcher's receipt, another server",
}


def _workloads(run: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for service in run["services"]:
        for name, value in service["results"].items():
            # Paired echo runs appear in the targets, beside the figures they pair with.
            if isinstance(value, dict) and name not in names and not name.startswith("paired_echo_"):
                names.append(name)
    return names


def _label(name: str) -> str:
    if name.startswith("list_user_"):
        return f"first page, user of {int(name.removeprefix('list_user_')):,} sessions"
    if name.startswith("list_app_"):
        return f"first page, app of {int(name.removeprefix('list_app_')):,} sessions"
    for prefix, what in (("backend_list_", "today's"), ("filtered_list_", "filtered, ordered")):
        if name.startswith(prefix):
            scope, count = name.removeprefix(prefix).split("_")
            return f"first page ({what}, backend), {scope} of {int(count):,} sessions"
    if name.startswith("fork_"):
        events = int(name.removeprefix("fork_").split("_")[0])
        where = " before its last invocation" if name.endswith("_before_last_invocation") else ""
        return f"fork of a {events:,}-event session{where}"
    if name.startswith("watch_append_") and name.endswith("_watchers"):
        watchers = int(name.removeprefix("watch_append_").removesuffix("_watchers"))
        if watchers:
            return f"append to a session {watchers:,} watchers follow"
    if name.startswith("watch_latency_hot_") and name.endswith("_watchers"):
        watchers = int(name.removeprefix("watch_latency_hot_").removesuffix("_watchers"))
        return f"append acknowledged → receipt by all {watchers:,} watchers, appends without pause"
    if name.startswith("sweep_"):
        events = int(name.removeprefix("sweep_").removesuffix("_events"))
        return f"sweeper: expired sessions of {events:,} events purged"
    return WORKLOAD_LABELS.get(name, name)


def _cell(result: dict[str, Any] | None) -> str:
    if not result:
        return "—"
    if result.get("unit") == "sessions":  # the sweeper's: sessions per second, timed per batch
        return (
            f"{result['throughput']:,.0f} sessions/s · {result['events_per_second']:,.0f} events/s · "
            f"{result['sessions']:,} sessions in {result['batches']:,} "
            f"batch{'' if result['batches'] == 1 else 'es'} of up to {result['batch_size']:,} · "
            f"a batch p50 {result['p50_ms']:.0f} · p99 {result['p99_ms']:.0f} ms"
        )
    cell = f"{result['throughput']:,.0f}/s · p50 {result['p50_ms']:.2f} · p99 {result['p99_ms']:.2f} ms"
    if result.get("failed"):
        cell += f" · **{result['failed']:,} failed** ({result['first_failure'][:80]})"
    return cell


def _by_label(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["label"]: s for s in run["services"]}


def _ratio(ours: float, theirs: float) -> str:
    if not theirs or math.isnan(theirs) or math.isnan(ours):
        return "—"
    return f"{ours / theirs:.2f}×"


def _find(run: dict[str, Any], kind: str, storage: str) -> dict[str, Any] | None:
    return next(
        (s["results"] for s in run["services"] if s["kind"] == kind and s["storage"] == storage), None
    )


def _list_app_name(results: dict[str, Any]) -> str | None:
    return next((name for name in results if name.startswith("list_app_")), None)


def _runs(result: dict[str, Any]) -> str:
    """The throughput of each run of a repeated workload (the median one is reported), if repeated."""
    runs = result.get("throughput_of_runs") or []
    return f" [runs: {' / '.join(f'{r:,.0f}' for r in runs)}/s]" if len(runs) > 1 else ""


def _failures_note(ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    """Where either side had operations fail: how many (a target is never met with failures of ours)."""
    notes = [
        f"{side} {result['failed']:,} failed"
        for side, result in (("ours", ours), ("theirs", theirs))
        if result.get("failed")
    ]
    return f" ({'; '.join(notes)}; throughput counts successes)" if notes else ""


def targets(run: dict[str, Any]) -> list[str]:
    """The issue's targets, each with the figures of this run and whether it is met."""
    lines = []

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**not met**"

    for storage, label in (("postgresql", "PostgreSQL"), ("sqlite", "SQLite")):
        ours, adk = _find(run, "grpc", storage), _find(run, "adk-database", storage)
        if ours and adk and "append_c32" in ours and "append_c32" in adk:
            mine, theirs = ours["append_c32"], adk["append_c32"]
            speedup = mine["throughput"] / theirs["throughput"]
            p99 = mine["p99_ms"] / theirs["p99_ms"]
            wanted_p99 = storage == "sqlite" or p99 <= 0.1
            lines.append(
                f"- Append into {label}, 32 sessions at once: {mine['throughput']:,.0f}/s{_runs(mine)} "
                f"vs ADK {theirs['throughput']:,.0f}/s{_runs(theirs)} = {speedup:.1f}× (target ≥ 10×); "
                f"p99 {mine['p99_ms']:.0f} vs "
                f"{theirs['p99_ms']:.0f} ms = {p99:.2f}"
                + (" (target ≤ 0.10)" if storage == "postgresql" else "")
                + _failures_note(mine, theirs)
                + f": {verdict(speedup >= 10 and wanted_p99 and not mine.get('failed'))}"
            )
        if ours and adk and "get_1000_events" in ours and "get_1000_events" in adk:
            mine, theirs = ours["get_1000_events"], adk["get_1000_events"]
            share = mine["p50_ms"] / theirs["p50_ms"]
            lines.append(
                f"- Get a 1,000-event session ({label}), p50: {mine['p50_ms']:.1f} ms vs ADK "
                f"{theirs['p50_ms']:.1f} ms = {share:.2f} (target ≤ 0.20): {verdict(share <= 0.2)}"
            )
    memory, echo = _find(run, "grpc", "memory"), _find(run, "echo", "echo")
    if memory and echo:
        for name, label in (("append_c32", "32 sessions"), ("append_c1", "1 session")):
            # The echo runs made alternately with the memory backend's, where there are any.
            paired = memory.get(f"paired_echo_{name}")
            ceiling = paired or echo.get(name)
            if name not in memory or ceiling is None:
                continue  # a run of some workloads only
            ratio = memory[name]["throughput"] / ceiling["throughput"]
            lines.append(
                f"- Append through the memory backend, {label}: {memory[name]['throughput']:,.0f}/s"
                f"{_runs(memory[name])} vs {ceiling['throughput']:,.0f}/s{_runs(ceiling)} = "
                f"{ratio:.2f}× the echo ceiling"
                + (" (its runs alternating with ours)" if paired else "")
                + f" (target ≥ 0.7){_failures_note(memory[name], ceiling)}: "
                f"{verdict(ratio >= 0.7 and not memory[name].get('failed'))}"
            )
    lines += _expiry_check_targets(run)
    lines += _watch_targets(run)
    lines += lone_call_targets(run)
    postgres = _find(run, "grpc", "postgresql")
    listing = _list_app_name(postgres) if postgres else None
    if postgres and listing:
        page = postgres[listing]
        count = int(listing.removeprefix("list_app_"))
        lines.append(
            f"- First page of 100 of {count:,} sessions on PostgreSQL: p50 {page['p50_ms']:.1f} ms, "
            f"p99 {page['p99_ms']:.1f} ms (target < 20 ms): {verdict(page['p99_ms'] < 20)}"
        )
        growth = postgres["rss_mib_after_app_all"] - postgres["rss_mib_after_app_tenth"]
        lines.append(
            f"- Server memory as that app grew from {count // 10:,} to {count:,} sessions: "
            f"{postgres['rss_mib_after_app_tenth']:.0f} → {postgres['rss_mib_after_app_all']:.0f} MiB "
            f"({growth:+.0f} MiB; target: flat): {verdict(growth < 20)}"
        )
    return lines


_OWN_OVERHEAD_MS = 0.3
"""What issue 22 allows a lone durable call over the gRPC echo and the raw driver together."""


def lone_call_targets(run: dict[str, Any]) -> list[str]:
    """Issue 22's: a lone durable call close to gRPC plus one commit, and cheap in CPU."""
    lines: list[str] = []

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**not met**"

    echo, memory = _find(run, "echo", "echo"), _find(run, "grpc", "memory")
    for storage, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        ours, raw, adk = (
            _find(run, "grpc", storage),
            _find(run, "raw", storage),
            _find(run, "adk-database", storage),
        )
        if not ours:
            continue
        if raw and echo and "append_c1" in echo:
            call = echo["append_c1"]["p50_ms"]
            for name, what in (("append_c1", "Lone append"), ("create_session", "Lone create")):
                if name not in ours or name not in raw:
                    continue  # a run of some workloads only
                bound = call + raw[name]["p50_ms"] + _OWN_OVERHEAD_MS
                mine = ours[name]["p50_ms"]
                lines.append(
                    f"- {what} on {label}, p50: {mine:.2f} ms vs echo {call:.2f} + raw driver "
                    f"{raw[name]['p50_ms']:.2f} + {_OWN_OVERHEAD_MS} = {bound:.2f} ms "
                    f"(disk flush p50 {raw['disk_flush']['p50_ms']:.2f} ms): {verdict(mine <= bound)}"
                )
        mine_cpu = ours.get("append_c1", {}).get("server_cpu_us")
        base_cpu = (memory or {}).get("append_c1", {}).get("server_cpu_us")
        if mine_cpu is not None and base_cpu is not None:
            mine, base = mine_cpu, base_cpu
            lines.append(
                f"- Server CPU per lone append on {label}: {mine:,.0f} µs vs the memory backend's "
                f"{base:,.0f} µs = {mine / base:.2f}× (target ≤ 1.5×)"
                f"{_cpu_floor(base, raw)}: {verdict(mine <= 1.5 * base)}"
            )
        if memory and "agent_turn" in ours and "agent_turn" in memory:
            ratio = ours["agent_turn"]["throughput"] / memory["agent_turn"]["throughput"]
            lines.append(
                f"- Agent turns on {label}: {ours['agent_turn']['throughput']:,.1f}/s vs the memory "
                f"backend's {memory['agent_turn']['throughput']:,.1f}/s = {ratio:.2f}× (target ≥ 0.7)"
                f"{_turn_reach(memory['agent_turn']['throughput'], raw)}: {verdict(ratio >= 0.7)}"
            )
        if adk and "create_session_c32" in ours and "create_session_c32" in adk:
            mine, theirs = ours["create_session_c32"], adk["create_session_c32"]
            speedup = mine["throughput"] / theirs["throughput"]
            lines.append(
                f"- Creates on {label}, 32 callers at once: {mine['throughput']:,.0f}/s vs ADK "
                f"{theirs['throughput']:,.0f}/s = {speedup:.1f}× (target ≥ 5×)"
                f"{_failures_note(mine, theirs)}: "
                f"{verdict(speedup >= 5 and not mine.get('failed'))}"
            )
    return lines


def _cpu_floor(memory_cpu_us: float, raw: dict[str, Any] | None) -> str:
    """What a durable lone append's server CPU cannot go below: the memory backend's server and the raw
    driver's own transaction (its process's CPU; a database server's own is counted for no service)."""
    driver = (raw or {}).get("append_c1", {}).get("client_cpu_us")
    if driver is None:
        return ""
    floor = memory_cpu_us + driver
    return (
        f" (floor: memory + raw driver = {memory_cpu_us:,.0f} + {driver:,.0f} = {floor:,.0f} µs, "
        f"{floor / memory_cpu_us:.2f}× memory's)"
    )


_TURN_APPENDS = 4
"""Appends in one of the bench's agent turns (``workloads.agent_turn``)."""


def _turn_reach(memory_turns_per_second: float, raw: dict[str, Any] | None) -> str:
    """The ratio a turn would reach if each of its appends cost the memory backend's plus the raw driver's
    transaction, and its reads nothing more than the memory backend's: what the target asks of the store."""
    append = (raw or {}).get("append_c1", {}).get("p50_ms")
    if append is None:
        return ""
    memory_turn_ms = 1000 / memory_turns_per_second
    reach = memory_turn_ms / (memory_turn_ms + _TURN_APPENDS * append)
    return (
        f" (memory's turn with {_TURN_APPENDS} raw-driver transactions added: "
        f"{memory_turn_ms:.2f} + {_TURN_APPENDS} × {append:.2f} ms = {reach:.2f}× memory's)"
    )


def _watch_targets(run: dict[str, Any]) -> list[str]:
    """Issue 23's: watchers cost appends under 10%; receipt p50 under 5 ms (same server), 20 ms (across)."""
    lines = []

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**not met**"

    for service in run["services"]:
        results = service["results"]
        if service["kind"] != "grpc":
            continue
        rows = [
            value
            for name, value in results.items()
            if name.startswith("watch_append_") and name != "watch_append_0_watchers"
        ]
        watched = rows[0] if rows else None
        alone = results.get("watch_append_0_watchers")
        if watched and alone:
            ratio, (low, high) = watched["throughput_ratio"], watched["throughput_ratio_interval"]
            pairs = len(watched["throughput_ratio_of_pairs"])
            count = watched.get("watchers", 100)
            complete = watched.get("watchers_with_every_event", count)
            short = f", only {complete} of {count} watchers received every event" if complete < count else ""
            lines.append(
                f"- Appends with {count} watchers, {service['label']}: median of {pairs} paired runs' "
                f"throughput ratios {ratio:.2f} (95% interval {low:.2f} to {high:.2f}; the median pair "
                f"{watched['throughput']:,.0f}/s vs {alone['throughput']:,.0f}/s without) "
                f"(target ≥ 0.90{short}): {verdict(ratio >= 0.9 and complete >= count)}"
            )
        for name, where, goal in (
            ("watch_latency_same_replica", "same server", 5.0),
            ("watch_latency_across_replicas", "across two servers", 20.0),
        ):
            latency = results.get(name)
            if latency:
                lines.append(
                    f"- Append to watcher, {where}, {service['label']}: p50 {latency['p50_ms']:.2f} ms, "
                    f"p99 {latency['p99_ms']:.2f} ms (target p50 < {goal:.0f} ms): "
                    f"{verdict(latency['p50_ms'] < goal)}"
                )
    return lines


def _expiry_check_targets(run: dict[str, Any]) -> list[str]:
    """Issue 19's: the expiry check makes a read's p50 no measurably slower, on each of our backends.

    Measurably slower: the 95% bootstrap interval of the change of p50 (reads
    of the two sessions alternating) lies wholly above 0.
    """
    lines = []
    for service in run["services"]:
        expiring = service["results"].get("get_10_events_expiring")
        plain = service["results"].get("get_10_events_no_expiry")
        if service["kind"] != "grpc" or not expiring or not plain:
            continue
        change, (low, high) = expiring["p50_change_ms"], expiring["p50_change_interval_ms"]
        lines.append(
            f"- Expiry check on a read of 10 events, {service['label']}: p50 {expiring['p50_ms']:.2f} ms "
            f"with an expiry vs {plain['p50_ms']:.2f} ms without, {change:+.3f} ms "
            f"({change / plain['p50_ms']:+.1%}; 95% interval {low:+.3f} to {high:+.3f} ms) "
            f"(target: no measurable increase at p50): {'**met**' if low <= 0 else '**not met**'}"
        )
    return lines


def _cpu(result: dict[str, Any] | None) -> str:
    if not result or "client_cpu_us" not in result:
        return "—"
    client = result["client_cpu_us"]
    server = result.get("server_cpu_us")
    if server is None:
        return f"{client:,.0f} µs (in process)"
    return f"{client:,.0f} + {server:,.0f} = {client + server:,.0f} µs"


def cpu_table(run: dict[str, Any]) -> list[str]:
    """CPU time per append by service: the client process, then the server process."""
    services = [s for s in run["services"] if "append_c32" in s["results"]]
    if not any("client_cpu_us" in s["results"]["append_c32"] for s in services):
        return []  # a run from before CPU was measured
    lines = [
        "CPU time per append, client + server process (a database server's own CPU not counted):",
        "",
        "| workload | " + " | ".join(s["label"] for s in services) + " |",
        "|---|" + "---|" * len(services),
    ]
    for name in ("append_c1", "append_c32"):
        lines.append(
            f"| {_label(name)} | " + " | ".join(_cpu(s["results"].get(name)) for s in services) + " |"
        )
    return lines


def markdown(run: dict[str, Any]) -> str:
    """The results as Markdown: figures per workload and service, ratios, and the issue's targets."""
    services = run["services"]
    only = f" (only `{run['only']}`)" if run.get("only") else ""
    lines = [
        f"Plan `{run['plan']}`{only}, commit `{run.get('commit', 'unknown')}`, "
        f"{run['machine']['cpus']} CPUs, Python {run['machine']['python']}, "
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
        + " | ".join(
            f"{s['results']['peak_rss_mib']:.0f} MiB" if "peak_rss_mib" in s["results"] else "—"
            for s in services
        )
        + " |"
    )
    cpu = cpu_table(run)
    if cpu:
        lines += ["", *cpu]
    lines += ["", "Targets, from this run:", "", *targets(run)]
    lines += [
        "",
        "Our client sends a lone append as one more message on an `AppendEventStream` it keeps "
        "open, and appends made while another is under way together, in shared `BatchAppendEvents` "
        "calls (at most 16 appends a call, 8 calls at once). The echo ceiling makes one unary call "
        "per append: it bounds what a call per append could do, and both of our paths cost less "
        "than a call per append, so our rows can pass it.",
    ]
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
            if theirs is None and ceiling is None:
                continue  # ours alone (the lifecycle's rows): nothing to compare with
            lines.append(
                f"| {ours['label']} | {_label(name)} | "
                f"{_ratio(mine['throughput'], theirs['throughput']) if theirs else '—'} | "
                f"{_ratio(mine['p99_ms'], theirs['p99_ms']) if theirs else '—'} | "
                f"{_ratio(mine['throughput'], ceiling['throughput']) if ceiling else '—'} |"
            )
    return "\n".join(lines) + "\n"


PAGE_START = "<!-- bench:start -->"
PAGE_END = "<!-- bench:end -->"


def update_page(page: Path, table: str) -> None:
    """Puts ``table`` between the markers of ``page`` (docs/performance.md), keeping the prose around it."""
    text = page.read_text()
    start, end = text.find(PAGE_START), text.find(PAGE_END)
    if start < 0 or end < start:
        raise ValueError(f"{page} has no {PAGE_START} ... {PAGE_END} markers")
    page.write_text(text[: start + len(PAGE_START)] + "\n" + table + text[end:])


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
