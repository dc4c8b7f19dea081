"""PostgreSQL reads a session's events by its (session_pk, sequence) index, not by scanning every event.

A session's read and a page of its events are each one statement that finds
the session's key in the statement itself, so PostgreSQL plans the events'
part without knowing which session: it expects the average session's share of
the events table. On a table of a few long sessions (what appends alone
leave, as in a benchmark) that share is a large part of the table, and the
planner scanned the whole table for a session of ten events. This runs each
statement on such a table, analyzed, as a prepared statement is planned both
ways (with its values, and the generic plan a driver's prepared statement
settles on), and checks what it reads of the events table.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from adk_grpc_sessions.server.backends.base import DEFAULT_BUDGET, EventWindow, ScopedState, SessionKey
from adk_grpc_sessions.server.backends.records import NewEvent
from adk_grpc_sessions.server.backends.sql import SqlBackend
from adk_grpc_sessions.server.backends.sql.driver_sql import driver_statement
from adk_grpc_sessions.server.backends.sql.queries.events import select_event_page_at_once
from adk_grpc_sessions.server.backends.sql.queries.sessions import select_whole_session
from tests.sql.conftest import new_database_uri
from tests.sql.postgresql_plans import analyzed_plan

_LONG_SESSIONS = 2
_LONG = 300
"""Events in each of the long sessions: together most of the table."""
_READ = 10
"""Events in the session read."""
KEY = SessionKey("app", "u", "read")


def _event(number: int) -> NewEvent:
    return NewEvent(
        id=f"e{number}",
        invocation_id="inv",
        author="agent",
        branch="",
        timestamp=1_700_000_000.0 + number,
        state_delta=ScopedState(),
        event_json=json.dumps({"id": f"e{number}"}),
    )


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


async def _fill(backend: SqlBackend, key: SessionKey, events: int) -> None:
    revision = (await backend.create_session(key, ScopedState(), 1.0)).revision
    for number in range(events):
        revision = (await backend.append_event(key, _event(number), revision)).revision


@pytest.fixture
async def database_uri(tmp_path: pathlib.Path) -> str:
    """A new PostgreSQL database: a few long sessions and the session read (``KEY``), analyzed."""
    uri = await new_database_uri("postgresql", tmp_path)
    backend = SqlBackend.from_uri(uri)
    await backend.upgrade_schema()
    await backend.start()
    try:
        for number in range(_LONG_SESSIONS):
            await _fill(backend, SessionKey("app", "u", f"long{number}"), _LONG)
        await _fill(backend, KEY, _READ)
    finally:
        await backend.close()
    connection = await asyncpg.connect(_driver_url(uri))
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return uri


def _driver_url(uri: str) -> str:
    return make_url(uri).set(drivername="postgresql").render_as_string(False)


def _whole_session(window: EventWindow) -> tuple[sa.Executable, Any]:
    return select_whole_session(KEY, window, DEFAULT_BUDGET, 2.0)


def _event_page() -> tuple[sa.Executable, Any]:
    return select_event_page_at_once(KEY, None, None, None, 100, DEFAULT_BUDGET.bytes, 2.0)


@pytest.mark.parametrize("generic", [False, True], ids=["custom plan", "generic plan"])
@pytest.mark.parametrize(
    "bound",
    [
        pytest.param(lambda: _whole_session(EventWindow()), id="whole session"),
        pytest.param(lambda: _whole_session(EventWindow(num_recent_events=5)), id="recent events"),
        pytest.param(lambda: _whole_session(EventWindow(after_timestamp=1.0)), id="after a time"),
        pytest.param(_event_page, id="page of events"),
    ],
)
async def test_a_read_among_long_sessions_reads_only_its_own_events(
    database_uri: str, generic: bool, bound: Any
) -> None:
    statement, values = bound()
    compiled = driver_statement(statement, sa.create_engine("postgresql+asyncpg://").dialect)
    connection = await asyncpg.connect(_driver_url(database_uri))
    try:
        plan = await analyzed_plan(connection, compiled.sql, compiled.parameters(values), generic=generic)
    finally:
        await connection.close()

    event_reads = [
        node
        for node in _nodes(plan["Plan"])
        if node.get("Relation Name") == "ags_events" and "Scan" in node["Node Type"]
    ]
    assert event_reads, plan
    for node in event_reads:
        read = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
        assert read <= _READ * node["Actual Loops"], node
    # And the events were read: the plan is the one of a real read.
    assert any(node["Actual Rows"] >= 5 for node in event_reads), plan
