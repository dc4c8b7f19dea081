"""How much of each workload a run does: ``quick`` (routine, under 2 minutes) or ``full`` (the record)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """Operation counts of one benchmark run."""

    creates: int
    append_c1: int
    append_c32_per_session: int
    append_repeats: int
    """Runs of each append workload; the run of median throughput is reported (the rest are listed)."""
    get_reads: dict[int, int]
    turns: int
    user_sessions: int
    app_sessions: int
    list_reads: int
    """Reads of a first page: in the full plan enough (300) that p99 is the third slowest, not the slowest.

    With 30 reads p99 was the slowest read, which on this shared 2-core VM
    is whichever read met a stall of the machine (18 to 87 ms on services
    whose median is 5 to 9 ms)."""
    list_budget_seconds: float
    """Reads of a first page stop after this long (at least 3 are made)."""
    expiry_check_reads: int
    """Reads of each of two 10-event sessions, one with an expiry, alternating (ours only)."""
    sweep_sessions: int
    """Expired sessions of ``sweep_events_per_session`` events each that the sweeper purges (ours only)."""
    sweep_events_per_session: int = 1_000
    forks: int = 5
    """Forks of one session of ``fork_events`` events, each workload (ours, SQL only)."""
    fork_events: int = 1_000
    watch_appends: int = 200
    """Appends of each watch workload (ours only): with 0 and ``watchers`` watchers, and timed to receipt."""
    watchers: int = 100
    watch_pairs: int = 3
    """Pairs of runs of the appends with and without watchers; the cost of watchers is their ratios' median.

    More, shorter pairs than the other workloads' repeats: a shared
    machine's spells move one pair's ratio by more than the 10% the target
    allows, and a median of many pairs (with its interval) is what steadies it."""


PLANS = {
    "quick": Plan(
        creates=100,
        append_c1=100,
        append_c32_per_session=10,
        append_repeats=1,
        get_reads={10: 50, 100: 20, 1000: 5},
        turns=10,
        user_sessions=1_000,
        app_sessions=5_000,
        list_reads=10,
        list_budget_seconds=3.0,
        expiry_check_reads=50,
        sweep_sessions=20,
        watch_appends=100,
    ),
    "full": Plan(
        creates=2_000,
        append_c1=2_000,
        append_c32_per_session=120,
        append_repeats=3,
        get_reads={10: 300, 100: 100, 1000: 30},
        turns=100,
        user_sessions=10_000,
        app_sessions=100_000,
        list_reads=300,
        list_budget_seconds=30.0,
        expiry_check_reads=300,
        sweep_sessions=500,
        forks=30,
        watch_appends=700,
        watch_pairs=9,
    ),
}

_SESSION_SERVICE_WORKLOADS = frozenset(
    {
        "create_session",
        "create_session_c32",
        "append_c1",
        "append_c32",
        "get_10_events",
        "get_100_events",
        "get_1000_events",
        "agent_turn",
        "lists",
    }
)
WORKLOADS_OF_KIND: dict[str, frozenset[str]] = {
    "echo": frozenset({"append_c1", "append_c32"}),
    "raw": frozenset({"create_session", "append_c1"}),
    "adk-memory": _SESSION_SERVICE_WORKLOADS,
    "adk-database": _SESSION_SERVICE_WORKLOADS,
    "grpc": _SESSION_SERVICE_WORKLOADS | {"expiry", "watch", "sweep"},
}
"""The workloads (each a row or a few) every kind of service runs; a raw ceiling's come with the disk's flush,
our server's sweep with the metadata rows."""

GROUPS: dict[str, frozenset[str]] = {
    "watch": frozenset({"watch"}),
    "lone": frozenset({"create_session", "append_c1", "get_10_events", "agent_turn"}),
    "appends": frozenset({"append_c1", "append_c32"}),
    "creates": frozenset({"create_session", "create_session_c32"}),
}
"""What ``bench.run --only GROUP`` runs: watching (issue 23's rows), the lone calls with their ceilings
(issue 22's), the appends with the echo ceiling, or the creates (one caller, and 32 at once)."""


def runs_any(kind: str, workloads: frozenset[str] | None) -> bool:
    """Whether a service of ``kind`` runs any of ``workloads`` (None: every workload)."""
    return workloads is None or bool(WORKLOADS_OF_KIND[kind] & workloads)
