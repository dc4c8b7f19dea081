"""Events' rows: stored, found by id, and read as a session's windows and pages (oldest first).

A session's events are read by the ``(session_pk, sequence)`` index: windows
and pages are ranges of sequences, and ADK's after_timestamp rule is a
backwards scan that stops at the first event older than the time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import EventWindow, NewEvent, SessionKey
from adk_grpc_sessions.server.backends.sql.queries.parts import (
    BUDGET_BYTES,
    READ_EVENT_COLUMNS,
    RETRIED_EVENT_COLUMNS,
    UNBOUNDED,
    VISIBLE,
    Bound,
    part,
    typed_null,
    visible_params,
)
from adk_grpc_sessions.server.backends.sql.queries.rows import event_row
from adk_grpc_sessions.server.backends.sql.schema import events, sessions

_INSERT_EVENT = sa.insert(events)


def insert_event(session_pk: int, sequence: int, event: NewEvent) -> Bound:
    """The event's row."""
    return _INSERT_EVENT, event_row(session_pk, sequence, event)


def insert_events(rows: list[dict[str, Any]]) -> Bound:
    """Several events' rows (from ``event_row``) at once."""
    return _INSERT_EVENT, rows


_SELECT_EVENT_BY_ID = sa.select(*RETRIED_EVENT_COLUMNS).where(
    events.c.session_pk == sa.bindparam("b_session_pk"), events.c.event_id == sa.bindparam("b_event_id")
)


def select_event_by_id(session_pk: int, event_id: str) -> Bound:
    """The stored event with ``event_id`` in the session, if any."""
    return _SELECT_EVENT_BY_ID, {"b_session_pk": session_pk, "b_event_id": event_id}


def events_in_window(
    session_pk: sa.ColumnElement[int],
    floor: sa.ColumnElement[int],
    after_timestamp: bool,
    last: sa.ColumnElement[int] | None = None,
) -> sa.ColumnElement[bool]:
    """The session's events after sequence ``floor``, and with ``after_timestamp`` ADK's after_timestamp rule.

    The rule is evaluated as ADK evaluates it: scan back from the newest
    event (the (session_pk, sequence) index, backwards) and stop at the first
    one older than ``b_after_timestamp``, so only the events returned are read.

    ``last``: the session's last sequence, where the statement reads its
    session's key from the statement itself. PostgreSQL then plans without
    knowing which session: it expects one to hold the average share of the
    events table, which on a table of a few long sessions is a large part of
    it, and would scan the whole table for it. With both ends of the range
    bounded by values it cannot know, it expects a few rows, and reads them
    by the (session_pk, sequence) index, whatever the statistics say.
    """
    above_floor = sa.and_(events.c.session_pk == session_pk, events.c.sequence > floor)
    if last is not None:
        above_floor = sa.and_(above_floor, events.c.sequence <= last)
    if not after_timestamp:
        return above_floor
    last_older = (
        sa.select(events.c.sequence)
        .where(above_floor, events.c.timestamp < sa.bindparam("b_after_timestamp"))
        .order_by(events.c.sequence.desc())
        .limit(1)
        .scalar_subquery()
    )
    return sa.and_(above_floor, events.c.sequence > sa.func.coalesce(last_older, floor))


_EVENTS_ABOVE_FLOOR = sa.select(*READ_EVENT_COLUMNS).where(
    events_in_window(sa.bindparam("b_session_pk"), sa.bindparam("b_floor"), after_timestamp=False)
)
_EVENTS_AFTER_LAST_OLDER = sa.select(*READ_EVENT_COLUMNS).where(
    events_in_window(sa.bindparam("b_session_pk"), sa.bindparam("b_floor"), after_timestamp=True)
)
_UPTO = sa.bindparam("b_upto", type_=sa.BigInteger())
_WINDOW = _EVENTS_ABOVE_FLOOR.order_by(events.c.sequence)
_WINDOW_AFTER = _EVENTS_AFTER_LAST_OLDER.order_by(events.c.sequence)
_PAGE = _WINDOW.where(events.c.sequence <= _UPTO).limit(sa.bindparam("b_limit"))
_PAGE_AFTER = _WINDOW_AFTER.where(events.c.sequence <= _UPTO).limit(sa.bindparam("b_limit"))
_SIZES_PAGE = _PAGE.with_only_columns(events.c.sequence, events.c.size_bytes)
_SIZES_PAGE_AFTER = _PAGE_AFTER.with_only_columns(events.c.sequence, events.c.size_bytes)


def select_window(session_pk: int, last_sequence: int, window: EventWindow) -> Bound:
    """The events a session read returns, oldest first (``EventWindow``'s rules).

    As ``READ_EVENT_COLUMNS``; the events have consecutive sequence numbers.
    """
    floor = 0
    if window.num_recent_events is not None:
        floor = max(0, last_sequence - window.num_recent_events)
    params: dict[str, Any] = {"b_session_pk": session_pk, "b_floor": floor}
    if window.after_timestamp is None:
        return _WINDOW, params
    return _WINDOW_AFTER, {**params, "b_after_timestamp": window.after_timestamp}


def _event_page_at_once(after_timestamp: bool) -> sa.CompoundSelect[Any]:
    """``select_event_page`` and the session's own row, as one statement (see ``_whole_session``).

    Rows of (part, sequence, event_id, event_json, wire_cache,
    session_pk, fits): the session's row first (part 0: its key, and 1 if
    all of its events fit in the read's budget, else 0; the rest NULL) if the
    session exists, then the page's events (part 1, in any order), read only
    if they all fit (else ``event_page`` reads the page with its budget).
    """
    named = (
        sa.select(
            sessions.c.session_pk,
            sa.case((sessions.c.events_bytes <= BUDGET_BYTES, 1), else_=0).label("fits"),
            sessions.c.last_sequence,
        )
        .where(VISIBLE)
        .cte("named")
    )
    floor = sa.bindparam("b_floor", type_=sa.BigInteger())
    in_window = events_in_window(
        sa.select(named.c.session_pk).scalar_subquery(),
        floor,
        after_timestamp,
        sa.select(named.c.last_sequence).scalar_subquery(),
    )
    page = (
        sa.select(*READ_EVENT_COLUMNS)
        .where(in_window, events.c.sequence <= _UPTO, sa.select(named.c.fits).scalar_subquery() == 1)
        .order_by(events.c.sequence)
        .limit(sa.bindparam("b_limit"))
        .subquery("page")
    )
    return sa.union_all(
        sa.select(
            part(0), *map(typed_null, READ_EVENT_COLUMNS), named.c.session_pk, named.c.fits
        ).select_from(named),
        sa.select(part(1), *page.c, sa.null(), sa.null()),
    )


_EVENT_PAGES_AT_ONCE = {after: _event_page_at_once(after) for after in (False, True)}


def select_event_page_at_once(
    key: SessionKey,
    after_timestamp: float | None,
    after: int | None,
    upto: int | None,
    limit: int,
    budget: int,
    now: float,
) -> Bound:
    """``select_event_page`` for the session named ``key``, with whether it exists, in one round trip.

    A session expired by ``now`` does not exist.

    Events up to sequence ``upto`` (None: all), read only if all of the
    session's events fit in ``budget`` bytes. Read the rows with
    ``event_page_from_rows``.
    """
    params: dict[str, Any] = {
        **visible_params(key, now),
        "b_floor": after or 0,
        "b_upto": UNBOUNDED if upto is None else upto,
        "b_limit": limit,
        "b_budget_bytes": budget,
    }
    if after_timestamp is None:
        return _EVENT_PAGES_AT_ONCE[False], params
    return _EVENT_PAGES_AT_ONCE[True], {**params, "b_after_timestamp": after_timestamp}


@dataclass(frozen=True, slots=True)
class EventPageRows:
    """What ``select_event_page_at_once`` read of a session that exists."""

    session_pk: int
    fits: bool
    """Whether all of the session's events fit in the budget: only then was the page read."""
    rows: list[Sequence[Any]]
    """Rows as ``READ_EVENT_COLUMNS`` selects them, in sequence order."""


def event_page_from_rows(rows: Iterable[Sequence[Any]]) -> EventPageRows | None:
    """The page ``select_event_page_at_once`` read; None if no such session."""
    head: Sequence[Any] | None = None
    page: list[Sequence[Any]] = []
    for row in rows:
        if row[0] == 0:
            head = row
        else:
            page.append(row[1:5])
    if head is None:
        return None
    page.sort(key=itemgetter(0))
    return EventPageRows(head[5], head[6] == 1, page)


def select_event_page(
    session_pk: int, after_timestamp: float | None, after: int | None, upto: int | None, limit: int
) -> Bound:
    """Up to ``limit`` events after sequence ``after``, up to ``upto``, in append order.

    With the after_timestamp rule.

    As ``READ_EVENT_COLUMNS``; the events have consecutive sequence numbers.
    """
    return _page((_PAGE, _PAGE_AFTER), session_pk, after_timestamp, after, upto, limit)


def select_event_sizes(
    session_pk: int, after_timestamp: float | None, after: int | None, upto: int | None, limit: int
) -> Bound:
    """``select_event_page``'s events as (sequence, size_bytes) only: to find how many fit in a budget."""
    return _page((_SIZES_PAGE, _SIZES_PAGE_AFTER), session_pk, after_timestamp, after, upto, limit)


def _page(
    forms: tuple[sa.Select[Any], sa.Select[Any]],
    session_pk: int,
    after_timestamp: float | None,
    after: int | None,
    upto: int | None,
    limit: int,
) -> Bound:
    """A page statement (``forms``: without, and with, the after_timestamp rule) and its parameters."""
    params: dict[str, Any] = {
        "b_session_pk": session_pk,
        "b_floor": after or 0,
        "b_upto": UNBOUNDED if upto is None else upto,
        "b_limit": limit,
    }
    if after_timestamp is None:
        return forms[0], params
    return forms[1], {**params, "b_after_timestamp": after_timestamp}


_EVENT_RANGE = (
    sa.select(*READ_EVENT_COLUMNS)
    .where(
        events.c.session_pk == sa.bindparam("b_session_pk"),
        events.c.sequence.between(sa.bindparam("b_first"), sa.bindparam("b_last")),
    )
    .order_by(events.c.sequence)
)


def select_event_range(session_pk: int, first: int, last: int) -> Bound:
    """The session's events from sequence ``first`` to ``last``, as ``READ_EVENT_COLUMNS``, in order."""
    return _EVENT_RANGE, {"b_session_pk": session_pk, "b_first": first, "b_last": last}


_MAX_SESSION_PK = sa.select(sa.func.max(events.c.event_pk)).where(
    events.c.session_pk == sa.bindparam("b_session_pk")
)


def select_last_event_pk(session_pk: int) -> Bound:
    """The key of the session's latest event."""
    return _MAX_SESSION_PK, {"b_session_pk": session_pk}
