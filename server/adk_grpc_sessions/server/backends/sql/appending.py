"""Storing a batch of appends, of distinct sessions, in one transaction.

Each append stays all-or-nothing: it is stored whole (event, revision,
sequence, update time, state delta) or, refused, leaves no trace, whatever
the others in its batch do. Refusal is decided by the database as each
session's row is claimed: the claim matches only a session at the expected
revision that does not hold the event yet, so a refused append has written
nothing and the claimed ones go on without it. Why an append was refused
(retry, stale caller, session gone) is for the caller to find out afterwards
(``SqlBackend.append_event``).

Limits: the claim checks an append's session's sizes (its events', its own
state's) on the row it locks; its shared scopes of state are judged
(``sizes``) by one read of the sizes of the scopes the batch changes, or,
on PostgreSQL, within the batch's statement itself. An append that would
pass a limit is refused like any other, and writes nothing.

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
whole batch. Every way takes locks in one order, as every other writer
takes them: the size rows of the shared scopes the batch changes (users',
then apps', in key order), then sessions (in key order), then state rows,
session, user, then app, in key order; so writers wait for each other but
never deadlock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from adk_grpc_sessions.server.backends.base import (
    DEFAULT_LIMITS,
    AppendResult,
    NewEvent,
    SessionKey,
    StateSizeLimitError,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.sql import dialects, driver_sql, sizes, statements
from adk_grpc_sessions.server.backends.sql.schema import event_revision
from adk_grpc_sessions.server.backends.sql.statements import NO_GROWTH, Growth, SizesWanted


@dataclass(slots=True)
class PendingAppend:
    """An append waiting to be stored: the event for the session ``key`` at ``expected_revision``."""

    key: SessionKey
    event: NewEvent
    expected_revision: int
    limits: StorageLimits = DEFAULT_LIMITS
    judged: Growth | None = None
    """Its growth as last judged before it was stored (None: refused by the judgement, or not judged)."""


def group_keys(append: PendingAppend) -> tuple[Hashable, ...]:
    """What a batch holds one append of at most: its session, and each shared scope of state it changes.

    So that the appends of a batch change distinct scopes (each judged
    against the scope as it is), and one server never stores two changes of
    a scope at the same time.
    """
    key, delta = append.key, append.event.state_delta
    keys: tuple[Hashable, ...] = (key,)
    if delta.user:
        keys += (("user", key.app_name, key.user_id),)
    if delta.app:
        keys += (("app", key.app_name),)
    return keys


@dataclass(frozen=True, slots=True)
class _Stored:
    """Where a claimed append's event went."""

    append: PendingAppend
    growth: Growth
    session_pk: int
    sequence: int
    event_pk: int


async def store_batch(
    connection: AsyncConnection, appends: list[PendingAppend], limits: StorageLimits
) -> list[AppendResult | None]:
    """Stores the appends (of distinct sessions) that may be stored; None for each one refused.

    An append is refused, and writes nothing, when its session is missing,
    is not at its expected revision, already holds its event id, or would
    pass one of ``limits``. On PostgreSQL the connection must be in
    autocommit (``single_statement``): the batch is one statement, its own
    transaction (after a statement that reads the sizes, if it sets state).
    """
    dialect = connection.dialect
    if single_statement(dialect):
        # The statement judges the appends' state itself (``statements.store_batch``).
        for append in appends:
            append.judged = None
        stored = await _store_in_one_statement(connection, appends, limits)
    else:
        growths = await _growths(connection, appends, limits, lock=dialect.name in dialects.MYSQL_FAMILY)
        chosen = [
            (append, growth) for append, growth in zip(appends, growths, strict=True) if growth is not None
        ]
        stored = await _claim_one_by_one(connection, chosen, limits)
        for upsert in statements.upsert_state(dialect, _state_changes(stored)):
            await connection.execute(*upsert)
        for bound in statements.add_to_shared_sizes(*_shared_growths(stored)):
            await driver_sql.execute(connection, *bound)
    return _results(appends, stored)


def store_batch_blocking(
    connection: sa.Connection, appends: list[PendingAppend], limits: StorageLimits
) -> list[AppendResult | None]:
    """``store_batch`` for SQLite 3.35 and later (``claims_together_in_sqlite``), synchronously."""
    growths = _growths_blocking(connection, appends, limits)
    claims = [
        (append.key, append.expected_revision, append.event, growth)
        for append, growth in zip(appends, growths, strict=True)
        if growth is not None
    ]
    claimed = (
        {
            SessionKey(row.app_name, row.user_id, row.session_id): (row.session_pk, row.last_sequence)
            for row in driver_sql.execute_blocking(connection, *statements.claim_batch(claims, limits))
        }
        if claims
        else {}
    )
    stored: list[_Stored] = []
    if claimed:
        chosen = [(a, g) for a, g in zip(appends, growths, strict=True) if g is not None and a.key in claimed]
        rows = [statements.event_row(*claimed[a.key], a.event) for a, _ in chosen]
        # Each claimed session was checked to lack the event, and this
        # transaction is the only writer, so no row here can hit a unique key.
        inserted = driver_sql.execute_blocking(connection, *statements.insert_event_batch(rows))
        event_pks = {row.session_pk: row.event_pk for row in inserted}
        for append, growth in chosen:
            session_pk, sequence = claimed[append.key]
            stored.append(_Stored(append, growth, session_pk, sequence, event_pks[session_pk]))
        revisions = [(s.session_pk, event_revision(s.event_pk)) for s in stored]
        driver_sql.execute_blocking(connection, *statements.set_revision_batch(revisions))
        for upsert in statements.upsert_state(connection.dialect, _state_changes(stored)):
            driver_sql.execute_blocking(connection, *upsert)
        for bound in statements.add_to_shared_sizes(*_shared_growths(stored)):
            driver_sql.execute_blocking(connection, *bound)
    return _results(appends, stored)


async def _growths(
    connection: AsyncConnection, appends: list[PendingAppend], limits: StorageLimits, *, lock: bool
) -> list[Growth | None]:
    """Each append's growth (``sizes.judge``), or None for one that would pass the state limit.

    With ``lock`` (MySQL/MariaDB, in a transaction), the shared scopes are
    locked as they are read. A shared scope without its size row yet gets
    one first.
    """
    wanted = sizes.wanted((a.key, a.event.state_delta) for a in appends)
    if sizes.is_empty(wanted):
        for append in appends:
            append.judged = NO_GROWTH
        return [NO_GROWTH] * len(appends)
    found = await _read_sizes(connection, wanted, lock=lock)
    missing_users, missing_apps = found.missing(wanted)
    if missing_users or missing_apps:
        for bound in statements.ensure_shared_sizes(connection.dialect, missing_users, missing_apps):
            await connection.execute(*bound)
        found = await _read_sizes(connection, wanted, lock=lock)
    return [_judge(append, found, limits) for append in appends]


async def _read_sizes(connection: AsyncConnection, wanted: SizesWanted, *, lock: bool) -> sizes.Sizes:
    if not lock:
        # All rows at once: iterating the result would fetch them one by one.
        return sizes.sizes_from_rows(
            (await connection.execute(*statements.select_sizes(connection.dialect, wanted))).all()
        )
    found = sizes.Sizes()
    for part, bound in statements.lock_shared_sizes(wanted):
        rows = await connection.execute(*bound)
        sizes.sizes_from_rows(sizes.locked_rows_as_sizes(part, rows), found)
    own = SizesWanted(sessions=wanted.sessions, session_digests=wanted.session_digests)
    if own.sessions:
        sizes.sizes_from_rows(
            await connection.execute(*statements.select_sizes(connection.dialect, own)), found
        )
    return found


def _growths_blocking(
    connection: sa.Connection, appends: list[PendingAppend], limits: StorageLimits
) -> list[Growth | None]:
    """``_growths`` on SQLite, whose one writer is this transaction: what it reads stays as it is."""
    wanted = sizes.wanted((a.key, a.event.state_delta) for a in appends)
    if sizes.is_empty(wanted):
        for append in appends:
            append.judged = NO_GROWTH
        return [NO_GROWTH] * len(appends)
    # SQLite takes the lists as JSON text: one statement text, run as the driver's own SQL.
    found = sizes.sizes_from_rows(
        driver_sql.execute_blocking(connection, *statements.select_sizes(connection.dialect, wanted)).all()
    )
    missing_users, missing_apps = found.missing(wanted)
    if missing_users or missing_apps:
        for bound in statements.ensure_shared_sizes(connection.dialect, missing_users, missing_apps):
            connection.execute(*bound)
        found = sizes.sizes_from_rows(
            driver_sql.execute_blocking(
                connection, *statements.select_sizes(connection.dialect, wanted)
            ).all()
        )
    return [_judge(append, found, limits) for append in appends]


def _judge(append: PendingAppend, found: sizes.Sizes, limits: StorageLimits) -> Growth | None:
    try:
        append.judged = sizes.judge(append.key, append.event.state_delta, found, limits)
    except (StateSizeLimitError, LookupError):
        append.judged = None  # refused: why is found out afterwards, as for any refusal
    return append.judged


def _shared_growths(stored: list[_Stored]) -> tuple[list[tuple[str, str, int]], list[tuple[str, int]]]:
    # (Not PostgreSQL, whose batches judge state with versions, in the statement.)
    return sizes.shared_growths(((s.append.key, s.growth) for s in stored), versioned=False)


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


async def _store_in_one_statement(
    connection: AsyncConnection, appends: list[PendingAppend], limits: StorageLimits
) -> list[_Stored]:
    bound = statements.store_batch([(a.key, a.expected_revision, a.event) for a in appends], limits)
    return [
        _Stored(appends[row.position], NO_GROWTH, row.session_pk, row.last_sequence, row.event_pk)
        for row in await driver_sql.execute(connection, *bound)
    ]


async def _claim_one_by_one(
    connection: AsyncConnection, appends: list[tuple[PendingAppend, Growth]], limits: StorageLimits
) -> list[_Stored]:
    stored: list[_Stored] = []
    # In key order, as every batch takes them, so that batches of server
    # replicas naming the same sessions wait for each other, never deadlock.
    for append, growth in sorted(
        appends, key=lambda a: (a[0].key.app_name, a[0].key.user_id, a[0].key.session_id)
    ):
        try:
            async with connection.begin_nested():
                one = await _claim_one(connection, append, growth, limits)
        except IntegrityError:
            # The event id is taken: the savepoint's rollback undid the claim.
            one = None
        if one is not None:
            stored.append(one)
    return stored


async def _claim_one(
    connection: AsyncConnection, append: PendingAppend, growth: Growth, limits: StorageLimits
) -> _Stored | None:
    key, event = append.key, append.event
    returning = connection.dialect.update_returning
    claim = statements.claim_next_sequence(
        key, append.expected_revision, event, growth, limits, returning=returning
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
    return _Stored(append, growth, session_pk, sequence, event_pk)


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
