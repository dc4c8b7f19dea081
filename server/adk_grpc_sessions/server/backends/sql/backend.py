"""``SqlBackend``: sessions in SQLite, PostgreSQL or MySQL/MariaDB, correct across server replicas.

Every decision that concurrent writers could disagree on is made by the
database inside one transaction: the conditional update of the session's
revision (the claim, see ``appending``), the unique event id per session,
and state upserts. No in-process lock is needed for correctness; on SQLite,
writes of one process queue on an asyncio lock only so that they wait in
the event loop rather than in SQLite's busy-sleep loop.

Appends are stored by group commit (``batching``): concurrent appends share
a transaction, each still all-or-nothing (``appending``). Reads are
``reading``'s functions, each a whole transaction's work; on SQLite both run
in threads of their own (``sqlite_threads``) rather than a driver call at a
time through aiosqlite.

Connections are not pinged before use: a connection the database dropped
fails its transaction before the commit, SQLAlchemy then discards every
pooled connection of that age (and the backend every connection it keeps,
below), and the transaction runs once more on a new one.

Single statements in autocommit (on PostgreSQL: batches of appends, most
reads) run on connections kept open between statements, a few at most,
instead of being checked out of the pool each time: a checkout, its
isolation level and its check-in cost 0.25 ms of CPU per statement
(measured around an empty statement: 260 us, against 10 us on a kept
connection), a sixth of the CPU a batch of 16 appends takes here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Final, Self, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adk_grpc_sessions.server.backends import redact_uri
from adk_grpc_sessions.server.backends.base import (
    DEFAULT_BUDGET,
    DEFAULT_LIMITS,
    AppendResult,
    Backend,
    BackendUnavailableError,
    EventCursor,
    EventWindow,
    NewEvent,
    Page,
    ReadBudget,
    ScopedState,
    SessionCursor,
    SessionExistsError,
    SessionKey,
    SessionRecord,
    StateMap,
    StorageLimits,
    StoredEvent,
)
from adk_grpc_sessions.server.backends.sql import (
    appending,
    dialects,
    reading,
    schema_version,
    sizes,
    statements,
)
from adk_grpc_sessions.server.backends.sql.appending import PendingAppend
from adk_grpc_sessions.server.backends.sql.batching import GroupCommit, Outcome
from adk_grpc_sessions.server.backends.sql.schema import creation_revision
from adk_grpc_sessions.server.backends.sql.sqlite_threads import SqliteThreads

_log = logging.getLogger(__name__)
T = TypeVar("T")

_ATTEMPTS: Final = 5
"""Runs of one transaction that the database aborted as a deadlock or busy before giving up."""
_CHECK_TIMEOUT_SECONDS: Final = 5.0
_BY_POSITION: Final = "the SQL backend pages by position (a keyset), never by storage page token"
_MAX_BATCH: Final = statements.BATCH_LIMIT
"""The most appends stored in one transaction."""
_APPEND_WRITERS: Final = 4
"""Batches of appends in flight at once on a database server (SQLite has a single writer: one)."""
_PARALLEL_BATCH: Final = _MAX_BATCH // 4
"""Appends that must wait before a batch starts while another is in flight (see ``batching``)."""
_SQLITE_READERS: Final = 4
"""Threads (each with a connection) that run SQLite's reads."""
_KEPT_CONNECTIONS: Final = 4
"""Idle connections in autocommit kept open for single statements, at most; the pool keeps the rest."""
_APPEND_TRIES: Final = 5
"""Times an append is stored again after a refusal nothing explains (another server changed a shared
scope of state it sets between its judgement and its storing) before giving up, as unavailable."""


class SqlBackend(Backend):
    """Keeps sessions in a SQL database through SQLAlchemy Core on an async driver."""

    def __init__(self, url: URL) -> None:
        self._url = url
        self._engine: AsyncEngine | None = None
        single_writer = url.get_backend_name() == dialects.SQLITE
        self._write_gate = asyncio.Lock() if single_writer else None
        self._sqlite_writer = (
            SqliteThreads(url, threads=1, begin="IMMEDIATE", name="sqlite-writer")
            if single_writer and appending.claims_together_in_sqlite()
            else None
        )
        self._sqlite_readers = (
            SqliteThreads(url, threads=_SQLITE_READERS, begin="DEFERRED", name="sqlite-reader")
            if single_writer
            else None
        )
        self._kept: list[AsyncConnection] = []
        """Idle connections in autocommit, newest last (``_autocommit_connection``)."""
        self._closing = False
        self._appends: GroupCommit[PendingAppend, AppendResult | None] = GroupCommit(
            self._store_appends,
            keys=appending.group_keys,
            writers=1 if single_writer else _APPEND_WRITERS,
            max_batch=_MAX_BATCH,
            parallel_threshold=_PARALLEL_BATCH,
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
        if self._engine is None:
            self._engine = dialects.create_engine(self._url)
        return self._engine

    @property
    def display_url(self) -> str:
        """The database URL with any password hidden."""
        return redact_uri(self._url.render_as_string(hide_password=False))

    async def upgrade_schema(self) -> str:
        """Migrates the database to the schema this code expects (see ``Backend.upgrade_schema``)."""
        try:
            upgrade = await schema_version.upgrade(self.engine)
        except Exception as exc:
            if dialects.is_unavailable(exc) or dialects.is_retryable(exc):
                raise BackendUnavailableError(self._unavailable_message(exc)) from exc
            raise
        if upgrade.changed:
            before = upgrade.before or "(empty)"
            account = f"database {self.display_url}: schema upgraded from {before} to {upgrade.after}"
            _log.info("%s", account)
            return account
        return f"database {self.display_url}: schema already at {upgrade.after}"

    async def start(self) -> None:
        """Checks the database answers and its schema is the one this code expects.

        Then compiles the statements that store batches of appends.

        Raises:
            BackendUnavailableError: the database cannot be reached.
            RuntimeError: its schema is not at the head revision.
        """
        try:
            current = await schema_version.current_revision(self.engine)
        except Exception as exc:
            if dialects.is_unavailable(exc):
                raise BackendUnavailableError(self._unavailable_message(exc)) from exc
            raise
        head = schema_version.head_revision()
        if current != head:
            raise RuntimeError(
                f"the database {self.display_url} has schema revision {current or '(none)'}, and this "
                f"server needs {head}: run 'adk-grpc-sessions db upgrade --backend URI' "
                "(or start the server without --no-migrate)"
            )
        if self._sqlite_writer is not None:
            await self._sqlite_writer.prepare(appending.compile_statements)
        else:
            appending.compile_statements(self.engine.dialect)
        if self._sqlite_readers is not None:
            await self._sqlite_readers.prepare()

    async def close(self) -> None:
        """Stores the appends already queued, then closes every pooled connection."""
        await self._appends.close()
        self._closing = True
        await self._drop_kept_connections()
        for threads in (self._sqlite_writer, self._sqlite_readers):
            if threads is not None:
                await threads.close()
        if self._engine is not None:
            await self._engine.dispose()

    async def check(self) -> None:
        """Runs ``SELECT 1``; raises ``BackendUnavailableError`` if it fails or takes over 5 s."""

        async def select_one() -> None:
            async with self.engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))

        try:
            async with asyncio.timeout(_CHECK_TIMEOUT_SECONDS):
                try:
                    await select_one()
                except Exception as exc:
                    if not _dropped(exc):
                        raise
                    await select_one()
        except Exception as exc:
            raise BackendUnavailableError(self._unavailable_message(exc)) from exc

    async def create_session(
        self, key: SessionKey, state: ScopedState, now: float, *, limits: StorageLimits = DEFAULT_LIMITS
    ) -> SessionRecord:
        """See ``Backend.create_session``.

        With app or user state, the shared scopes' size rows are locked
        first (as appends lock them), and the state judged against what they
        hold: nothing is written unless every scope has room.
        """
        if state.is_empty() and self.engine.dialect.name == dialects.POSTGRESQL:
            return await self._create_at_once(key, now)

        def create(connection: sa.Connection) -> SessionRecord:
            growth = _judge_create(connection, key, state, limits)
            try:
                inserted = connection.execute(*statements.insert_session(key, now, growth.session))
            except IntegrityError:
                raise SessionExistsError(key) from None
            session_pk = _inserted_key(inserted)
            revision = creation_revision(session_pk)
            connection.execute(*statements.set_revision(session_pk, revision))
            change = statements.StateChange(key.app_name, key.user_id, session_pk, state)
            for upsert in statements.upsert_state(connection.dialect, [change]):
                connection.execute(*upsert)
            for bound in statements.add_to_shared_sizes(*sizes.shared_growths([(key, growth)])):
                connection.execute(*bound)
            merged = connection.execute(
                *statements.select_merged_state(key.app_name, key.user_id, session_pk)
            )
            return SessionRecord(
                key=key,
                state=statements.merged_state_from_rows(merged),
                events=[],
                create_time=now,
                last_update_time=now,
                revision=revision,
            )

        return await self._write(create)

    async def _create_at_once(self, key: SessionKey, now: float) -> SessionRecord:
        """PostgreSQL, a session without state of its own: the create as one statement.

        Three round trips (begin, the statement, commit) instead of five.
        """

        async def create(connection: AsyncConnection) -> tuple[int, ScopedState]:
            try:
                rows = (await connection.execute(*statements.create_at_once(key, now))).all()
            except IntegrityError:
                raise SessionExistsError(key) from None
            return statements.created_from_rows(rows)

        # In a transaction, not in autocommit: a create is not safe to run
        # twice (the second run would call the session taken), and only a
        # transaction tells a statement that failed, and may be run again on
        # a new connection, from a commit that failed and may have landed.
        revision, state = await self._run(create, write=True)
        return SessionRecord(
            key=key, state=state, events=[], create_time=now, last_update_time=now, revision=revision
        )

    async def get_session(
        self, key: SessionKey, window: EventWindow, *, budget: ReadBudget = DEFAULT_BUDGET
    ) -> SessionRecord | None:
        """See ``Backend.get_session``.

        A session larger than ``budget`` is read in a transaction of several
        statements, its events' sizes first.
        """
        if self._sqlite_readers is not None:
            # In process, where three statements cost no round trips: the
            # one-statement read's extra columns cost more (at 1,000 events,
            # 5-6 ms of CPU against 3.3-4.2 ms).
            return await self._read(lambda connection: reading.session(connection, key, window, budget))
        found = await self._read(
            lambda connection: reading.session_at_once(connection, key, window, budget), one_statement=True
        )
        if isinstance(found, reading.FullReadNeeded):
            return await self._read(lambda connection: reading.session(connection, key, window, budget))
        return found

    async def list_sessions(
        self,
        app_name: str,
        user_id: str | None,
        page_size: int,
        after: SessionCursor | None,
        *,
        budget: ReadBudget = DEFAULT_BUDGET,
    ) -> Page[SessionRecord, SessionCursor]:
        """See ``Backend.list_sessions``."""
        if isinstance(after, str):
            raise TypeError(_BY_POSITION)
        return await self._read(
            lambda connection: reading.session_page(connection, app_name, user_id, page_size, after, budget),
            one_statement=True,
        )

    async def delete_session(self, key: SessionKey) -> None:
        """See ``Backend.delete_session``."""

        def delete(connection: sa.Connection) -> None:
            connection.execute(*statements.delete_session(key))

        await self._write(delete)

    async def append_event(
        self,
        key: SessionKey,
        event: NewEvent,
        expected_revision: int,
        *,
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
        append = PendingAppend(key, event, expected_revision, limits)
        for _ in range(_APPEND_TRIES):
            stored = await self._appends.submit(append)
            if stored is not None:
                return stored
            found = await self._read(functools.partial(self._why_refused, append))
            if not isinstance(found, reading.TryAgain):
                return found
            if found.missing_users or found.missing_apps:
                await self._ensure_shared_sizes(found)
        raise BackendUnavailableError(
            f"the state that the append to session {key.session_id!r} sets kept being changed by other "
            "servers while it was stored; try again"
        )

    async def _ensure_shared_sizes(self, missing: reading.TryAgain) -> None:
        """Makes the size rows of shared scopes of state that have none yet."""

        def ensure(connection: sa.Connection) -> None:
            users, apps = missing.missing_users, missing.missing_apps
            for bound in statements.ensure_shared_sizes(connection.dialect, users, apps):
                connection.execute(*bound)

        await self._write(ensure)

    @staticmethod
    def _why_refused(append: PendingAppend, connection: sa.Connection) -> AppendResult | reading.TryAgain:
        return reading.refused_append(
            connection, append.key, append.event, append.expected_revision, append.limits, append.judged
        )

    async def _store_appends(self, batch: list[PendingAppend]) -> list[Outcome[AppendResult | None]]:
        """Stores a batch; the outcome of each append, in order (None: refused).

        Appends under the same limits (every append, from one server) share
        one transaction. A database that cannot be reached fails every
        append of the batch (as unavailable: the callers may retry). Any
        other error is run down to the append that causes it: the batch is
        stored again one append at a time, so one bad append cannot fail the
        others.
        """
        limits = batch[0].limits
        if any(append.limits != limits for append in batch):
            outcomes: list[Outcome[AppendResult | None]] = []
            for append in batch:
                outcomes += await self._store_appends([append])
            return outcomes

        async def store(connection: AsyncConnection) -> list[AppendResult | None]:
            return await appending.store_batch(connection, batch, limits)

        try:
            if self._sqlite_writer is not None:
                return list(
                    await self._run_in_sqlite_thread(
                        self._sqlite_writer,
                        lambda c: appending.store_batch_blocking(c, batch, limits),
                        write=True,
                    )
                )
            return list(
                await self._run(store, write=True, autocommit=appending.single_statement(self.engine.dialect))
            )
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
        after: EventCursor | None,
        *,
        budget: ReadBudget = DEFAULT_BUDGET,
    ) -> Page[StoredEvent, EventCursor]:
        """See ``Backend.list_events``."""
        if isinstance(after, str):
            raise TypeError(_BY_POSITION)
        if self._sqlite_readers is None:  # (on SQLite, statements cost no round trips: see get_session)
            found = await self._read(
                lambda connection: reading.event_page_at_once(
                    connection, key, after_timestamp, page_size, after, budget
                ),
                one_statement=True,
            )
            if not isinstance(found, reading.FullReadNeeded):
                return found
        return await self._read(
            lambda connection: reading.event_page(connection, key, after_timestamp, page_size, after, budget)
        )

    async def get_user_state(self, app_name: str, user_id: str) -> StateMap:
        """See ``Backend.get_user_state``."""
        return await self._read(lambda connection: reading.user_state(connection, app_name, user_id))

    async def get_app_state(self, app_name: str) -> StateMap:
        """See ``Backend.get_app_state``."""
        return await self._read(lambda connection: reading.app_state(connection, app_name))

    async def _read(self, work: Callable[[sa.Connection], T], *, one_statement: bool = False) -> T:
        """Runs ``work`` in a read transaction (one snapshot; see ``transaction``), as ``_run`` runs it.

        On SQLite, whole in a reader thread; elsewhere through the async
        driver, on the event loop. Work that runs ``one_statement`` runs in
        autocommit on PostgreSQL: a statement sees one snapshot by itself,
        and BEGIN and COMMIT would be two more round trips. (Not on
        MySQL/MariaDB, whose drivers turn autocommit on and off by a round
        trip each, before and after, and fail that step on a connection the
        server dropped instead of letting it be replaced.)
        """
        if self._sqlite_readers is not None:
            return await self._run_in_sqlite_thread(self._sqlite_readers, work, write=False)

        async def run_sync(connection: AsyncConnection) -> T:
            return await connection.run_sync(work)

        autocommit = one_statement and self.engine.dialect.name == dialects.POSTGRESQL
        return await self._run(run_sync, write=False, autocommit=autocommit)

    async def _write(self, work: Callable[[sa.Connection], T]) -> T:
        """Runs synchronous ``work`` in a write transaction, as ``_run`` runs it.

        On SQLite, whole in the writer thread: one hand-off to the thread
        instead of one per statement, begin and commit through aiosqlite
        (about ten for a create; one after another, creates went from about
        150/s to 190-240/s). Elsewhere through the async driver, on the
        event loop.
        """
        if self._sqlite_writer is not None:
            return await self._run_in_sqlite_thread(self._sqlite_writer, work, write=True)

        async def run_sync(connection: AsyncConnection) -> T:
            return await connection.run_sync(work)

        return await self._run(run_sync, write=True)

    async def _run(
        self, work: Callable[[AsyncConnection], Awaitable[T]], *, write: bool, autocommit: bool = False
    ) -> T:
        """Runs ``work`` in one transaction, again if the database aborted it as a deadlock.

        With ``autocommit``, ``work`` runs a single statement, which is its
        own transaction (no BEGIN or COMMIT round trips).

        A transaction that failed before its commit because its connection
        was dropped (a database restart, an idle connection cut) runs once
        more at once, on a new connection. One that failed in its commit is
        not run again here: it may have been committed. (In autocommit the
        statement is the commit: such work must be safe to run twice, as a
        batch of appends is, whose second run finds them stored.)

        Raises:
            BackendUnavailableError: the database cannot be reached, or stays busy.
        """

        async def attempt(done: list[T]) -> None:
            if self._write_gate is not None and write:
                async with self._write_gate, self.transaction(write=True) as connection:
                    done.append(await work(connection))
            else:
                async with self.transaction(write=write, autocommit=autocommit) as connection:
                    done.append(await work(connection))

        return await self._retrying(attempt)

    async def _run_in_sqlite_thread(
        self, threads: SqliteThreads, work: Callable[[sa.Connection], T], *, write: bool
    ) -> T:
        """``_run`` for synchronous work, in one of SQLite's ``threads`` (writes queue on the write gate)."""
        assert self._write_gate is not None, "a SQLite backend"
        gate = self._write_gate

        async def attempt(done: list[T]) -> None:
            if write:
                async with gate:
                    await threads.run(work, done)
            else:
                await threads.run(work, done)

        return await self._retrying(attempt)

    async def _retrying(self, attempt: Callable[[list[T]], Awaitable[None]]) -> T:
        """Runs ``attempt`` (a transaction that appends its work's result to a list before committing).

        See ``_run`` for when it runs again.
        """
        rerun_after_drop = True
        tries = 1
        while True:
            done: list[T] = []
            try:
                await attempt(done)
                return done[0]
            except Exception as exc:
                if rerun_after_drop and not done and _dropped(exc):
                    rerun_after_drop = False
                    continue
                if dialects.is_retryable(exc) and tries < _ATTEMPTS:
                    # The database rolled the whole transaction back: nothing of it happened.
                    await asyncio.sleep(random.uniform(0, 0.01 * 2**tries))
                    tries += 1
                    continue
                if dialects.is_unavailable(exc) or dialects.is_retryable(exc):
                    _log.warning("database %s unavailable: %s", self.display_url, exc)
                    raise BackendUnavailableError(self._unavailable_message(exc)) from exc
                raise

    @asynccontextmanager
    async def transaction(self, *, write: bool, autocommit: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction, committed on success and rolled back on error.

        Reads see one snapshot: REPEATABLE READ on PostgreSQL (MySQL's
        default already), SQLite's WAL snapshot. Writes on SQLite take the
        write lock at BEGIN. With ``autocommit`` there is no transaction:
        each statement is its own (for work that is a single statement).
        """
        if autocommit:
            async with self._autocommit_connection() as connection:
                yield connection
            return
        async with self.engine.connect() as connection:
            name = connection.dialect.name
            if name == dialects.SQLITE and write:
                await connection.execution_options(**{dialects.SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            elif name == dialects.POSTGRESQL and not write:
                await connection.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            async with connection.begin():
                yield connection

    @asynccontextmanager
    async def _autocommit_connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection in autocommit: a kept one if one is idle, else a new one from the pool.

        It is kept again afterwards, up to ``_KEPT_CONNECTIONS`` idle, unless
        its work failed: then it goes back to the pool, which resets it (or
        discards it, if it was invalidated). A connection the database
        dropped means the kept ones are likely dropped too (a restart): they
        are all let go, so that the work's rerun gets a new connection.
        """
        if self._kept:
            connection = self._kept.pop()
        else:
            connection = await self.engine.connect()
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            yield connection
        except BaseException as exc:
            await _close_quietly(connection)
            if _dropped(exc):
                await self._drop_kept_connections()
            raise
        if self._closing or len(self._kept) >= _KEPT_CONNECTIONS:
            await connection.close()
        else:
            self._kept.append(connection)

    async def _drop_kept_connections(self) -> None:
        kept, self._kept = self._kept, []
        for connection in kept:
            await _close_quietly(connection)

    def _unavailable_message(self, error: BaseException) -> str:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()
        detail = reason[0][:200] if reason else type(error).__name__
        return f"the {self._url.get_backend_name()} database is not answering ({detail})"


def _judge_create(
    connection: sa.Connection, key: SessionKey, state: ScopedState, limits: StorageLimits
) -> statements.Growth:
    """What a new session's state adds to each scope, judged with the shared scopes' rows locked.

    Raises:
        StateSizeLimitError: a scope would pass ``limits.max_state_bytes`` (nothing is written).
    """
    # Every session's user and app get their state's size rows, so that
    # appends find them (a read first: most exist, and making one locks it).
    present = set(map(tuple, connection.execute(*statements.select_size_rows_of(key.app_name, key.user_id))))
    users = [] if (key.app_name, key.user_id) in present else [(key.app_name, key.user_id)]
    apps = [] if (key.app_name, None) in present else [key.app_name]
    for bound in statements.ensure_shared_sizes(connection.dialect, users, apps):
        connection.execute(*bound)
    wanted = sizes.wanted([(key, state)], existing_sessions=False)
    found = sizes.Sizes()
    for part, locked in statements.lock_shared_sizes(wanted):
        sizes.sizes_from_rows(sizes.locked_rows_as_sizes(part, connection.execute(*locked)), found)
    return sizes.judge(key, state, found, limits, creating=True)


def _inserted_key(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None, "an INSERT of one row has a primary key"
    return int(key[0])


async def _close_quietly(connection: AsyncConnection) -> None:
    """Returns ``connection`` to the pool; one that cannot even be closed is left to the pool to discard."""
    try:
        await connection.close()
    except Exception as exc:  # the connection is already broken; what failed with it is reported
        _log.debug("closing a connection failed: %s", exc)


def _dropped(error: BaseException) -> bool:
    """Whether ``error`` came from a connection the database (or the network) closed."""
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _copy_unavailable(error: BackendUnavailableError) -> BackendUnavailableError:
    """The same error as a new exception, for one caller of a batch (exceptions carry their traceback)."""
    copy = BackendUnavailableError(*error.args)
    copy.__cause__ = error.__cause__
    return copy
