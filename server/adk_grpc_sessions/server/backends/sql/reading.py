"""The SQL backend's reads, each one transaction's work on a synchronous connection.

Synchronous so that one function serves every database: ``SqlBackend`` runs
it whole in a reader thread on SQLite (``sqlite_threads``: one hand-off to
the event loop per read, not one per driver call), and through
``AsyncConnection.run_sync`` on PostgreSQL and MySQL/MariaDB, whose drivers
are async.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    AppendResult,
    EventCursor,
    EventIdConflictError,
    EventPosition,
    EventSpan,
    EventWindow,
    NewEvent,
    Page,
    ReadBudget,
    ResponseTooLargeError,
    ScopedState,
    SessionCursor,
    SessionKey,
    SessionNotFoundError,
    SessionPosition,
    SessionRecord,
    SessionSizeLimitError,
    StaleRevisionError,
    StateMap,
    StorageLimits,
    StoredEvent,
)
from adk_grpc_sessions.server.backends.sql import sizes, statements
from adk_grpc_sessions.server.backends.sql.statements import Growth
from adk_grpc_sessions.wire import limits as wire_limits


def session(
    connection: sa.Connection, key: SessionKey, window: EventWindow, budget: ReadBudget
) -> SessionRecord | None:
    """The session named ``key`` with the events ``window`` selects that fit in ``budget``; None if missing.

    A session whose events all fit (by the sizes kept on its row) has them
    read at once; a larger one has its window's sizes read first, then only
    the events that fit (``rest`` says where the others resume).

    Raises:
        ResponseTooLargeError: the state alone does not fit.
    """
    row = connection.execute(*statements.select_session(key)).first()
    if row is None:
        return None
    merged = connection.execute(*statements.select_merged_state(key.app_name, key.user_id, row.session_pk))
    state = statements.merged_state_from_rows(merged)
    room = budget.bytes - _checked_state_size(state, budget)
    events: list[StoredEvent] = []
    rest: EventSpan | None = None
    if window.num_recent_events != 0:
        most_selected = row.last_sequence
        if window.num_recent_events is not None:
            most_selected = min(most_selected, window.num_recent_events)
        if row.events_bytes <= room and most_selected <= budget.max_events:
            rows = connection.execute(*statements.select_window(row.session_pk, row.last_sequence, window))
            events = _stored_events(connection, row.session_pk, rows.all())
        else:
            floor = 0
            if window.num_recent_events is not None:
                floor = max(0, row.last_sequence - window.num_recent_events)
            events, rest = _fitting_events(
                connection,
                row.session_pk,
                window.after_timestamp,
                floor,
                row.last_sequence,
                room,
                budget.max_events,
            )
    record = session_record(row, state, events)
    record.rest = rest
    return record


def _checked_state_size(state: ScopedState, budget: ReadBudget) -> int:
    """What a merged state counts (its three scopes' sizes).

    Raises:
        ResponseTooLargeError: more than ``budget`` holds (it was stored under a larger limit).
    """
    size = sum(map(wire_limits.state_bytes, (state.app, state.user, state.session)))
    if size > budget.bytes:
        raise ResponseTooLargeError("the session's state", size, budget.bytes)
    return size


def _fitting_events(
    connection: sa.Connection,
    session_pk: int,
    after_timestamp: float | None,
    after: int,
    upto: int,
    room: int,
    most: int,
) -> tuple[list[StoredEvent], EventSpan | None]:
    """The events that fit in ``room`` bytes, at most ``most``, and where the rest resume, if any is left.

    The events after sequence ``after``, to ``upto``, with the
    after_timestamp rule.

    Reads their sizes first (a narrow read of at most ``most`` + 1 rows),
    then only the events that fit: never more than a response holds.
    """
    found = connection.execute(
        *statements.select_event_sizes(session_pk, after_timestamp, after, upto, most + 1)
    ).all()
    taken = 0
    for _, size in found[:most]:
        room -= size
        if room < 0:
            break
        taken += 1
    events: list[StoredEvent] = []
    if taken:
        first, last = found[0][0], found[taken - 1][0]
        events = _stored_events(
            connection,
            session_pk,
            connection.execute(*statements.select_event_range(session_pk, first, last)).all(),
        )
    if taken == len(found):
        return events, None
    resume_after = found[taken][0] - 1
    return events, EventSpan(session_pk, resume_after, upto)


class FullReadNeeded:
    """``session_at_once``'s answer for a session with events stored without their encoding."""


FULL_READ_NEEDED: Final = FullReadNeeded()


def session_at_once(
    connection: sa.Connection, key: SessionKey, window: EventWindow, budget: ReadBudget
) -> SessionRecord | FullReadNeeded | None:
    """``session`` as one statement (``statements.select_whole_session``): it may run alone, in autocommit.

    For a session whose events and state all fit in ``budget``. For a
    larger one (its events not read), and for one with events stored
    without their encoding (before schema revision 0002, or by a server
    that made none), which need a statement more in the same snapshot, this
    answers ``FULL_READ_NEEDED``: ``session`` is the read to make.

    Raises:
        ResponseTooLargeError: the state alone does not fit.
    """
    found = statements.whole_session_from_rows(
        # All rows at once: iterating the result would fetch them one by one.
        connection.execute(*statements.select_whole_session(key, window, budget)).all()
    )
    if found is None:
        return None
    _checked_state_size(found.state, budget)
    if not found.fits and window.num_recent_events != 0:
        return FULL_READ_NEEDED
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
    budget: ReadBudget,
) -> Page[SessionRecord, SessionCursor]:
    """A page of sessions (no events) after ``after``, in ``Backend.list_sessions`` order, within ``budget``.

    One statement (``statements.select_session_page``): it may run alone, in autocommit.
    The records of one page share the app's state, and the sessions of one
    user that user's state: the same dictionaries, not copies, so that the
    response encodes each once. Nothing that reads a record changes its state.

    Raises:
        ResponseTooLargeError: the first session alone does not fit.
    """
    listed, shared_app, users, own = statements.page_from_rows(
        # All rows at once: iterating the result would fetch them one by one.
        connection.execute(
            *statements.select_session_page(
                connection.dialect, app_name, user_id, after, page_size + 1, budget.bytes
            )
        ).all()
    )
    rows = [row for row in listed[:page_size] if row[-1] <= budget.bytes]
    if listed and not rows:
        raise ResponseTooLargeError(f"session {listed[0][3]!r} with its state", listed[0][-1], budget.bytes)
    has_more = len(listed) > len(rows)
    no_state: StateMap = {}
    items = []
    for _, session_pk, owner, session_id, create_time, last_update_time, revision, _, _, _ in rows:
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
    after: EventPosition | EventSpan | None,
    budget: ReadBudget,
) -> Page[StoredEvent, EventCursor]:
    """A page of the session's events after ``after`` (``Backend.list_events``), within ``budget``.

    A session whose events all fit in ``budget`` has its page read at once;
    a larger one has the page's sizes read first, then only what fits.

    Raises:
        SessionNotFoundError: no such session (or, for an ``EventSpan``, not the one read).
        ResponseTooLargeError: the page's first event alone does not fit.
    """
    row = connection.execute(*statements.select_session(key)).first()
    if row is None or (isinstance(after, EventSpan) and row.session_pk != after.generation):
        raise SessionNotFoundError(key)
    floor, upto = _span(after)
    if row.events_bytes <= budget.bytes:
        rows = connection.execute(
            *statements.select_event_page(row.session_pk, after_timestamp, floor, upto, page_size + 1)
        ).all()
        chosen = _stored_events(connection, row.session_pk, rows[:page_size])
        more = len(rows) > page_size
    else:
        chosen, rest = _fitting_events(
            connection,
            row.session_pk,
            after_timestamp,
            floor,
            upto or row.last_sequence,
            budget.bytes,
            page_size,
        )
        more = rest is not None
        if more and not chosen:
            size = connection.execute(
                *statements.select_event_sizes(row.session_pk, after_timestamp, floor, upto, 1)
            ).one()[1]
            raise ResponseTooLargeError("the next event", size, budget.bytes)
    return Page(items=chosen, next_cursor=_next_cursor(after, chosen, more))


def _span(after: EventPosition | EventSpan | None) -> tuple[int, int | None]:
    """(the sequence a page starts after, the last it may reach or None) for a cursor."""
    if isinstance(after, EventSpan):
        return after.after, after.upto
    return after or 0, None


def _next_cursor(
    after: EventPosition | EventSpan | None, chosen: Sequence[StoredEvent], more: bool
) -> EventCursor | None:
    """Where the page after ``chosen`` starts: a span if ``after`` is one, else a position."""
    if not more:
        return None
    last = chosen[-1].sequence
    if isinstance(after, EventSpan):
        return EventSpan(after.generation, last, after.upto)
    return last


def event_page_at_once(
    connection: sa.Connection,
    key: SessionKey,
    after_timestamp: float | None,
    page_size: int,
    after: EventPosition | EventSpan | None,
    budget: ReadBudget,
) -> Page[StoredEvent, EventCursor] | FullReadNeeded:
    """``event_page`` as one statement: it may run alone, in autocommit.

    ``FULL_READ_NEEDED`` for a session whose events do not all fit in
    ``budget`` (they are not read), or for a page holding events stored
    without their encoding (see ``session_at_once``).

    Raises:
        SessionNotFoundError: no such session (or, for an ``EventSpan``, not the one read).
    """
    floor, upto = _span(after)
    found = statements.event_page_from_rows(
        # All rows at once: iterating the result would fetch them one by one.
        connection.execute(
            *statements.select_event_page_at_once(
                key, after_timestamp, floor, upto, page_size + 1, budget.bytes
            )
        ).all()
    )
    if found is None or (isinstance(after, EventSpan) and found.session_pk != after.generation):
        raise SessionNotFoundError(key)
    if not found.fits:
        return FULL_READ_NEEDED
    events = _encoded_only(found.rows[:page_size])
    if events is None:
        return FULL_READ_NEEDED
    return Page(items=events, next_cursor=_next_cursor(after, events, len(found.rows) > page_size))


def user_state(connection: sa.Connection, app_name: str, user_id: str) -> StateMap:
    """The user's state (empty if none)."""
    return dict(list(connection.execute(*statements.select_user_state(app_name, user_id))))


def app_state(connection: sa.Connection, app_name: str) -> StateMap:
    """The app's state (empty if none)."""
    return dict(list(connection.execute(*statements.select_app_state(app_name))))


@dataclass(frozen=True, slots=True)
class TryAgain:
    """``refused_append``'s answer when nothing explains the refusal any more: store the append again.

    After making the size rows of the shared scopes named here: the append
    sets keys in them, and they have none yet.
    """

    missing_users: Sequence[tuple[str, str]] = ()
    missing_apps: Sequence[str] = ()


TRY_AGAIN: Final = TryAgain()


def refused_append(
    connection: sa.Connection,
    key: SessionKey,
    event: NewEvent,
    expected_revision: int,
    limits: StorageLimits,
    judged: Growth | None,
) -> AppendResult | TryAgain:
    """Why the database refused to store ``event``: the original result if it is a retry, else the error.

    ``TRY_AGAIN`` if a shared scope of state it sets has changed since it
    was ``judged`` (or it was refused by a judgement that no longer holds):
    store it again.

    Raises:
        SessionNotFoundError: no such session.
        EventIdConflictError: another event with this id is stored.
        StaleRevisionError: the caller's revision is not the session's.
        SessionSizeLimitError: the event would take the session past ``limits.max_session_bytes``.
        StateSizeLimitError: the state it sets would take a scope past ``limits.max_state_bytes``.
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
    if row.events_bytes + event.size > limits.max_session_bytes:
        raise SessionSizeLimitError(key, limits.max_session_bytes, row.events_bytes, event.size)
    wanted = sizes.wanted([(key, event.state_delta)])
    if not sizes.is_empty(wanted):
        found = sizes.sizes_from_rows(
            connection.execute(*statements.select_sizes(connection.dialect, wanted))
        )
        try:
            now = sizes.judge(key, event.state_delta, found, limits)
        except LookupError:
            if judged is None:  # a shared scope without its size row yet: made before the next try
                return TryAgain(*found.missing(wanted))
            now = judged  # the row it was judged against went with the failed transaction
        if judged is None or (now.user_version, now.app_version) != (judged.user_version, judged.app_version):
            return TRY_AGAIN
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
