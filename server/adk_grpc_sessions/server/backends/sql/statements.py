"""The SQL statements of the SQL backend, built with SQLAlchemy Core, and row conversions.

Statements only: no connections, no transactions (``backend`` holds those).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

import pydantic_core
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    EventRecord,
    EventWindow,
    NewEvent,
    ScopedState,
    SessionCursor,
    SessionKey,
    StateMap,
)
from adk_grpc_sessions.server.backends.sql import dialects
from adk_grpc_sessions.server.backends.sql.schema import (
    app_state,
    event_revision,
    events,
    key_digest,
    session_state,
    sessions,
    user_state,
)

_ROWS_PER_UPSERT: Final = 500
_BYTES_PER_UPSERT: Final = 4 * 1024 * 1024
"""Upserts are split so one statement stays well under MySQL's default max_allowed_packet."""

EVENT_COLUMNS: Final = (
    events.c.event_pk,
    events.c.sequence,
    events.c.event_id,
    events.c.invocation_id,
    events.c.author,
    events.c.branch,
    events.c.timestamp,
    events.c.state_delta,
    events.c.event_json,
)
SESSION_COLUMNS: Final = (
    sessions.c.session_pk,
    sessions.c.app_name,
    sessions.c.user_id,
    sessions.c.session_id,
    sessions.c.create_time,
    sessions.c.last_update_time,
    sessions.c.revision,
    sessions.c.last_sequence,
)
_APP, _USER, _SESSION = 0, 1, 2


def named(key: SessionKey) -> sa.ColumnElement[bool]:
    """The condition selecting the session named ``key``."""
    return sa.and_(
        sessions.c.app_name == key.app_name,
        sessions.c.user_id == key.user_id,
        sessions.c.session_id == key.session_id,
    )


def select_session(key: SessionKey) -> sa.Select[Any]:
    """The session row named ``key``."""
    return sa.select(*SESSION_COLUMNS).where(named(key))


def insert_session(key: SessionKey, now: float) -> sa.Insert:
    """A new session row; its revision is set once its key is known."""
    return sa.insert(sessions).values(
        app_name=key.app_name,
        user_id=key.user_id,
        session_id=key.session_id,
        create_time=now,
        last_update_time=now,
        revision=0,
        last_sequence=0,
    )


def set_revision(session_pk: int, revision: int) -> sa.Update:
    """Records the session's new revision."""
    return sa.update(sessions).where(sessions.c.session_pk == session_pk).values(revision=revision)


def claim_next_sequence(key: SessionKey, expected_revision: int, timestamp: float) -> sa.Update:
    """The conditional update every append starts with: it matches only at ``expected_revision``.

    It takes the session's row lock, so a concurrent append of the same
    session waits here and then finds the revision changed: the database, not
    this process, decides which of two writers is stale.
    """
    return (
        sa.update(sessions)
        .where(named(key), sessions.c.revision == expected_revision)
        .values(last_sequence=sessions.c.last_sequence + 1, last_update_time=timestamp)
    )


def event_row(session_pk: int, sequence: int, event: NewEvent) -> dict[str, Any]:
    """The column values of an event's row."""
    return {
        "session_pk": session_pk,
        "sequence": sequence,
        "event_id": event.id,
        "invocation_id": event.invocation_id,
        "author": event.author,
        "branch": event.branch,
        "timestamp": event.timestamp,
        "state_delta": encode_state_delta(event.state_delta),
        "event_json": event.event_json,
    }


def insert_event(session_pk: int, sequence: int, event: NewEvent) -> sa.Insert:
    """The event's row."""
    return sa.insert(events).values(event_row(session_pk, sequence, event))


def select_event_by_id(session_pk: int, event_id: str) -> sa.Select[Any]:
    """The stored event with ``event_id`` in the session, if any."""
    return sa.select(*EVENT_COLUMNS).where(events.c.session_pk == session_pk, events.c.event_id == event_id)


def _after_last_older(session_pk: int, floor: int, after_timestamp: float) -> sa.ColumnElement[bool]:
    """Keeps the events after the last one (above ``floor``) whose timestamp is before ``after_timestamp``.

    ADK's rule, evaluated as ADK evaluates it: scan back from the newest event
    (the (session_pk, sequence) index, backwards) and stop at the first one
    that is too old, so only the events returned are read.
    """
    last_older = (
        sa.select(events.c.sequence)
        .where(
            events.c.session_pk == session_pk,
            events.c.sequence > floor,
            events.c.timestamp < after_timestamp,
        )
        .order_by(events.c.sequence.desc())
        .limit(1)
        .scalar_subquery()
    )
    return events.c.sequence > sa.func.coalesce(last_older, floor)


def select_window(session_pk: int, last_sequence: int, window: EventWindow) -> sa.Select[Any]:
    """The events a session read returns, oldest first (``EventWindow``'s rules)."""
    floor = 0
    if window.num_recent_events is not None:
        floor = max(0, last_sequence - window.num_recent_events)
    conditions = [events.c.session_pk == session_pk, events.c.sequence > floor]
    if window.after_timestamp is not None:
        conditions.append(_after_last_older(session_pk, floor, window.after_timestamp))
    return sa.select(*EVENT_COLUMNS).where(*conditions).order_by(events.c.sequence)


def select_event_page(
    session_pk: int, after_timestamp: float | None, after: int | None, limit: int
) -> sa.Select[Any]:
    """Up to ``limit`` events after sequence ``after``, in append order, with the after_timestamp rule."""
    floor = after or 0
    conditions = [events.c.session_pk == session_pk, events.c.sequence > floor]
    if after_timestamp is not None:
        conditions.append(_after_last_older(session_pk, floor, after_timestamp))
    return sa.select(*EVENT_COLUMNS).where(*conditions).order_by(events.c.sequence).limit(limit)


def select_session_page(
    app_name: str, user_id: str | None, after: SessionCursor | None, limit: int
) -> sa.Select[Any]:
    """Up to ``limit`` sessions after ``after`` in (last_update_time, user_id, session_id) order.

    A keyset, never an offset: each page starts where the index says the
    last one ended. The tuple comparison is spelled out (rather than as a row
    value) because MySQL uses an index only for the spelled-out form; its
    leading ``time >= t`` is what lets every database seek straight to it.
    """
    time, user, session = sessions.c.last_update_time, sessions.c.user_id, sessions.c.session_id
    conditions: list[sa.ColumnElement[bool]] = [sessions.c.app_name == app_name]
    order: list[sa.ColumnElement[Any]] = [time, session] if user_id is not None else [time, user, session]
    if user_id is not None:
        conditions.append(user == user_id)
    if after is not None:
        after_time, after_user, after_session = after
        conditions.append(time >= after_time)
        conditions.append(
            sa.or_(
                time > after_time,
                sa.and_(
                    time == after_time,
                    sa.or_(user > after_user, sa.and_(user == after_user, session > after_session)),
                ),
            )
        )
    return sa.select(*SESSION_COLUMNS).where(*conditions).order_by(*order).limit(limit)


def delete_session(key: SessionKey) -> sa.Delete:
    """Deletes the session; its events and session state go with it (ON DELETE CASCADE)."""
    return sa.delete(sessions).where(named(key))


def select_merged_state(app_name: str, user_id: str, session_pk: int) -> sa.CompoundSelect[Any]:
    """The app's, the user's and the session's state rows, in one round trip."""
    return sa.union_all(
        sa.select(
            sa.literal_column(str(_APP)).label("scope"), app_state.c.state_key, app_state.c.value
        ).where(app_state.c.app_name == app_name),
        sa.select(sa.literal_column(str(_USER)), user_state.c.state_key, user_state.c.value).where(
            user_state.c.app_name == app_name, user_state.c.user_id == user_id
        ),
        sa.select(sa.literal_column(str(_SESSION)), session_state.c.state_key, session_state.c.value).where(
            session_state.c.session_pk == session_pk
        ),
    )


def merged_state_from_rows(rows: Iterable[sa.Row[Any]]) -> ScopedState:
    """The ``ScopedState`` of ``select_merged_state``'s rows."""
    state = ScopedState()
    scopes = (state.app, state.user, state.session)
    for row in rows:
        scopes[int(row.scope)][row.state_key] = row.value
    return state


def select_app_state(app_name: str) -> sa.Select[Any]:
    """The app's state rows."""
    return sa.select(app_state.c.state_key, app_state.c.value).where(app_state.c.app_name == app_name)


def select_user_state(app_name: str, user_id: str) -> sa.Select[Any]:
    """One user's state rows."""
    return sa.select(user_state.c.state_key, user_state.c.value).where(
        user_state.c.app_name == app_name, user_state.c.user_id == user_id
    )


def select_users_state(app_name: str, user_ids: Sequence[str]) -> sa.Select[Any]:
    """The state rows of several users of an app."""
    return sa.select(user_state.c.user_id, user_state.c.state_key, user_state.c.value).where(
        user_state.c.app_name == app_name, user_state.c.user_id.in_(user_ids)
    )


def select_sessions_state(session_pks: Sequence[int]) -> sa.Select[Any]:
    """The session-scope state rows of several sessions."""
    return sa.select(session_state.c.session_pk, session_state.c.state_key, session_state.c.value).where(
        session_state.c.session_pk.in_(session_pks)
    )


def upsert_state(
    bind: Any, app_name: str, user_id: str, session_pk: int, delta: ScopedState
) -> Iterator[sa.Insert]:
    """Upserts that set every key of ``delta`` in its scope, ordered: session, then user, then app.

    Every writer takes row locks in that order (and by key digest within a
    scope), so concurrent appends can wait for each other but never deadlock.
    """
    scopes: list[tuple[sa.Table, dict[str, Any], StateMap]] = [
        (session_state, {"session_pk": session_pk}, delta.session),
        (user_state, {"app_name": app_name, "user_id": user_id}, delta.user),
        (app_state, {"app_name": app_name}, delta.app),
    ]
    for table, owner, values in scopes:
        rows = sorted(
            ({**owner, "key_digest": key_digest(k), "state_key": k, "value": v} for k, v in values.items()),
            key=lambda row: row["key_digest"],
        )
        for chunk in _chunks(rows):
            yield dialects.upsert(bind, table, chunk, ["state_key", "value"])


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        row_size = len(row["value"]) + len(row["state_key"])
        if chunk and (len(chunk) >= _ROWS_PER_UPSERT or size + row_size > _BYTES_PER_UPSERT):
            yield chunk
            chunk, size = [], 0
        chunk.append(row)
        size += row_size
    if chunk:
        yield chunk


def encode_state_delta(delta: ScopedState) -> str | None:
    """An event's state delta as stored: only the scopes it changes; None if it changes none."""
    if delta.is_empty():
        return None
    scopes = {"app": delta.app, "user": delta.user, "session": delta.session}
    return pydantic_core.to_json({name: values for name, values in scopes.items() if values}).decode()


def decode_state_delta(stored: str | None) -> ScopedState:
    """The inverse of ``encode_state_delta``."""
    if stored is None:
        return ScopedState()
    scopes = pydantic_core.from_json(stored)
    return ScopedState(
        app=scopes.get("app", {}), user=scopes.get("user", {}), session=scopes.get("session", {})
    )


def event_from_row(row: sa.Row[Any]) -> EventRecord:
    """The ``EventRecord`` of a row selected with ``EVENT_COLUMNS``."""
    return EventRecord(
        id=row.event_id,
        invocation_id=row.invocation_id,
        author=row.author,
        branch=row.branch,
        timestamp=row.timestamp,
        state_delta=decode_state_delta(row.state_delta),
        event_json=row.event_json,
        sequence=row.sequence,
    )


def revision_after(row: sa.Row[Any]) -> int:
    """The session's revision right after the event in ``row`` was stored."""
    return event_revision(row.event_pk)
