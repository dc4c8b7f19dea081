"""PostgreSQL stores an append into a long session by reading one event row, not the session's events.

An append is refused when its session holds its event already, which the
statement checks by the event's key, ``(session_pk, event_id)``. On tables
whose statistics make every lookup look alike (a session that grew by
appends since they were last gathered), the planner could look the event up
by the session alone and filter the session's events by id: an append then
costs more the longer its session is. This runs the statement a lone append
is stored with, as a prepared statement is planned both ways (with its
values, and the generic plan a driver's prepared statement settles on), and
checks what it reads of the events table.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from adk_grpc_sessions.server.backends.base import DEFAULT_LIMITS, ScopedState, SessionKey
from adk_grpc_sessions.server.backends.records import NewEvent
from adk_grpc_sessions.server.backends.sql import SqlBackend
from adk_grpc_sessions.server.backends.sql.appends import postgresql
from adk_grpc_sessions.server.backends.sql.appends.batch import PendingAppend
from adk_grpc_sessions.server.backends.sql.driver_sql import driver_statement
from tests.sql.conftest import new_database_uri
from tests.sql.postgresql_plans import analyzed_plan

_EVENTS = 300
"""Events in the session before the append whose plan is read: far more than the one it may read."""


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


@pytest.fixture
async def database_uri(tmp_path: pathlib.Path) -> str:
    """A new PostgreSQL database."""
    return await new_database_uri("postgresql", tmp_path)


@pytest.fixture
async def postgresql_backend(database_uri: str) -> AsyncIterator[SqlBackend]:
    """A started backend on the new PostgreSQL database."""
    backend = SqlBackend.from_uri(database_uri)
    await backend.upgrade_schema()
    await backend.start()
    yield backend
    await backend.close()


@pytest.mark.parametrize("generic", [False, True], ids=["custom plan", "generic plan"])
async def test_an_append_into_a_long_session_reads_one_event_row_at_most(
    postgresql_backend: SqlBackend, database_uri: str, generic: bool
) -> None:
    backend = postgresql_backend
    key = SessionKey("app", "u", "s")
    revision = (await backend.create_session(key, ScopedState(), 1.0)).revision
    for number in range(_EVENTS):
        revision = (await backend.append_event(key, _event(number), revision)).revision

    statement, values = postgresql._bound_batch(
        [PendingAppend(key, _event(_EVENTS), revision, now=2.0)], DEFAULT_LIMITS
    )
    compiled = driver_statement(statement, backend.engine.dialect)
    connection = await asyncpg.connect(
        make_url(database_uri).set(drivername="postgresql").render_as_string(False)
    )
    try:
        plan = await analyzed_plan(connection, compiled.sql, compiled.parameters(values), generic=generic)
    finally:
        await connection.close()

    nodes = list(_nodes(plan["Plan"]))
    event_reads = [
        node for node in nodes if node.get("Relation Name") == "ags_events" and "Scan" in node["Node Type"]
    ]
    assert event_reads, plan
    for node in event_reads:
        assert node["Actual Rows"] + node.get("Rows Removed by Filter", 0) <= 1, node
    # And the append was stored: the plan is the one of a real append.
    assert any(
        node["Node Type"] == "ModifyTable" and node["Actual Rows"] == 1
        for node in nodes
        if node.get("Relation Name") == "ags_sessions"
    ), plan
