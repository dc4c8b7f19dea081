"""What differs between SQLite, PostgreSQL and MySQL/MariaDB, and only that.

- which async driver a backend URI gets when it names none;
- how connections are set up (SQLite pragmas and ``BEGIN IMMEDIATE``, pool
  and time-outs for servers);
- the one statement SQL has no common form for, the upsert;
- how to hold a lock across processes while migrating;
- which driver errors mean "try again" and which mean "database unreachable".
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Insert

from adk_grpc_sessions.server.backends import redact_uri

SQLITE: Final = "sqlite"
POSTGRESQL: Final = "postgresql"
MYSQL_FAMILY: Final = ("mysql", "mariadb")

_DEFAULT_DRIVERS: Final = {
    SQLITE: "aiosqlite",
    POSTGRESQL: "asyncpg",
    "mysql": "asyncmy",
    "mariadb": "asyncmy",
}
CONNECT_TIMEOUT_SECONDS: Final = 5.0
"""How long opening a connection may take before the database counts as unreachable."""
STATEMENT_TIMEOUT_SECONDS: Final = 30.0
"""How long one statement may run (PostgreSQL) before the call fails as unavailable."""
SQLITE_BUSY_TIMEOUT_SECONDS: Final = 10.0
"""How long SQLite waits for another process's write lock before giving up."""
SQLITE_BEGIN_OPTION: Final = "sqlite_begin"
"""Execution option naming the ``BEGIN`` form of a SQLite transaction (``"IMMEDIATE"`` to write)."""
_MIGRATION_LOCK_NAME: Final = "adk_grpc_sessions_migrate"
_MIGRATION_LOCK_ID: Final = 0x6164_6B67_7273  # "adkgrs": any constant shared by every server
_MIGRATION_LOCK_TIMEOUT_SECONDS: Final = 300


def database_url(uri: str) -> URL:
    """The SQLAlchemy URL for a backend URI, with the default async driver filled in.

    ``sqlite:///path.db``, ``postgresql://...``, ``mysql://...`` and
    ``mariadb://...`` get aiosqlite, asyncpg and asyncmy; a URI that names a
    driver (``postgresql+psycopg://``) keeps it.

    Raises:
        ValueError: the URI is malformed, of another scheme, or an in-memory SQLite database.
    """
    try:
        url = make_url(uri)
    except ArgumentError as exc:
        raise ValueError(f"malformed database URI {redact_uri(uri)!r}: {exc}") from None
    backend = url.get_backend_name()
    if backend not in _DEFAULT_DRIVERS:
        raise ValueError(
            f"not a SQL backend URI: {redact_uri(uri)!r} "
            "(expected sqlite:///, postgresql://, mysql:// or mariadb://)"
        )
    if "+" not in url.drivername:
        url = url.set(drivername=f"{backend}+{_DEFAULT_DRIVERS[backend]}")
    if backend == SQLITE:
        if not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
            raise ValueError(
                "an in-memory SQLite database would be private to one connection; "
                "use memory:// for sessions kept in memory, or sqlite:///PATH for a file"
            )
    elif backend in MYSQL_FAMILY and "charset" not in url.query:
        # Four-byte UTF-8 (emoji) needs utf8mb4 on the connection too.
        url = url.update_query_dict({"charset": "utf8mb4"})
    return url


def create_engine(url: URL) -> AsyncEngine:
    """An engine for ``url`` (from ``database_url``), set up for its database; connects lazily.

    Raises:
        ValueError: the URL names a driver that is not installed or not async.
    """
    try:
        if url.get_backend_name() == SQLITE:
            return _sqlite_engine(url)
        return _server_engine(url)
    except (ArgumentError, ImportError, sa.exc.InvalidRequestError) as exc:
        raise ValueError(
            f"cannot use {redact_uri(url.render_as_string(hide_password=False))!r}: {exc}; "
            "the driver must be an async one, installed with the matching extra "
            "(adk-grpc-sessions[postgres] or [mysql])"
        ) from None


def _sqlite_engine(url: URL) -> AsyncEngine:
    assert url.database is not None  # database_url() refused anything else
    Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        pool_size=8,
        max_overflow=8,
    )
    _set_up_sqlite(engine.sync_engine, default_begin="DEFERRED")
    return engine


def create_sqlite_sync_engine(url: URL, *, connections: int, begin: str) -> sa.Engine:
    """A synchronous engine on the SQLite file of ``url`` (a ``database_url``), for ``SqliteThreads``.

    The standard library's driver, up to ``connections`` connections, set up
    as the async engine's connections are; every transaction begins with
    ``BEGIN {begin}`` (``"IMMEDIATE"`` for one that writes).
    """
    engine = sa.create_engine(
        url.set(drivername=f"{SQLITE}+pysqlite"),
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        pool_size=connections,
        max_overflow=0,
    )
    _set_up_sqlite(engine, default_begin=begin, joins_driver_transaction=True)
    return engine


def _set_up_sqlite(engine: sa.Engine, *, default_begin: str, joins_driver_transaction: bool = False) -> None:
    """Sets up ``engine``'s connections, and begins its transactions with ``BEGIN {default_begin}``.

    With ``joins_driver_transaction`` (the standard library's driver, whose
    connections say whether they are in a transaction), a transaction begun
    on the driver connection already (``SqliteThreads``) is joined by
    SQLAlchemy's rather than begun again.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit BEGIN is turned off so that "begin" below
        # decides the form: writers start with BEGIN IMMEDIATE and so take the
        # write lock up front (waiting for it under busy_timeout) instead of
        # failing when a read transaction tries to become a write one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL: readers never block the writer or each other. synchronous=FULL:
        # an acknowledged append survives a power cut, not just a crash.
        _switch_to_wal(cursor)
        for pragma in ("synchronous=FULL", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if joins_driver_transaction and connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr] # checked out
            return
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, default_begin)
        run_sqlite_control(connection, f"BEGIN {mode}")


def run_sqlite_control(connection: Connection, statement: str) -> None:
    """Runs ``BEGIN ...``, ``COMMIT`` or ``ROLLBACK`` on ``connection``'s SQLite driver connection.

    On the driver connection itself: SQLAlchemy's execution (or its pool's
    wrapping of a cursor) would cost more than the statement. A driver error
    is raised as SQLAlchemy raises one (``sqlalchemy.exc.DBAPIError``), which
    retries recognise (a busy database).
    """
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None, "a connection in use has its driver connection"
    try:
        dbapi_connection.execute(statement)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(
            statement, (), exc, connection.dialect.loaded_dbapi.Error, dialect=connection.dialect
        ) from exc


def _switch_to_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode=WAL``, waiting (up to the busy timeout) while another connection holds the file.

    Turning a new file to WAL takes its exclusive lock, and SQLite answers
    "database is locked" at once then, without waiting under busy_timeout,
    as when several servers start on one new file. This runs in the
    driver's thread, so the pause blocks no event loop.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(0.01)


def _server_engine(url: URL) -> AsyncEngine:
    backend = url.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == POSTGRESQL and url.get_driver_name() == "asyncpg":
        connect_args = {
            "timeout": CONNECT_TIMEOUT_SECONDS,
            "command_timeout": STATEMENT_TIMEOUT_SECONDS,
            "server_settings": {"application_name": "adk-grpc-sessions"},
        }
    elif backend in MYSQL_FAMILY:
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return create_async_engine(
        url,
        connect_args=connect_args,
        # No pre-ping (a round trip per transaction): a connection broken by
        # a database restart fails its transaction, which the backend runs
        # again on a new one, so service resumes by itself.
        pool_size=10,
        max_overflow=10,
        pool_timeout=CONNECT_TIMEOUT_SECONDS * 2,
        # MySQL closes connections idle longer than wait_timeout (8 h by default).
        pool_recycle=3600,
        # The connection used last is used next: the driver prepares each
        # statement once per connection, and were connections taken in turn
        # (FIFO), every one of the first reads after a burst would prepare
        # and plan its statements again.
        pool_use_lifo=True,
    )


@functools.cache
def upsert(dialect: sa.Dialect, table: sa.Table, update_columns: tuple[str, ...]) -> Insert:
    """``INSERT`` into ``table`` that overwrites ``update_columns`` where the primary key exists.

    The rows come as execution parameters, one or many; the statement is made
    once per dialect and table. Callers pass rows sorted by primary key, so
    concurrent upserts lock rows in one order and cannot deadlock on each other.
    """
    key_columns = [c.name for c in table.primary_key.columns]
    if dialect.name == POSTGRESQL:
        pg_insert = postgresql.insert(table)
        return pg_insert.on_conflict_do_update(
            index_elements=key_columns,
            set_={c: pg_insert.excluded[c] for c in update_columns},
        )
    if dialect.name == SQLITE:
        lite_insert = sqlite.insert(table)
        return lite_insert.on_conflict_do_update(
            index_elements=key_columns,
            set_={c: lite_insert.excluded[c] for c in update_columns},
        )
    if dialect.name in MYSQL_FAMILY:
        my_insert = mysql.insert(table)
        return my_insert.on_duplicate_key_update({c: my_insert.inserted[c] for c in update_columns})
    raise ValueError(f"no upsert for the {dialect.name} dialect")


def insert_missing(dialect: sa.Dialect, table: sa.Table) -> Insert:
    """``INSERT`` into ``table`` of the rows whose primary key is not there yet; the others are left alone."""
    key_columns = [c.name for c in table.primary_key.columns]
    if dialect.name == POSTGRESQL:
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=key_columns)
    if dialect.name == SQLITE:
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=key_columns)
    if dialect.name in MYSQL_FAMILY:
        # (Not INSERT IGNORE, which would pass over any other error too.)
        my_insert = mysql.insert(table)
        return my_insert.on_duplicate_key_update({key_columns[0]: my_insert.inserted[key_columns[0]]})
    raise ValueError(f"no insert of missing rows for the {dialect.name} dialect")


def acquire_migration_lock(connection: Connection) -> None:
    """Blocks until this process may migrate: one migrator at a time per database.

    Several servers starting together against one database would otherwise
    race to create the same tables. SQLite needs nothing: the migration runs
    in one transaction, and SQLite has one writer at a time.
    """
    name = connection.dialect.name
    if name == POSTGRESQL:
        # Transaction-scoped: released by the migration's commit or rollback.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
    elif name in MYSQL_FAMILY:
        got = connection.execute(
            sa.text("SELECT GET_LOCK(:name, :timeout)"),
            {"name": _MIGRATION_LOCK_NAME, "timeout": _MIGRATION_LOCK_TIMEOUT_SECONDS},
        ).scalar()
        if got != 1:
            raise RuntimeError("timed out waiting for another process to finish migrating the database")
    elif name == SQLITE:
        # Take the write lock now, before Alembic reads the version table.
        connection.exec_driver_sql("SELECT 1")


def release_migration_lock(connection: Connection) -> None:
    """Releases what ``acquire_migration_lock`` took, where the commit does not; call it after the commit."""
    if connection.dialect.name in MYSQL_FAMILY:
        connection.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": _MIGRATION_LOCK_NAME})


# PostgreSQL SQLSTATEs: serialization failure, deadlock, lock timeout.
_PG_RETRY: Final = frozenset({"40001", "40P01", "55P03"})
# PostgreSQL SQLSTATEs that mean the server is going away or refusing connections;
# class 08 (connection exceptions) is matched by prefix.
_PG_UNAVAILABLE: Final = frozenset({"57P01", "57P02", "57P03", "53300", "53400"})
# MySQL/MariaDB error numbers: deadlock, lock wait timeout.
_MYSQL_RETRY: Final = frozenset({1213, 1205})
# MySQL/MariaDB error numbers: too many connections, shutdown in progress,
# can't connect, lost connection, server gone away, read-only.
_MYSQL_UNAVAILABLE: Final = frozenset({1040, 1053, 1290, 2002, 2003, 2005, 2006, 2013, 2055})
_SQLITE_BUSY: Final = 5
_SQLITE_UNAVAILABLE: Final = frozenset(
    {8, 10, 11, 13, 14, 26}
)  # readonly, ioerr, corrupt, full, cantopen, notadb


def is_retryable(error: BaseException) -> bool:
    """Whether ``error`` aborted a transaction that may simply be run again (deadlock, busy)."""
    if not isinstance(error, DBAPIError):
        return False
    orig = error.orig
    sqlite_code = _sqlite_code(orig)
    if sqlite_code is not None:
        return sqlite_code == _SQLITE_BUSY
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate in _PG_RETRY
    return _mysql_errno(orig) in _MYSQL_RETRY


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot be reached or cannot serve now.

    Socket errors and time-outs (``TimeoutError`` is an ``OSError``) count,
    as does a pool with no connection to spare in time.
    """
    if isinstance(error, sa.exc.TimeoutError | OSError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    orig = error.orig
    if isinstance(orig, OSError):
        return True
    sqlite_code = _sqlite_code(orig)
    if sqlite_code is not None:
        return sqlite_code == _SQLITE_BUSY or sqlite_code in _SQLITE_UNAVAILABLE
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith("08") or sqlstate in _PG_UNAVAILABLE
    return _mysql_errno(orig) in _MYSQL_UNAVAILABLE


def _mysql_errno(orig: BaseException | None) -> int | None:
    args = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _sqlite_code(orig: BaseException | None) -> int | None:
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    return None
