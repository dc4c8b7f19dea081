"""A real server per test, on each backend, with the lifecycle settings the test gives it.

Every case runs against every backend, as the conformance suite does, through
real gRPC on a real socket: memory, a SQLite file of the test's own, a fresh
database on a real PostgreSQL and MariaDB server (``tests/databases.py``;
``ADK_GRPC_SESSIONS_TEST_REQUIRE_DATABASES=1`` makes a missing server a
failure), and Vertex AI Agent Engine (``agentengine://``, a reasoning engine of
the test's own on the stand-in, through the real google-cloud-aiplatform
client). ``Storage`` reads what the backend holds underneath the API (the
memory backend's dictionaries, the tables, the stand-in's sessions), so a test
can tell "invisible" (the API says gone) from "purged" (storage no longer holds
it).

Where Agent Engine cannot do what a case needs, the case is a strict xfail on
``vertex`` with its reason (``VERTEX_DIVERGENCES``, the same differences as
docs/backends.md's difference 9): fixing the backend forces the entry's removal.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import pathlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

import pytest
import sqlalchemy as sa
from google.adk.errors import StaleSessionError

from adk_grpc_sessions.client import SessionServiceError
from adk_grpc_sessions.server.backends.event_json import APP_PREFIX, USER_PREFIX
from adk_grpc_sessions.server.backends.memory import MemoryBackend
from adk_grpc_sessions.server.backends.sql import SqlBackend
from adk_grpc_sessions.server.backends.vertex import mapping
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from tests.conformance.conftest import Divergence
from tests.sql.conftest import new_database_uri
from tests.vertex_standin.server import serving
from tests.vertex_standin.service import SessionServiceStandIn

BACKENDS: Final = ("memory", "sqlite", "postgresql", "mariadb", "vertex")
_ENGINES = itertools.count(1)


class Storage(Protocol):
    """What a backend holds of one user of an app, counted underneath the API."""

    def rows_of_user(self, app_name: str, user_id: str) -> dict[str, int]:
        """Sessions, events, session-state keys and user-state keys stored for the user."""

    def session_ids(self, app_name: str, user_id: str) -> set[str]:
        """Ids of the user's stored sessions, expired or not."""

    def app_state_count(self, app_name: str) -> int:
        """Keys of the app's stored state."""


class MemoryStorage:
    """A memory backend's dictionaries."""

    def __init__(self, backend: MemoryBackend) -> None:
        self._backend = backend

    def _sessions(self, app_name: str, user_id: str) -> list[Any]:
        return [
            s for k, s in self._backend._sessions.items() if (k.app_name, k.user_id) == (app_name, user_id)
        ]

    def rows_of_user(self, app_name: str, user_id: str) -> dict[str, int]:
        sessions = self._sessions(app_name, user_id)
        return {
            "sessions": len(sessions),
            "events": sum(len(s.events) for s in sessions),
            "session_state": sum(len(s.state) for s in sessions),
            "user_state": len(self._backend._user_state.get((app_name, user_id), {})),
        }

    def session_ids(self, app_name: str, user_id: str) -> set[str]:
        return {s.key.session_id for s in self._sessions(app_name, user_id)}

    def app_state_count(self, app_name: str) -> int:
        return len(self._backend._app_state.get(app_name, {}))


_OF_USER: Final = "SELECT session_pk FROM ags_sessions WHERE app_name = :app AND user_id = :user"
# Rows of no session at all would be the user's leftovers too: counted with theirs.
_ORPHAN: Final = "session_pk NOT IN (SELECT session_pk FROM ags_sessions)"
_COUNT: Final = "SELECT count(*) FROM {} WHERE session_pk IN (" + _OF_USER + ") OR " + _ORPHAN


class SqlStorage:
    """The SQL backend's tables, read directly (not through the backend's queries)."""

    def _query(self, sql: str, **parameters: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _count(self, sql: str, **parameters: str) -> int:
        return int(self._query(sql, **parameters)[0][0])

    def rows_of_user(self, app_name: str, user_id: str) -> dict[str, int]:
        of = {"app": app_name, "user": user_id}
        return {
            "sessions": self._count(f"SELECT count(*) FROM ({_OF_USER}) AS s", **of),
            "events": self._count(_COUNT.format("ags_events"), **of),
            "session_state": self._count(_COUNT.format("ags_session_state"), **of),
            "user_state": self._count(
                "SELECT count(*) FROM ags_user_state WHERE app_name = :app AND user_id = :user", **of
            ),
        }

    def session_ids(self, app_name: str, user_id: str) -> set[str]:
        rows = self._query(
            "SELECT session_id FROM ags_sessions WHERE app_name = :app AND user_id = :user",
            app=app_name,
            user=user_id,
        )
        # MySQL/MariaDB keep keys as binary (exact comparison): read back as bytes there.
        return {row[0].decode() if isinstance(row[0], bytes) else row[0] for row in rows}

    def app_state_count(self, app_name: str) -> int:
        return self._count("SELECT count(*) FROM ags_app_state WHERE app_name = :app", app=app_name)


class SqliteStorage(SqlStorage):
    """A SQLite file's tables, read with the standard library."""

    def __init__(self, path: pathlib.Path) -> None:
        self._path = path

    def _query(self, sql: str, **parameters: str) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self._path)) as connection:
            return connection.execute(sql, parameters).fetchall()


class ServerDatabaseStorage(SqlStorage):
    """A PostgreSQL or MariaDB database's tables, read on a connection of their own.

    Each read runs on a thread with an event loop of its own, so a test can
    read storage synchronously while the server it tests runs on the test's
    loop (plain reads take no row locks on either database: nothing waits for
    the server).
    """

    def __init__(self, uri: str) -> None:
        self._uri = uri

    def _query(self, sql: str, **parameters: str) -> list[tuple[Any, ...]]:
        async def run() -> list[tuple[Any, ...]]:
            backend = SqlBackend.from_uri(self._uri)
            try:
                async with backend.transaction(write=False) as connection:
                    return [tuple(row) for row in (await connection.execute(sa.text(sql), parameters)).all()]
            finally:
                await backend.close()

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, run()).result(timeout=60)


class VertexStorage:
    """The stand-in's sessions of one reasoning engine: what Agent Engine would hold.

    Agent Engine keeps app: and user: keys in each session's own state
    (difference 1), so the user's state is the user: keys left in their sessions.
    """

    def __init__(self, standin: SessionServiceStandIn, engine: str) -> None:
        self._standin = standin
        self._engine = engine

    def _sessions(self, app_name: str, user_id: str | None) -> list[Any]:
        return [
            stored
            for name, stored in self._standin.sessions.items()
            if name.startswith(self._engine + "/")
            and user_id in (None, stored.session.user_id)
            and stored.session.labels.get(mapping.APP_LABEL) == mapping.app_label(app_name)
        ]

    def rows_of_user(self, app_name: str, user_id: str) -> dict[str, int]:
        sessions = self._sessions(app_name, user_id)
        keys = [key for s in sessions for key in s.session.session_state.fields]
        return {
            "sessions": len(sessions),
            "events": sum(len(s.events) for s in sessions),
            "session_state": sum(not key.startswith((APP_PREFIX, USER_PREFIX)) for key in keys),
            "user_state": len({key for key in keys if key.startswith(USER_PREFIX)}),
        }

    def session_ids(self, app_name: str, user_id: str) -> set[str]:
        return {mapping.session_id_of(s.session.name) for s in self._sessions(app_name, user_id)}

    def app_state_count(self, app_name: str) -> int:
        return len(
            {
                key
                for s in self._sessions(app_name, None)
                for key in s.session.session_state.fields
                if key.startswith(APP_PREFIX)
            }
        )


_VERTEX_MIN_TTL = (
    "Vertex AI Agent Engine's least ttl is 24 hours (an expire_time at least 24 hours after creation): "
    "the short expiry this case waits out is INVALID_ARGUMENT there"
)
_VERTEX_ALWAYS_EXPIRES = (
    "Vertex AI Agent Engine gives every session an expire_time (its default when none is given), "
    "and it cannot be removed: the session reports it, and UpdateSession refuses to remove it"
)
_VERTEX_UPDATE_MOVES_REVISION = (
    "Vertex AI Agent Engine's UpdateSession moves the session's update_time, which is its revision "
    "(difference 5): a session read before an expiry update is out of date after it"
)
_VERTEX_NO_CLOSE = "Vertex AI Agent Engine has no closed sessions: CloseSession is NOT_SUPPORTED_BY_BACKEND"
_VERTEX_NO_ERASE = (
    "Vertex AI Agent Engine cannot hide all of a user's sessions at once (no transactions, no expire_time "
    "sooner than 24 hours after creation): EraseUser is NOT_SUPPORTED_BY_BACKEND"
)
_VERTEX_NO_PURGE = (
    "Vertex AI Agent Engine deletes expired sessions itself, and not before 24 hours: this server's "
    "sweeper purges nothing there"
)
VERTEX_DIVERGENCES: Final[dict[str, Divergence]] = {
    # Expiry shorter than Agent Engine's minimum.
    "test_an_expired_session_is_gone_for_every_call_before_it_is_purged": Divergence(
        _VERTEX_MIN_TTL, ValueError
    ),
    "test_a_session_created_with_expire_time_reports_it_and_expires_then": Divergence(
        _VERTEX_MIN_TTL, ValueError
    ),
    "test_the_server_default_ttl_applies_to_sessions_created_without_one": Divergence(
        _VERTEX_MIN_TTL, ValueError
    ),
    "test_sliding_ttl_keeps_a_session_in_use_and_expires_it_once_idle": Divergence(
        _VERTEX_MIN_TTL, ValueError
    ),
    "test_the_server_default_ttl_slides_too": Divergence(_VERTEX_MIN_TTL, ValueError),
    "test_update_session_can_expire_a_session_soon": Divergence(_VERTEX_MIN_TTL, ValueError),
    "test_an_expired_session_s_id_can_be_taken_by_a_new_session_with_new_revisions": Divergence(
        _VERTEX_MIN_TTL, ValueError
    ),
    "test_an_idle_sweeper_leaves_expired_sessions_in_storage": Divergence(_VERTEX_MIN_TTL, ValueError),
    "test_the_sweeper_purges_expired_sessions_in_batches_and_keeps_user_and_app_state": Divergence(
        f"{_VERTEX_MIN_TTL}; {_VERTEX_NO_PURGE}", ValueError
    ),
    # Every Agent Engine session expires.
    "test_a_session_created_without_expiry_never_expires_by_default": Divergence(
        _VERTEX_ALWAYS_EXPIRES, AssertionError
    ),
    "test_update_session_removes_an_expiry": Divergence(_VERTEX_ALWAYS_EXPIRES, SessionServiceError),
    "test_update_session_sets_an_expiry_without_changing_the_revision": Divergence(
        _VERTEX_UPDATE_MOVES_REVISION, StaleSessionError
    ),
    # No close, no erase.
    "test_a_closed_session_refuses_appends_and_keeps_reads": Divergence(
        _VERTEX_NO_CLOSE, SessionServiceError
    ),
    "test_a_closed_session_answers_failed_precondition_session_closed_in_a_batch": Divergence(
        _VERTEX_NO_CLOSE, SessionServiceError
    ),
    "test_closing_twice_keeps_the_first_close_time_and_changes_no_revision": Divergence(
        _VERTEX_NO_CLOSE, SessionServiceError
    ),
    "test_a_retry_of_an_append_stored_before_the_close_is_answered_as_applied": Divergence(
        _VERTEX_NO_CLOSE, SessionServiceError
    ),
    "test_closed_session_ttl_bounds_a_closed_session_s_life": Divergence(
        _VERTEX_NO_CLOSE, SessionServiceError
    ),
    "test_erase_user_leaves_nothing_of_the_user_and_touches_nobody_else": Divergence(
        _VERTEX_NO_ERASE, SessionServiceError
    ),
    "test_erasing_a_user_again_or_one_with_nothing_stored_is_harmless": Divergence(
        _VERTEX_NO_ERASE, SessionServiceError
    ),
    "test_a_user_s_sessions_created_after_the_erase_are_new": Divergence(
        _VERTEX_NO_ERASE, SessionServiceError
    ),
}
"""Test function name -> why Agent Engine fails that case, and the exception it fails with."""


@dataclass
class Running:
    """A server serving one test, and what its backend stores."""

    address: str
    storage: Storage
    server: SessionServer


Serve = Callable[..., contextlib.AbstractAsyncContextManager[Running]]
"""``serve(**settings)``: a server with those ``ServerConfig`` settings, for the test's backend."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Runs each case on every backend, or on those its module's ``BACKENDS_HERE`` names."""
    if "backend_kind" in metafunc.fixturenames:
        kinds = getattr(metafunc.module, "BACKENDS_HERE", BACKENDS)
        metafunc.parametrize("backend_kind", kinds, indirect=True)


@pytest.fixture
def backend_kind(request: pytest.FixtureRequest) -> str:
    """Which backend the test runs against (on vertex, with its recorded divergence as a strict xfail)."""
    kind: str = request.param
    divergence = VERTEX_DIVERGENCES.get(request.node.originalname) if kind == "vertex" else None
    if divergence is not None:
        request.node.add_marker(
            pytest.mark.xfail(strict=True, reason=divergence.reason, raises=divergence.raises)
        )
    return kind


@pytest.fixture
async def serve(backend_kind: str, tmp_path: pathlib.Path) -> AsyncIterator[Serve]:
    """Starts a server on the test's backend with the settings given (the sweeper idle unless asked)."""
    async with contextlib.AsyncExitStack() as stack:

        async def backend_of(kind: str) -> tuple[str, Storage, MemoryBackend | None]:
            if kind == "memory":
                backend = MemoryBackend()
                return "memory://", MemoryStorage(backend), backend
            if kind == "sqlite":
                path = tmp_path / "sessions.db"
                return f"sqlite:///{path}", SqliteStorage(path), None
            if kind == "vertex":
                standin = SessionServiceStandIn([], operation_polls=0)
                address = await stack.enter_async_context(serving(standin))
                engine = f"projects/lifecycle/locations/us-central1/reasoningEngines/{next(_ENGINES)}"
                standin.engines.add(engine)
                uri = f"agentengine://{engine}?endpoint={address}&plaintext=true&timeout=20&operation_timeout=20"
                return uri, VertexStorage(standin, engine), None
            uri = await new_database_uri(kind, tmp_path)
            return uri, ServerDatabaseStorage(uri), None

        @contextlib.asynccontextmanager
        async def start(**settings: Any) -> AsyncIterator[Running]:
            uri, storage, backend = await backend_of(backend_kind)
            settings.setdefault("purge_interval", 3600.0)  # a test that wants the sweeper says so
            config = ServerConfig(
                listen=["127.0.0.1:0"], backend=uri, metrics_listen="127.0.0.1:0", **settings
            )
            server = SessionServer(config, backend=backend)
            await server.start()
            try:
                yield Running(f"127.0.0.1:{server.ports[0]}", storage, server)
            finally:
                await server.stop(0)

        yield start


async def eventually(check: Callable[[], Awaitable[bool]], wait: float = 20.0) -> None:
    """Returns once ``await check()`` holds, tried every 50 ms.

    Raises:
        TimeoutError: it did not hold within ``wait`` seconds (generous: the CPU is shared).
    """
    async with asyncio.timeout(wait):
        # Polled: the conditions are the server's state, seen through calls; no event carries them.
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
