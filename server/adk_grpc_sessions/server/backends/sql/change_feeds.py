"""How a server learns what other servers on the same database committed, for its watchers.

- PostgreSQL (``NotificationListener``): one connection per server process
  listens on ``queries.watching.CHANNEL``; every write that changes a
  session notifies inside its transaction, so a notification arrives only
  once its change is committed. A lost connection is opened again with
  backoff, and then every watched session is read again
  (``SessionChanges.resync``): what was notified meanwhile is not missed.
- MySQL/MariaDB (``HeadPoller``): no notifications; the heads (revision,
  close, expiry) of the sessions this server watches are read every
  ``interval`` seconds, all in one statement, and each that moved is told;
  so are the heads of every session of the users it watches (WatchSessions),
  in one more statement, and each session that appeared, moved, closed or
  went is told.
- SQLite: a database file is served by one server process, whose own writes
  tell its watchers (``SqlBackend``); nothing to listen to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Final

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from adk_grpc_sessions.server.backends.base import SessionChanges, SessionEnd, SessionKey
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
        notified = watching.parse_payload(payload)
        if notified is None:
            return
        key, end = notified.key, notified.end
        if notified.created:
            self._changes.created(key)
        elif end is not None and not key.session_id:
            self._changes.ended_for_user(key.app_name, key.user_id, end)  # an erased user
        elif end is not None:
            self._changes.ended(key, end)
        else:
            self._changes.changed(key, notified.revision)


class HeadPoller:
    """MySQL/MariaDB: the watched sessions' heads, read every ``interval`` seconds in one statement."""

    def __init__(self, engine: AsyncEngine, changes: SessionChanges, interval: float) -> None:
        self._engine = engine
        self._changes = changes
        self._interval = interval
        self._seen: dict[SessionKey, tuple[Any, ...]] = {}
        self._users_seen: dict[tuple[str, str], dict[str, tuple[Any, ...]]] = {}
        self._waiting: list[asyncio.Future[None]] = []
        """``next_poll`` callers: told once a poll that began after their call has read storage."""
        self._task: asyncio.Task[None] | None = None
        self.polls = 0
        """Statements run so far (one per interval while any session is watched, one more for users)."""

    async def next_poll(self) -> None:
        """Returns once a poll that began after this call has read storage (what it read is the baseline).

        A watch of a user waits for it before it lists the sessions: every
        change after that poll then shows in a later one, none goes untold.
        """
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        await waiter

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
            waiting, self._waiting = self._waiting, []
            try:
                await self._poll_users()
            except Exception as exc:  # unreachable: the next poll tries again, and tells what moved
                _log.warning("watch polling: cannot read the watched users' sessions (%s)", exc)
                self._waiting += waiting
            else:
                for waiter in waiting:
                    if not waiter.done():
                        waiter.set_result(None)
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

    async def _poll_users(self) -> None:
        """Reads the heads of the watched users' sessions, and tells what appeared, moved, closed or went."""
        users = list(self._changes.watched_users())
        for gone in self._users_seen.keys() - set(users):
            del self._users_seen[gone]
        if not users:
            return
        async with self._engine.connect() as connection:
            rows = (await connection.execute(*watching.select_user_heads(users))).all()
        self.polls += 1
        now: dict[tuple[str, str], dict[str, tuple[Any, ...]]] = {user: {} for user in users}
        for row in rows:
            app_name, user_id, session_id = _names(row[:3])
            now.setdefault((app_name, user_id), {})[session_id] = tuple(row[3:])
        for user, heads in now.items():
            before = self._users_seen.get(user)
            self._users_seen[user] = heads
            if before is not None:  # the first poll of a user is the baseline its watch lists after
                self._tell_user(user, before, heads)

    def _tell_user(
        self, user: tuple[str, str], before: dict[str, tuple[Any, ...]], heads: dict[str, tuple[Any, ...]]
    ) -> None:
        changes = self._changes
        for session_id, head in heads.items():
            key = SessionKey(user[0], user[1], session_id)
            earlier = before.get(session_id)
            # (session_pk, revision, close_time, expire_time, display_name, labels)
            if earlier is None or earlier[0] != head[0]:
                changes.created(key)
            elif earlier[2] is None and head[2] is not None:
                changes.closed(key)
            elif earlier != head:
                changes.changed(key)
        for session_id in before.keys() - heads.keys():
            expire_time = before[session_id][3]
            gone = _expired(expire_time)
            changes.ended(SessionKey(user[0], user[1], session_id), gone)


def _expired(expire_time: Any) -> SessionEnd:
    """How a session that vanished between two polls went: purged once expired, or deleted."""
    if expire_time is not None and float(expire_time) <= time.time():
        return SessionEnd.EXPIRED
    return SessionEnd.DELETED


def _names(values: Any) -> tuple[str, str, str]:
    """A session's names as read (MySQL/MariaDB may return binary keys as bytes)."""
    app_name, user_id, session_id = (v.decode() if isinstance(v, bytes) else str(v) for v in values)
    return app_name, user_id, session_id
