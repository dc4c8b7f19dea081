"""PostgreSQL finds a page's state through the indexes, whatever its statistics say.

A listing reads the page's sessions and their state in one statement. With a
plain join, PostgreSQL's planner picks a hash join over a full scan of the
state tables when they grew a lot since they were last analyzed (as after a
burst of creates): 73 ms for a page instead of 1 ms at 300,000 state rows.
The statement looks the state up by the page's keys instead; this checks the
plan PostgreSQL makes for it in that very situation.
"""

from __future__ import annotations

import json
import pathlib
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adk_grpc_sessions.server.backends.base import ScopedState, SessionKey
from adk_grpc_sessions.server.backends.sql import SqlBackend
from adk_grpc_sessions.server.backends.sql.driver_sql import DriverStatement
from adk_grpc_sessions.server.backends.sql.queries import listing
from tests.sql.conftest import new_database_uri

_STATE_TABLES = {"ags_session_state", "ags_user_state"}


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


async def _grow(backend: SqlBackend, first: int, last: int) -> None:
    """Sessions s<first>..s<last> of 20,000 users, with four keys of state each, and their users' state."""
    async with backend.transaction(write=True) as connection:
        await connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
        await connection.exec_driver_sql(
            "INSERT INTO ags_sessions (app_name, user_id, session_id, create_time, last_update_time, "
            "revision, last_sequence) "
            f"SELECT 'app', 'u' || (i % 20000), 's' || i, 2.0, 2.0 + i, 1, 0 FROM generate_series({first}, {last}) i"
        )
        await connection.exec_driver_sql(
            "INSERT INTO ags_session_state (session_pk, key_digest, state_key, value) "
            "SELECT session_pk, md5(k::text), '\"k' || k || '\"', '1' "
            "FROM ags_sessions, generate_series(1, 4) k "
            f"WHERE session_id <> 's0' AND last_update_time BETWEEN {2 + first} AND {2 + last}"
        )
        await connection.exec_driver_sql(
            "INSERT INTO ags_user_state (app_name, user_id, key_digest, state_key, value) "
            "SELECT DISTINCT 'app', user_id, md5('k'), '\"k\"', '1' FROM ags_sessions "
            f"WHERE user_id <> 'u0' AND last_update_time BETWEEN {2 + first} AND {2 + last} "
            "ON CONFLICT DO NOTHING"
        )


@pytest.fixture
async def postgresql_backend(tmp_path: pathlib.Path) -> AsyncIterator[SqlBackend]:
    """A started backend on a new PostgreSQL database."""
    backend = SqlBackend.from_uri(await new_database_uri("postgresql", tmp_path))
    await backend.upgrade_schema()
    await backend.start()
    yield backend
    await backend.close()


async def test_a_pages_state_is_found_through_the_indexes_on_tables_not_analyzed(
    postgresql_backend: SqlBackend,
) -> None:
    backend = postgresql_backend
    await backend.create_session(
        SessionKey("app", "u0", "s0"), ScopedState(user={"k": "1"}, session={"k": "1"}), 1.0
    )
    # Statistics taken at 1,000 sessions, then 60 times as many sessions and state rows.
    await _grow(backend, 1, 1_000)
    async with backend.transaction(write=True) as connection:
        await connection.exec_driver_sql("ANALYZE")
    await _grow(backend, 1_001, 60_000)
    async with backend.transaction(write=False) as connection:
        for user_id in (None, "u7"):
            statement, values = listing.select_session_page(
                connection.dialect, "app", user_id, None, 101, 2**40, 1.0
            )
            assert isinstance(values, dict)
            compiled = DriverStatement(statement, connection.dialect)  # type: ignore[arg-type]
            result = await connection.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) " + compiled.sql, compiled.parameters(values)
            )
            plan = result.scalar_one()
            plan = json.loads(plan) if isinstance(plan, str) else plan
            state_scans = [
                node for node in _nodes(plan[0]["Plan"]) if node.get("Relation Name") in _STATE_TABLES
            ]
            # The page itself comes from its listing index, expired sessions filtered out of what it finds.
            index = "ix_ags_sessions_app_listing" if user_id is None else "ix_ags_sessions_user_listing"
            page_scans = [
                node for node in _nodes(plan[0]["Plan"]) if node.get("Relation Name") == "ags_sessions"
            ]
            assert [node.get("Index Name") for node in page_scans] == [index], plan
            assert "expire_time" in page_scans[0].get("Filter", ""), page_scans[0]
            assert {node["Relation Name"] for node in state_scans} == _STATE_TABLES, plan
            for node in state_scans:
                # An index lookup by the page's own keys, not a scan of the table or of the app.
                assert node["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan"), node
                conditions = node.get("Index Cond", "") + "".join(
                    child.get("Index Cond", "") for child in node.get("Plans", [])
                )
                key = "session_pk" if node["Relation Name"] == "ags_session_state" else "user_id"
                assert re.search(rf"\b{key}\)?(::\w+)? = ANY", conditions), node

    # And the listing itself still reads every session's state.
    page = await backend.list_sessions("app", None, 3, None)
    assert [s.key.session_id for s in page.items] == ["s0", "s1", "s2"]
    assert page.items[0].state == ScopedState(user={"k": "1"}, session={"k": "1"})
    assert page.items[1].state == ScopedState(user={"k": "1"}, session={f"k{k}": "1" for k in range(1, 5)})
    assert page.items[2].state.user == {"k": "1"}
