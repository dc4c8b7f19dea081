"""The sweeper's workload: expired sessions of 1,000 events each, purged by the server's own ``Sweeper``.

The sessions are made in a storage of their own (not the one the server under
test serves, whose sweeper would take some of them): each is created through
the backend's ``create_session``, with session state and an expiry, its
events stored as the appends of a real run store them, and its expiry then
moved to now (``update_session``). On the SQL backends the events are inserted
in bulk (the rows ``append_event`` writes, with sizes and wire caches), as the
listing workloads load their sessions: a thousand appends per session, each
a transaction, would take minutes and are not what this measures.

What is measured is ``Sweeper.run_once``, the code the server runs every
``--purge-interval``, as a server with metrics runs it (its backend
instrumented): ``purge_expired`` batches of the server's default
``--purge-batch-size`` until one comes back short, then the backlog count
for the metric. Each batch's time is read from the sweeper's own log line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from adk_grpc_sessions.client.conversions import event_json
from adk_grpc_sessions.server.api import wire_cache
from adk_grpc_sessions.server.backends.base import (
    Backend,
    Expiry,
    NewEvent,
    ScopedState,
    SessionKey,
    SessionUpdate,
)
from adk_grpc_sessions.server.backends.event_json import parse_event
from adk_grpc_sessions.server.backends.instrumented import InstrumentedBackend
from adk_grpc_sessions.server.backends.sql import SqlBackend
from adk_grpc_sessions.server.runtime import sweeper
from adk_grpc_sessions.server.runtime.metrics import Metrics
from bench.workloads import Sample, model_event

APP = "bench-sweep"
LOAD_EXPIRY_SECONDS = 3600.0
"""The sessions' expiry while they are being made (appends to an expired session are refused)."""


def stored_events(count: int) -> list[NewEvent]:
    """``count`` model events as the server parses and stores them (JSON, wire cache, size)."""
    events = []
    for turn in range(count):
        event = parse_event(event_json(model_event(turn)))
        wire_cache.attach(event)
        events.append(event)
    return events


async def load_expired_sessions(backend: Backend, sessions: int, events: list[NewEvent]) -> None:
    """Makes ``sessions`` sessions of ``events`` each in ``backend`` (started), all expired at the end."""
    keys = [SessionKey(APP, f"user-{index % 10}", f"sweep-{index}") for index in range(sessions)]
    expiry = Expiry(time.time() + LOAD_EXPIRY_SECONDS, None)
    created = [
        await backend.create_session(
            key, ScopedState(session={"turn": json.dumps(len(events))}), time.time(), expiry=expiry
        )
        for key in keys
    ]
    if isinstance(backend, SqlBackend):
        await insert_stored_events(backend, [record.revision for record in created], events)
    else:
        for record in created:
            revision = record.revision
            for event in events:
                revision = (await backend.append_event(record.key, event, revision)).revision
    now = time.time()
    for key in keys:
        await backend.update_session(key, SessionUpdate(expiry=Expiry(now, None)))


async def insert_stored_events(backend: SqlBackend, revisions: list[int], events: list[NewEvent]) -> None:
    """Inserts ``events`` into each session (named by its creation revision), then its counters, in SQL.

    The rows are ``queries.rows.event_row``'s, as an append writes them; each
    session's sequence, size and revision are then set as its last append
    would have left them (``schema``: a revision is ``2 * event_pk`` of the latest event).
    """
    import sqlalchemy as sa

    from adk_grpc_sessions.server.backends.sql.queries.rows import event_row
    from adk_grpc_sessions.server.backends.sql.schema import events as events_table
    from adk_grpc_sessions.server.backends.sql.schema import sessions

    session_pks = [(revision - 1) // 2 for revision in revisions]
    async with backend.engine.begin() as connection:
        rows = [
            event_row(session_pk, sequence, event)
            for session_pk in session_pks
            for sequence, event in enumerate(events, start=1)
        ]
        for start in range(0, len(rows), 5000):
            await connection.execute(events_table.insert(), rows[start : start + 5000])
        # Each session's latest event found in one grouped scan: a subquery per
        # session would be planned on the empty table's statistics (a scan of
        # every event per session) until the load is analyzed.
        latest = await connection.execute(
            sa.select(events_table.c.session_pk, sa.func.max(events_table.c.event_pk))
            .where(events_table.c.session_pk.in_(session_pks))
            .group_by(events_table.c.session_pk)
        )
        await connection.execute(
            sessions.update()
            .where(sessions.c.session_pk == sa.bindparam("b_session_pk"))
            .values(
                last_sequence=len(events),
                events_bytes=sum(event.size for event in events),
                last_update_time=events[-1].timestamp,
                revision=sa.bindparam("b_revision"),
            ),
            [{"b_session_pk": session_pk, "b_revision": 2 * event_pk} for session_pk, event_pk in latest],
        )


class _BatchTimes(logging.Handler):
    """Collects the duration of each batch from the sweeper's log line (``duration_ms``)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seconds: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        duration_ms = getattr(record, "duration_ms", None)
        if duration_ms is not None:
            self.seconds.append(duration_ms / 1000)


@contextmanager
def _batch_times() -> Iterator[_BatchTimes]:
    logger = logging.getLogger(sweeper.__name__)
    handler, level = _BatchTimes(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def sweep(backend: Backend, batch_size: int, events_per_session: int) -> Sample:
    """One run of the server's sweeper over ``backend``: sessions purged per second, and each batch's time.

    The sample counts sessions (``operations``); its latencies are the
    batches'. Raises if expired sessions remain afterwards.
    """
    backlog = await backend.count_expired()
    metrics = Metrics()
    # The interval is never waited for: run_once is one run of the loop.
    purger = sweeper.Sweeper(
        InstrumentedBackend(backend, metrics), interval=3600.0, batch_size=batch_size, metrics=metrics
    )
    with _batch_times() as batches:
        started = time.perf_counter()
        purged = await purger.run_once()
        wall = time.perf_counter() - started
    left = await backend.count_expired()
    counted = metrics.registry.get_sample_value("adk_grpc_sessions_sessions_purged_total")
    if left or purged != backlog or counted != purged:
        raise RuntimeError(
            f"the sweeper purged {purged} of {backlog} expired sessions ({counted} counted), {left} left"
        )
    return Sample(
        latencies=batches.seconds,
        wall=wall,
        operations=purged,
        detail={
            "unit": "sessions",
            "batch_size": batch_size,
            "sessions": purged,
            "batches": len(batches.seconds),
            "events_per_session": events_per_session,
            "events_per_second": purged * events_per_session / wall,
        },
    )
