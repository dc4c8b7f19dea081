"""Fixtures for the SQL backend's tests: a fresh database of each kind, and a backend on it."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator

import pytest

from adk_grpc_sessions.server.backends.base import Backend
from adk_grpc_sessions.server.backends.memory import MemoryBackend
from adk_grpc_sessions.server.backends.sql import SqlBackend
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


@pytest.fixture(params=["memory", *DATABASE_KINDS])
async def any_backend(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> AsyncIterator[Backend]:
    """A started backend of each kind that keeps sessions here, on new storage: memory, then each database."""
    opened: Backend
    if request.param == "memory":
        opened = MemoryBackend()
    else:
        opened = SqlBackend.from_uri(await new_database_uri(request.param, tmp_path))
        await opened.upgrade_schema()
    await opened.start()
    yield opened
    await opened.close()
