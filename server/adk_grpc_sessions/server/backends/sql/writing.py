"""The SQL backend's writes other than appends, each one transaction's work on a synchronous connection.

(Appends are stored in batches: ``appends``.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import pydantic_core
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from adk_grpc_sessions.server.backends.base import (
    DEFAULT_BUDGET,
    NO_METADATA,
    EventWindow,
    Expiry,
    ForkOrigin,
    ForkPointNotFoundError,
    ForkPointUnknownError,
    Metadata,
    PurgeBatch,
    ScopedState,
    SessionExistsError,
    SessionKey,
    SessionNotFoundError,
    SessionRecord,
    SessionUpdate,
    StateMap,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.sql import reading, state_limit
from adk_grpc_sessions.server.backends.sql.queries import forks as fork_queries
from adk_grpc_sessions.server.backends.sql.queries import lifecycle as lifecycle_queries
from adk_grpc_sessions.server.backends.sql.queries import metadata as metadata_queries
from adk_grpc_sessions.server.backends.sql.queries import sessions as session_queries
from adk_grpc_sessions.server.backends.sql.queries import sizes as size_queries
from adk_grpc_sessions.server.backends.sql.queries.rows import (
    decode_initial_state,
    encode_fork_origin,
    encode_initial_state,
    inserted_key,
)
from adk_grpc_sessions.server.backends.sql.queries.state import (
    StateChange,
    merged_state_from_rows,
    select_merged_state,
    upsert_state,
)
from adk_grpc_sessions.server.backends.sql.schema import creation_revision
from adk_grpc_sessions.server.backends.sql.state_limit import Growth
from adk_grpc_sessions.wire import limits as wire_limits


def create_session(
    connection: sa.Connection,
    key: SessionKey,
    state: ScopedState,
    now: float,
    limits: StorageLimits,
    expiry: Expiry,
    clock: float | None,
    metadata: Metadata = NO_METADATA,
) -> SessionRecord:
    """Creates the session ``key`` with ``state`` and ``metadata`` at ``now``; its record, with merged state.

    The session-scoped state given is kept as the session's initial state too (for forks).

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
        inserted = connection.execute(
            *session_queries.insert_session(
                key, now, growth.session, expiry, metadata, encode_initial_state(state.session)
            )
        )
    except IntegrityError:
        raise SessionExistsError(key) from None
    session_pk = inserted_key(inserted)
    revision = creation_revision(session_pk)
    connection.execute(*session_queries.set_revision(session_pk, revision))
    labels = metadata_queries.insert_labels(session_pk, metadata.labels)
    if labels is not None:
        connection.execute(*labels)
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
        metadata=metadata,
        event_count=0,
        stored_bytes=growth.session,
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
    connection: sa.Connection, key: SessionKey, now: float, expiry: Expiry, display_name: str = ""
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
        rows = connection.execute(*session_queries.create_at_once(key, now, expiry, display_name)).all()
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


def update_session(
    connection: sa.Connection, key: SessionKey, update: SessionUpdate, clock: float
) -> SessionRecord:
    """Changes the session ``key`` (if visible at ``clock``) as ``update`` says; returns it, without events.

    Its revision, update time, state and events stay as they are.

    Raises:
        SessionNotFoundError: no such session, or it has expired by ``clock``.
    """
    row = connection.execute(*lifecycle_queries.lock_visible(key, clock)).first()
    if row is None:
        raise SessionNotFoundError(key)
    if update.expiry is not None:
        connection.execute(*lifecycle_queries.set_lifecycle(row.session_pk, update.expiry, row.close_time))
    if update.display_name is not None:
        connection.execute(*metadata_queries.set_display_name(row.session_pk, update.display_name))
    if update.labels is not None:
        for bound in metadata_queries.set_labels(row.session_pk, update.labels):
            connection.execute(*bound)
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


def fork_session(
    connection: sa.Connection,
    source: SessionKey,
    target: SessionKey,
    now: float,
    before_invocation_id: str,
    expiry: Expiry,
    metadata: Metadata,
    clock: float,
    purge_clock: float | None,
) -> SessionRecord:
    """Forks ``source`` into the new session ``target`` (``Backend.fork_session``); returns it, no events.

    The source's row is locked first, so no append to it lands mid-copy.
    The events are copied in the database (``queries.forks``). The fork's
    state: a fork of every event copies the source's state rows; a fork
    before an invocation replays the copied events' session deltas over
    the source's initial state, reading them a few at a time, so the server
    holds one state (within the state limit), never the events. With
    ``purge_clock``, a session named ``target`` that has expired by then is
    deleted first.

    Raises:
        SessionNotFoundError: no such source, or it has expired by ``clock``.
        ForkPointNotFoundError: no event of the source has ``before_invocation_id``.
        ForkPointUnknownError: the fork is before an invocation and the source's initial state was not kept.
        SessionExistsError: ``target`` exists.
    """
    found = connection.execute(*fork_queries.lock_source(source, clock)).first()
    if found is None:
        raise SessionNotFoundError(source)
    upto = found.last_sequence
    if before_invocation_id:
        first = connection.execute(*fork_queries.first_of_invocation(found.session_pk, before_invocation_id))
        first_sequence = first.scalar()
        if first_sequence is None:
            raise ForkPointNotFoundError(source, before_invocation_id)
        upto = first_sequence - 1
    replayed = upto < found.last_sequence
    if replayed and found.initial_state is None:
        raise ForkPointUnknownError(source)
    if purge_clock is not None:
        connection.execute(*lifecycle_queries.delete_expired_named(target, purge_clock))
    try:
        inserted = connection.execute(
            *session_queries.insert_session(target, now, 0, expiry, metadata, found.initial_state)
        )
    except IntegrityError:
        raise SessionExistsError(target) from None
    session_pk = inserted_key(inserted)
    labels = metadata_queries.insert_labels(session_pk, metadata.labels)
    if labels is not None:
        connection.execute(*labels)
    connection.execute(*fork_queries.copy_events(found.session_pk, session_pk, upto))
    copied_bytes = int(connection.execute(*fork_queries.events_bytes(session_pk)).scalar_one())
    if replayed:
        state = _state_after(connection, found.session_pk, upto, found.initial_state)
        change = StateChange(target.app_name, target.user_id, session_pk, ScopedState(session=state))
        for upsert in upsert_state(connection.dialect, [change]):
            connection.execute(*upsert)
        state_bytes = wire_limits.state_bytes(state)
    else:
        connection.execute(*fork_queries.copy_state(found.session_pk, session_pk))
        state_bytes = found.state_bytes
    origin = ForkOrigin(source.session_id, upto, before_invocation_id, now)
    connection.execute(
        *fork_queries.set_fork(
            session_pk,
            creation_revision(session_pk),
            upto,
            copied_bytes,
            state_bytes,
            encode_fork_origin(origin),
        )
    )
    return _as_it_is(connection, target)


def _state_after(connection: sa.Connection, session_pk: int, upto: int, initial_state: str) -> StateMap:
    """A session's session-scoped state after its event ``upto``: its initial state and its events' deltas."""
    state = decode_initial_state(initial_state)
    for partition in connection.execute(*fork_queries.session_deltas(session_pk, upto)).partitions():
        for (state_delta,) in partition:
            changed = pydantic_core.from_json(state_delta).get("session")
            if changed:
                state.update(changed)
    return state


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
