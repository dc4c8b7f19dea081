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
statement in autocommit, its notification to the listening servers
included, run on the driver itself (``create_on_driver``): one round trip.

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

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Final

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
    if len(creates) == 1:
        (create,) = creates
        if together and not at_once and _stateless(create):
            # The most common batch, without the bookkeeping of a batch's positions and names.
            new = create_queries.NewSession(
                create.key, create.now, create.expiry, create.metadata.display_name
            )
            return [_created_outcome(create, _create_together(connection, [new]), 0)]
        return [create_one(connection, create, at_once=at_once)]
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
    """PostgreSQL, a create that may be made at once (``create_one``): one statement on the driver itself.

    The statement is the whole transaction (``PostgresqlExecutor.fetch_once``),
    without SQLAlchemy's execution: one round trip. With ``notify``, it
    also tells the listening servers of the session it created, as a
    create's transaction through SQLAlchemy does. None if it was not stored
    so, nothing of it committed (the name is taken, say): then it is stored
    as any other create (``store_batch``), which tells why.

    Raises:
        BackendUnavailableError: no connection could be had, or the
            connection was lost while the statement ran, which may have committed.
    """
    if not isinstance(executor, PostgresqlExecutor) or not _stateless(create):
        return None
    key = create.key
    rows = await executor.fetch_once(
        *session_queries.create_at_once(
            key, create.now, create.expiry, create.metadata.display_name, notify=notify
        )
    )
    if rows is None:
        return None
    return _created_at_once(create, *session_queries.created_from_rows(rows))


async def store_on_driver(
    executor: Executor, creates: list[PendingCreate], *, notify: bool = False
) -> list[Outcome[SessionRecord]] | None:
    """PostgreSQL, creates that may all be made at once: one statement in autocommit, on the driver itself.

    As ``create_on_driver`` (which makes a lone create), for a batch: with
    ``notify``, the statement tells the listening servers of each session
    it created (``queries.creates``). Each create's record, or its refusal
    (the name taken); None if the creates were not stored so, nothing of
    them committed, or some has state of its own or labels: then they are
    stored as any others (``store_batch``).

    Raises:
        BackendUnavailableError: no connection could be had, or the
            connection was lost while the statement ran, which may have committed.
    """
    if len(creates) == 1:
        created = await create_on_driver(executor, creates[0], notify=notify)
        return None if created is None else [created]
    if not isinstance(executor, PostgresqlExecutor) or not all(_stateless(create) for create in creates):
        return None
    outcomes, chosen = _taken_twice(creates)
    batch = _new_sessions(creates, chosen)
    rows = await executor.fetch_once(*create_queries.create_batch_at_once(batch, notify=notify))
    if rows is None:
        return None
    outcomes.update(_created_outcomes(creates, chosen, create_queries.created_from_rows(rows)))
    return [outcomes[index] for index in range(len(creates))]


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

    In one statement on PostgreSQL, a few on SQLite.
    """
    outcomes, chosen = _taken_twice([create if _stateless(create) else None for create in creates])
    if not chosen:
        return outcomes
    created = _create_together(connection, _new_sessions(creates, chosen))
    outcomes.update(_created_outcomes(creates, chosen, created))
    return outcomes


def _create_together(
    connection: sa.Connection, batch: list[create_queries.NewSession]
) -> create_queries.CreatedBatch:
    """``batch`` (distinct names, in key order) created together: in one statement, or a few on SQLite."""
    if connection.dialect.name == dialects.SQLITE:
        return sqlite_create_queries.create_batch(connection, batch)
    return create_queries.created_from_rows(connection.execute(*create_queries.create_batch_at_once(batch)))


def _taken_twice(
    creates: Sequence[PendingCreate | None],
) -> tuple[dict[int, Outcome[SessionRecord]], list[int]]:
    """The creates (by index; None: not one to store together) to store together, in key order.

    A name asked for twice goes in once: the later ones are refused as
    taken (their outcomes, by index), whether the first takes it or not.
    Key order is the order every writer inserts names in.
    """
    first_of_name: dict[SessionKey, int] = {}
    outcomes: dict[int, Outcome[SessionRecord]] = {}
    for index, create in enumerate(creates):
        if create is None:
            continue
        if create.key in first_of_name:
            outcomes[index] = SessionExistsError(create.key)
        else:
            first_of_name[create.key] = index
    return outcomes, [
        index for key, index in sorted(first_of_name.items(), key=lambda item: _name_order(item[0]))
    ]


def _new_sessions(creates: list[PendingCreate], chosen: list[int]) -> list[create_queries.NewSession]:
    """The sessions ``queries.creates`` makes for the ``chosen`` creates, in their order."""
    return [
        create_queries.NewSession(
            creates[index].key,
            creates[index].now,
            creates[index].expiry,
            creates[index].metadata.display_name,
        )
        for index in chosen
    ]


def _created_outcomes(
    creates: list[PendingCreate], chosen: list[int], created: create_queries.CreatedBatch
) -> dict[int, Outcome[SessionRecord]]:
    """Each of the ``chosen`` creates' record, or its refusal: a session not created was refused as taken."""
    return {
        index: _created_outcome(creates[index], created, position) for position, index in enumerate(chosen)
    }


def _created_outcome(
    create: PendingCreate, created: create_queries.CreatedBatch, position: int
) -> Outcome[SessionRecord]:
    """The record of the create at ``position`` of a batch created together, or its refusal as taken."""
    revision = created.revisions.get(position)
    if revision is None:
        return SessionExistsError(create.key)
    return _created_at_once(create, revision, created.state_of(create.key))


def _name_order(key: SessionKey) -> tuple[str, str, str]:
    return (key.app_name, key.user_id, key.session_id)
