"""The SQL statements of the SQL backend, built with SQLAlchemy Core, and row conversions.

Statements only: no connections, no transactions (``backend`` holds those).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pydantic_core
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    EventRecord,
    EventWindow,
    NewEvent,
    ScopedState,
    SessionKey,
    SessionPosition,
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


Bound = tuple[sa.Executable, dict[str, Any] | list[dict[str, Any]]]
"""A statement and the values of its parameters: ``connection.execute(*bound)``.

Every statement is built once, here, with named parameters, and reused: then
SQLAlchemy compiles it once per dialect and finds it in its cache by
identity, instead of building and hashing a new statement tree per call.
"""

_NAMED = sa.and_(
    sessions.c.app_name == sa.bindparam("b_app_name"),
    sessions.c.user_id == sa.bindparam("b_user_id"),
    sessions.c.session_id == sa.bindparam("b_session_id"),
)


def _name(key: SessionKey) -> dict[str, Any]:
    return {"b_app_name": key.app_name, "b_user_id": key.user_id, "b_session_id": key.session_id}


_SELECT_SESSION = sa.select(*SESSION_COLUMNS).where(_NAMED)


def select_session(key: SessionKey) -> Bound:
    """The session row named ``key``."""
    return _SELECT_SESSION, _name(key)


_INSERT_SESSION = sa.insert(sessions).values(revision=0, last_sequence=0)


def insert_session(key: SessionKey, now: float) -> Bound:
    """A new session row; its revision is set once its key is known."""
    return _INSERT_SESSION, {
        "app_name": key.app_name,
        "user_id": key.user_id,
        "session_id": key.session_id,
        "create_time": now,
        "last_update_time": now,
    }


_SET_REVISION = (
    sa.update(sessions)
    .where(sessions.c.session_pk == sa.bindparam("b_session_pk"))
    .values(revision=sa.bindparam("b_revision"))
)


def set_revision(session_pk: int, revision: int) -> Bound:
    """Records the session's new revision."""
    return _SET_REVISION, {"b_session_pk": session_pk, "b_revision": revision}


_CLAIM = (
    sa.update(sessions)
    .where(_NAMED, sessions.c.revision == sa.bindparam("b_expected_revision"))
    .values(last_sequence=sessions.c.last_sequence + 1, last_update_time=sa.bindparam("b_timestamp"))
)
_CLAIM_RETURNING = _CLAIM.returning(sessions.c.session_pk, sessions.c.last_sequence)


def claim_next_sequence(
    key: SessionKey, expected_revision: int, timestamp: float, *, returning: bool
) -> Bound:
    """The conditional update every append starts with: it matches only at ``expected_revision``.

    It takes the session's row lock, so a concurrent append of the same
    session waits here and then finds the revision changed: the database, not
    this process, decides which of two writers is stale. With ``returning``
    it answers the session's key and its new last sequence (where the
    database can return from an UPDATE).
    """
    params = {**_name(key), "b_expected_revision": expected_revision, "b_timestamp": timestamp}
    return (_CLAIM_RETURNING if returning else _CLAIM), params


_INSERT_EVENT = sa.insert(events)


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


def insert_event(session_pk: int, sequence: int, event: NewEvent) -> Bound:
    """The event's row."""
    return _INSERT_EVENT, event_row(session_pk, sequence, event)


def insert_events(rows: list[dict[str, Any]]) -> Bound:
    """Several events' rows (from ``event_row``) at once."""
    return _INSERT_EVENT, rows


_SELECT_EVENT_BY_ID = sa.select(*EVENT_COLUMNS).where(
    events.c.session_pk == sa.bindparam("b_session_pk"), events.c.event_id == sa.bindparam("b_event_id")
)


def select_event_by_id(session_pk: int, event_id: str) -> Bound:
    """The stored event with ``event_id`` in the session, if any."""
    return _SELECT_EVENT_BY_ID, {"b_session_pk": session_pk, "b_event_id": event_id}


# ADK's after_timestamp rule, evaluated as ADK evaluates it: scan back from
# the newest event (the (session_pk, sequence) index, backwards) and stop at
# the first one that is too old, so only the events returned are read.
_LAST_OLDER = (
    sa.select(events.c.sequence)
    .where(
        events.c.session_pk == sa.bindparam("b_session_pk"),
        events.c.sequence > sa.bindparam("b_floor"),
        events.c.timestamp < sa.bindparam("b_after_timestamp"),
    )
    .order_by(events.c.sequence.desc())
    .limit(1)
    .scalar_subquery()
)
_EVENTS_ABOVE_FLOOR = sa.select(*EVENT_COLUMNS).where(
    events.c.session_pk == sa.bindparam("b_session_pk"), events.c.sequence > sa.bindparam("b_floor")
)
_EVENTS_AFTER_LAST_OLDER = _EVENTS_ABOVE_FLOOR.where(
    events.c.sequence > sa.func.coalesce(_LAST_OLDER, sa.bindparam("b_floor"))
)
_WINDOW = _EVENTS_ABOVE_FLOOR.order_by(events.c.sequence)
_WINDOW_AFTER = _EVENTS_AFTER_LAST_OLDER.order_by(events.c.sequence)
_PAGE = _WINDOW.limit(sa.bindparam("b_limit"))
_PAGE_AFTER = _WINDOW_AFTER.limit(sa.bindparam("b_limit"))


def select_window(session_pk: int, last_sequence: int, window: EventWindow) -> Bound:
    """The events a session read returns, oldest first (``EventWindow``'s rules)."""
    floor = 0
    if window.num_recent_events is not None:
        floor = max(0, last_sequence - window.num_recent_events)
    params: dict[str, Any] = {"b_session_pk": session_pk, "b_floor": floor}
    if window.after_timestamp is None:
        return _WINDOW, params
    return _WINDOW_AFTER, {**params, "b_after_timestamp": window.after_timestamp}


def select_event_page(session_pk: int, after_timestamp: float | None, after: int | None, limit: int) -> Bound:
    """Up to ``limit`` events after sequence ``after``, in append order, with the after_timestamp rule."""
    params: dict[str, Any] = {"b_session_pk": session_pk, "b_floor": after or 0, "b_limit": limit}
    if after_timestamp is None:
        return _PAGE, params
    return _PAGE_AFTER, {**params, "b_after_timestamp": after_timestamp}


def _session_page(by_user: bool, resume: bool) -> sa.Select[Any]:
    time, user, session = sessions.c.last_update_time, sessions.c.user_id, sessions.c.session_id
    query = sa.select(*SESSION_COLUMNS).where(sessions.c.app_name == sa.bindparam("b_app_name"))
    if by_user:
        query = query.where(user == sa.bindparam("b_user_id")).order_by(time, session)
    else:
        query = query.order_by(time, user, session)
    if resume:
        after_time: sa.BindParameter[float] = sa.bindparam("b_after_time")
        after_user: sa.BindParameter[str] = sa.bindparam("b_after_user")
        after_session: sa.BindParameter[str] = sa.bindparam("b_after_session")
        query = query.where(
            time >= after_time,
            sa.or_(
                time > after_time,
                sa.and_(
                    time == after_time,
                    sa.or_(user > after_user, sa.and_(user == after_user, session > after_session)),
                ),
            ),
        )
    return query.limit(sa.bindparam("b_limit"))


# A keyset, never an offset: each page starts where the index says the last
# one ended. The tuple comparison is spelled out (rather than as a row value)
# because MySQL uses an index only for the spelled-out form; its leading
# "time >= t" is what lets every database seek straight to it.
_SESSION_PAGES = {
    (by_user, resume): _session_page(by_user, resume) for by_user in (False, True) for resume in (False, True)
}


def select_session_page(
    app_name: str, user_id: str | None, after: SessionPosition | None, limit: int
) -> Bound:
    """Up to ``limit`` sessions after ``after`` in (last_update_time, user_id, session_id) order."""
    params: dict[str, Any] = {"b_app_name": app_name, "b_limit": limit}
    if user_id is not None:
        params["b_user_id"] = user_id
    if after is not None:
        params.update(b_after_time=after[0], b_after_user=after[1], b_after_session=after[2])
    return _SESSION_PAGES[(user_id is not None, after is not None)], params


_DELETE_SESSION = sa.delete(sessions).where(_NAMED)


def delete_session(key: SessionKey) -> Bound:
    """Deletes the session; its events and session state go with it (ON DELETE CASCADE)."""
    return _DELETE_SESSION, _name(key)


_SELECT_MERGED_STATE = sa.union_all(
    sa.select(sa.literal_column(str(_APP)).label("scope"), app_state.c.state_key, app_state.c.value).where(
        app_state.c.app_name == sa.bindparam("b_app_name")
    ),
    sa.select(sa.literal_column(str(_USER)), user_state.c.state_key, user_state.c.value).where(
        user_state.c.app_name == sa.bindparam("b_app_name"), user_state.c.user_id == sa.bindparam("b_user_id")
    ),
    sa.select(sa.literal_column(str(_SESSION)), session_state.c.state_key, session_state.c.value).where(
        session_state.c.session_pk == sa.bindparam("b_session_pk")
    ),
)


def select_merged_state(app_name: str, user_id: str, session_pk: int) -> Bound:
    """The app's, the user's and the session's state rows, in one round trip."""
    return _SELECT_MERGED_STATE, {"b_app_name": app_name, "b_user_id": user_id, "b_session_pk": session_pk}


def merged_state_from_rows(rows: Iterable[sa.Row[Any]]) -> ScopedState:
    """The ``ScopedState`` of ``select_merged_state``'s rows."""
    state = ScopedState()
    scopes = (state.app, state.user, state.session)
    for row in rows:
        scopes[int(row.scope)][row.state_key] = row.value
    return state


_SELECT_APP_STATE = sa.select(app_state.c.state_key, app_state.c.value).where(
    app_state.c.app_name == sa.bindparam("b_app_name")
)
_SELECT_USER_STATE = sa.select(user_state.c.state_key, user_state.c.value).where(
    user_state.c.app_name == sa.bindparam("b_app_name"), user_state.c.user_id == sa.bindparam("b_user_id")
)
_SELECT_USERS_STATE = sa.select(user_state.c.user_id, user_state.c.state_key, user_state.c.value).where(
    user_state.c.app_name == sa.bindparam("b_app_name"),
    user_state.c.user_id.in_(sa.bindparam("b_user_ids", expanding=True)),
)
_SELECT_SESSIONS_STATE = sa.select(
    session_state.c.session_pk, session_state.c.state_key, session_state.c.value
).where(session_state.c.session_pk.in_(sa.bindparam("b_session_pks", expanding=True)))


def select_app_state(app_name: str) -> Bound:
    """The app's state rows."""
    return _SELECT_APP_STATE, {"b_app_name": app_name}


def select_user_state(app_name: str, user_id: str) -> Bound:
    """One user's state rows."""
    return _SELECT_USER_STATE, {"b_app_name": app_name, "b_user_id": user_id}


def select_users_state(app_name: str, user_ids: Sequence[str]) -> Bound:
    """The state rows of several users of an app."""
    return _SELECT_USERS_STATE, {"b_app_name": app_name, "b_user_ids": list(user_ids)}


def select_sessions_state(session_pks: Sequence[int]) -> Bound:
    """The session-scope state rows of several sessions."""
    return _SELECT_SESSIONS_STATE, {"b_session_pks": list(session_pks)}


_MAX_SESSION_PK = sa.select(sa.func.max(events.c.event_pk)).where(
    events.c.session_pk == sa.bindparam("b_session_pk")
)


def select_last_event_pk(session_pk: int) -> Bound:
    """The key of the session's latest event."""
    return _MAX_SESSION_PK, {"b_session_pk": session_pk}


_SET_IMPORTED = (
    sa.update(sessions)
    .where(sessions.c.session_pk == sa.bindparam("b_session_pk"))
    .values(
        revision=sa.bindparam("b_revision"),
        last_sequence=sa.bindparam("b_last_sequence"),
        last_update_time=sa.bindparam("b_last_update_time"),
    )
)


def set_imported(session_pk: int, revision: int, last_sequence: int, last_update_time: float) -> Bound:
    """Records an imported session's revision, event count and update time."""
    return _SET_IMPORTED, {
        "b_session_pk": session_pk,
        "b_revision": revision,
        "b_last_sequence": last_sequence,
        "b_last_update_time": last_update_time,
    }


@dataclass(frozen=True, slots=True)
class StateChange:
    """A state delta and whose state it changes: the session ``session_pk`` of ``user_id`` in ``app_name``."""

    app_name: str
    user_id: str
    session_pk: int
    delta: ScopedState


def upsert_state(dialect: sa.Dialect, changes: Sequence[StateChange]) -> Iterator[Bound]:
    """Upserts that set every key of every change in its scope, ordered: session, then user, then app.

    Where two changes set the same key, the later one in ``changes`` wins
    (and the key is written once: PostgreSQL refuses a statement that
    touches a row twice). Every writer takes row locks in that order, and
    by primary key within a scope, so concurrent writers can wait for each
    other but never deadlock.
    """
    session_rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    user_rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    app_rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for change in changes:
        scopes: list[tuple[dict[tuple[Any, ...], dict[str, Any]], StateMap, dict[str, Any]]] = [
            (session_rows, change.delta.session, {"session_pk": change.session_pk}),
            (user_rows, change.delta.user, {"app_name": change.app_name, "user_id": change.user_id}),
            (app_rows, change.delta.app, {"app_name": change.app_name}),
        ]
        for rows, values, owner in scopes:
            for state_key, value in values.items():
                digest = key_digest(state_key)
                rows[(*owner.values(), digest)] = {
                    **owner,
                    "key_digest": digest,
                    "state_key": state_key,
                    "value": value,
                }
    for table, rows_by_key in ((session_state, session_rows), (user_state, user_rows), (app_state, app_rows)):
        if not rows_by_key:
            continue
        statement = dialects.upsert(dialect, table, ("state_key", "value"))
        for chunk in _chunks([rows_by_key[primary_key] for primary_key in sorted(rows_by_key)]):
            yield statement, (chunk[0] if len(chunk) == 1 else chunk)


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
    # Unpacked by position: a thousand-event read pays for every attribute lookup.
    _, sequence, event_id, invocation_id, author, branch, timestamp, state_delta, event_json = tuple(row)
    return EventRecord(
        id=event_id,
        invocation_id=invocation_id,
        author=author,
        branch=branch,
        timestamp=timestamp,
        state_delta=decode_state_delta(state_delta),
        event_json=event_json,
        sequence=sequence,
    )


def revision_after(row: sa.Row[Any]) -> int:
    """The session's revision right after the event in ``row`` was stored."""
    return event_revision(row.event_pk)
