"""The metadata workloads: first pages of filtered, ordered listings beside today's listing, and forks.

Measured on our SQL backend through its Backend API, in this process, in a
storage of its own (the sweeper's, apart from the server's): the API layer
that parses a filter is not what these measure, and the gRPC client's
filtered listing comes with it. Each listing row has its twin, read the same
way on the same sessions: the first page of today's listing (every session,
oldest update first) beside the first page of a filtered one (one label's
value, newest created first), 100 sessions each.

The sessions are loaded in bulk, as the listing workloads load theirs: the
rows a create with metadata writes, with distinct create times, update
times in another order, and two labels each (``env``: one of ten values,
the one filtered for; ``team``: one of five). The fork's source is made
through ``create_session``, its 1,000 model events inserted as appends
store them (``sweep.insert_stored_events``).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Final

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    ALL_SESSIONS,
    Condition,
    Field,
    Operator,
    OrderBy,
    ScopedState,
    SessionKey,
    SessionQuery,
)
from adk_grpc_sessions.server.backends.sql import SqlBackend
from adk_grpc_sessions.server.backends.sql.queries.rows import encode_labels
from adk_grpc_sessions.server.backends.sql.schema import session_labels, sessions
from bench import sweep
from bench.plans import Plan
from bench.workloads import Sample, _timed

USER_APP: Final = "bench-meta-user"
ALL_APP: Final = "bench-meta-app"
FORK_APP: Final = "bench-meta-fork"
PAGE_SIZE: Final = 100
ENVS: Final = 10
FILTERED: Final = SessionQuery(
    conditions=(Condition(Field.LABEL, Operator.EQ, "e3", "env"),),
    order_by=OrderBy.CREATE_TIME,
    descending=True,
)
"""``labels.env = "e3"`` newest created first: a tenth of the sessions, in the other time's order."""


async def load_labelled_sessions(backend: SqlBackend, app_name: str, users: int, count: int) -> None:
    """``count`` sessions of ``users`` users in ``app_name``, with labels, written into the tables."""
    now = time.time()
    labels = [{"env": f"e{i % ENVS}", "team": f"t{i % 5}"} for i in range(count)]
    rows = [
        {
            "app_name": app_name,
            "user_id": f"user-{i % users}",
            "session_id": f"meta-{uuid.uuid4().hex}",
            "create_time": now - count + i,
            # Updated in another order than created (7,919 is prime to any count here).
            "last_update_time": now - count + (i * 7_919) % count,
            "revision": 0,
            "last_sequence": 0,
            "display_name": f"conversation {i}",
            "labels": encode_labels(labels[i]),
            "initial_state": "{}",
        }
        for i in range(count)
    ]
    async with backend.engine.begin() as connection:
        for start in range(0, count, 5_000):
            await connection.execute(sessions.insert(), rows[start : start + 5_000])
        await connection.execute(
            sessions.update()
            .where(sessions.c.app_name == app_name, sessions.c.revision == 0)
            .values(revision=2 * sessions.c.session_pk + 1)
        )
        keys = (
            await connection.execute(
                sa.select(sessions.c.session_pk, sessions.c.display_name).where(
                    sessions.c.app_name == app_name
                )
            )
        ).all()
        label_rows = [
            {"session_pk": session_pk, "label_key": key, "label_value": value}
            for session_pk, name in keys
            for key, value in labels[int(name.rsplit(" ", 1)[1])].items()
        ]
        for start in range(0, len(label_rows), 10_000):
            await connection.execute(session_labels.insert(), label_rows[start : start + 10_000])


async def first_pages(
    backend: SqlBackend,
    app_name: str,
    user_id: str | None,
    query: SessionQuery,
    reads: int,
    budget_seconds: float,
) -> Sample:
    """The first page (``PAGE_SIZE``) of ``query``'s listing, ``reads`` times or for ``budget_seconds``.

    (3 reads at least.)
    """
    sample = Sample()
    started = time.perf_counter()
    for done in range(reads):
        if done >= 3 and time.perf_counter() - started > budget_seconds:
            break
        page = await _timed(sample, backend.list_sessions, app_name, user_id, PAGE_SIZE, None, query=query)
        sample.detail["returned"] = len(page.items)
    sample.wall = time.perf_counter() - started
    return sample


async def forks(backend: SqlBackend, events: int, count: int, *, before_last_invocation: bool) -> Sample:
    """``count`` forks of one session of ``events`` model events: whole, or before its last invocation."""
    stored = sweep.stored_events(events)
    source = SessionKey(FORK_APP, "user", f"source-{uuid.uuid4().hex}")
    created = await backend.create_session(source, ScopedState(session={"turn": "0"}), time.time())
    await sweep.insert_stored_events(backend, [created.revision], stored)
    before = stored[-1].invocation_id if before_last_invocation else ""
    sample = Sample()
    started = time.perf_counter()
    for _ in range(count):
        fork = await _timed(
            sample,
            backend.fork_session,
            source,
            f"fork-{uuid.uuid4().hex}",
            time.time(),
            before_invocation_id=before,
        )
        sample.detail["copied"] = fork.event_count
    sample.wall = time.perf_counter() - started
    return sample


async def run(backend_uri: str, plan: Plan, analyze: Any) -> dict[str, Sample]:
    """Every metadata row of ``plan`` in the SQL storage ``backend_uri``, by name.

    ``analyze(backend_uri)`` is called after each bulk load (PostgreSQL's
    VACUUM ANALYZE, as the listing workloads have theirs).
    """
    backend = SqlBackend.from_uri(backend_uri)
    rows: dict[str, Sample] = {}
    try:
        await backend.upgrade_schema()
        await backend.start()
        for app_name, users, count, user_id, size in (
            (USER_APP, 1, plan.user_sessions, "user-0", f"user_{plan.user_sessions}"),
            (ALL_APP, 1000, plan.app_sessions, None, f"app_{plan.app_sessions}"),
        ):
            await load_labelled_sessions(backend, app_name, users, count)
            await analyze(backend_uri)
            for name, query in ((f"backend_list_{size}", ALL_SESSIONS), (f"filtered_list_{size}", FILTERED)):
                rows[name] = await first_pages(
                    backend, app_name, user_id, query, plan.list_reads, plan.list_budget_seconds
                )
        for before_last, name in ((False, ""), (True, "_before_last_invocation")):
            rows[f"fork_{plan.fork_events}_events{name}"] = await forks(
                backend, plan.fork_events, plan.forks, before_last_invocation=before_last
            )
    finally:
        await backend.close()
    return rows
