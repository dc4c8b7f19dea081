"""The SQL backend's writes other than appends, each one transaction's work on a synchronous connection.

(Appends are stored in batches: ``appends``.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from adk_grpc_sessions.server.backends.base import (
    DEFAULT_BUDGET,
    EventWindow,
    Expiry,
    PurgeBatch,
    ScopedState,
    SessionExistsError,
    SessionKey,
    SessionNotFoundError,
    SessionRecord,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.sql import reading, state_limit
from adk_grpc_sessions.server.backends.sql.queries import lifecycle as lifecycle_queries
from adk_grpc_sessions.server.backends.sql.queries import sessions as session_queries
from adk_grpc_sessions.server.backends.sql.queries import sizes as size_queries
from adk_grpc_sessions.server.backends.sql.queries.rows import inserted_key
from adk_grpc_sessions.server.backends.sql.queries.state import (
    StateChange,
    merged_state_from_rows,
    select_merged_state,
    upsert_state,
)
from adk_grpc_sessions.server.backends.sql.schema import creation_revision
from adk_grpc_sessions.server.backends.sql.state_limit import Growth


def create_session(
    connection: sa.Connection,
    key: SessionKey,
    state: ScopedState,
    now: float,
    limits: StorageLimits,
    expiry: Expiry,
    clock: float | None,
) -> SessionRecord:
    """Creates the session ``key`` with ``state``, at ``now``; its record, with its merged state.

    With ``clock``, a session of that name that has expired by then (not
    purged yet) is deleted first, in the same transaction: its id is free.
    The new one has a new ``session_pk``, so its revisions never repeat the
    old one's.

    With app or user state, the shared scopes' size rows are locked first
    (as appends lock them), and the state judged against what they hold:
    nothing is written unless every scope has room.

    Raises:
        SessionExistsError: the session exists.
        StateSizeLimitError: a scope would pass ``limits.max_state_bytes`` (nothing is written).
    """
    growth = _judge_create(connection, key, state, limits)
    if clock is not None:
        connection.execute(*lifecycle_queries.delete_expired_named(key, clock))
    try:
        inserted = connection.execute(*session_queries.insert_session(key, now, growth.session, expiry))
    except IntegrityError:
        raise SessionExistsError(key) from None
    session_pk = inserted_key(inserted)
    revision = creation_revision(session_pk)
    connection.execute(*session_queries.set_revision(session_pk, revision))
    change = StateChange(key.app_name, key.user_id, session_pk, state)
    for upsert in upsert_state(connection.dialect, [change]):
        connection.execute(*upsert)
    for bound in size_queries.add_to_shared_sizes(*state_limit.shared_growths([(key, growth)])):
        connection.execute(*bound)
    merged = connection.execute(*select_merged_state(key.app_name, key.user_id, session_pk))
    return SessionRecord(
        key=key,
        state=merged_state_from_rows(merged),
        events=[],
        create_time=now,
        last_update_time=now,
        revision=revision,
        expiry=expiry,
    )


def _judge_create(
    connection: sa.Connection, key: SessionKey, state: ScopedState, limits: StorageLimits
) -> Growth:
    """What a new session's state adds to each scope, judged with the shared scopes' rows locked.

    Raises:
        StateSizeLimitError: a scope would pass ``limits.max_state_bytes`` (nothing is written).
    """
    # Every session's user and app get their state's size rows, so that
    # appends find them (a read first: most exist, and making one locks it).
    present = set(
        map(tuple, connection.execute(*size_queries.select_size_rows_of(key.app_name, key.user_id)))
    )
    users = [] if (key.app_name, key.user_id) in present else [(key.app_name, key.user_id)]
    apps = [] if (key.app_name, None) in present else [key.app_name]
    ensure_shared_sizes(connection, users, apps)
    wanted = state_limit.wanted([(key, state)], existing_sessions=False)
    found = state_limit.Sizes()
    for part, locked in size_queries.lock_shared_sizes(wanted):
        state_limit.sizes_from_rows(
            state_limit.locked_rows_as_sizes(part, connection.execute(*locked)), found
        )
    return state_limit.judge(key, state, found, limits, creating=True)


def create_at_once(
    connection: sa.Connection, key: SessionKey, now: float, expiry: Expiry
) -> tuple[int, ScopedState]:
    """PostgreSQL, a session without state of its own: the create as one statement.

    Three round trips (begin, the statement, commit) instead of five. Its
    revision, and the app's and the user's state. In a transaction, not in
    autocommit: a create is not safe to run twice (the second run would call
    the session taken), and only a transaction tells a statement that
    failed, and may be run again on a new connection, from a commit that
    failed and may have landed.

    Raises:
        SessionExistsError: the session exists (perhaps expired: ``create_session`` then purges it).
    """
    try:
        rows = connection.execute(*session_queries.create_at_once(key, now, expiry)).all()
    except IntegrityError:
        raise SessionExistsError(key) from None
    return session_queries.created_from_rows(rows)


def delete_session(connection: sa.Connection, key: SessionKey) -> None:
    """Deletes the session; its events and session state go with it."""
    connection.execute(*session_queries.delete_session(key))


def ensure_shared_sizes(
    connection: sa.Connection, users: Sequence[tuple[str, str]], apps: Sequence[str]
) -> None:
    """Makes the size rows of the shared scopes of state named that have none yet."""
    for bound in size_queries.ensure_shared_sizes(connection.dialect, users, apps):
        connection.execute(*bound)


_NO_EVENTS: Final = EventWindow(num_recent_events=0)


def update_expiry(connection: sa.Connection, key: SessionKey, expiry: Expiry, clock: float) -> SessionRecord:
    """Sets the expiry of the session ``key`` (if visible at ``clock``); returns it, without events.

    Raises:
        SessionNotFoundError: no such session, or it has expired by ``clock``.
    """
    row = connection.execute(*lifecycle_queries.lock_visible(key, clock)).first()
    if row is None:
        raise SessionNotFoundError(key)
    connection.execute(*lifecycle_queries.set_lifecycle(row.session_pk, expiry, row.close_time))
    return _as_it_is(connection, key)


def close_session(
    connection: sa.Connection, key: SessionKey, now: float, closed_ttl: float | None, clock: float
) -> SessionRecord:
    """Closes the session ``key`` at ``now`` (``Backend.close_session``); returns it, without events.

    Raises:
        SessionNotFoundError: no such session, or it has expired by ``clock``.
    """
    row = connection.execute(*lifecycle_queries.lock_visible(key, clock)).first()
    if row is None:
        raise SessionNotFoundError(key)
    close_time = now if row.close_time is None else row.close_time
    expiry = Expiry(row.expire_time, row.ttl)
    if closed_ttl is not None:
        latest = close_time + closed_ttl
        expiry = Expiry(latest if row.expire_time is None else min(row.expire_time, latest), None)
    connection.execute(*lifecycle_queries.set_lifecycle(row.session_pk, expiry, close_time))
    return _as_it_is(connection, key)


def _as_it_is(connection: sa.Connection, key: SessionKey) -> SessionRecord:
    """The session ``key`` as this transaction left it, with its state and no events, expired or not."""
    record = reading.session(connection, key, _NO_EVENTS, DEFAULT_BUDGET, None)
    assert record is not None, "the session's row is locked by this transaction"
    return record


def erase_user(connection: sa.Connection, app_name: str, user_id: str, clock: float) -> None:
    """Expires every session of the user at ``clock`` and deletes the user's state: one transaction."""
    for bound in lifecycle_queries.erase_user(app_name, user_id, clock):
        connection.execute(*bound)


PURGE_EVENTS_PER_BATCH: Final = 10_000
"""Most events one purge transaction deletes."""
PURGE_BYTES_PER_BATCH: Final = 64 * 1024 * 1024
"""Most event bytes (their ``size``) one purge transaction deletes, but for one event larger than that."""


def purge_expired(
    connection: sa.Connection, clock: float, limit: int, app_name: str | None, user_id: str | None
) -> PurgeBatch:
    """Deletes up to ``limit`` sessions expired by ``clock`` (with their events and state); what it deleted.

    The rows are selected and locked, skipping those another server's purge
    holds, then deleted, in this one short transaction: a crash before the
    commit deletes nothing, and the next purge takes them again. A
    transaction that deleted a hundred sessions of a thousand events each
    would hold the database's one writer (SQLite) for seconds, so sessions
    are taken only while their events stay within ``PURGE_EVENTS_PER_BATCH``
    and ``PURGE_BYTES_PER_BATCH``; the rows it leaves stay locked only until
    this transaction ends. If the first session alone exceeds them, this
    batch deletes its newest events up to those bounds and leaves the
    session, still expired, to the next.
    """
    rows = connection.execute(
        *lifecycle_queries.select_expired(clock, limit, app_name=app_name, user_id=user_id, lock=True)
    ).all()
    chosen: list[sa.Row[Any]] = []
    events = 0
    size = 0
    for row in rows:
        if (
            events + row.last_sequence > PURGE_EVENTS_PER_BATCH
            or size + row.events_bytes > PURGE_BYTES_PER_BATCH
        ):
            if not chosen:
                return _trim(connection, rows[0])
            break
        events += row.last_sequence
        size += row.events_bytes
        chosen.append(row)
    if chosen:
        connection.execute(*lifecycle_queries.delete_sessions([row.session_pk for row in chosen]))
    return PurgeBatch([SessionKey(row.app_name, row.user_id, row.session_id) for row in chosen], events)


def _trim(connection: sa.Connection, row: sa.Row[Any]) -> PurgeBatch:
    """Deletes the newest events of one expired session too large for one batch, within the batch bounds."""
    # Sizes are known per session, not per event: an even share per event
    # estimates how many fit the byte bound, and the sum is then read exactly.
    share = max(1, row.events_bytes // max(1, row.last_sequence))
    count = max(1, min(PURGE_EVENTS_PER_BATCH, PURGE_BYTES_PER_BATCH // share, row.last_sequence))
    keep = row.last_sequence - count
    deleted_bytes = int(
        connection.execute(*lifecycle_queries.trimmed_bytes(row.session_pk, keep)).scalar_one()
    )
    for bound in lifecycle_queries.trim_events(row.session_pk, keep, deleted_bytes):
        connection.execute(*bound)
    return PurgeBatch([], count)
