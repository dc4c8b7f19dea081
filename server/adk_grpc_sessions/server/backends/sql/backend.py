"""``SqlBackend``: sessions in SQLite, PostgreSQL or MySQL/MariaDB, correct across server replicas.

Every decision that concurrent writers could disagree on is made by the
database inside one transaction: the conditional update of the session's
revision (the claim, see ``appends``), the unique event id per session,
and state upserts. No in-process lock is needed for correctness.

This module is the ``Backend`` API and nothing else. What each call does is
one transaction's work (``reading``, ``writing``), which the executor chosen
once at start runs (``transactions``: threads on SQLite, the async engine on
database servers). Appends and creates are stored by group commit
(``batching``): concurrent ones share a transaction, each still
all-or-nothing, appends stored in the way of the database at hand
(``appends``, also chosen once at start), creates each in a savepoint
(``creates``).
Its length (past 400 lines) is the interface's breadth: a short method per
``Backend`` call, each handing one transaction's work to the executor.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Final, Self

from sqlalchemy.engine import URL, Connection, Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adk_grpc_sessions.server.backends.base import (
    ALL_SESSIONS,
    DEFAULT_BUDGET,
    DEFAULT_LIMITS,
    NEVER,
    NO_METADATA,
    AppendResult,
    Backend,
    BackendUnavailableError,
    Cursor,
    EventCacheStats,
    EventWindow,
    Expiry,
    Metadata,
    NewEvent,
    Page,
    PurgeBatch,
    ReadBudget,
    RestoredSession,
    ScopedState,
    SessionEnd,
    SessionExistsError,
    SessionKey,
    SessionQuery,
    SessionRecord,
    SessionUpdate,
    StateMap,
    StorageLimits,
    StoredEvent,
    WatchRead,
)
from adk_grpc_sessions.server.backends.keyset_cursors import (
    name_cursor,
    parse_event_cursor,
    parse_name_cursor,
    parse_session_cursor,
)
from adk_grpc_sessions.server.backends.sql import (
    appends,
    creates,
    dialects,
    reading,
    restoring,
    schema_version,
    transactions,
    writing,
)
from adk_grpc_sessions.server.backends.sql.appends import refusals
from adk_grpc_sessions.server.backends.sql.appends.batch import BATCH_LIMIT, PendingAppend, group_keys
from adk_grpc_sessions.server.backends.sql.batching import GroupCommit, Outcome
from adk_grpc_sessions.server.backends.sql.change_feeds import HeadPoller, NotificationListener
from adk_grpc_sessions.server.backends.sql.creates import CREATE_BATCH_LIMIT, PendingCreate
from adk_grpc_sessions.server.backends.sql.event_cache import EventCache
from adk_grpc_sessions.server.backends.sql.queries import names, watching
from adk_grpc_sessions.server.backends.sql.queries.parts import Bound
from adk_grpc_sessions.server.backends.sql.transactions.server import PostgresqlExecutor

_log = logging.getLogger(__name__)

_PARALLEL_BATCH: Final = BATCH_LIMIT // 4
"""Appends that must wait before a batch starts while another is in flight (see ``batching``)."""
_PARALLEL_CREATES: Final = CREATE_BATCH_LIMIT // 4
"""Creates that must wait before a batch starts while another is in flight."""
_LISTEN_WAIT_SECONDS: Final = 10.0
"""How long a watch's read waits for this server's first LISTEN connection."""
_APPEND_TRIES: Final = 5
"""Times an append is stored again after a refusal nothing explains (another server changed a shared
scope of state it sets between its judgement and its storing) before giving up, as unavailable."""


class SqlBackend(Backend):
    """Keeps sessions in a SQL database through SQLAlchemy Core on an async driver."""

    def __init__(self, url: URL) -> None:
        self._database = transactions.Database(url)
        self._executor = transactions.executor_for(self._database)
        database = url.get_backend_name()
        self._url = url
        # Other servers on the database learn of this one's writes by its notifications.
        self._notifies = database == dialects.POSTGRESQL
        self._change_feed: NotificationListener | HeadPoller | None = None
        self._batches = appends.for_database(database)
        # Where each statement is a round trip, reads try one statement
        # first. In process (SQLite) a read's statements cost no round trips,
        # and the one-statement read's extra columns cost more CPU than they
        # save: there the few small statements run as driver SQL instead.
        self._reads_at_once = self._executor.statements_cost_round_trips
        # In process, fetching a session's rows again is most of a read's cost;
        # elsewhere a read is one statement whose cost is its round trip.
        self._keeps_events = database == dialects.SQLITE
        self._event_cache: EventCache | None = None
        """Made at ``start``, of ``event_cache_bytes`` (where ``_keeps_events``)."""
        # PostgreSQL creates a session without state of its own in one statement.
        self._creates_at_once = database == dialects.POSTGRESQL
        # PostgreSQL and SQLite store a batch's creates without state of
        # their own together, skipping names held: no savepoint per create.
        self._creates_together = database in (dialects.POSTGRESQL, dialects.SQLITE)
        self._appends: GroupCommit[PendingAppend, AppendResult | None] = GroupCommit(
            self._store_appends,
            keys=group_keys,
            writers=self._executor.writers,
            max_batch=BATCH_LIMIT,
            parallel_threshold=_PARALLEL_BATCH,
        )
        self._creates: GroupCommit[PendingCreate, SessionRecord] = GroupCommit(
            self._store_creates,
            keys=creates.group_keys,
            writers=self._executor.writers,
            max_batch=CREATE_BATCH_LIMIT,
            parallel_threshold=_PARALLEL_CREATES,
        )

    @classmethod
    def from_uri(cls, uri: str) -> Self:
        """Accepts ``sqlite:///PATH``, ``postgresql://...``, ``mysql://...``, ``mariadb://...``.

        A URI without a driver gets the async one (aiosqlite, asyncpg, asyncmy).
        """
        return cls(dialects.database_url(uri))

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine (made on first use; connections open lazily)."""
        return self._database.engine

    @property
    def display_url(self) -> str:
        """The database URL with any password hidden."""
        return self._database.display_url

    @property
    def executor(self) -> transactions.Executor:
        """What runs this backend's transactions: for writers of its tables beside the API (imports)."""
        return self._executor

    def transaction(self, *, write: bool) -> AbstractAsyncContextManager[AsyncConnection]:
        """A pooled connection of the async engine in a transaction, to look into the tables."""
        return self._database.transaction(write=write)

    async def upgrade_schema(self) -> str:
        """Migrates the database to the schema this code expects (see ``Backend.upgrade_schema``)."""
        try:
            upgrade = await schema_version.upgrade(self.engine)
        except Exception as exc:
            if dialects.is_unavailable(exc) or dialects.is_retryable(exc):
                raise self._database.unavailable(exc) from exc
            raise
        if upgrade.changed:
            before = upgrade.before or "(empty)"
            account = f"database {self.display_url}: schema upgraded from {before} to {upgrade.after}"
            _log.info("%s", account)
            return account
        return f"database {self.display_url}: schema already at {upgrade.after}"

    async def start(self) -> None:
        """Checks the database answers and its schema is the one this code expects.

        Then compiles the statements that store batches of appends, and the
        reads that run as driver SQL.

        Raises:
            BackendUnavailableError: the database cannot be reached.
            RuntimeError: its schema is not at the head revision.
        """
        try:
            current = await schema_version.current_revision(self.engine)
        except Exception as exc:
            if dialects.is_unavailable(exc):
                raise self._database.unavailable(exc) from exc
            raise
        head = schema_version.head_revision()
        if current != head:
            raise RuntimeError(
                f"the database {self.display_url} has schema revision {current or '(none)'}, and this "
                f"server needs {head}: run 'adk-grpc-sessions db upgrade --backend URI' "
                "(or start the server without --no-migrate)"
            )
        await self._executor.start(self._compile_statements)
        if self._keeps_events and self.event_cache_bytes > 0:
            self._event_cache = EventCache(self.event_cache_bytes)

    def _compile_statements(self, dialect: Dialect) -> None:
        appends.compile_statements(self._batches, dialect)
        reading.compile_statements(dialect)

    @property
    def change_feed(self) -> NotificationListener | HeadPoller | None:
        """What tells this server of other servers' writes (None on SQLite, or until the first watch)."""
        return self._change_feed

    async def follow_changes(self) -> None:
        """See ``Backend.follow_changes``: starts the change feed (``_follow_other_servers``).

        On MySQL/MariaDB it then waits for a poll of the watched users: what that
        poll read is what the next ones are compared with, so a change committed
        after it (while the caller lists, say) is told.

        Raises:
            BackendUnavailableError: no poll could read storage in time.
        """
        await self._follow_other_servers()
        if isinstance(self._change_feed, HeadPoller):
            try:
                await asyncio.wait_for(self._change_feed.next_poll(), _LISTEN_WAIT_SECONDS)
            except TimeoutError:
                raise BackendUnavailableError("cannot poll the watched users' sessions") from None

    async def _follow_other_servers(self) -> None:
        """Starts the change feed at the first watch (a server nobody watches opens no connection for it).

        On PostgreSQL, the first read waits until the server listens: a change
        committed between that read and the LISTEN would otherwise go untold.

        Raises:
            BackendUnavailableError: the listening connection could not be opened in time.
        """
        if self._change_feed is None:
            database = self._url.get_backend_name()
            if database == dialects.POSTGRESQL:
                self._change_feed = NotificationListener(self._url, self.changes)
            elif database in dialects.MYSQL_FAMILY:
                self._change_feed = HeadPoller(self.engine, self.changes, self.watch_poll_interval)
            else:
                return
            self._change_feed.start()
        # Only the first time: later, a lost connection's watchers are read again once it is back.
        if isinstance(self._change_feed, NotificationListener) and not self._change_feed.listened.is_set():
            try:
                await asyncio.wait_for(self._change_feed.listened.wait(), _LISTEN_WAIT_SECONDS)
            except TimeoutError:
                raise BackendUnavailableError("cannot listen for other servers' changes") from None

    async def close(self) -> None:
        """Stores the appends and creates already queued, then closes every connection."""
        if self._change_feed is not None:
            await self._change_feed.close()
        await self._appends.close()
        await self._creates.close()
        await self._executor.close()
        await self._database.dispose()

    async def check(self) -> None:
        """Runs ``SELECT 1``; raises ``BackendUnavailableError`` if it fails or takes over 5 s."""
        await self._database.check()

    async def create_session(
        self,
        key: SessionKey,
        state: ScopedState,
        now: float,
        *,
        expiry: Expiry = NEVER,
        metadata: Metadata = NO_METADATA,
        limits: StorageLimits = DEFAULT_LIMITS,
    ) -> SessionRecord:
        """See ``Backend.create_session`` (and ``writing.create_session``).

        The name is taken as free: only if the database says it is held is
        the create made again, purging the holder first if it has expired.
        So a create costs nothing more for the lifecycle, and never takes a
        lock on a name nobody holds (on MySQL/MariaDB a delete that finds no
        row locks the gap in the index, and concurrent creates of new names
        in that gap would deadlock).
        """
        try:
            record = await self._create(key, state, now, expiry, metadata, limits, clock=None)
        except SessionExistsError:
            record = await self._create(key, state, now, expiry, metadata, limits, clock=self.clock())
        self.changes.created(record.key)
        return record

    async def _create(
        self,
        key: SessionKey,
        state: ScopedState,
        now: float,
        expiry: Expiry,
        metadata: Metadata,
        limits: StorageLimits,
        *,
        clock: float | None,
    ) -> SessionRecord:
        """The create, in the next batch; with ``clock``, a namesake expired by then is purged first, alone.

        Alone, in a transaction of its own: the purge's delete locks the name
        (on MySQL/MariaDB the gap in the index too) until its commit, which in
        a batch would hold up the creates of other batches with it.
        """
        create = PendingCreate(key, state, now, expiry, metadata, limits, clock)
        if clock is not None:
            return await self._executor.write(
                lambda connection: self._told_one_created(
                    connection, creates.create_one(connection, create, at_once=self._creates_at_once)
                )
            )
        return await self._creates.submit(create)

    async def _store_creates(
        self, batch: list[PendingCreate], *, savepoints: bool = False
    ) -> list[Outcome[SessionRecord]]:
        """Stores a batch of creates in one transaction (``creates``); the outcome of each, in order.

        First without savepoints: a batch in which a create is refused is
        stored again with a savepoint per create, so that the refused one
        undoes only itself. A database that cannot be reached fails every
        create of the batch (as unavailable: the callers may retry). Any other
        failure of a batch of several is run down to the create that causes
        it: they are stored again one at a time, so one bad create cannot fail
        the others.
        """
        try:
            if self._creates_at_once and not savepoints:
                stored = await creates.store_on_driver(self._executor, batch, notify=self._notifies)
                if stored is not None:
                    return stored
            return await self._executor.write(
                lambda connection: self._told_created(
                    connection,
                    creates.store_batch(
                        connection,
                        batch,
                        at_once=self._creates_at_once,
                        together=self._creates_together,
                        savepoints=savepoints,
                    ),
                )
            )
        except creates.REFUSALS as refusal:
            if len(batch) == 1:
                return [refusal]
            return await self._store_creates(batch, savepoints=True)
        except BackendUnavailableError as exc:
            return [_copy_unavailable(exc) for _ in batch]
        except Exception as exc:
            if len(batch) == 1:
                return [exc]
            _log.warning("a batch of %d creates failed (%s); storing them one at a time", len(batch), exc)
            outcomes: list[Outcome[SessionRecord]] = []
            for create in batch:
                outcomes += await self._store_creates([create])
            return outcomes

    def _told_created(
        self, connection: Connection, outcomes: list[Outcome[SessionRecord]]
    ) -> list[Outcome[SessionRecord]]:
        """``outcomes``, once (on PostgreSQL) the sessions they created are notified, in one statement."""
        if self._notifies:
            keys = [outcome.key for outcome in outcomes if isinstance(outcome, SessionRecord)]
            if keys:
                connection.execute(*watching.notify_created(keys))
        return outcomes

    def _told_one_created(self, connection: Connection, record: SessionRecord) -> SessionRecord:
        """``record``, once (on PostgreSQL) its creation is notified in its transaction."""
        self._told_created(connection, [record])
        return record

    async def get_session(
        self, key: SessionKey, window: EventWindow, *, budget: ReadBudget = DEFAULT_BUDGET
    ) -> SessionRecord | None:
        """See ``Backend.get_session``.

        A session larger than ``budget`` is read in a transaction of several
        statements, its events' sizes first.
        """
        now = self.clock()
        if isinstance(self._executor, PostgresqlExecutor):
            found = await reading.session_on_driver(self._executor, key, window, budget, now)
            if not isinstance(found, reading.FullReadNeeded):
                return found
        elif self._reads_at_once:
            found = await self._executor.run_one_statement(
                lambda connection: reading.session_at_once(connection, key, window, budget, now), write=False
            )
            if not isinstance(found, reading.FullReadNeeded):
                return found
        return await self._executor.read(
            lambda connection: reading.session(connection, key, window, budget, now, self._event_cache)
        )

    async def list_sessions(
        self,
        app_name: str,
        user_id: str | None,
        page_size: int,
        after: Cursor | None,
        *,
        query: SessionQuery = ALL_SESSIONS,
        budget: ReadBudget = DEFAULT_BUDGET,
    ) -> Page[SessionRecord]:
        """See ``Backend.list_sessions`` (and ``queries.listing``: one statement, by its order's index)."""
        position = None if after is None else parse_session_cursor(after)
        now = self.clock()
        return await self._executor.run_one_statement(
            lambda connection: reading.session_page(
                connection, app_name, user_id, page_size, position, budget, now, query
            ),
            write=False,
        )

    async def list_apps(
        self, page_size: int, after: Cursor | None, *, among: frozenset[str] | None = None
    ) -> Page[str]:
        """See ``Backend.list_apps`` (``queries.names``: one statement, an index probe per name).

        ``among``: each of those names after ``after`` is looked up by its key, in one transaction.
        """
        start = "" if after is None else parse_name_cursor(after)
        now = self.clock()
        if among is not None:
            candidates = sorted(name for name in among if name > start)
            return await self._executor.read(
                lambda connection: _held_names(connection, candidates, page_size, now)
            )
        return await self._executor.run_one_statement(
            lambda connection: _name_page(
                connection, names.select_app_names(connection.dialect, start, page_size + 1, now), page_size
            ),
            write=False,
        )

    async def list_users(self, app_name: str, page_size: int, after: Cursor | None) -> Page[str]:
        """See ``Backend.list_users`` (as ``list_apps``)."""
        start = "" if after is None else parse_name_cursor(after)
        now = self.clock()
        return await self._executor.run_one_statement(
            lambda connection: _name_page(
                connection,
                names.select_user_names(connection.dialect, app_name, start, page_size + 1, now),
                page_size,
            ),
            write=False,
        )

    async def delete_session(self, key: SessionKey) -> None:
        """See ``Backend.delete_session``."""

        def delete(connection: Connection) -> None:
            writing.delete_session(connection, key)
            if self._notifies:
                connection.execute(*watching.notify(key, end=SessionEnd.DELETED))

        await self._executor.write(delete)
        self._forget(key)
        self.changes.ended(key, SessionEnd.DELETED)

    def event_cache_stats(self) -> EventCacheStats | None:
        """See ``Backend.event_cache_stats``: SQLite's, once started (``--event-cache-bytes``)."""
        return self._event_cache.stats() if self._event_cache is not None else None

    def _forget(self, key: SessionKey) -> None:
        """Drops the events this server keeps of a session that is gone (``EventCache``)."""
        if self._event_cache is not None:
            self._event_cache.forget(key)

    async def append_event(
        self,
        key: SessionKey,
        event: NewEvent,
        expected_revision: int,
        *,
        refresh_expiry: bool = False,
        limits: StorageLimits = DEFAULT_LIMITS,
    ) -> AppendResult:
        """See ``Backend.append_event``.

        The append joins the next batch (one transaction) that holds no other
        append of its session, nor of a shared scope of state it changes.
        When the database refuses it (revision changed, event id already
        stored, session gone, a limit passed), nothing of it is written, and
        a read transaction finds out why: the event is there (a retry: its
        original result), or the session is gone, or the caller is stale, or
        a limit. Two concurrent retries of one event thus both succeed, one
        storing it and the other answering ``already_applied``. A refusal
        that nothing explains any more (another server changed a scope it
        sets meanwhile) is stored again.

        Raises:
            BackendUnavailableError: refused ``_APPEND_TRIES`` times over for such changes.
        """
        append = PendingAppend(key, event, expected_revision, limits, refresh_expiry)
        for _ in range(_APPEND_TRIES):
            stored = await self._appends.submit(append)
            if stored is not None:
                if not stored.already_applied:
                    self.changes.appended(key, stored.event, stored.revision)
                    if self._event_cache is not None:
                        self._event_cache.appended(key, stored.event)
                return stored
            # Judged by a clock no earlier than the batch's: a session that
            # expired for the batch is expired for the judgement too.
            found = await self._executor.read(
                functools.partial(
                    refusals.refused_append,
                    key=key,
                    event=event,
                    expected_revision=expected_revision,
                    limits=limits,
                    judged=append.judged,
                    clock=max(self.clock(), append.now),
                )
            )
            if not isinstance(found, refusals.TryAgain):
                return found
            if found.missing_users or found.missing_apps:
                await self._executor.write(
                    functools.partial(
                        writing.ensure_shared_sizes, users=found.missing_users, apps=found.missing_apps
                    )
                )
        raise BackendUnavailableError(
            f"the state that the append to session {key.session_id!r} sets kept being changed by other "
            "servers while it was stored; try again"
        )

    async def _store_appends(self, batch: list[PendingAppend]) -> list[Outcome[AppendResult | None]]:
        """Stores a batch; the outcome of each append, in order (None: refused).

        Appends under the same limits and the same expiry refresh (every
        append, from one server) share one transaction, which judges expiry
        by one clock, read here. A database that cannot be reached fails every
        append of the batch (as unavailable: the callers may retry). Any
        other error is run down to the append that causes it: the batch is
        stored again one append at a time, so one bad append cannot fail the
        others.
        """
        limits, refresh = batch[0].limits, batch[0].refresh_expiry
        if any(append.limits != limits or append.refresh_expiry != refresh for append in batch):
            return await self._store_one_by_one(batch)
        now = self.clock()
        for append in batch:
            append.now = now
        try:
            return list(await self._batches.store(self._executor, batch, limits))
        except BackendUnavailableError as exc:
            return [_copy_unavailable(exc) for _ in batch]
        except IntegrityError:
            if len(batch) > 1:
                return await self._store_one_by_one(batch)
            # A unique key hit after all (the claim said otherwise): refused,
            # and the caller finds out why, as for any refusal.
            return [None]
        except Exception as exc:
            if len(batch) > 1:
                _log.warning("a batch of %d appends failed (%s); storing them one at a time", len(batch), exc)
                return await self._store_one_by_one(batch)
            return [exc]

    async def _store_one_by_one(self, batch: list[PendingAppend]) -> list[Outcome[AppendResult | None]]:
        outcomes: list[Outcome[AppendResult | None]] = []
        for append in batch:
            outcomes += await self._store_appends([append])
        return outcomes

    async def list_events(
        self,
        key: SessionKey,
        after_timestamp: float | None,
        page_size: int,
        after: Cursor | None,
        *,
        budget: ReadBudget = DEFAULT_BUDGET,
    ) -> Page[StoredEvent]:
        """See ``Backend.list_events``."""
        position = None if after is None else parse_event_cursor(after)
        now = self.clock()
        if self._reads_at_once:
            found = await self._executor.run_one_statement(
                lambda connection: reading.event_page_at_once(
                    connection, key, after_timestamp, page_size, position, budget, now
                ),
                write=False,
            )
            if not isinstance(found, reading.FullReadNeeded):
                return found
        return await self._executor.read(
            lambda connection: reading.event_page(
                connection, key, after_timestamp, page_size, position, budget, now, self._event_cache
            )
        )

    async def get_user_state(self, app_name: str, user_id: str) -> StateMap:
        """See ``Backend.get_user_state``."""
        return await self._executor.read(lambda connection: reading.user_state(connection, app_name, user_id))

    async def get_app_state(self, app_name: str) -> StateMap:
        """See ``Backend.get_app_state``."""
        return await self._executor.read(lambda connection: reading.app_state(connection, app_name))

    async def update_session(self, key: SessionKey, update: SessionUpdate) -> SessionRecord:
        """See ``Backend.update_session``."""
        clock = self.clock()
        record = await self._executor.write(
            lambda connection: self._notified(
                connection, key, writing.update_session(connection, key, update, clock)
            )
        )
        self.changes.changed(key)  # a watch of it ends at its new expiry
        return record

    async def fork_session(
        self,
        source: SessionKey,
        session_id: str,
        now: float,
        *,
        before_invocation_id: str = "",
        expiry: Expiry = NEVER,
        metadata: Metadata = NO_METADATA,
    ) -> SessionRecord:
        """See ``Backend.fork_session`` (and ``writing.fork_session``).

        As a create, the new name is taken as free first: only if the
        database says it is held is the fork made again, purging the
        holder first if it has expired.
        """
        target = SessionKey(source.app_name, source.user_id, session_id)

        async def fork(purge_clock: float | None) -> SessionRecord:
            clock = self.clock()
            return await self._executor.write(
                lambda connection: self._told_one_created(
                    connection,
                    writing.fork_session(
                        connection,
                        source,
                        target,
                        now,
                        before_invocation_id,
                        expiry,
                        metadata,
                        clock,
                        purge_clock,
                    ),
                )
            )

        try:
            record = await fork(None)
        except SessionExistsError:
            record = await fork(self.clock())
        self.changes.created(record.key)
        return record

    async def close_session(self, key: SessionKey, now: float, closed_ttl: float | None) -> SessionRecord:
        """See ``Backend.close_session``.

        An append racing the close is ordered by the session's row lock: it
        is stored before the close, or refused as closed after it.
        """
        clock = self.clock()
        record = await self._executor.write(
            lambda connection: self._notified(
                connection, key, writing.close_session(connection, key, now, closed_ttl, clock)
            )
        )
        self.changes.closed(key)
        return record

    def _notified(self, connection: Connection, key: SessionKey, record: SessionRecord) -> SessionRecord:
        """``record``, once (on PostgreSQL) the change of ``key`` is notified in its transaction."""
        if self._notifies:
            connection.execute(*watching.notify(key))
        return record

    async def erase_user(self, app_name: str, user_id: str) -> None:
        """See ``Backend.erase_user``."""
        clock = self.clock()

        def erase(connection: Connection) -> None:
            writing.erase_user(connection, app_name, user_id, clock)
            if self._notifies:
                connection.execute(
                    *watching.notify(SessionKey(app_name, user_id, ""), end=SessionEnd.DELETED)
                )

        await self._executor.write(erase)
        if self._event_cache is not None:
            self._event_cache.forget_user(app_name, user_id)
        # Where the erase is notified, its notification tells this server's watchers of the user too.
        self.changes.ended_for_user(app_name, user_id, SessionEnd.DELETED, users=not self._notifies)

    async def purge_expired(
        self, limit: int, *, app_name: str | None = None, user_id: str | None = None
    ) -> PurgeBatch:
        """See ``Backend.purge_expired`` (and ``writing.purge_expired``)."""
        clock = self.clock()

        def purge(connection: Connection) -> PurgeBatch:
            batch = writing.purge_expired(connection, clock, limit, app_name, user_id)
            if self._notifies and batch.purged:
                connection.execute(*watching.notify_all(batch.purged, SessionEnd.EXPIRED))
            return batch

        batch = await self._executor.write(purge)
        for key in batch.purged:
            self._forget(key)
            self.changes.ended(key, SessionEnd.EXPIRED)
        return batch

    async def read_watched(self, key: SessionKey, after_revision: int, *, budget: ReadBudget) -> WatchRead:
        """See ``Backend.read_watched`` (and ``reading.watched_page``)."""
        await self._follow_other_servers()
        now = self.clock()
        return await self._executor.read(
            lambda connection: reading.watched_page(connection, key, after_revision, budget, now)
        )

    async def read_session_head(self, key: SessionKey) -> RestoredSession | None:
        """See ``Backend.read_session_head`` (``restoring``)."""
        clock = self.clock()
        return await self._executor.read(
            lambda connection: restoring.read_session_head(connection, key, clock)
        )

    async def restore_session(self, session: RestoredSession, events: Sequence[NewEvent] = ()) -> None:
        """See ``Backend.restore_session``: the revision is derived here (``restoring``), not kept.

        Purges an expired namesake only once the name is found held, as a create does.
        """
        try:
            await self._executor.write(
                lambda connection: restoring.restore_session(connection, session, events, None)
            )
        except SessionExistsError:
            clock = self.clock()
            await self._executor.write(
                lambda connection: restoring.restore_session(connection, session, events, clock)
            )

    async def restore_sessions(
        self, sessions: Sequence[tuple[RestoredSession, Sequence[NewEvent]]]
    ) -> list[SessionKey]:
        """See ``Backend.restore_sessions``: one transaction (``restoring.restore_sessions``).

        If another writer takes a name of the batch meanwhile, the batch is written one by one.
        """
        try:
            return await self._executor.write(
                lambda connection: restoring.restore_sessions(connection, sessions)
            )
        except restoring.NamesTakenMeanwhileError:
            return await super().restore_sessions(sessions)

    async def restore_events(self, key: SessionKey, first_sequence: int, events: Sequence[NewEvent]) -> None:
        """See ``Backend.restore_events`` (``restoring``): one transaction."""
        clock = self.clock()
        await self._executor.write(
            lambda connection: restoring.restore_events(connection, key, first_sequence, events, clock)
        )

    async def restore_shared_state(self, app_name: str, user_id: str | None, state: StateMap) -> None:
        """See ``Backend.restore_shared_state`` (``restoring``)."""
        if state:
            await self._executor.write(
                lambda connection: restoring.restore_shared_state(connection, app_name, user_id, state)
            )

    async def count_expired(self) -> int:
        """See ``Backend.count_expired``."""
        clock = self.clock()
        return await self._executor.read(lambda connection: reading.count_expired(connection, clock))

    async def list_expired(self, limit: int) -> list[SessionKey]:
        """See ``Backend.list_expired``."""
        clock = self.clock()
        return await self._executor.read(lambda connection: reading.list_expired(connection, clock, limit))


def _name_page(connection: Connection, bound: Bound, page_size: int) -> Page[str]:
    """The page of names a ``queries.names`` statement selects (one more than a page: do more follow?)."""
    chosen = list(connection.execute(*bound).scalars())
    if len(chosen) > page_size:
        return Page(chosen[:page_size], name_cursor(chosen[page_size - 1]))
    return Page(chosen, None)


def _held_names(connection: Connection, candidates: list[str], page_size: int, now: float) -> Page[str]:
    """The page of ``candidates`` (in order) that hold anything, each looked up by its key."""
    held: list[str] = []
    for name in candidates:
        if connection.execute(*names.app_holds_anything(name, now)).first() is not None:
            if len(held) == page_size:
                return Page(held, name_cursor(held[-1]))
            held.append(name)
    return Page(held, None)


def _copy_unavailable(error: BackendUnavailableError) -> BackendUnavailableError:
    """The same error as a new exception, for one caller of a batch (exceptions carry their traceback)."""
    copy = BackendUnavailableError(*error.args)
    copy.__cause__ = error.__cause__
    return copy
