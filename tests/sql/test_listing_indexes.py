"""A filtered, ordered listing reads its page from its order's index: no sort of the sessions, no full scan.

On SQLite and PostgreSQL, 20,000 sessions of 50 users, every seventh labelled
``env=prod``, each with a ``team`` label, analyzed; what each database plans for the statement a
listing runs is read with EXPLAIN.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import Condition, Field, Operator, OrderBy, SessionQuery
from adk_grpc_sessions.server.backends.sql import SqlBackend, schema
from adk_grpc_sessions.server.backends.sql.driver_sql import DriverStatement
from adk_grpc_sessions.server.backends.sql.queries import listing
from tests.sql.conftest import new_database_uri

SESSIONS = 20_000
PROD = Condition(Field.LABEL, Operator.EQ, "prod", "env")
RECENT = Condition(Field.CREATE_TIME, Operator.GE, 5_000.0)
ORDERS = [
    (OrderBy.UPDATE_TIME, False),
    (OrderBy.UPDATE_TIME, True),
    (OrderBy.CREATE_TIME, False),
    (OrderBy.CREATE_TIME, True),
]


def _index(order_by: OrderBy, user_id: str | None) -> str:
    kind = "user" if user_id is not None else "app"
    return f"ix_ags_sessions_{kind}_{'created' if order_by is OrderBy.CREATE_TIME else 'listing'}"


async def _fill(backend: SqlBackend) -> None:
    async with backend.transaction(write=True) as connection:
        await connection.execute(
            sa.insert(schema.sessions),
            [
                {
                    "app_name": "app",
                    "user_id": f"u{i % 50}",
                    "session_id": f"s{i}",
                    "create_time": float(i),
                    "last_update_time": float((i * 7_919) % SESSIONS),
                    "revision": 1,
                    "last_sequence": 0,
                    "labels": None,  # (what reads return; the rows below are what filters use)
                }
                for i in range(SESSIONS)
            ],
        )
        pks = (
            await connection.execute(sa.select(schema.sessions.c.session_pk, schema.sessions.c.session_id))
        ).all()
        await connection.execute(
            sa.insert(schema.session_labels),
            [
                *(
                    {"session_pk": pk, "label_key": "env", "label_value": "prod"}
                    for pk, session_id in pks
                    if int(session_id[1:]) % 7 == 0
                ),
                # Sessions carry other labels too: a scan of every label costs more than the page.
                *({"session_pk": pk, "label_key": "team", "label_value": f"t{pk % 5}"} for pk, _ in pks),
            ],
        )
        await connection.exec_driver_sql("ANALYZE")


@pytest.fixture
async def filled(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Any:
    backend = SqlBackend.from_uri(await new_database_uri(request.param, tmp_path))
    await backend.upgrade_schema()
    await backend.start()
    await _fill(backend)
    yield backend
    await backend.close()


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.parametrize("filled", ["sqlite"], indirect=True)
async def test_sqlite_reads_each_filtered_order_from_its_index_without_sorting(filled: SqlBackend) -> None:
    async with filled.transaction(write=False) as connection:
        for user_id in ("u7", None):
            for order_by, descending in ORDERS:
                for conditions in ((), (PROD,), (PROD, RECENT)):
                    query = SessionQuery(conditions, order_by, descending)
                    # The page's own select (the index walk), out of the statement around it.
                    shape = listing.ListingShape(
                        False,
                        user_id is not None,
                        True,
                        order_by,
                        descending,
                        tuple(map(listing._condition_shape, conditions)),
                    )
                    statement = listing._session_page(shape)
                    _, values = listing.select_session_page(
                        connection.dialect,
                        "app",
                        user_id,
                        (1e9 if descending else -1.0, "", ""),
                        101,
                        2**40,
                        1.0,
                        query,
                    )
                    assert isinstance(values, dict)
                    compiled = DriverStatement(statement, connection.dialect)
                    plan = (
                        await connection.exec_driver_sql(
                            "EXPLAIN QUERY PLAN " + compiled.sql, compiled.parameters(values)
                        )
                    ).all()
                    details = [str(row[-1]) for row in plan]
                    described = " | ".join(details)
                    assert any(
                        d.startswith("SEARCH ags_sessions USING INDEX " + _index(order_by, user_id))
                        for d in details
                    ), described
                    assert "TEMP B-TREE" not in described, described
                    if conditions:
                        # The label is tested by the labels' primary key, session by session.
                        assert any(
                            d.startswith("SEARCH ags_session_labels USING")
                            and ("PRIMARY KEY" in d or "sqlite_autoindex_ags_session_labels_1" in d)
                            for d in details
                        ), described


@pytest.mark.parametrize("filled", ["postgresql"], indirect=True)
async def test_postgresql_reads_each_filtered_order_through_indexes_without_a_full_scan(
    filled: SqlBackend,
) -> None:
    async with filled.transaction(write=False) as connection:
        for user_id in ("u7", None):
            for order_by, descending in ORDERS:
                for conditions in ((), (RECENT,), (PROD,), (PROD, RECENT)):
                    query = SessionQuery(conditions, order_by, descending)
                    statement, values = listing.select_session_page(
                        connection.dialect, "app", user_id, None, 101, 2**40, 1.0, query
                    )
                    assert isinstance(values, dict)
                    compiled = DriverStatement(statement, connection.dialect)  # type: ignore[arg-type]
                    result = await connection.exec_driver_sql(
                        "EXPLAIN (FORMAT JSON) " + compiled.sql, compiled.parameters(values)
                    )
                    plan = result.scalar_one()
                    plan = json.loads(plan) if isinstance(plan, str) else plan
                    nodes = list(_nodes(plan[0]["Plan"]))
                    scans = [
                        n for n in nodes if n.get("Relation Name") in ("ags_sessions", "ags_session_labels")
                    ]
                    assert all(n["Node Type"] != "Seq Scan" for n in scans), (
                        user_id,
                        query,
                        [(n["Node Type"], n.get("Relation Name"), n.get("Index Name")) for n in nodes],
                    )
                    if PROD not in conditions:
                        # Without a label, the page is a range of its order's index, in order.
                        sessions_scans = [n for n in scans if n["Relation Name"] == "ags_sessions"]
                        assert [n.get("Index Name") for n in sessions_scans] == [_index(order_by, user_id)], (
                            plan
                        )
                        assert sessions_scans[0]["Node Type"] in ("Index Scan", "Index Only Scan"), plan
                        assert sessions_scans[0]["Scan Direction"] == (
                            "Backward" if descending else "Forward"
                        ), plan
