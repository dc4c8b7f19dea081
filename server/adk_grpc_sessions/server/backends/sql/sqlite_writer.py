"""``SqliteWriter``: SQLite's single writer, a thread of its own with a synchronous connection.

aiosqlite runs every driver call in its thread and hands the result back to
the event loop: creating a cursor, executing, fetching and closing are a
hand-off each, 22 for a batch of appends. Under load each hand-off waits for
the busy event loop (and the GIL), 0.6 ms on average here, which made a
batch's hand-offs cost more than its work. The writer runs a whole
transaction in its thread with the standard library's driver: one hand-off
per batch. (The database file is the one the async engine reads; SQLite
allows one writer at a time anyway.)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import URL

from adk_grpc_sessions.server.backends.sql import dialects

T = TypeVar("T")


class SqliteWriter:
    """Runs write transactions on a SQLite file, one at a time, in a thread of its own."""

    def __init__(self, url: URL) -> None:
        self._url = url
        self._thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="sqlite-writer"
        )
        self._engine: sa.Engine | None = None
        self._closed = False

    async def prepare(self, compile_statements: Callable[[sa.Dialect], None]) -> None:
        """Connects, and compiles the statements the writer will run (``compile_statements``)."""
        await asyncio.get_running_loop().run_in_executor(self._thread, self._prepare, compile_statements)

    async def run(self, work: Callable[[sa.Connection], T], done: list[T]) -> None:
        """Runs ``work`` in a write transaction (``BEGIN IMMEDIATE``), in the writer's thread.

        Its result is appended to ``done`` before the commit, so a caller
        can tell a failure of the work from a failure of the commit.
        """
        await asyncio.get_running_loop().run_in_executor(self._thread, self._transaction, work, done)

    async def close(self) -> None:
        """Closes the connection (in the thread that opened it) and stops the thread; safe to repeat."""
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._thread, self._dispose)
        self._thread.shutdown(wait=True)

    def _transaction(self, work: Callable[[sa.Connection], T], done: list[T]) -> None:
        with self._connected().connect() as connection, connection.begin():
            done.append(work(connection))

    def _prepare(self, compile_statements: Callable[[sa.Dialect], None]) -> None:
        engine = self._connected()
        with engine.connect():  # the dialect learns the SQLite version on its first connection
            pass
        compile_statements(engine.dialect)

    def _connected(self) -> sa.Engine:
        if self._engine is None:
            self._engine = dialects.create_sqlite_writer_engine(self._url)
        return self._engine

    def _dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
