"""Reliability tests run against every storage backend the issue names: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests import databases

# Backends the reliability suite runs on: (id, fixture giving the URI).
BACKENDS = [("memory", "memory_uri"), ("sqlite", "sqlite_uri"), ("postgresql", "postgres_uri")]


@pytest.fixture(scope="session")
def memory_uri() -> str:
    """The in-process memory backend."""
    return "memory://"


@pytest.fixture(scope="session")
def sqlite_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file for the whole run."""
    return f"sqlite:///{tmp_path_factory.mktemp('reliability') / 'sessions.db'}"


@pytest.fixture(scope="session")
def postgres_uri() -> str:
    """A fresh database on the test PostgreSQL server."""
    return databases.create_database_blocking(databases.server_for_tests("postgresql"))


@pytest.fixture(scope="session")
def mariadb_uri() -> str:
    """A fresh database on the test MariaDB server."""
    uri = databases.create_database_blocking(databases.server_for_tests("mariadb"))
    return "mariadb://" + uri.split("://", 1)[1]


@pytest.fixture(params=BACKENDS, ids=[b[0] for b in BACKENDS])
def backend_uri(request: pytest.FixtureRequest) -> str:
    """Each backend's URI in turn (synchronous: see tests/conformance/conftest.py)."""
    uri: str = request.getfixturevalue(request.param[1])
    return uri


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
async def durable_backend_uri(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A fresh, empty database on each durable backend (for tests that restart servers on it)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('durable') / 'sessions.db'}"
    if request.param == "postgresql":
        return await databases.server_for_tests("postgresql").create_database()
    uri = await databases.server_for_tests("mariadb").create_database()
    return "mariadb://" + uri.split("://", 1)[1]
