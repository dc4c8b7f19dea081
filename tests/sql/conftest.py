"""Fixtures for the SQL backend's tests: a fresh database of each kind, and a backend on it."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import NewEvent, SessionKey
from adk_grpc_sessions.server.backends.sql import SqlBackend, schema, statements
from tests import databases

DATABASE_KINDS = ["sqlite", "postgresql", "mariadb"]


async def new_database_uri(kind: str, tmp_path: pathlib.Path) -> str:
    """The URI of a new, empty database of ``kind`` (skips the test if no such server can be had)."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'sessions.db'}"
    if kind == "postgresql":
        return await databases.server_for_tests("postgresql").create_database()
    # The mariadb:// scheme (SQLAlchemy's MariaDB dialect) here; the conformance
    # suite reaches the same server as mysql://, the way a MySQL user would.
    uri = await databases.server_for_tests("mariadb").create_database()
    return "mariadb://" + uri.split("://", 1)[1]


@pytest.fixture(params=DATABASE_KINDS)
async def database_uri(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    """A new, empty database: a SQLite file, then PostgreSQL, then MariaDB."""
    return await new_database_uri(request.param, tmp_path)


@pytest.fixture
async def backend(database_uri: str) -> AsyncIterator[SqlBackend]:
    """A started ``SqlBackend`` on a new database with the current schema."""
    opened = SqlBackend.from_uri(database_uri)
    await opened.upgrade_schema()
    await opened.start()
    yield opened
    await opened.close()


async def store_as_at_0001(backend: SqlBackend, key: SessionKey, events: list[NewEvent]) -> None:
    """Stores a session and its events as a server of schema revision 0001 did (the database at 0001).

    Created at 1.0, updated at its last event's time; no state, and no
    ``encoded_fields``: the column did not exist yet.
    """
    async with backend.transaction(write=True) as connection:
        inserted = await connection.execute(*statements.insert_session(key, 1.0))
        assert inserted.inserted_primary_key is not None
        session_pk = inserted.inserted_primary_key[0]
        for sequence, event in enumerate(events, start=1):
            row = statements.event_row(session_pk, sequence, event)
            del row["encoded_fields"]
            await connection.execute(sa.insert(schema.events).values(**row))
        last_event_pk = (await connection.execute(*statements.select_last_event_pk(session_pk))).scalar_one()
        revision = schema.event_revision(last_event_pk)
        updated = events[-1].timestamp if events else 1.0
        await connection.execute(*statements.set_imported(session_pk, revision, len(events), updated))
