"""Storing a batch of appends, of distinct sessions, in one transaction: one way per database.

Each append stays all-or-nothing: it is stored whole (event, revision,
sequence, update time, state delta) or, refused, leaves no trace, whatever
the others in its batch do. Refusal is decided by the database as each
session's row is claimed (``claims``): the claim matches only a session at
the expected revision that does not hold the event yet, so a refused append
has written nothing and the claimed ones go on without it. Why an append was
refused (retry, stale caller, session gone, a limit) is found out afterwards
(``refusals``).

Limits: the claim checks an append's session's sizes (its events', its own
state's) on the row it locks; its shared scopes of state are judged
(``state_limit``) by one read of the sizes of the scopes the batch changes,
or, on PostgreSQL, within the batch's statement itself. An append that would
pass a limit is refused like any other, and writes nothing.

Three ways to store a batch, with the same outcome, each a module of its own
with the same two functions (``BatchStore``):
- ``postgresql``: the whole batch in one statement, its own transaction, so
  one round trip;
- ``sqlite`` (SQLite 3.35 and later): a claim (that sets the revisions too)
  and an insert for the whole batch, in SQLite's writer thread;
- ``one_by_one`` (MySQL/MariaDB, older SQLite): each append's claim and
  event in a savepoint of its own.
Every way takes locks in one order, as every other writer takes them (SQLite
locks the whole database at BEGIN, so there the order is moot): the
size rows of the shared scopes the batch changes (users', then apps', in key
order), then sessions (in key order), then state rows, session, user, then
app, in key order; so writers wait for each other but never deadlock.
``batch`` holds what the ways share.
"""

from __future__ import annotations

import sqlite3
from typing import Protocol

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import AppendResult, StorageLimits
from adk_grpc_sessions.server.backends.sql import dialects, driver_sql
from adk_grpc_sessions.server.backends.sql.appends import one_by_one, postgresql, sqlite
from adk_grpc_sessions.server.backends.sql.appends.batch import PendingAppend
from adk_grpc_sessions.server.backends.sql.transactions import Executor


class BatchStore(Protocol):
    """A way to store a batch of appends: one of this package's modules."""

    async def store(
        self, executor: Executor, appends: list[PendingAppend], limits: StorageLimits
    ) -> list[AppendResult | None]:
        """Stores the appends (of distinct sessions) that may be stored, through ``executor``.

        None for each one refused: its session is missing, is not at its
        expected revision, already holds its event id, or the append would
        pass one of ``limits``.
        """

    def statements(self, dialect: sa.Dialect) -> list[sa.Executable]:
        """Every statement ``store`` runs as the driver's own SQL on ``dialect``, in every form."""


def for_database(name: str) -> BatchStore:
    """The way to store batches on the database named ``name`` (a SQLAlchemy backend name)."""
    if name == dialects.POSTGRESQL:
        return postgresql
    if name == dialects.SQLITE and claims_together_in_sqlite():
        return sqlite
    return one_by_one


def claims_together_in_sqlite() -> bool:
    """Whether this SQLite can claim a batch together: UPDATE ... FROM (3.33) and RETURNING (3.35)."""
    return sqlite3.sqlite_version_info >= (3, 35)


def compile_statements(way: BatchStore, dialect: sa.Dialect) -> None:
    """Compiles every statement ``way`` may run on ``dialect``.

    Done once at start: the batch statements are large, and compiling one
    form in the middle of a burst would stall the writer, and every batch
    behind it, for that long.
    """
    for statement in way.statements(dialect):
        driver_sql.driver_statement(statement, dialect)
