"""The SQL backend's reads, each one transaction's work on a synchronous connection.

Synchronous so that one function serves every database: the executor
(``transactions``) runs it whole in a reader thread on SQLite (one hand-off
to the event loop per read, not one per driver call), and through
``AsyncConnection.run_sync`` on PostgreSQL and MySQL/MariaDB, whose drivers
are async. On PostgreSQL a session's read, one statement, goes to the driver
itself instead (``session_on_driver``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    ALL_SESSIONS,
    DEFAULT_BUDGET,
    Cursor,
    EventWindow,
    Expiry,
    OrderBy,
    Page,
    ReadBudget,
    ResponseTooLargeError,
    ScopedState,
    SessionKey,
    SessionNotFoundError,
    SessionQuery,
    SessionRecord,
    StateMap,
    StoredEvent,
    WatchedEvent,
    WatchRead,
)
from adk_grpc_sessions.server.backends.keyset_cursors import (
    EventSpan,
    SessionPosition,
    event_cursor,
    session_cursor,
)
from adk_grpc_sessions.server.backends.sql import driver_sql
from adk_grpc_sessions.server.backends.sql.event_cache import EventCache, Fetch
from adk_grpc_sessions.server.backends.sql.queries import lifecycle as lifecycle_queries
from adk_grpc_sessions.server.backends.sql.queries import watching
from adk_grpc_sessions.server.backends.sql.queries.events import (
    event_page_from_rows,
    select_event_page,
    select_event_page_at_once,
    select_event_range,
    select_event_sizes,
    select_window,
)
from adk_grpc_sessions.server.backends.sql.queries.listing import page_from_rows, select_session_page
from adk_grpc_sessions.server.backends.sql.queries.parts import Bound
from adk_grpc_sessions.server.backends.sql.queries.rows import (
    fork_origin,
    read_events,
    session_metadata,
    session_record,
)
from adk_grpc_sessions.server.backends.sql.queries.sessions import (
    select_session,
    select_whole_session,
    whole_session_from_rows,
)
from adk_grpc_sessions.server.backends.sql.queries.state import (
    merged_state_from_rows,
    select_app_state,
    select_merged_state,
    select_user_state,
)
from adk_grpc_sessions.server.backends.sql.schema import creation_revision, event_revision
from adk_grpc_sessions.server.backends.sql.transactions.server import PostgresqlExecutor
from adk_grpc_sessions.wire import limits as wire_limits


def session(
    connection: sa.Connection,
    key: SessionKey,
    window: EventWindow,
    budget: ReadBudget,
    now: float | None,
    cache: EventCache | None = None,
) -> SessionRecord | None:
    """The session named ``key`` with the events ``window`` selects that fit in ``budget``; None if missing.

    Missing too if it has expired by ``now`` (None: read it expired or not).

    A session whose events all fit (by the sizes kept on its row) has them
    read at once (those ``cache`` keeps from earlier reads are not read
    again, unless the window has an after_timestamp); a larger one has its
    window's sizes read first, then only the events that fit (``rest`` says
    where the others resume).

    Raises:
        ResponseTooLargeError: the state alone does not fit.
    """
    found = driver_sql.select(connection, *select_session(key, now))
    if not found:
        return None
    row = found[0]
    state = merged_state_from_rows(
        driver_sql.select(connection, *select_merged_state(key.app_name, key.user_id, row.session_pk))
    )
    room = budget.bytes - _checked_state_size(state, budget)
    events: list[StoredEvent] = []
    rest: EventSpan | None = None
    if window.num_recent_events != 0:
        most_selected = row.last_sequence
        if window.num_recent_events is not None:
            most_selected = min(most_selected, window.num_recent_events)
        if row.events_bytes <= room and most_selected <= budget.max_events:
            if cache is not None and window.after_timestamp is None:
                events = cache.events(
                    key,
                    row.session_pk,
                    row.create_time,
                    row.last_sequence - most_selected + 1,
                    row.last_sequence,
                    _range_reader(connection, row.session_pk),
                )
            else:
                events = read_events(
                    driver_sql.select(
                        connection, *select_window(row.session_pk, row.last_sequence, window), named=False
                    )
                )
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
    record.rest = None if rest is None else event_cursor(rest)
    return record


def _range_reader(connection: sa.Connection, session_pk: int) -> Fetch:
    """Reads the session's events by sequence range, in ``connection``'s transaction (for ``EventCache``)."""

    def fetch(first: int, last: int) -> list[StoredEvent]:
        return read_events(
            driver_sql.select(connection, *select_event_range(session_pk, first, last), named=False)
        )

    return fetch


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
    found = connection.execute(*select_event_sizes(session_pk, after_timestamp, after, upto, most + 1)).all()
    taken = 0
    for _, size in found[:most]:
        room -= size
        if room < 0:
            break
        taken += 1
    events: list[StoredEvent] = []
    if taken:
        first, last = found[0][0], found[taken - 1][0]
        events = read_events(connection.execute(*select_event_range(session_pk, first, last)))
    if taken == len(found):
        return events, None
    resume_after = found[taken][0] - 1
    return events, EventSpan(session_pk, resume_after, upto)


def compile_statements(dialect: sa.Dialect) -> None:
    """Compiles the reads run as driver SQL on ``dialect``.

    On SQLite, ``session``'s and ``event_page``'s; on PostgreSQL,
    ``session_on_driver``'s. Done once at start, as the appends' are: the
    first read of each form would wait for its compiling, as long as a
    score of reads.
    """
    key = SessionKey("", "", "")
    forms: list[Bound] = []
    if dialect.name == "postgresql":
        for recent in (None, 1):
            for after_timestamp in (None, 0.0):
                window = EventWindow(num_recent_events=recent, after_timestamp=after_timestamp)
                forms.append(select_whole_session(key, window, DEFAULT_BUDGET, 0.0))
    elif dialect.name == "sqlite":
        forms += [select_session(key, None), select_session(key, 0.0), select_merged_state("", "", 0)]
        for after_timestamp in (None, 0.0):
            forms.append(select_window(0, 0, EventWindow(after_timestamp=after_timestamp)))
            forms.append(select_event_page(0, after_timestamp, None, None, 1))
        forms.append(select_event_range(0, 0, 0))
    # Elsewhere reads run through SQLAlchemy's execution (see ``driver_sql.select``).
    for statement, _ in forms:
        driver_sql.driver_statement(statement, dialect)


class FullReadNeeded:
    """``session_at_once``'s answer for a session too large to read in one statement."""


FULL_READ_NEEDED: Final = FullReadNeeded()


def session_at_once(
    connection: sa.Connection, key: SessionKey, window: EventWindow, budget: ReadBudget, now: float
) -> SessionRecord | FullReadNeeded | None:
    """``session`` as one statement (``select_whole_session``): it may run alone, in autocommit.

    For a session whose events and state all fit in ``budget``. For a
    larger one (its events not read) this answers ``FULL_READ_NEEDED``:
    ``session`` is the read to make.

    Raises:
        ResponseTooLargeError: the state alone does not fit.
    """
    # All rows at once: iterating the result would fetch them one by one.
    rows = connection.execute(*select_whole_session(key, window, budget, now)).all()
    return _whole_record(key, rows, window, budget)


async def session_on_driver(
    executor: PostgresqlExecutor, key: SessionKey, window: EventWindow, budget: ReadBudget, now: float
) -> SessionRecord | FullReadNeeded | None:
    """PostgreSQL: ``session_at_once``'s statement on the driver itself (``PostgresqlExecutor.select``).

    One round trip on a kept connection, without SQLAlchemy's execution
    around it, which costs a read of a small session more CPU than the
    database's own work.

    Raises:
        ResponseTooLargeError: the state alone does not fit.
    """
    rows = await executor.select(*select_whole_session(key, window, budget, now))
    return _whole_record(key, rows, window, budget)


def _whole_record(
    key: SessionKey, rows: Sequence[Sequence[Any]], window: EventWindow, budget: ReadBudget
) -> SessionRecord | FullReadNeeded | None:
    """The record ``select_whole_session``'s ``rows`` hold (see ``session_at_once``)."""
    found = whole_session_from_rows(rows)
    if found is None:
        return None
    _checked_state_size(found.state, budget)
    if not found.fits and window.num_recent_events != 0:
        return FULL_READ_NEEDED
    return SessionRecord(
        key=key,
        state=found.state,
        events=read_events(found.events),
        create_time=found.create_time,
        last_update_time=found.last_update_time,
        revision=found.revision,
        expiry=found.expiry,
        close_time=found.close_time,
        metadata=found.metadata,
        event_count=found.event_count,
        stored_bytes=found.stored_bytes,
        forked_from=found.forked_from,
    )


def session_page(
    connection: sa.Connection,
    app_name: str,
    user_id: str | None,
    page_size: int,
    after: SessionPosition | None,
    budget: ReadBudget,
    now: float,
    query: SessionQuery = ALL_SESSIONS,
) -> Page[SessionRecord]:
    """A page of the sessions ``query`` keeps (no events) after ``after``, in its order, within ``budget``.

    One statement (``queries.listing.select_session_page``): it may run alone, in autocommit.
    The records of one page share the app's state, and the sessions of one
    user that user's state: the same dictionaries, not copies, so that the
    response encodes each once. Nothing that reads a record changes its state.

    Raises:
        ResponseTooLargeError: the first session alone does not fit.
    """
    listed, shared_app, users, own = page_from_rows(
        # All rows at once: iterating the result would fetch them one by one.
        connection.execute(
            *select_session_page(
                connection.dialect, app_name, user_id, after, page_size + 1, budget.bytes, now, query
            )
        ).all()
    )
    rows = [row for row in listed[:page_size] if row[-1] <= budget.bytes]
    if listed and not rows:
        raise ResponseTooLargeError(f"session {listed[0][3]!r} with its state", listed[0][-1], budget.bytes)
    has_more = len(listed) > len(rows)
    no_state: StateMap = {}
    items = []
    for row in rows:
        _, session_pk, owner, session_id, create_time, last_update_time, revision = row[:7]
        expire_time, ttl, close_time, display_name, labels, forked_from = row[9:15]
        event_count, stored_bytes = row[15:17]
        state = ScopedState(
            app=shared_app, user=users.get(owner, no_state), session=own.get(session_pk, no_state)
        )
        items.append(
            SessionRecord(
                SessionKey(app_name, owner, session_id),
                state,
                (),
                create_time,
                last_update_time,
                revision,
                expiry=Expiry(expire_time, ttl),
                close_time=close_time,
                metadata=session_metadata(display_name, labels),
                event_count=event_count,
                stored_bytes=stored_bytes,
                forked_from=fork_origin(forked_from),
            )
        )
    if not has_more:
        return Page(items=items, next_cursor=None)
    last = items[-1]
    return Page(
        items=items,
        next_cursor=session_cursor((_order_time(last, query), last.key.user_id, last.key.session_id)),
    )


def _order_time(record: SessionRecord, query: SessionQuery) -> float:
    """The time ``query`` orders ``record`` by: the first part of its position in the listing."""
    return record.create_time if query.order_by is OrderBy.CREATE_TIME else record.last_update_time


def event_page(
    connection: sa.Connection,
    key: SessionKey,
    after_timestamp: float | None,
    page_size: int,
    after: int | EventSpan | None,
    budget: ReadBudget,
    now: float,
    cache: EventCache | None = None,
) -> Page[StoredEvent]:
    """A page of the session's events after ``after`` (``Backend.list_events``), within ``budget``.

    A session whose events all fit in ``budget`` has its page read at once
    (without an after_timestamp, from ``cache`` as ``session`` reads it); a
    larger one has the page's sizes read first, then only what fits.

    Raises:
        SessionNotFoundError: no such session (or, for an ``EventSpan``, not the one read).
        ResponseTooLargeError: the page's first event alone does not fit.
    """
    found = driver_sql.select(connection, *select_session(key, now))
    if not found or (isinstance(after, EventSpan) and found[0].session_pk != after.generation):
        raise SessionNotFoundError(key)
    row = found[0]
    floor, upto = _span(after)
    if row.events_bytes <= budget.bytes and cache is not None and after_timestamp is None:
        # Sequences run without a gap from 1 to the session's last: the page
        # and whether more follow are known from the row.
        end = row.last_sequence if upto is None else min(upto, row.last_sequence)
        chosen = cache.events(
            key,
            row.session_pk,
            row.create_time,
            floor + 1,
            min(end, floor + page_size),
            _range_reader(connection, row.session_pk),
        )
        more = end > floor + page_size
    elif row.events_bytes <= budget.bytes:
        rows = driver_sql.select(
            connection,
            *select_event_page(row.session_pk, after_timestamp, floor, upto, page_size + 1),
            named=False,
        )
        chosen = read_events(rows[:page_size])
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
                *select_event_sizes(row.session_pk, after_timestamp, floor, upto, 1)
            ).one()[1]
            raise ResponseTooLargeError("the next event", size, budget.bytes)
    return Page(items=chosen, next_cursor=_next_cursor(after, chosen, more))


def _span(after: int | EventSpan | None) -> tuple[int, int | None]:
    """(the sequence a page starts after, the last it may reach or None) for a cursor."""
    if isinstance(after, EventSpan):
        return after.after, after.upto
    return after or 0, None


def _next_cursor(after: int | EventSpan | None, chosen: Sequence[StoredEvent], more: bool) -> Cursor | None:
    """Where the page after ``chosen`` starts: a span if ``after`` is one, else a position."""
    if not more:
        return None
    last = chosen[-1].sequence
    if isinstance(after, EventSpan):
        return event_cursor(EventSpan(after.generation, last, after.upto))
    return event_cursor(last)


def event_page_at_once(
    connection: sa.Connection,
    key: SessionKey,
    after_timestamp: float | None,
    page_size: int,
    after: int | EventSpan | None,
    budget: ReadBudget,
    now: float,
) -> Page[StoredEvent] | FullReadNeeded:
    """``event_page`` as one statement: it may run alone, in autocommit.

    ``FULL_READ_NEEDED`` for a session whose events do not all fit in
    ``budget`` (they are not read).

    Raises:
        SessionNotFoundError: no such session (or, for an ``EventSpan``, not the one read).
    """
    floor, upto = _span(after)
    found = event_page_from_rows(
        # All rows at once: iterating the result would fetch them one by one.
        connection.execute(
            *select_event_page_at_once(key, after_timestamp, floor, upto, page_size + 1, budget.bytes, now)
        ).all()
    )
    if found is None or (isinstance(after, EventSpan) and found.session_pk != after.generation):
        raise SessionNotFoundError(key)
    if not found.fits:
        return FULL_READ_NEEDED
    events = read_events(found.rows[:page_size])
    return Page(items=events, next_cursor=_next_cursor(after, events, len(found.rows) > page_size))


def user_state(connection: sa.Connection, app_name: str, user_id: str) -> StateMap:
    """The user's state (empty if none)."""
    return dict(list(connection.execute(*select_user_state(app_name, user_id))))


def app_state(connection: sa.Connection, app_name: str) -> StateMap:
    """The app's state (empty if none)."""
    return dict(list(connection.execute(*select_app_state(app_name))))


def count_expired(connection: sa.Connection, clock: float) -> int:
    """How many sessions have expired by ``clock`` and wait to be purged."""
    return int(connection.execute(*lifecycle_queries.count_expired(clock)).scalar_one())


def list_expired(connection: sa.Connection, clock: float, limit: int) -> list[SessionKey]:
    """Up to ``limit`` sessions expired by ``clock``, soonest-expired first (nothing locked)."""
    rows = connection.execute(*lifecycle_queries.select_expired(clock, limit, lock=False)).all()
    return [SessionKey(row.app_name, row.user_id, row.session_id) for row in rows]


def watched_page(
    connection: sa.Connection, key: SessionKey, after_revision: int, budget: ReadBudget, now: float
) -> WatchRead:
    """The session's events after the resume point ``after_revision`` (``Backend.read_watched``).

    Its head and where the resume point falls (by the event's primary key), in
    one statement, then a range of the ``(session_pk, sequence)`` index: all of
    it when the session's events fit in ``budget``, else only what fits, by
    their sizes.
    One snapshot (a read transaction).

    Raises:
        SessionNotFoundError: no such session, or the resume point is not one of its.
        ResponseTooLargeError: the next event alone does not fit in ``budget``.
    """
    # An even resume point is an event's (its key is half of it); 0 stands for none.
    event_pk = after_revision // 2 if after_revision % 2 == 0 else 0
    head = connection.execute(*watching.select_head(key, event_pk)).first()
    if head is None:
        raise SessionNotFoundError(key)
    closed = head.close_time is not None
    if head.expire_time is not None and head.expire_time <= now:
        return WatchRead([], 0, head.revision, False, closed, expired=True, expire_time=head.expire_time)
    after = _resume_sequence(key, head, after_revision)
    last = head.last_sequence
    upto = min(last, after + budget.max_events)
    if upto > after and head.events_bytes > budget.bytes:
        room, stop = budget.bytes, after
        for sequence, size in connection.execute(*watching.select_sizes(head.session_pk, after, upto)):
            room -= size
            if room < 0:
                break
            stop = sequence
        if stop == after:
            raise ResponseTooLargeError("the next event", budget.bytes - room, budget.bytes)
        upto = stop
    rows = (
        connection.execute(*watching.select_watched(head.session_pk, after, upto)).all()
        if upto > after
        else []
    )
    watched = [
        WatchedEvent(
            StoredEvent(event_id, sequence, event_json, cache or b"", size), event_revision(event_pk)
        )
        for event_pk, sequence, event_id, event_json, cache, size in rows
    ]
    return WatchRead(watched, after, head.revision, upto < last, closed, expire_time=head.expire_time)


def _resume_sequence(key: SessionKey, head: sa.Row[Any], after_revision: int) -> int:
    """The sequence of the event ``after_revision`` resumes after (0: before the first).

    Raises:
        SessionNotFoundError: it is not one of this session's resume points.
    """
    if after_revision == 0:
        return 0
    if after_revision == creation_revision(head.session_pk):
        origin = fork_origin(head.forked_from)
        return 0 if origin is None else origin.event_count
    if after_revision % 2 == 0 and head.anchor_sequence is not None:
        return int(head.anchor_sequence)
    raise SessionNotFoundError(key)
