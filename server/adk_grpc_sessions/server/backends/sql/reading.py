"""The SQL backend's reads, each one transaction's work on a synchronous connection.

Synchronous so that one function serves every database: ``SqlBackend`` runs
it whole in a reader thread on SQLite (``sqlite_threads``: one hand-off to
the event loop per read, not one per driver call), and through
``AsyncConnection.run_sync`` on PostgreSQL and MySQL/MariaDB, whose drivers
are async.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, cast

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    AppendResult,
    EventCursor,
    EventIdConflictError,
    EventPosition,
    EventWindow,
    NewEvent,
    Page,
    ScopedState,
    SessionCursor,
    SessionKey,
    SessionNotFoundError,
    SessionPosition,
    SessionRecord,
    StaleRevisionError,
    StateMap,
    StoredEvent,
)
from adk_grpc_sessions.server.backends.sql import statements


def session(connection: sa.Connection, key: SessionKey, window: EventWindow) -> SessionRecord | None:
    """The session named ``key`` with the events ``window`` selects; None if it does not exist."""
    row = connection.execute(*statements.select_session(key)).first()
    if row is None:
        return None
    events: list[StoredEvent] = []
    if window.num_recent_events != 0:
        rows = connection.execute(*statements.select_window(row.session_pk, row.last_sequence, window))
        events = _stored_events(connection, row.session_pk, rows.all())
    merged = connection.execute(*statements.select_merged_state(key.app_name, key.user_id, row.session_pk))
    return session_record(row, statements.merged_state_from_rows(merged), events)


class FullReadNeeded:
    """``session_at_once``'s answer for a session with events stored without their encoding."""


FULL_READ_NEEDED: Final = FullReadNeeded()


def session_at_once(
    connection: sa.Connection, key: SessionKey, window: EventWindow
) -> SessionRecord | FullReadNeeded | None:
    """``session`` as one statement (``statements.select_whole_session``): it may run alone, in autocommit.

    Events stored without their encoding (before schema revision 0002, or
    by a server that made none) need a statement more, in the same
    snapshot: for a session that has any in its window, this answers
    ``FULL_READ_NEEDED`` and ``session`` is the read to make.
    """
    found = statements.whole_session_from_rows(
        # All rows at once: iterating the result would fetch them one by one.
        connection.execute(*statements.select_whole_session(key, window)).all()
    )
    if found is None:
        return None
    events = _encoded_only(found.events)
    if events is None:
        return FULL_READ_NEEDED
    return SessionRecord(
        key=key,
        state=found.state,
        events=events,
        create_time=found.create_time,
        last_update_time=found.last_update_time,
        revision=found.revision,
    )


def _encoded_only(rows: Sequence[Sequence[Any]]) -> list[StoredEvent] | None:
    """The events of ``rows`` (``ENCODED_EVENT_COLUMNS``); None if any was stored without its encoding."""
    events = statements.encoded_events_from_rows(rows)
    if any(event is None for event in events):  # (not `None in`: that compares each event with None)
        return None
    return cast(list[StoredEvent], events)  # not one None in it


def session_page(
    connection: sa.Connection,
    app_name: str,
    user_id: str | None,
    page_size: int,
    after: SessionPosition | None,
) -> Page[SessionRecord, SessionCursor]:
    """A page of sessions (no events) after ``after``, in ``Backend.list_sessions`` order.

    One statement (``statements.select_session_page``): it may run alone, in autocommit.
    The records of one page share the app's state, and the sessions of one
    user that user's state: the same dictionaries, not copies, so that the
    response encodes each once. Nothing that reads a record changes its state.
    """
    rows, shared_app, users, own = statements.page_from_rows(
        # All rows at once: iterating the result would fetch them one by one.
        connection.execute(
            *statements.select_session_page(connection.dialect, app_name, user_id, after, page_size + 1)
        ).all()
    )
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    no_state: StateMap = {}
    items = []
    for _, session_pk, owner, session_id, create_time, last_update_time, revision, _, _ in rows:
        state = ScopedState(
            app=shared_app, user=users.get(owner, no_state), session=own.get(session_pk, no_state)
        )
        items.append(
            SessionRecord(
                SessionKey(app_name, owner, session_id), state, (), create_time, last_update_time, revision
            )
        )
    if not has_more:
        return Page(items=items, next_cursor=None)
    last = items[-1]
    return Page(items=items, next_cursor=(last.last_update_time, last.key.user_id, last.key.session_id))


def event_page(
    connection: sa.Connection,
    key: SessionKey,
    after_timestamp: float | None,
    page_size: int,
    after: EventPosition | None,
) -> Page[StoredEvent, EventCursor]:
    """A page of the session's events after sequence ``after`` (``Backend.list_events``).

    Raises:
        SessionNotFoundError: no such session.
    """
    row = connection.execute(*statements.select_session(key)).first()
    if row is None:
        raise SessionNotFoundError(key)
    rows = connection.execute(
        *statements.select_event_page(row.session_pk, after_timestamp, after, page_size + 1)
    ).all()
    chosen = _stored_events(connection, row.session_pk, rows[:page_size])
    has_more = len(rows) > page_size
    return Page(items=chosen, next_cursor=chosen[-1].sequence if has_more else None)


def event_page_at_once(
    connection: sa.Connection,
    key: SessionKey,
    after_timestamp: float | None,
    page_size: int,
    after: EventPosition | None,
) -> Page[StoredEvent, EventCursor] | FullReadNeeded:
    """``event_page`` as one statement: it may run alone, in autocommit.

    ``FULL_READ_NEEDED`` for a page holding events stored without their
    encoding (see ``session_at_once``).

    Raises:
        SessionNotFoundError: no such session.
    """
    rows = statements.event_page_from_rows(
        # All rows at once: iterating the result would fetch them one by one.
        connection.execute(
            *statements.select_event_page_at_once(key, after_timestamp, after, page_size + 1)
        ).all()
    )
    if rows is None:
        raise SessionNotFoundError(key)
    events = _encoded_only(rows[:page_size])
    if events is None:
        return FULL_READ_NEEDED
    has_more = len(rows) > page_size
    return Page(items=events, next_cursor=events[-1].sequence if has_more else None)


def user_state(connection: sa.Connection, app_name: str, user_id: str) -> StateMap:
    """The user's state (empty if none)."""
    return dict(list(connection.execute(*statements.select_user_state(app_name, user_id))))


def app_state(connection: sa.Connection, app_name: str) -> StateMap:
    """The app's state (empty if none)."""
    return dict(list(connection.execute(*statements.select_app_state(app_name))))


def refused_append(
    connection: sa.Connection, key: SessionKey, event: NewEvent, expected_revision: int
) -> AppendResult:
    """Why the database refused to store ``event``: the original result if it is a retry, else the error.

    Raises:
        SessionNotFoundError: no such session.
        EventIdConflictError: another event with this id is stored.
        StaleRevisionError: the caller's revision is not the session's.
    """
    # The order of memory.py: a stored event answers before any revision check.
    row = connection.execute(*statements.select_session(key)).first()
    if row is None:
        raise SessionNotFoundError(key)
    stored = connection.execute(*statements.select_event_by_id(row.session_pk, event.id)).first()
    if stored is not None:
        if stored.event_json != event.event_json:
            raise EventIdConflictError(key, event.id)
        return AppendResult(
            event=statements.event_from_row(stored),
            revision=statements.revision_after(stored),
            last_update_time=stored.timestamp,
            already_applied=True,
        )
    if row.revision != expected_revision:
        raise StaleRevisionError(key, expected_revision, row.revision)
    # Revisions are never reused, so the one refused cannot have come back.
    raise RuntimeError(f"append to {key} was refused, yet the revision matches and the event is absent")


def _stored_events(
    connection: sa.Connection, session_pk: int, rows: Sequence[sa.Row[Any]]
) -> list[StoredEvent]:
    """The events of ``rows`` (``statements.ENCODED_EVENT_COLUMNS``, consecutive sequences).

    Each as it was encoded at append; the few stored without an encoding
    (before schema revision 0002, or by a server that made none) are read
    whole by one more statement, in the same snapshot.
    """
    encoded = statements.encoded_events_from_rows(rows)
    unencoded = [index for index, event in enumerate(encoded) if event is None]
    if not unencoded:
        return cast(list[StoredEvent], encoded)  # not one None in it
    first, last = rows[unencoded[0]].sequence, rows[unencoded[-1]].sequence
    whole = {
        record.sequence: record
        for record in map(
            statements.event_from_row,
            connection.execute(*statements.select_unencoded_events(session_pk, first, last)),
        )
    }
    return [whole[row.sequence] if event is None else event for row, event in zip(rows, encoded, strict=True)]


def session_record(row: sa.Row[Any], state: ScopedState, events: Sequence[StoredEvent]) -> SessionRecord:
    """The record of a session row (selected with ``statements.SESSION_COLUMNS``)."""
    return SessionRecord(
        key=SessionKey(row.app_name, row.user_id, row.session_id),
        state=state,
        events=events,
        create_time=row.create_time,
        last_update_time=row.last_update_time,
        revision=row.revision,
    )
