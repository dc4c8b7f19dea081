"""The executors of database servers: transactions through the async driver's pooled engine.

Work is synchronous (one function serves every database); it runs through
``AsyncConnection.run_sync``, on the event loop, each driver call awaited
as the async driver makes it. On PostgreSQL, the hottest statements (a
batch of appends, a lone create, a session's read) go to the driver itself
instead (``PostgresqlExecutor.fetch``, ``select`` and ``fetch_once``).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeDecorator

from adk_grpc_sessions.server.backends.sql import driver_sql
from adk_grpc_sessions.server.backends.sql.transactions.database import Database, close_quietly, dropped
from adk_grpc_sessions.server.backends.sql.transactions.retrying import retrying

_log = logging.getLogger(__name__)
T = TypeVar("T")
ResultProcessor = Callable[[Any], Any]

_WRITERS: Final = 4
"""Write transactions in flight at once: a database server runs them side by side."""
_KEPT_CONNECTIONS: Final = 4
"""Idle connections in autocommit kept open for single statements, at most; the pool keeps the rest."""
PLAN_LIFETIME_SECONDS: Final = 60.0
"""How long a connection keeps its statements' plans before PostgreSQL makes them again (``DISCARD PLANS``).

A connection prepares each statement once, and PostgreSQL settles on one
generic plan for it, as it does for the foreign key checks an insert makes,
made for the tables as they were then: on a new database's one-page tables,
where reading a whole table or any index looks as cheap as the right index.
It keeps such a plan until the tables' statistics change, so an append
could go on finding its session through every session of its app, and
checking its key by reading every session. Plans made again fit the tables
as they are; it costs a round trip and a planning of each statement used,
once per lifetime and connection.
"""


class ServerExecutor:
    """Runs transactions on pooled connections of the async engine (MySQL/MariaDB, and PostgreSQL's base)."""

    statements_cost_round_trips = True
    writers = _WRITERS

    def __init__(self, database: Database) -> None:
        self._database = database

    async def start(self, compile_statements: Callable[[sa.Dialect], None]) -> None:
        """Compiles ``compile_statements``'s statements for the engine's dialect (connected by then)."""
        compile_statements(self._database.engine.dialect)

    async def read(self, work: Callable[[sa.Connection], T]) -> T:
        """Runs ``work`` in a read transaction (one snapshot: see ``Database.transaction``)."""
        return await self._run(work, write=False)

    async def write(self, work: Callable[[sa.Connection], T]) -> T:
        """Runs ``work`` in a write transaction."""
        return await self._run(work, write=True)

    async def run_one_statement(self, work: Callable[[sa.Connection], T], *, write: bool) -> T:
        """As ``read`` or ``write``, in a transaction.

        Not in autocommit: MySQL/MariaDB's drivers turn autocommit on and off
        by a round trip each, before and after, and fail that step on a
        connection the server dropped instead of letting it be replaced.
        """
        return await self._run(work, write=write)

    async def close(self) -> None:
        """Nothing of its own to close: the engine's pool is the database's."""

    async def _run(self, work: Callable[[sa.Connection], T], *, write: bool) -> T:
        async def attempt(done: list[T]) -> None:
            async with self._database.transaction(write=write) as connection:
                done.append(await connection.run_sync(work))

        return await retrying(attempt, self._database)


class PostgresqlExecutor(ServerExecutor):
    """``ServerExecutor`` whose single statements run in autocommit, on connections kept open between them.

    A statement in autocommit is its own transaction: no BEGIN and COMMIT
    round trips, and it sees one snapshot by itself. A connection checked out
    of the pool for each statement would cost its checkout, its isolation
    level and its check-in, more CPU than a small statement's own; so up to
    ``_KEPT_CONNECTIONS`` idle connections in autocommit are kept open
    instead, and the pool keeps the rest for transactions.
    """

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        # Transactions run through SQLAlchemy's pool, whose connections prepare their statements
        # too: each has its plans renewed as it is checked out, once they are old.
        sa.event.listen(database.engine.sync_engine, "checkout", _renew_pooled_plans_if_old)
        self._kept: list[AsyncConnection] = []
        """Idle connections in autocommit, newest last (``_autocommit_connection``)."""
        self._closing = False

    async def run_one_statement(self, work: Callable[[sa.Connection], T], *, write: bool) -> T:
        """Runs ``work`` in autocommit, on a kept connection if one is idle."""

        async def attempt(done: list[T]) -> None:
            async with self._autocommit_connection() as connection:
                done.append(await connection.run_sync(work))

        return await retrying(attempt, self._database)

    async def fetch(self, statement: sa.Executable, values: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """Runs ``statement`` (as ``driver_sql`` renders it) with ``values`` in autocommit; its rows.

        On a kept connection, the statement goes straight to the driver:
        asyncpg prepares it once per connection and runs it with ``fetch``,
        without SQLAlchemy's execution around it (its result, its context,
        the hops between the event loop and ``run_sync``'s greenlet), which
        cost a small statement more CPU than the driver's own work. Should
        that fail in any way, the statement runs again through SQLAlchemy
        (``run_one_statement``), whose handling decides what the failure
        means (a retry, a dropped connection, the error the caller gets);
        so the statement must be safe to run twice, as every single
        statement in autocommit must. With no connection kept idle, it runs
        through SQLAlchemy at once, which keeps its connection afterwards.
        """
        compiled = driver_sql.driver_statement(statement, self._database.engine.dialect)
        if self._kept:
            connection = self._kept.pop()
            try:
                rows = await _fetch_on_driver(connection, compiled.sql, compiled.parameters(values))
            except BaseException as exc:
                await close_quietly(connection)
                if not isinstance(exc, Exception):
                    raise
                _log.debug("a statement on the driver failed, run again through SQLAlchemy: %r", exc)
            else:
                await self._keep(connection)
                return rows
        return await self.run_one_statement(
            lambda connection: driver_sql.run(connection, compiled, values).all(), write=True
        )

    async def select(
        self, statement: sa.Executable, values: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> Sequence[Sequence[Any]]:
        """The rows of the query ``statement`` with ``values``, in autocommit, on the driver itself.

        A read made as ``fetch`` makes a statement (and, like it, run again
        through SQLAlchemy should the driver fail), its rows' values
        converted by their columns' own result processors as SQLAlchemy's
        execution would convert them. One statement in autocommit reads one
        snapshot. ``values`` is one row of parameters (typed as a ``Bound``'s,
        so that one unpacks into it).

        Raises:
            TypeError: ``statement`` is not a query, or ``values`` holds several rows.
        """
        if not isinstance(statement, sa.SelectBase) or not isinstance(values, Mapping):
            raise TypeError("a query and one row of parameters")
        rows = await self.fetch(statement, values)
        converters = _result_converters(statement, self._database.engine.dialect)
        return _converted(rows, converters) if converters else rows

    async def fetch_once(
        self, statement: sa.SelectBase, values: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]] | None:
        """Runs ``statement`` with ``values`` once, in autocommit, on the driver itself; its rows.

        As ``fetch``, for a statement that is not safe to run twice (a
        create's second run would find its name taken). One statement in
        autocommit is its own transaction, which commits when it ends: one
        round trip. The database's answer tells the two ways it can fail:
        an error it answered with means nothing of the statement committed
        (None: the caller then does the work through SQLAlchemy, ``write``,
        which tells what the failure means); a connection lost while the
        statement ran means it may have committed, so it is never run
        again. A connection already closed when the statement would be sent
        (the database restarted since it was kept) sent nothing: None too.
        Its rows' values go through their columns' result processors, as
        SQLAlchemy's own execution would take them (unlike ``fetch``'s). On
        a kept connection, or a new one then kept.

        Raises:
            BackendUnavailableError: no connection could be had, or the
                connection was lost while the statement ran, which may have committed.
        """
        dialect = self._database.engine.dialect
        compiled = driver_sql.driver_statement(statement, dialect)

        async def take(done: list[AsyncConnection]) -> None:
            done.append(await self._idle_connection())

        connection = await retrying(take, self._database)
        try:
            rows = await _fetch_on_driver(connection, compiled.sql, compiled.parameters(values), once=True)
        except BaseException as exc:
            await close_quietly(connection)
            if isinstance(exc, _StatementLostError):
                raise self._database.unavailable(exc.error) from exc.error
            if not isinstance(exc, Exception):
                raise
            _log.debug("a statement on the driver failed, nothing committed: %r", exc)
            return None
        await self._keep(connection)
        processors = _result_processors(statement, dialect)
        return [tuple(_processed(row, processors)) for row in rows] if any(processors) else rows

    async def close(self) -> None:
        """Closes the kept connections; none is kept after."""
        self._closing = True
        await self._drop_kept_connections()

    @asynccontextmanager
    async def _autocommit_connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection in autocommit: a kept one if one is idle, else a new one from the pool.

        It is kept again afterwards, up to ``_KEPT_CONNECTIONS`` idle, unless
        its work failed: then it goes back to the pool, which resets it (or
        discards it, if it was invalidated). A connection the database
        dropped means the kept ones are likely dropped too (a restart): they
        are all let go, so that the work's rerun gets a new connection.
        """
        connection = await self._idle_connection()
        try:
            # A kept connection is checked out of the pool once, and may run statements through
            # SQLAlchemy (prepared there) for longer than its plans' lifetime.
            await _renew_plans_if_old(connection, await _driver_of(connection))
            yield connection
        except BaseException as exc:
            await close_quietly(connection)
            if dropped(exc):
                await self._drop_kept_connections()
            raise
        await self._keep(connection)

    async def _idle_connection(self) -> AsyncConnection:
        """A kept connection if one is idle, else a new one from the pool, in autocommit."""
        if self._kept:
            return self._kept.pop()
        connection = await self._database.engine.connect()
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        return connection

    async def _keep(self, connection: AsyncConnection) -> None:
        """Keeps ``connection`` (idle, in autocommit) for the next statement, unless enough are kept."""
        if self._closing or len(self._kept) >= _KEPT_CONNECTIONS:
            await connection.close()
        else:
            self._kept.append(connection)

    async def _drop_kept_connections(self) -> None:
        kept, self._kept = self._kept, []
        for connection in kept:
            await close_quietly(connection)


@functools.lru_cache(maxsize=64)
def _result_processors(statement: sa.SelectBase, dialect: sa.Dialect) -> tuple[ResultProcessor | None, ...]:
    """The result processor of each column ``statement`` selects on ``dialect`` (None: the value as is).

    Only a column type's own conversion (a ``TypeDecorator``'s
    ``process_result_value``): asyncpg gives the values of PostgreSQL's own
    types (numbers, text, bytes) as SQLAlchemy's asyncpg dialect passes them
    on, and that dialect's processors of some (floats) need the column's
    type as the driver describes it, which ``fetch`` does not get.
    """
    return tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None)
        if isinstance(column.type, TypeDecorator) and column.type._has_result_processor
        else None
        for column in statement.selected_columns
    )


@functools.lru_cache(maxsize=64)
def _result_converters(
    statement: sa.SelectBase, dialect: sa.Dialect
) -> tuple[tuple[int, ResultProcessor], ...]:
    """(position, processor) of each of ``statement``'s columns with a processor (``_result_processors``)."""
    processors = _result_processors(statement, dialect)
    return tuple((index, processor) for index, processor in enumerate(processors) if processor is not None)


def _processed(row: Sequence[Any], processors: Sequence[ResultProcessor | None]) -> Iterator[Any]:
    for value, processor in zip(row, processors, strict=True):
        yield value if processor is None else processor(value)


def _converted(
    rows: Sequence[Sequence[Any]], converters: Sequence[tuple[int, ResultProcessor]]
) -> list[Sequence[Any]]:
    """``rows`` with the values of the columns ``converters`` name converted; NULL stays NULL.

    A row with nothing to convert (a union's part without those columns)
    is kept as the driver gave it: a read of many events converts none of theirs.
    """
    converted: list[Sequence[Any]] = []
    for row in rows:
        values: list[Any] | None = None
        for index, processor in converters:
            value = row[index]
            if value is not None:
                if values is None:
                    values = list(row)
                values[index] = processor(value)
        converted.append(row if values is None else values)
    return converted


class _StatementLostError(Exception):
    """The connection was lost while a statement ran in autocommit: whether it committed is unknown."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


async def _fetch_on_driver(
    connection: AsyncConnection, sql: str, parameters: Sequence[Any], *, once: bool = False
) -> list[Any]:
    """Runs ``sql`` in autocommit on ``connection``'s asyncpg connection (prepared once there, in its cache).

    A connection left in a state not known (cut, timed out or cancelled in
    the middle of a statement) is invalidated before the failure is raised,
    so that it is never used again; one the database answered with an error
    is idle again, nothing of the statement committed.

    Raises:
        _StatementLostError: ``once``, and the statement was sent but the
            database's answer never came: it may have committed.
    """
    driver = await _driver_of(connection)
    await _renew_plans_if_old(connection, driver)
    # asyncpg refuses a closed connection before sending anything.
    closed_before = driver.is_closed()
    try:
        rows: list[Any] = await driver.fetch(sql, *parameters)
    except BaseException as exc:
        if _answered(driver, exc):
            raise
        if not connection.invalidated:
            await connection.invalidate(exc)
        if once and isinstance(exc, Exception) and not closed_before and not _refused_to_start(exc):
            raise _StatementLostError(exc) from exc
        raise
    return rows


async def _renew_plans_if_old(connection: AsyncConnection, driver: Any) -> None:
    """Has PostgreSQL plan ``connection``'s statements again if its plans are ``PLAN_LIFETIME_SECONDS`` old.

    Nothing of a statement is sent yet: should this fail, the connection is
    invalidated (unless the database answered) and the failure raised as
    one that sent nothing.
    """
    now = time.monotonic()
    made = connection.info.setdefault(_PLANS_MADE, now)
    if now - made < PLAN_LIFETIME_SECONDS:
        return
    try:
        await driver.execute("DISCARD PLANS")
    except BaseException as exc:
        if not _answered(driver, exc) and not connection.invalidated:
            await connection.invalidate(exc)
        raise
    connection.info[_PLANS_MADE] = now


def _renew_pooled_plans_if_old(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """The pool's checkout event: ``_renew_plans_if_old`` for a connection about to be handed out.

    Its plans' age is kept with its pool record, which outlives each checkout
    (``Connection.info`` is that record's), so that it is shared with the
    kept connections' own renewal. A failure to renew is taken as the
    connection lost: the pool then hands out a new connection instead.
    """
    now = time.monotonic()
    made = record.info.setdefault(_PLANS_MADE, now)
    if now - made < PLAN_LIFETIME_SECONDS:
        return
    try:
        dbapi_connection.run_async(lambda driver: driver.execute("DISCARD PLANS"))
    except Exception as exc:
        raise sa.exc.DisconnectionError(f"renewing the connection's plans failed: {exc!r}") from exc
    record.info[_PLANS_MADE] = now


_PLANS_MADE: Final = "adk_grpc_sessions_plans_made"
"""The key, in a connection's ``info``, of when its plans were last discarded (``time.monotonic``)."""


def _refused_to_start(error: Exception) -> bool:
    """Whether asyncpg refused to begin the statement at all, so sent nothing of it.

    It does when its protocol is not idle: a connection the database ended
    while it was kept idle has read the database's farewell, a fatal error,
    but not yet the close. Only asyncpg's words tell this refusal from its
    other internal errors, some of which come after a statement was sent;
    should they change, the statement is taken as possibly committed, the
    safe way to be wrong.
    """
    import asyncpg  # here: the driver of PostgreSQL only, an optional extra

    return isinstance(error, asyncpg.InternalClientError) and str(error).startswith("cannot switch to state")


async def _driver_of(connection: AsyncConnection) -> Any:
    """``connection``'s asyncpg connection.

    A connection that holds its driver's connection (every valid one in
    use) gives it at once: ``get_raw_connection`` would hop into a
    greenlet for it, which only a connection to revalidate needs.
    """
    sync = connection.sync_connection
    if sync is not None and not sync.invalidated and not sync.closed:
        raw = sync.connection
    else:
        raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None, "a connection in use has its driver connection"
    return driver


def _answered(driver: Any, error: BaseException) -> bool:
    """Whether ``error`` is the database's answer to a statement on ``driver``, which it keeps serving."""
    sqlstate = getattr(error, "sqlstate", None)
    # Class 08 (connection exception) and 57P (the server shutting down, or
    # ending this connection) mean the connection is gone.
    return isinstance(sqlstate, str) and not sqlstate.startswith(("08", "57P")) and not driver.is_closed()
