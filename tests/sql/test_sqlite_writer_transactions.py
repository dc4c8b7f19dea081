"""SQLite's write transactions in the writer thread: begun and ended on the driver connection.

Whatever the work runs (the driver's own SQL, SQLAlchemy's execution, a
savepoint), the transaction is all or nothing: a work's failure leaves
nothing written, a commit's failure is the caller's to see after the
work's result, and the thread begins its next transaction clean.
"""

from __future__ import annotations

import functools
import pathlib
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.sql.dialects import database_url
from adk_grpc_sessions.server.backends.sql.transactions.sqlite import SqliteThreads


@pytest.fixture
async def writer(tmp_path: pathlib.Path) -> AsyncIterator[SqliteThreads]:
    """A writer thread on a new SQLite file with a table ``items`` and a deferred foreign key to it."""
    threads = SqliteThreads(
        database_url(f"sqlite:///{tmp_path / 'writes.db'}"), threads=1, begin="IMMEDIATE", name="writes-test"
    )

    def create_tables(connection: sa.Connection) -> None:
        _driver(connection).execute("CREATE TABLE items (name TEXT PRIMARY KEY)")
        _driver(connection).execute(
            "CREATE TABLE notes (item TEXT REFERENCES items (name) DEFERRABLE INITIALLY DEFERRED)"
        )

    await threads.run(create_tables, [])
    yield threads
    await threads.close()


def _driver(connection: sa.Connection) -> sa.engine.interfaces.DBAPIConnection:
    driver = connection.connection.dbapi_connection
    assert driver is not None
    return driver


def _insert_on_driver(name: str, connection: sa.Connection) -> str:
    _driver(connection).execute("INSERT INTO items VALUES (?)", (name,))
    return name


async def _items(writer: SqliteThreads) -> list[str]:
    done: list[list[str]] = []
    await writer.run(
        lambda connection: [
            row[0] for row in _driver(connection).execute("SELECT name FROM items ORDER BY name")
        ],
        done,
    )
    return done[0]


async def test_work_on_the_driver_runs_in_the_driver_transaction_alone(writer: SqliteThreads) -> None:
    done: list[tuple[bool, bool]] = []

    await writer.run(
        lambda connection: (connection.in_transaction(), bool(_driver(connection).in_transaction)), done
    )

    assert done == [(False, True)], "begun on the driver, without SQLAlchemy's transaction"


async def test_work_on_the_driver_is_committed(writer: SqliteThreads) -> None:
    await writer.run(lambda connection: _insert_on_driver("a", connection), [])

    assert await _items(writer) == ["a"]


async def test_work_that_raises_leaves_nothing_written(writer: SqliteThreads) -> None:
    def insert_then_fail(connection: sa.Connection) -> None:
        _insert_on_driver("a", connection)
        raise LookupError("after the insert")

    with pytest.raises(LookupError):
        await writer.run(insert_then_fail, [])

    assert await _items(writer) == []


async def test_work_through_sqlalchemy_joins_the_transaction_and_is_committed(writer: SqliteThreads) -> None:
    def insert_through_sqlalchemy(name: str, connection: sa.Connection) -> None:
        _insert_on_driver(f"{name}-driver", connection)
        connection.execute(sa.text("INSERT INTO items VALUES (:name)"), {"name": name})

    for name in ("a", "b"):
        await writer.run(functools.partial(insert_through_sqlalchemy, name), [])

    assert await _items(writer) == ["a", "a-driver", "b", "b-driver"]


async def test_work_through_sqlalchemy_that_raises_leaves_nothing_written(writer: SqliteThreads) -> None:
    def insert_then_fail(connection: sa.Connection) -> None:
        _insert_on_driver("a", connection)
        connection.execute(sa.text("INSERT INTO items VALUES ('b')"))
        raise LookupError("after the inserts")

    with pytest.raises(LookupError):
        await writer.run(insert_then_fail, [])

    assert await _items(writer) == []


async def test_a_savepoint_rolled_back_undoes_only_its_own_writes(writer: SqliteThreads) -> None:
    def insert_undone(connection: sa.Connection) -> None:
        with connection.begin_nested():
            connection.execute(sa.text("INSERT INTO items VALUES ('undone')"))
            raise LookupError("inside the savepoint")

    def insert_with_a_failed_savepoint(connection: sa.Connection) -> None:
        _insert_on_driver("kept", connection)
        with pytest.raises(LookupError):
            insert_undone(connection)

    await writer.run(insert_with_a_failed_savepoint, [])

    assert await _items(writer) == ["kept"]


async def test_a_failed_commit_follows_the_result_and_the_next_transaction_begins_clean(
    writer: SqliteThreads,
) -> None:
    def insert_a_dangling_note(connection: sa.Connection) -> str:
        # The deferred foreign key is checked at COMMIT, which fails.
        _driver(connection).execute("INSERT INTO notes VALUES ('nowhere')")
        return "stored?"

    done: list[str] = []
    with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY"):
        await writer.run(insert_a_dangling_note, done)

    assert done == ["stored?"], "the work's result came before the commit failed"
    await writer.run(lambda connection: _insert_on_driver("next", connection), [])
    assert await _items(writer) == ["next"]
    notes: list[int] = []
    await writer.run(
        lambda connection: _driver(connection).execute("SELECT count(*) FROM notes").fetchone()[0], notes
    )
    assert notes == [0]
