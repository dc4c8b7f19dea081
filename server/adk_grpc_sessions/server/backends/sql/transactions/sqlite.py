"""SQLite's executor: each transaction runs whole in a thread, with a synchronous connection.

aiosqlite runs every driver call in its thread and hands the result back to
the event loop: beginning, creating a cursor, executing, fetching, closing
and committing are a hand-off each, a score of them for a batch of appends.
Under load each hand-off waits for the busy event loop (and the GIL), so
that a transaction's hand-offs would cost more than its work. Here a whole
transaction runs in one thread with the standard library's driver: one
hand-off per transaction. (The database file is the one the async engine
uses, for migrations, imports and checks.)

Two sets of threads: the writer, one thread, as SQLite has one writer at a
time anyway; and the readers, a few threads with a connection each, which in
WAL mode wait for neither the writer nor each other. Writes of one process
queue on an asyncio lock before the writer thread, so that they wait in the
event loop rather than in SQLite's busy-sleep loop; writers of other
processes are waited for under SQLite's busy timeout. Nothing here is needed
for correctness: SQLite's write lock, taken at BEGIN IMMEDIATE, is.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import URL

from adk_grpc_sessions.server.backends.sql import dialects
from adk_grpc_sessions.server.backends.sql.transactions.database import Database
from adk_grpc_sessions.server.backends.sql.transactions.retrying import retrying

T = TypeVar("T")

_READERS: Final = 4
"""Threads (each with a connection) that run SQLite's reads."""


class SqliteExecutor:
    """Runs SQLite transactions in threads: writes in one writer thread, reads in a few reader threads."""

    statements_cost_round_trips = False
    writers = 1

    def __init__(self, database: Database) -> None:
        self._database = database
        self._writer = SqliteThreads(database.url, threads=1, begin="IMMEDIATE", name="sqlite-writer")
        self._readers = SqliteThreads(database.url, threads=_READERS, begin="DEFERRED", name="sqlite-reader")
        self._write_gate = asyncio.Lock()

    async def start(self, compile_statements: Callable[[sa.Dialect], None]) -> None:
        """Connects the threads; the writer compiles ``compile_statements``'s statements for its dialect."""
        await self._writer.prepare(compile_statements)
        await self._readers.prepare()

    async def read(self, work: Callable[[sa.Connection], T]) -> T:
        """Runs ``work`` in a reader thread, in a transaction that sees one WAL snapshot."""
        return await retrying(lambda done: self._readers.run(work, done), self._database)

    async def write(self, work: Callable[[sa.Connection], T]) -> T:
        """Runs ``work`` in the writer thread after writes queued before it (write lock taken at BEGIN)."""

        async def attempt(done: list[T]) -> None:
            async with self._write_gate:
                await self._writer.run(work, done)

        return await retrying(attempt, self._database)

    async def run_one_statement(self, work: Callable[[sa.Connection], T], *, write: bool) -> T:
        """As ``write`` or ``read``: in process, BEGIN and COMMIT cost no round trips."""
        return await (self.write(work) if write else self.read(work))

    async def close(self) -> None:
        """Closes the threads' connections and stops them; safe to repeat."""
        await self._writer.close()
        await self._readers.close()


class SqliteThreads:
    """Runs transactions on a SQLite file in ``threads`` threads of its own, each beginning with ``begin``."""

    def __init__(self, url: URL, *, threads: int, begin: str, name: str) -> None:
        """Threads named ``name``; ``begin`` is the form of BEGIN (``"IMMEDIATE"`` to write)."""
        self._url = url
        self._threads = threads
        self._begin = begin
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        self._engine: sa.Engine | None = None
        self._closed = False
        self._local = threading.local()
        """Each thread's own connection, held from its first transaction on: a checkout per
        transaction would cost more than a small transaction's statements."""
        self._held: list[sa.Connection] = []

    async def prepare(self, compile_statements: Callable[[sa.Dialect], None] | None = None) -> None:
        """Connects, and compiles the statements the threads will run (``compile_statements``)."""
        await asyncio.get_running_loop().run_in_executor(self._pool, self._prepare, compile_statements)

    async def run(self, work: Callable[[sa.Connection], T], done: list[T]) -> None:
        """Runs ``work`` in a transaction, in one of the threads.

        Its result is appended to ``done`` before the commit, so a caller
        can tell a failure of the work from a failure of the commit.
        """
        await asyncio.get_running_loop().run_in_executor(self._pool, self._transaction, work, done)

    async def close(self) -> None:
        """Closes the connections and stops the threads; safe to repeat."""
        if self._closed:
            return
        self._closed = True
        # A connection is closed by whichever thread the pool gives; the
        # driver allows that for connections SQLAlchemy pools (it opens
        # them with check_same_thread off).
        await asyncio.get_running_loop().run_in_executor(self._pool, self._dispose)
        self._pool.shutdown(wait=True)

    def _transaction(self, work: Callable[[sa.Connection], T], done: list[T]) -> None:
        with self._thread_connection().begin() as transaction:
            done.append(work(transaction.connection))

    def _thread_connection(self) -> sa.Connection:
        connection: sa.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connected().connect()
            self._local.connection = connection
            self._held.append(connection)
        return connection

    def _prepare(self, compile_statements: Callable[[sa.Dialect], None] | None) -> None:
        engine = self._connected()
        with engine.connect():  # the dialect learns the SQLite version on its first connection
            pass
        if compile_statements is not None:
            compile_statements(engine.dialect)

    def _connected(self) -> sa.Engine:
        if self._engine is None:
            self._engine = dialects.create_sqlite_sync_engine(
                self._url, connections=self._threads, begin=self._begin
            )
        return self._engine

    def _dispose(self) -> None:
        for connection in self._held:
            connection.close()
        if self._engine is not None:
            self._engine.dispose()
