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
import contextlib
import functools
import queue
import threading
from collections.abc import Callable
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import URL

from adk_grpc_sessions.server.backends.errors import BackendUnavailableError
from adk_grpc_sessions.server.backends.sql import dialects
from adk_grpc_sessions.server.backends.sql.transactions.database import Database
from adk_grpc_sessions.server.backends.sql.transactions.retrying import retrying

T = TypeVar("T")

_READERS: Final = 4
"""Threads (each with a connection) that run SQLite's reads."""

_Job = tuple[Callable[[sa.Connection], Any], asyncio.AbstractEventLoop, asyncio.Future[Any]]
"""A job for a thread: what to run with its connection, and the loop and future waiting for it."""


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
        """Connects the threads; each set compiles ``compile_statements``'s statements for its dialect.

        (Each engine has a dialect of its own, and compiled statements are
        kept by dialect: the readers' compile for the readers, the writer's
        for the writer, each also the other's few, once.)
        """
        await self._writer.prepare(compile_statements)
        await self._readers.prepare(compile_statements)

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
    """Runs transactions on a SQLite file in ``threads`` threads of its own, each beginning with ``begin``.

    The threads take work from one queue, and each hands its result back to
    the event loop with a single ``call_soon_threadsafe``: an executor's
    hand-off (its future, the chaining of that future into the loop's,
    its locks) would cost as much as a small transaction's statements.
    Each thread keeps one connection from its first transaction on (a
    checkout per transaction would cost more than a small transaction, too).
    """

    def __init__(self, url: URL, *, threads: int, begin: str, name: str) -> None:
        """Threads named ``name``; ``begin`` is the form of BEGIN (``"IMMEDIATE"`` to write)."""
        self._url = url
        self._begin = begin
        self._name = name
        self._count = threads
        self._threads: list[threading.Thread] = []
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._engine: sa.Engine | None = None
        self._closed = False

    async def prepare(self, compile_statements: Callable[[sa.Dialect], None] | None = None) -> None:
        """Connects, and compiles the statements the threads will run (``compile_statements``)."""

        def prepare(connection: sa.Connection) -> None:
            # The dialect learnt the SQLite version on the thread's first connection.
            if compile_statements is not None:
                compile_statements(connection.dialect)

        await self._submit(prepare)

    async def run(self, work: Callable[[sa.Connection], T], done: list[T]) -> None:
        """Runs ``work`` in a transaction, in one of the threads.

        Its result is appended to ``done`` before the commit, so a caller
        can tell a failure of the work from a failure of the commit. (The
        transaction is begun and ended on the driver connection, which
        SQLAlchemy's own transaction joins if ``work`` executes through it.)

        Raises:
            BackendUnavailableError: the threads were closed.
        """
        await self._submit(functools.partial(_transaction, self._begin, work, done))

    async def close(self) -> None:
        """Stops the threads once the work queued before has run; closes their connections; safe to repeat.

        Work asked for afterwards fails with ``BackendUnavailableError``.
        """
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            # A thread takes one None and ends; the queue is in order, so
            # whatever was queued before is done by then.
            self._jobs.put(None)
        await asyncio.to_thread(self._finish)

    async def _submit(self, job: Callable[[sa.Connection], Any]) -> Any:
        if self._closed:
            raise BackendUnavailableError(f"the SQLite database {self._url.database} is closed")
        if not self._threads:
            self._start()
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((job, loop, future))
        return await future

    def _start(self) -> None:
        self._engine = dialects.create_sqlite_sync_engine(
            self._url, connections=self._count, begin=self._begin
        )
        for number in range(self._count):
            thread = threading.Thread(target=self._serve, name=f"{self._name}_{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self) -> None:
        """A thread's life: jobs, each run with the thread's connection, until a None."""
        connection: sa.Connection | None = None
        try:
            while (job := self._jobs.get()) is not None:
                function, loop, future = job
                result: Any = None
                error: BaseException | None = None
                try:
                    if connection is None:
                        assert self._engine is not None, "the engine is made before the threads"
                        connection = self._engine.connect()
                    result = function(connection)
                except BaseException as exc:  # every failure is the waiting caller's to see
                    error = exc
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for this any more
                    loop.call_soon_threadsafe(_settle, future, result, error)
        finally:
            if connection is not None:
                connection.close()

    def _finish(self) -> None:
        for thread in self._threads:
            thread.join()
        if self._engine is not None:
            self._engine.dispose()


def _transaction(
    begin: str, work: Callable[[sa.Connection], T], done: list[T], connection: sa.Connection
) -> None:
    """In a thread: ``work`` in a transaction begun with ``BEGIN {begin}``, its result appended to ``done``.

    BEGIN and COMMIT go to the driver: SQLAlchemy's transaction (its objects,
    its events, its commit's bookkeeping) costs more than a small write's
    statements. Work that executes through SQLAlchemy starts SQLAlchemy's
    transaction, which joins this one (``dialects``), and then ends it.
    """
    dialects.run_sqlite_control(connection, f"BEGIN {begin}")
    try:
        done.append(work(connection))
    except BaseException:
        _roll_back(connection)
        raise
    try:
        if connection.in_transaction():
            connection.commit()
        else:
            dialects.run_sqlite_control(connection, "COMMIT")
    except BaseException:
        # A COMMIT that failed may leave the transaction open (a busy database):
        # the connection must begin the next one clean.
        _roll_back(connection)
        raise


def _roll_back(connection: sa.Connection) -> None:
    """Ends ``connection``'s transaction, SQLAlchemy's if it began one.

    A failure to is not raised: the failure that led here is the caller's to see.
    """
    with contextlib.suppress(Exception):
        if connection.in_transaction():
            connection.rollback()
        elif connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr] # checked out
            dialects.run_sqlite_control(connection, "ROLLBACK")


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    """In the event loop: hands a thread's outcome to the future waiting for it (unless it gave up)."""
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
