"""Sessions written exactly as they were elsewhere (``Backend.restore_*``), and read so: copy, import.

A restored session arrives in parts: its row with its final state (one
transaction), then its events in bounded chunks (a transaction each), so
that neither a session of any size nor an interruption costs more than a
chunk: the session's stored event count says where a restore resumes.
Events are stored without applying their state deltas (they were applied
where they come from: replaying them would set app and user state to old
values). Sizes are kept as an append keeps them, so limits and read
budgets hold for restored sessions too; no limit refuses a restore.

What is kept and what is derived: every time (create, last update,
expire, close), the ttl, metadata, ``forked_from``, the initial and final
state, and each event's JSON, typed fields, cache, size and sequence are
kept. The revision is not: here it is derived from keys (``schema``), so
a restored session gets a new one, which no session of this database ever
had; a client holding a session read from the source reads it again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from adk_grpc_sessions.server.backends.base import (
    NewEvent,
    RestoredSession,
    ScopedState,
    SessionExistsError,
    SessionKey,
    SessionNotFoundError,
    StaleRevisionError,
    StateMap,
)
from adk_grpc_sessions.server.backends.sql import writing
from adk_grpc_sessions.server.backends.sql.queries import events as event_queries
from adk_grpc_sessions.server.backends.sql.queries import lifecycle as lifecycle_queries
from adk_grpc_sessions.server.backends.sql.queries import metadata as metadata_queries
from adk_grpc_sessions.server.backends.sql.queries import restored as restored_queries
from adk_grpc_sessions.server.backends.sql.queries import sessions as session_queries
from adk_grpc_sessions.server.backends.sql.queries import sizes as size_queries
from adk_grpc_sessions.server.backends.sql.queries import state as state_queries
from adk_grpc_sessions.server.backends.sql.queries.rows import (
    decode_initial_state,
    encode_fork_origin,
    encode_initial_state,
    event_row,
    fork_origin,
    inserted_key,
    label_rows,
    session_metadata,
)
from adk_grpc_sessions.server.backends.sql.schema import creation_revision, event_revision
from adk_grpc_sessions.wire.limits import state_bytes

_EVENT_BATCH_ROWS: Final = 200
_EVENT_BATCH_BYTES: Final = 4 * 1024 * 1024


def read_session_head(connection: sa.Connection, key: SessionKey, clock: float) -> RestoredSession | None:
    """The session ``key`` as ``restore_session`` takes it; None if it is missing or has expired."""
    row = connection.execute(*session_queries.select_restorable(key, clock)).first()
    if row is None:
        return None
    state = state_queries.merged_state_from_rows(
        connection.execute(*state_queries.select_merged_state(key.app_name, key.user_id, row.session_pk))
    )
    return RestoredSession(
        key=key,
        create_time=row.create_time,
        last_update_time=row.last_update_time,
        revision=row.revision,
        state=state.session,
        initial_state=None if row.initial_state is None else decode_initial_state(row.initial_state),
        event_count=row.last_sequence,
        expiry=session_queries.expiry_of(row),
        close_time=row.close_time,
        metadata=session_metadata(row.display_name, row.labels),
        forked_from=fork_origin(row.forked_from),
    )


def restore_session(
    connection: sa.Connection, session: RestoredSession, events: Sequence[NewEvent], clock: float | None
) -> None:
    """Writes ``session``'s row, labels, state and first ``events``; with ``clock``, an expired namesake goes.

    Raises:
        SessionExistsError: the name is taken.
    """
    key = session.key
    if clock is not None:
        connection.execute(*lifecycle_queries.delete_expired_named(key, clock))
    initial = None if session.initial_state is None else encode_initial_state(session.initial_state)
    try:
        inserted = connection.execute(
            *session_queries.insert_session(
                key,
                session.create_time,
                state_bytes(session.state),
                session.expiry,
                session.metadata,
                initial,
            )
        )
    except IntegrityError:
        raise SessionExistsError(key) from None
    session_pk = inserted_key(inserted)
    forked_from = None if session.forked_from is None else encode_fork_origin(session.forked_from)
    connection.execute(
        *session_queries.set_restored(
            session_pk,
            creation_revision(session_pk),
            session.last_update_time,
            session.close_time,
            forked_from,
        )
    )
    labels = metadata_queries.insert_labels(session_pk, session.metadata.labels)
    if labels is not None:
        connection.execute(*labels)
    # As a create does: the user's and the app's state get their size rows.
    writing.ensure_shared_sizes(connection, [(key.app_name, key.user_id)], [key.app_name])
    change = state_queries.StateChange(
        key.app_name, key.user_id, session_pk, ScopedState(session=session.state)
    )
    for upsert in state_queries.upsert_state(connection.dialect, [change]):
        connection.execute(*upsert)
    if events:
        _add_events(connection, session_pk, key, 0, events)


class NamesTakenMeanwhileError(Exception):
    """A session of a batch got its name taken by another writer between the check and the insert."""


def restore_sessions(
    connection: sa.Connection, batch: Sequence[tuple[RestoredSession, Sequence[NewEvent]]]
) -> list[SessionKey]:
    """Writes each session of ``batch`` with its first events as ``restore_session`` does, all at once.

    A statement per part for the whole batch (names checked, rows, labels,
    state, events, counts), not per session. A session whose name is held,
    by a session that may have expired, is not written: its key is returned,
    for ``restore_session`` (which purges an expired one).

    Raises:
        NamesTakenMeanwhileError: a name was taken after the check (nothing is written).
    """
    held = {
        SessionKey(row.app_name, row.user_id, row.session_id)
        for row in connection.execute(*restored_queries.select_named(session.key for session, _ in batch))
    }
    fresh = [(session, events) for session, events in batch if session.key not in held]
    if fresh:
        _insert_sessions(connection, fresh)
    return [session.key for session, _ in batch if session.key in held]


def _insert_sessions(
    connection: sa.Connection, fresh: list[tuple[RestoredSession, Sequence[NewEvent]]]
) -> None:
    rows = [
        restored_queries.restored_row(
            session,
            state_bytes(session.state),
            None if session.initial_state is None else encode_initial_state(session.initial_state),
        )
        for session, _ in fresh
    ]
    try:
        connection.execute(*restored_queries.insert_restored(rows))
    except IntegrityError:
        raise NamesTakenMeanwhileError from None
    pks = {
        SessionKey(row.app_name, row.user_id, row.session_id): int(row.session_pk)
        for row in connection.execute(*restored_queries.select_named(session.key for session, _ in fresh))
    }
    labels = [row for session, _ in fresh for row in label_rows(pks[session.key], session.metadata.labels)]
    if labels:
        connection.execute(*metadata_queries.insert_labels_rows(labels))
    # As a create does: the users' and the apps' state get their size rows.
    writing.ensure_shared_sizes(
        connection,
        sorted({(session.key.app_name, session.key.user_id) for session, _ in fresh}),
        sorted({session.key.app_name for session, _ in fresh}),
    )
    changes = [
        state_queries.StateChange(
            session.key.app_name, session.key.user_id, pks[session.key], ScopedState(session=session.state)
        )
        for session, _ in fresh
    ]
    for upsert in state_queries.upsert_state(connection.dialect, changes):
        connection.execute(*upsert)
    _insert_event_rows(
        connection,
        (
            (event_row(pks[session.key], sequence, event), len(event.event_json))
            for session, events in fresh
            for sequence, event in enumerate(events, start=1)
        ),
    )
    with_events = [pks[session.key] for session, events in fresh if events]
    last_event_pks: dict[int, int] = {}
    if with_events:
        last_event_pks = {
            int(session_pk): int(last)
            for session_pk, last in connection.execute(*restored_queries.select_last_event_pks(with_events))
        }
    counts = []
    for session, events in fresh:
        session_pk = pks[session.key]
        counts.append(
            {
                "b_session_pk": session_pk,
                "b_revision": event_revision(last_event_pks[session_pk])
                if events
                else creation_revision(session_pk),
                "b_last_sequence": len(events),
                "b_events_bytes": sum(event.size for event in events),
            }
        )
    connection.execute(*restored_queries.set_counts(counts))


def restore_events(
    connection: sa.Connection, key: SessionKey, first_sequence: int, events: Sequence[NewEvent], clock: float
) -> None:
    """Stores ``events`` at ``first_sequence`` on, if the session holds exactly the events before it.

    Raises:
        SessionNotFoundError: no such session (or it has expired).
        StaleRevisionError: it holds another number of events.
    """
    row = connection.execute(*session_queries.select_session(key, clock)).first()
    if row is None:
        raise SessionNotFoundError(key)
    held = int(row.last_sequence)
    if held != first_sequence - 1:
        raise StaleRevisionError(key, first_sequence - 1, held)
    if events:
        _add_events(connection, int(row.session_pk), key, held, events)


def _add_events(
    connection: sa.Connection, session_pk: int, key: SessionKey, held: int, events: Sequence[NewEvent]
) -> None:
    """Stores ``events`` after the ``held`` the session has, and counts them in its row."""
    first_sequence = held + 1
    try:
        _insert_events(connection, session_pk, first_sequence, events)
    except IntegrityError:
        # Another restore of the same session stored these sequences first.
        raise StaleRevisionError(key, first_sequence - 1, held + 1) from None
    last_event_pk = connection.execute(*event_queries.select_last_event_pk(session_pk)).scalar_one()
    updated = connection.execute(
        *session_queries.add_restored_events(
            session_pk,
            held,
            event_revision(int(last_event_pk)),
            held + len(events),
            sum(event.size for event in events),
        )
    )
    if updated.rowcount != 1:
        raise StaleRevisionError(key, first_sequence - 1, held + 1)


def restore_shared_state(
    connection: sa.Connection, app_name: str, user_id: str | None, state: StateMap
) -> None:
    """Upserts the app's (``user_id`` None) or the user's ``state`` and counts its scope's size again."""
    scoped = ScopedState(app=state) if user_id is None else ScopedState(user=state)
    change = state_queries.StateChange(app_name, user_id or "", 0, scoped)
    for upsert in state_queries.upsert_state(connection.dialect, [change]):
        connection.execute(*upsert)
    writing.ensure_shared_sizes(connection, [] if user_id is None else [(app_name, user_id)], [app_name])
    connection.execute(*size_queries.recount_shared_size(app_name, user_id))


def _insert_events(
    connection: sa.Connection, session_pk: int, first_sequence: int, new_events: Sequence[NewEvent]
) -> None:
    _insert_event_rows(
        connection,
        (
            (event_row(session_pk, sequence, event), len(event.event_json))
            for sequence, event in enumerate(new_events, start=first_sequence)
        ),
    )


def _insert_event_rows(connection: sa.Connection, rows: Iterator[tuple[dict[str, Any], int]]) -> None:
    """Inserts events' rows (each with its JSON's length) in statements of bounded rows and bytes."""
    batch: list[dict[str, Any]] = []
    size = 0
    for row, json_bytes in rows:
        if batch and (len(batch) >= _EVENT_BATCH_ROWS or size + json_bytes > _EVENT_BATCH_BYTES):
            connection.execute(*event_queries.insert_events(batch))
            batch, size = [], 0
        batch.append(row)
        size += json_bytes
    if batch:
        connection.execute(*event_queries.insert_events(batch))
