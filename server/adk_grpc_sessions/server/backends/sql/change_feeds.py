"""How a server learns what other servers on the same database committed, for its watchers.

- PostgreSQL (``NotificationListener``): one connection per server process
  listens on ``queries.watching.CHANNEL``; every write that changes a
  session notifies inside its transaction, so a notification arrives only
  once its change is committed. A lost connection is opened again with
  backoff, and then every watched session is read again
  (``SessionChanges.resync``): what was notified meanwhile is not missed.
- MySQL/MariaDB (``HeadPoller``): no notifications; the heads (revision,
  close, expiry) of the sessions this server watches are read every
  ``interval`` seconds, all in one statement, and each that moved is told.
- SQLite: a database file is served by one server process, whose own writes
  tell its watchers (``SqlBackend``); nothing to listen to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Final

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from adk_grpc_sessions.server.backends.base import SessionChanges, SessionKey
from adk_grpc_sessions.server.backends.sql.queries import watching

_log = logging.getLogger(__name__)

_RECONNECT_FIRST_SECONDS: Final = 0.1
_RECONNECT_MOST_SECONDS: Final = 5.0


class NotificationListener:
    """PostgreSQL: one LISTEN connection (asyncpg, outside the pool), reopened when it is lost."""

    def __init__(self, url: URL, changes: SessionChanges) -> None:
        # asyncpg's own DSN: the URL without SQLAlchemy's driver name.
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._changes = changes
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.connection: Any = None
        """The listening asyncpg connection while it is open (tests terminate its backend)."""
        self.connected = asyncio.Event()
        """Set while listening."""
        self.listened = asyncio.Event()
        """Set once it has listened (and stays set)."""

    def start(self) -> None:
        """Starts listening in the background (reconnecting until ``close``)."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stops listening and closes the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._disconnect()

    async def _run(self) -> None:
        import asyncpg  # the postgres extra's driver

        delay = _RECONNECT_FIRST_SECONDS
        first = True
        while True:
            try:
                self._lost.clear()
                connection = await asyncpg.connect(self._dsn)
                connection.add_termination_listener(lambda _: self._lost.set())
                await connection.add_listener(watching.CHANNEL, self._notified)
                self.connection = connection
            except Exception as exc:  # unreachable, or refused: try again, as the pool's users do
                _log.warning("watch notifications: cannot listen (%s); again in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RECONNECT_MOST_SECONDS)
                continue
            delay = _RECONNECT_FIRST_SECONDS
            self.connected.set()
            self.listened.set()
            if not first:
                _log.info("watch notifications: listening again; every watched session is read again")
                # Anything committed while nobody listened was not notified here: read it all.
                self._changes.resync()
            first = False
            await self._lost.wait()
            self.connected.clear()
            _log.warning("watch notifications: the listening connection was lost")
            await self._disconnect()

    async def _disconnect(self) -> None:
        connection, self.connection = self.connection, None
        self.connected.clear()
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)

    def _notified(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        parsed = watching.parse_payload(payload)
        if parsed is None:
            return
        key, revision, end = parsed
        if end is not None and not key.session_id:
            self._changes.ended_for_user(key.app_name, key.user_id, end)  # an erased user
        elif end is not None:
            self._changes.ended(key, end)
        else:
            self._changes.changed(key, revision)


class HeadPoller:
    """MySQL/MariaDB: the watched sessions' heads, read every ``interval`` seconds in one statement."""

    def __init__(self, engine: AsyncEngine, changes: SessionChanges, interval: float) -> None:
        self._engine = engine
        self._changes = changes
        self._interval = interval
        self._seen: dict[SessionKey, tuple[Any, ...]] = {}
        self._task: asyncio.Task[None] | None = None
        self.polls = 0
        """Statements run so far (one per interval while anything is watched)."""

    def start(self) -> None:
        """Starts polling in the background (until ``close``)."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stops polling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            keys = list(self._changes.watched())
            for gone in self._seen.keys() - set(keys):
                del self._seen[gone]
            if not keys:
                continue
            try:
                async with self._engine.connect() as connection:
                    rows = (await connection.execute(*watching.select_heads(keys))).all()
                self.polls += 1
            except Exception as exc:  # unreachable: the next poll tries again, and tells what moved
                _log.warning("watch polling: cannot read the watched sessions (%s)", exc)
                continue
            found = {SessionKey(*_names(row[:3])): tuple(row[3:]) for row in rows}
            for key in keys:
                head = found.get(key)
                before = self._seen.get(key)
                self._seen[key] = head if head is not None else ()
                # First seen too: it may have moved between its watch's first read and this poll.
                # No revision given: a close or an expiry moves no revision, yet must be read.
                if before != self._seen[key]:
                    self._changes.changed(key)


def _names(values: Any) -> tuple[str, str, str]:
    """A session's names as read (MySQL/MariaDB may return binary keys as bytes)."""
    app_name, user_id, session_id = (v.decode() if isinstance(v, bytes) else str(v) for v in values)
    return app_name, user_id, session_id
