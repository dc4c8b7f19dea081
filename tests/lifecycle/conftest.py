"""A real server per test, on each backend, with the lifecycle settings the test gives it.

Every case runs against the memory and the SQLite backend (a file of the
test's own), as the conformance suite does, through real gRPC on a real
socket. ``Storage`` reads what the backend holds underneath the API (the
memory backend's dictionaries, the SQLite file's tables), so a test can tell
"invisible" (the API says gone) from "purged" (storage no longer holds it).
"""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pytest

from adk_grpc_sessions.server.backends.memory import MemoryBackend
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer

BACKENDS = ("memory", "sqlite")


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


class SqliteStorage:
    """A SQLite file's tables, read with the standard library (not through the backend)."""

    def __init__(self, path: pathlib.Path) -> None:
        self._path = path

    def _query(self, sql: str, *parameters: str) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self._path)) as connection:
            return connection.execute(sql, parameters).fetchall()

    def rows_of_user(self, app_name: str, user_id: str) -> dict[str, int]:
        of_user = "SELECT session_pk FROM ags_sessions WHERE app_name = ? AND user_id = ?"
        # Rows of no session at all would be the user's leftovers too: counted with theirs.
        orphan = "session_pk NOT IN (SELECT session_pk FROM ags_sessions)"
        count = "SELECT count(*) FROM {} WHERE session_pk IN ({}) OR {}"
        return {
            "sessions": self._query(f"SELECT count(*) FROM ({of_user})", app_name, user_id)[0][0],
            "events": self._query(count.format("ags_events", of_user, orphan), app_name, user_id)[0][0],
            "session_state": self._query(
                count.format("ags_session_state", of_user, orphan), app_name, user_id
            )[0][0],
            "user_state": self._query(
                "SELECT count(*) FROM ags_user_state WHERE app_name = ? AND user_id = ?", app_name, user_id
            )[0][0],
        }

    def session_ids(self, app_name: str, user_id: str) -> set[str]:
        rows = self._query(
            "SELECT session_id FROM ags_sessions WHERE app_name = ? AND user_id = ?", app_name, user_id
        )
        return {row[0] for row in rows}

    def app_state_count(self, app_name: str) -> int:
        count: int = self._query("SELECT count(*) FROM ags_app_state WHERE app_name = ?", app_name)[0][0]
        return count


@dataclass
class Running:
    """A server serving one test, and what its backend stores."""

    address: str
    storage: Storage
    server: SessionServer


Serve = Callable[..., contextlib.AbstractAsyncContextManager[Running]]
"""``serve(**settings)``: a server with those ``ServerConfig`` settings, for the test's backend."""


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    """Which backend the test runs against."""
    kind: str = request.param
    return kind


@pytest.fixture
def serve(backend_kind: str, tmp_path: pathlib.Path) -> Serve:
    """Starts a server on the test's backend with the settings given (the sweeper idle unless asked)."""

    @contextlib.asynccontextmanager
    async def start(**settings: Any) -> AsyncIterator[Running]:
        storage: Storage
        backend: MemoryBackend | None = None
        if backend_kind == "memory":
            backend = MemoryBackend()
            uri, storage = "memory://", MemoryStorage(backend)
        else:
            path = tmp_path / "sessions.db"
            uri, storage = f"sqlite:///{path}", SqliteStorage(path)
        settings.setdefault("purge_interval", 3600.0)  # a test that wants the sweeper says so
        config = ServerConfig(listen=["127.0.0.1:0"], backend=uri, metrics_listen="127.0.0.1:0", **settings)
        server = SessionServer(config, backend=backend)
        await server.start()
        try:
            yield Running(f"127.0.0.1:{server.ports[0]}", storage, server)
        finally:
            await server.stop(0)

    return start


async def eventually(check: Callable[[], Awaitable[bool]], wait: float = 20.0) -> None:
    """Returns once ``await check()`` holds, tried every 50 ms.

    Raises:
        TimeoutError: it did not hold within ``wait`` seconds (generous: the CPU is shared).
    """
    async with asyncio.timeout(wait):
        # Polled: the conditions are the server's state, seen through calls; no event carries them.
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
