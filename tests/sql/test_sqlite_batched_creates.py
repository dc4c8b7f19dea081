"""SQLite: a batch of creates without state of their own stored in a few statements.

Against the per-create path (``writing.create_session``, several statements
a create): the same outcomes to callers and the same rows in the file, and
a batch runs a handful of statements however many creates it holds.
Statements are counted by SQLite itself (the driver's trace callback), so
those run on the DBAPI cursor count as much as SQLAlchemy's.
"""

from __future__ import annotations

import asyncio
import pathlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    EventWindow,
    Expiry,
    Metadata,
    ScopedState,
    SessionExistsError,
    SessionKey,
    SessionRecord,
)
from adk_grpc_sessions.server.backends.sql import SqlBackend

CALLERS = 32
_WHOLE = EventWindow()

_TABLES = (
    "ags_sessions",
    "ags_app_state",
    "ags_user_state",
    "ags_session_state",
    "ags_app_state_size",
    "ags_user_state_size",
    "ags_session_labels",
)


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement SQLite starts on a connection opened while the test runs."""
    traced: list[str] = []

    def trace(dbapi_connection: Any, record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.set_trace_callback(traced.append)

    sa.event.listen(sa.pool.Pool, "connect", trace)
    yield traced
    sa.event.remove(sa.pool.Pool, "connect", trace)


async def _opened(path: pathlib.Path, *, together: bool) -> SqlBackend:
    backend = SqlBackend.from_uri(f"sqlite:///{path}")
    await backend.upgrade_schema()
    await backend.start()
    # Without: every create of a batch by ``writing.create_session``, the path being compared against.
    backend._creates_together = together
    return backend


@pytest.fixture
async def backends(
    tmp_path: pathlib.Path, statements: list[str]
) -> AsyncIterator[tuple[SqlBackend, SqlBackend]]:
    """A backend storing batches together, and one storing each create on its own, on files of their own."""
    together = await _opened(tmp_path / "together.db", together=True)
    one_by_one = await _opened(tmp_path / "one_by_one.db", together=False)
    yield together, one_by_one
    await together.close()
    await one_by_one.close()


def _requests() -> list[tuple[SessionKey, Expiry, Metadata]]:
    """Creates without state of their own: a name held, one asked twice, various expiries and display names."""
    requests = [
        (SessionKey("app", "u1", "taken"), Expiry(), Metadata()),
        (SessionKey("app", "u1", "twice"), Expiry(), Metadata()),
        (SessionKey("app", "u1", "twice"), Expiry(), Metadata()),
    ]
    for n in range(CALLERS - len(requests)):
        expiry = [Expiry(), Expiry(expire_time=4e9 + n + 0.5), Expiry(expire_time=4e9 + n + 0.25, ttl=1e9)][
            n % 3
        ]
        metadata = Metadata(display_name=f"Session «{n}»" if n % 2 else "")
        requests.append((SessionKey(f"app{n % 2}", f"u{n % 5}", f"s{n}"), expiry, metadata))
    return requests


async def _create_all(backend: SqlBackend) -> list[Any]:
    # Shared state for some of the apps and users, and a held name.
    await backend.create_session(
        SessionKey("app0", "u0", "holder"), ScopedState(app={"a": '"1"'}, user={"b": '{"x": 2}'}), 1.0
    )
    await backend.create_session(SessionKey("app", "u1", "taken"), ScopedState(session={"first": "1"}), 1.0)
    return await asyncio.gather(
        *(
            backend.create_session(key, ScopedState(), 2.5, expiry=expiry, metadata=metadata)
            for key, expiry, metadata in _requests()
        ),
        return_exceptions=True,
    )


def _rows(path: pathlib.Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows; sessions without their key (batches may number them in another order)."""
    with sqlite3.connect(path) as connection:
        tables = {}
        for table in _TABLES:
            cursor = connection.execute(f"SELECT * FROM {table}")  # our own table names
            names = [column[0] for column in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            if table == "ags_sessions":
                for row in rows:
                    assert row["revision"] == 2 * row["session_pk"] + 1, row
                    del row["session_pk"], row["revision"]
            if table == "ags_session_state":
                rows = [{k: v for k, v in row.items() if k != "session_pk"} for row in rows]
            tables[table] = sorted((tuple(sorted(row.items())) for row in rows), key=repr)
    return tables


def _seen(outcome: Any) -> Any:
    """What a caller sees of an outcome, but the revision (numbered by the batches)."""
    if isinstance(outcome, SessionRecord):
        return (outcome.key, outcome.state, outcome.create_time, outcome.expiry, outcome.metadata)
    return type(outcome).__name__


async def test_a_batch_on_sqlite_gives_callers_and_the_file_what_the_per_create_path_does(
    tmp_path: pathlib.Path, backends: tuple[SqlBackend, SqlBackend]
) -> None:
    together, one_by_one = backends
    outcomes = await _create_all(together)
    expected = await _create_all(one_by_one)
    assert [_seen(o) for o in outcomes] == [_seen(o) for o in expected]
    assert isinstance(outcomes[0], SessionExistsError)
    assert sorted(type(o).__name__ for o in outcomes[1:3]) == ["SessionExistsError", "SessionRecord"]
    assert outcomes[3].state == ScopedState(app={"a": '"1"'}, user={"b": '{"x": 2}'})  # app0, u0
    assert _rows(tmp_path / "together.db") == _rows(tmp_path / "one_by_one.db")
    for outcome in outcomes:
        if isinstance(outcome, SessionRecord):
            stored = await together.get_session(outcome.key, _WHOLE)
            assert stored is not None and stored.revision == outcome.revision


async def test_a_batch_of_creates_on_sqlite_runs_a_few_statements_without_savepoints(
    tmp_path: pathlib.Path, backends: tuple[SqlBackend, SqlBackend], statements: list[str]
) -> None:
    together, _ = backends
    await together.create_session(SessionKey("app", "u0", "warm-up"), ScopedState(), 1.0)
    statements.clear()
    created = await asyncio.gather(
        *(
            together.create_session(SessionKey("app", f"u{n % 4}", f"s{n}"), ScopedState(), 2.0)
            for n in range(CALLERS)
        )
    )
    assert all(isinstance(record, SessionRecord) for record in created)
    # Per create: a statement for its insert, its revision, the size rows'
    # read, their inserts, the shared state's read; together: that many per batch.
    assert len(statements) < CALLERS // 2, f"{CALLERS} creates ran {len(statements)} statements: {statements}"
    assert not [s for s in statements if "SAVEPOINT" in s.upper()], statements


async def test_a_lone_create_on_sqlite_is_stored_as_a_batch_of_one(
    backends: tuple[SqlBackend, SqlBackend], statements: list[str]
) -> None:
    together, _ = backends
    await together.create_session(SessionKey("app", "u0", "warm-up"), ScopedState(), 1.0)
    statements.clear()
    record = await together.create_session(SessionKey("app", "u0", "lone"), ScopedState(), 2.0)
    # BEGIN, the user's and the app's size rows, the insert (its revision with it), the shared state, COMMIT.
    assert len(statements) <= 6, statements
    stored = await together.get_session(record.key, _WHOLE)
    assert stored is not None and stored.revision == record.revision
    with pytest.raises(SessionExistsError):
        await together.create_session(SessionKey("app", "u0", "lone"), ScopedState(), 3.0)


async def _create_each(backend: SqlBackend) -> list[Any]:
    """``_create_all``'s creates one after another: each a batch of one."""
    await backend.create_session(
        SessionKey("app0", "u0", "holder"), ScopedState(app={"a": '"1"'}, user={"b": '{"x": 2}'}), 1.0
    )
    await backend.create_session(SessionKey("app", "u1", "taken"), ScopedState(session={"first": "1"}), 1.0)
    outcomes: list[Any] = []
    for key, expiry, metadata in _requests():
        try:
            outcomes.append(
                await backend.create_session(key, ScopedState(), 2.5, expiry=expiry, metadata=metadata)
            )
        except SessionExistsError as refusal:
            outcomes.append(refusal)
    return outcomes


async def test_lone_creates_on_sqlite_give_callers_and_the_file_what_the_per_create_path_does(
    tmp_path: pathlib.Path, backends: tuple[SqlBackend, SqlBackend]
) -> None:
    together, one_by_one = backends

    outcomes = await _create_each(together)

    assert [_seen(o) for o in outcomes] == [_seen(o) for o in await _create_each(one_by_one)]
    assert [type(o).__name__ for o in outcomes[:3]] == [
        "SessionExistsError",
        "SessionRecord",
        "SessionExistsError",
    ]
    assert _rows(tmp_path / "together.db") == _rows(tmp_path / "one_by_one.db")
    for outcome in outcomes:
        if isinstance(outcome, SessionRecord):
            stored = await together.get_session(outcome.key, _WHOLE)
            assert stored is not None and stored.revision == outcome.revision
