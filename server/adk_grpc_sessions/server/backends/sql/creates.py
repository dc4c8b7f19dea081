"""Storing a batch of creates in one transaction, each create in a savepoint of its own.

Creates join a group commit (``batching``) as appends do, so that
concurrent creates share a transaction's fixed costs, its commit's flush to
disk above all. Each create stays all-or-nothing: one the database refuses
(its name is taken, its state would pass a limit) is rolled back to its
savepoint, which undoes just it, and the others commit. Savepoints cost
two statements a create, and refusals are rare: a batch is first stored
without them, and only if a create in it is refused is it stored again,
with them. Every caller hears of its create only after the batch's commit.
A batch of one is the create's own transaction, without a savepoint: a
lone create costs what it did alone.

A lone create without state of its own nor labels is, on PostgreSQL, one
statement in its own transaction, run on the driver itself
(``create_on_driver``).

Creates without state of their own nor labels need no savepoint at all:
on PostgreSQL and SQLite they are stored together, in statements that skip
names already held rather than fail on them (``queries.creates``,
``queries.creates_sqlite``); on SQLite a lone one too, as those statements
run on the driver's cursor and cost less than ``writing.create_session``'s.

Creates are run in key order (app, user, session), so that the batches of
several writers (or server replicas) insert the same names, and the size
rows of the same users, in one order, and wait for each other rather than
deadlock. Creates that set app or user state are never in one batch, nor in
two concurrent batches, with another create setting the same scope
(``group_keys``): each is judged against its scope as it is.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    Expiry,
    Metadata,
    ScopedState,
    SessionExistsError,
    SessionKey,
    SessionRecord,
    StateSizeLimitError,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.sql import dialects, writing
from adk_grpc_sessions.server.backends.sql.batching import Outcome
from adk_grpc_sessions.server.backends.sql.queries import creates as create_queries
from adk_grpc_sessions.server.backends.sql.queries import creates_sqlite as sqlite_create_queries
from adk_grpc_sessions.server.backends.sql.queries import sessions as session_queries
from adk_grpc_sessions.server.backends.sql.queries import watching
from adk_grpc_sessions.server.backends.sql.queries.parts import Bound
from adk_grpc_sessions.server.backends.sql.transactions import Executor
from adk_grpc_sessions.server.backends.sql.transactions.server import PostgresqlExecutor

CREATE_BATCH_LIMIT: Final = 64
"""The most creates one batch takes."""

REFUSALS: Final = (SessionExistsError, StateSizeLimitError)
"""What a create is refused for, undoing that create alone; any other failure fails its batch."""


@dataclass(frozen=True, slots=True)
class PendingCreate:
    """A create waiting to be stored (``writing.create_session``'s arguments)."""

    key: SessionKey
    state: ScopedState
    now: float
    expiry: Expiry
    metadata: Metadata
    limits: StorageLimits
    clock: float | None
    """With a clock, a session of that name expired by then is purged first (the create made again)."""


def group_keys(create: PendingCreate) -> tuple[Hashable, ...]:
    """The shared scopes of state the create sets: a server stores one create of each at a time."""
    keys: tuple[Hashable, ...] = ()
    if create.state.user:
        keys += (("user", create.key.app_name, create.key.user_id),)
    if create.state.app:
        keys += (("app", create.key.app_name),)
    return keys


def store_batch(
    connection: sa.Connection,
    creates: list[PendingCreate],
    *,
    at_once: bool,
    together: bool,
    savepoints: bool,
) -> list[Outcome[SessionRecord]]:
    """Stores the creates that may be stored; each one's record, or the refusal it alone was rolled back for.

    ``at_once``: PostgreSQL, where a lone create without state of its own
    nor labels is one statement (``writing.create_at_once``). ``together``:
    PostgreSQL and SQLite, where a batch's creates without state of their own
    nor labels are stored together, names held skipped rather than errors
    (``queries.creates``, one statement; ``queries.creates_sqlite``, a few,
    also for a lone create). ``savepoints``: each other create in a
    savepoint, so that a refused one undoes only itself; without, the first
    refusal fails the whole batch (its transaction is then rolled back), which
    saves two statements a create where refusals are rare.

    Raises:
        SessionExistsError, StateSizeLimitError: a create was refused, without ``savepoints``
            (or the batch's only create was: its own transaction, never a savepoint).
    """
    if len(creates) == 1 and (at_once or not together or not _stateless(creates[0])):
        return [create_one(connection, creates[0], at_once=at_once)]
    outcomes: dict[int, Outcome[SessionRecord]] = {}
    if together:
        outcomes.update(_create_stateless_together(connection, creates))
    in_key_order = sorted(
        (index for index in range(len(creates)) if index not in outcomes),
        key=lambda index: _name_order(creates[index].key),
    )
    for index in in_key_order:
        if not savepoints:
            outcomes[index] = create_one(connection, creates[index], at_once=at_once)
            continue
        try:
            with connection.begin_nested():
                outcomes[index] = create_one(connection, creates[index], at_once=at_once)
        except REFUSALS as refusal:
            outcomes[index] = refusal
    return [outcomes[index] for index in range(len(creates))]


def create_one(connection: sa.Connection, create: PendingCreate, *, at_once: bool) -> SessionRecord:
    """One create (``writing.create_session``), in the transaction or savepoint ``connection`` is in.

    Raises:
        SessionExistsError: the session exists.
        StateSizeLimitError: a scope would pass the state limit.
    """
    key, metadata = create.key, create.metadata
    if at_once and _stateless(create):
        revision, merged = writing.create_at_once(
            connection, key, create.now, create.expiry, metadata.display_name
        )
        return _created_at_once(create, revision, merged)
    return writing.create_session(
        connection, key, create.state, create.now, create.limits, create.expiry, create.clock, metadata
    )


async def create_on_driver(
    executor: Executor, create: PendingCreate, *, notify: bool = False
) -> SessionRecord | None:
    """PostgreSQL, a create that may be made at once (``create_one``): its transaction on the driver itself.

    With ``notify``, its transaction also tells the listening servers of it
    (``watching.notify_created``), as a create's transaction through SQLAlchemy does.

    Through ``PostgresqlExecutor.fetch_in_transaction``, without
    SQLAlchemy's execution. None if it was not stored so, nothing of it
    committed (the name is taken, say): then it is stored as any other
    create (``store_batch``), which tells why.

    Raises:
        BackendUnavailableError: no connection could be had, or the
            connection was lost in the commit, which may have landed.
    """
    if not isinstance(executor, PostgresqlExecutor) or not _stateless(create):
        return None
    key = create.key
    rows = await executor.fetch_in_transaction(
        *session_queries.create_at_once(key, create.now, create.expiry, create.metadata.display_name),
        then=[_one_row(watching.notify_created([key]))] if notify else (),
    )
    if rows is None:
        return None
    return _created_at_once(create, *session_queries.created_from_rows(rows))


def _one_row(bound: Bound) -> tuple[sa.Executable, dict[str, Any]]:
    """``bound``, a statement with one row of values (not an executemany)."""
    statement, values = bound
    if not isinstance(values, dict):
        raise TypeError(f"a statement with one row of values, not {type(values).__name__}")
    return statement, values


def _created_at_once(create: PendingCreate, revision: int, merged: ScopedState) -> SessionRecord:
    """The record of a session made at once (no state of its own, no labels) with ``revision``."""
    return SessionRecord(
        key=create.key,
        state=merged,
        events=[],
        create_time=create.now,
        last_update_time=create.now,
        revision=revision,
        expiry=create.expiry,
        metadata=create.metadata,
        event_count=0,
        stored_bytes=0,
    )


def _stateless(create: PendingCreate) -> bool:
    """Whether a create may be made at once: no state of its own, no labels, no expired namesake to purge."""
    return create.clock is None and create.state.is_empty() and not create.metadata.labels


def _create_stateless_together(
    connection: sa.Connection, creates: list[PendingCreate]
) -> dict[int, Outcome[SessionRecord]]:
    """The batch's creates that may be made at once, stored together; their outcomes by index.

    In one statement on PostgreSQL, a few on SQLite. A name asked for twice
    in the batch goes in once: the later ones are refused as taken, whether
    the first takes it or not.
    """
    first_of_name: dict[SessionKey, int] = {}
    outcomes: dict[int, Outcome[SessionRecord]] = {}
    for index, create in enumerate(creates):
        if not _stateless(create):
            continue
        if create.key in first_of_name:
            outcomes[index] = SessionExistsError(create.key)
        else:
            first_of_name[create.key] = index
    if not first_of_name:
        return outcomes
    # In key order, the order every writer inserts names in.
    chosen = sorted(first_of_name.values(), key=lambda index: _name_order(creates[index].key))
    batch = [
        create_queries.NewSession(
            creates[i].key, creates[i].now, creates[i].expiry, creates[i].metadata.display_name
        )
        for i in chosen
    ]
    if connection.dialect.name == dialects.SQLITE:
        created = sqlite_create_queries.create_batch(connection, batch)
    else:
        created = create_queries.created_from_rows(
            connection.execute(*create_queries.create_batch_at_once(batch))
        )
    for position, index in enumerate(chosen):
        create = creates[index]
        revision = created.revisions.get(position)
        if revision is None:
            outcomes[index] = SessionExistsError(create.key)
            continue
        outcomes[index] = SessionRecord(
            key=create.key,
            state=created.state_of(create.key),
            events=[],
            create_time=create.now,
            last_update_time=create.now,
            revision=revision,
            expiry=create.expiry,
            metadata=create.metadata,
            event_count=0,
            stored_bytes=0,
        )
    return outcomes


def _name_order(key: SessionKey) -> tuple[str, str, str]:
    return (key.app_name, key.user_id, key.session_id)
