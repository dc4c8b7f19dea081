"""Storing a batch of appends, of distinct sessions, in one transaction.

Each append stays all-or-nothing: it is stored whole (event, revision,
sequence, update time, state delta) or, refused, leaves no trace, whatever
the others in its batch do. Refusal is decided by the database as each
session's row is claimed: the claim matches only a session at the expected
revision that does not hold the event yet, so a refused append has written
nothing and the claimed ones go on without it. Why an append was refused
(retry, stale caller, session gone) is for the caller to find out afterwards
(``SqlBackend.append_event``).

Three ways to store a batch, with the same outcome:
- ``_store_in_one_statement`` (PostgreSQL): the whole batch in one
  statement, its own transaction, so one round trip;
- ``store_batch_blocking`` (SQLite 3.35 and later, which can update from a
  joined table and return rows): a claim, an insert and an update for the
  whole batch, synchronously, in SQLite's writer thread (``sqlite_threads``);
- ``_claim_one_by_one`` (MySQL/MariaDB, older SQLite): each append's claim
  and event in a savepoint of its own, so an event id found taken undoes
  just that append.
The last two then apply the state deltas as one upsert per scope for the
whole batch. Every way takes locks sessions first (in key order), then
state rows, user then app, in key order, as every other writer takes them,
so writers wait for each other but never deadlock.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from adk_grpc_sessions.server.backends.base import AppendResult, NewEvent, SessionKey
from adk_grpc_sessions.server.backends.sql import dialects, driver_sql, statements
from adk_grpc_sessions.server.backends.sql.schema import event_revision


@dataclass(frozen=True, slots=True)
class PendingAppend:
    """An append waiting to be stored: the event for the session ``key`` at ``expected_revision``."""

    key: SessionKey
    event: NewEvent
    expected_revision: int


@dataclass(frozen=True, slots=True)
class _Stored:
    """Where a claimed append's event went."""

    append: PendingAppend
    session_pk: int
    sequence: int
    event_pk: int


async def store_batch(connection: AsyncConnection, appends: list[PendingAppend]) -> list[AppendResult | None]:
    """Stores the appends (of distinct sessions) that may be stored; None for each one refused.

    An append is refused, and writes nothing, when its session is missing,
    is not at its expected revision, or already holds its event id. On
    PostgreSQL the connection must be in autocommit (``single_statement``):
    the batch is one statement, its own transaction.
    """
    dialect = connection.dialect
    if single_statement(dialect):
        stored = await _store_in_one_statement(connection, appends)
    else:
        stored = await _claim_one_by_one(connection, appends)
        for upsert in statements.upsert_state(dialect, _state_changes(stored)):
            await connection.execute(*upsert)
    return _results(appends, stored)


def store_batch_blocking(
    connection: sa.Connection, appends: list[PendingAppend]
) -> list[AppendResult | None]:
    """``store_batch`` for SQLite 3.35 and later (``claims_together_in_sqlite``), synchronously."""
    claims = [(a.key, a.expected_revision, a.event.timestamp, a.event.id) for a in appends]
    claimed = {
        SessionKey(row.app_name, row.user_id, row.session_id): (row.session_pk, row.last_sequence)
        for row in driver_sql.execute_blocking(connection, *statements.claim_batch(claims))
    }
    stored: list[_Stored] = []
    if claimed:
        chosen = [a for a in appends if a.key in claimed]
        rows = [statements.event_row(*claimed[a.key], a.event) for a in chosen]
        # Each claimed session was checked to lack the event, and this
        # transaction is the only writer, so no row here can hit a unique key.
        inserted = driver_sql.execute_blocking(connection, *statements.insert_event_batch(rows))
        event_pks = {row.session_pk: row.event_pk for row in inserted}
        for append in chosen:
            session_pk, sequence = claimed[append.key]
            stored.append(_Stored(append, session_pk, sequence, event_pks[session_pk]))
        revisions = [(s.session_pk, event_revision(s.event_pk)) for s in stored]
        driver_sql.execute_blocking(connection, *statements.set_revision_batch(revisions))
        for upsert in statements.upsert_state(connection.dialect, _state_changes(stored)):
            driver_sql.execute_blocking(connection, *upsert)
    return _results(appends, stored)


def compile_statements(dialect: sa.Dialect) -> None:
    """Compiles every statement a batch may run on ``dialect`` (``statements.batch_statements``).

    Done once at start: the batch statements are large, and compiling one
    form (up to 43 ms on SQLite) in the middle of a burst stalls the
    writer, and every batch behind it, for that long.
    """
    for statement in statements.batch_statements(dialect):
        driver_sql.driver_statement(statement, dialect)


def single_statement(dialect: sa.Dialect) -> bool:
    """Whether ``dialect`` stores a batch in one statement (run it in autocommit: no BEGIN, no COMMIT)."""
    return dialect.name == dialects.POSTGRESQL


def claims_together_in_sqlite() -> bool:
    """Whether this SQLite can run ``store_batch_blocking``: UPDATE ... FROM (3.33) and RETURNING (3.35)."""
    return sqlite3.sqlite_version_info >= (3, 35)


async def _store_in_one_statement(connection: AsyncConnection, appends: list[PendingAppend]) -> list[_Stored]:
    bound = statements.store_batch([(a.key, a.expected_revision, a.event) for a in appends])
    return [
        _Stored(appends[row.position], row.session_pk, row.last_sequence, row.event_pk)
        for row in await driver_sql.execute(connection, *bound)
    ]


async def _claim_one_by_one(connection: AsyncConnection, appends: list[PendingAppend]) -> list[_Stored]:
    stored: list[_Stored] = []
    # In key order, as every batch takes them, so that batches of server
    # replicas naming the same sessions wait for each other, never deadlock.
    for append in sorted(appends, key=lambda a: (a.key.app_name, a.key.user_id, a.key.session_id)):
        try:
            async with connection.begin_nested():
                one = await _claim_one(connection, append)
        except IntegrityError:
            # The event id is taken: the savepoint's rollback undid the claim.
            one = None
        if one is not None:
            stored.append(one)
    return stored


async def _claim_one(connection: AsyncConnection, append: PendingAppend) -> _Stored | None:
    key, event = append.key, append.event
    returning = connection.dialect.update_returning
    claim = statements.claim_next_sequence(
        key, append.expected_revision, event.timestamp, returning=returning
    )
    if returning:
        claimed = (await connection.execute(*claim)).first()
        if claimed is None:
            return None
        session_pk, sequence = claimed
    else:
        # MySQL and MariaDB cannot return from an UPDATE; the row is ours
        # (locked) now, so reading it back sees exactly what we wrote.
        if (await connection.execute(*claim)).rowcount != 1:
            return None
        session = (await connection.execute(*statements.select_session(key))).one()
        session_pk, sequence = session.session_pk, session.last_sequence
    inserted = await connection.execute(*statements.insert_event(session_pk, sequence, event))
    event_pk = _inserted_key(inserted)
    await connection.execute(*statements.set_revision(session_pk, event_revision(event_pk)))
    return _Stored(append, session_pk, sequence, event_pk)


def _state_changes(stored: list[_Stored]) -> list[statements.StateChange]:
    return [
        statements.StateChange(
            s.append.key.app_name, s.append.key.user_id, s.session_pk, s.append.event.state_delta
        )
        for s in stored
    ]


def _results(appends: list[PendingAppend], stored: list[_Stored]) -> list[AppendResult | None]:
    by_key = {s.append.key: s for s in stored}
    return [_result(by_key[a.key]) if a.key in by_key else None for a in appends]


def _result(stored: _Stored) -> AppendResult:
    event = stored.append.event
    return AppendResult(
        event=event.stored_at(stored.sequence),
        revision=event_revision(stored.event_pk),
        last_update_time=event.timestamp,
        already_applied=False,
    )


def _inserted_key(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None, "an INSERT of one row has a primary key"
    return int(key[0])
