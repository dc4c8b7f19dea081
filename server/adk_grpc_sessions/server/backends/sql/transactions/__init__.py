"""How the SQL backend runs a transaction: one executor per kind of database, chosen once at start.

``SqlBackend`` never touches a connection: each call's work is a function
of a synchronous ``sa.Connection`` that runs a whole transaction's
statements (``reading``, ``writing``, ``appends``), and the executor runs it.
Every executor runs work alike (``retrying``): in a transaction, committed
when the work returns; once more on a new connection if the database
dropped its connection before the work was done; again after a short pause
if the database aborted it as a deadlock or busy; and it reports a database
that cannot be reached as ``BackendUnavailableError``.

The executors, behind one small interface (``Executor``):
- ``sqlite.SqliteExecutor``: SQLite; each transaction runs whole in a
  thread with the standard library's driver, writes in the one writer
  thread, reads in a few reader threads;
- ``server.ServerExecutor``: MySQL/MariaDB; transactions through the async
  driver's pooled engine, on the event loop;
- ``server.PostgresqlExecutor``: the same, and work that is one statement
  runs in autocommit on a connection kept open between statements; the
  hottest statements (a batch of appends, a lone create) run there on the
  driver itself, without SQLAlchemy's execution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.sql import dialects
from adk_grpc_sessions.server.backends.sql.transactions.database import Database
from adk_grpc_sessions.server.backends.sql.transactions.server import PostgresqlExecutor, ServerExecutor
from adk_grpc_sessions.server.backends.sql.transactions.sqlite import SqliteExecutor

T = TypeVar("T")


class Executor(Protocol):
    """Runs transactions' work on one database.

    Raises, from every method that runs work:
        BackendUnavailableError: the database cannot be reached, or stays busy.
    """

    statements_cost_round_trips: bool
    """Whether each statement is a round trip to a database server (not so in process, on SQLite)."""
    writers: int
    """Write transactions worth running at once: one where the database has a single writer."""

    async def start(self, compile_statements: Callable[[sa.Dialect], None]) -> None:
        """Connects, and has ``compile_statements`` compile for the dialect work will be run with."""

    async def read(self, work: Callable[[sa.Connection], T]) -> T:
        """Runs ``work`` in a read transaction: it sees one snapshot."""

    async def write(self, work: Callable[[sa.Connection], T]) -> T:
        """Runs ``work`` in a write transaction."""

    async def run_one_statement(self, work: Callable[[sa.Connection], T], *, write: bool) -> T:
        """Runs ``work``, which runs a single statement, as cheaply as that statement can run.

        Where it saves round trips, the statement is its own transaction (no
        BEGIN, no COMMIT): a statement sees one snapshot by itself, and work
        that writes must then be safe to run twice (its statement is its
        commit, whose outcome a dropped connection leaves unknown). Elsewhere
        as ``read`` or ``write``.
        """

    async def close(self) -> None:
        """Lets go of every connection and thread it holds."""


def executor_for(database: Database) -> Executor:
    """The executor for ``database``'s kind of database."""
    name = database.url.get_backend_name()
    if name == dialects.SQLITE:
        return SqliteExecutor(database)
    if name == dialects.POSTGRESQL:
        return PostgresqlExecutor(database)
    return ServerExecutor(database)


__all__ = ["Database", "Executor", "executor_for"]
