"""A fork of a 10,000-event session is copied in the database: the server's memory stays bounded.

The source's events are ~20 MB of JSON, each with a session-scoped state
delta of ~600 bytes. A fork of every event, and a fork before the last
invocation (whose state is replayed from 9,999 deltas), must each allocate
far less than either: what Python allocates is traced across every thread
(SQLite's executor runs in threads), the drivers' rows included.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Awaitable
from typing import Final

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    EventWindow,
    NewEvent,
    ScopedState,
    SessionKey,
    SessionRecord,
)
from adk_grpc_sessions.server.backends.sql import SqlBackend, schema
from adk_grpc_sessions.server.backends.sql.queries.rows import event_row

T0 = 1_700_000_000.0
KEY = SessionKey("app", "user", "large")
EVENTS: Final = 10_000
KEYS: Final = 50
"""Distinct state keys the deltas set: the state replayed is small, the deltas read are not."""
PEAK_BOUND: Final = 4 * 1024 * 1024
"""Well under the deltas' total (~6 MB) and the events' (~20 MB), well over one state and a few rows."""


def _event(sequence: int) -> NewEvent:
    value = json.dumps(f"{sequence:06d}" + "x" * 580)
    body = {"id": f"e{sequence}", "invocationId": f"i{sequence}", "author": "model", "text": "y" * 2_000}
    return NewEvent(
        id=f"e{sequence}",
        invocation_id=f"i{sequence}",
        author="model",
        branch="",
        timestamp=T0 + sequence,
        state_delta=ScopedState(session={f"k{sequence % KEYS}": value}),
        event_json=json.dumps(body),
        size=2_100,
    )


async def _large_session(backend: SqlBackend) -> None:
    """KEY, created through the backend, with EVENTS events stored as appends store them (in bulk)."""
    created = await backend.create_session(KEY, ScopedState(session={"start": "1"}), T0)
    session_pk = (created.revision - 1) // 2
    async with backend.transaction(write=True) as connection:
        for first in range(1, EVENTS + 1, 1_000):
            rows = [event_row(session_pk, n, _event(n)) for n in range(first, first + 1_000)]
            await connection.execute(sa.insert(schema.events), rows)
        # The state and counters the appends would have left.
        last = {
            f"k{n % KEYS}": _event(n).state_delta.session[f"k{n % KEYS}"]
            for n in range(EVENTS - KEYS, EVENTS + 1)
        }
        await connection.execute(
            sa.insert(schema.session_state),
            [
                {
                    "session_pk": session_pk,
                    "key_digest": schema.key_digest(k),
                    "state_key": k,
                    "value": v,
                    "entry_bytes": 0,
                }
                for k, v in last.items()
            ],
        )
        await connection.execute(
            sa.update(schema.sessions)
            .where(schema.sessions.c.session_pk == session_pk)
            .values(last_sequence=EVENTS, events_bytes=EVENTS * 2_100, revision=created.revision + 2)
        )


async def _peak_of(call: Awaitable[SessionRecord]) -> tuple[SessionRecord, int]:
    """What ``call`` returns, and the most memory Python held at once beyond what it held before."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = await call
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak - before


async def test_a_fork_of_ten_thousand_events_holds_neither_the_events_nor_the_deltas_in_memory(
    backend: SqlBackend,
) -> None:
    await _large_session(backend)
    # Warm up: the statements are compiled once per dialect, which is not what is measured.
    await backend.fork_session(KEY, "warm", T0, before_invocation_id=f"i{EVENTS}")

    whole, whole_peak = await _peak_of(backend.fork_session(KEY, "whole", T0))
    before_last, replay_peak = await _peak_of(
        backend.fork_session(KEY, "before-last", T0, before_invocation_id=f"i{EVENTS}")
    )

    assert whole_peak < PEAK_BOUND, whole_peak
    assert replay_peak < PEAK_BOUND, replay_peak
    # And the forks are whole: every event copied, the state replayed to the point.
    for fork, copied in ((whole, EVENTS), (before_last, EVENTS - 1)):
        assert fork.event_count == copied
        read = await backend.get_session(fork.key, EventWindow(num_recent_events=1))
        assert read is not None
        assert [e.id for e in read.events] == [f"e{copied}"]
    expected = {"start": "1"} | {
        f"k{n % KEYS}": _event(n).state_delta.session[f"k{n % KEYS}"] for n in range(1, EVENTS)
    }
    assert before_last.state.session == expected
