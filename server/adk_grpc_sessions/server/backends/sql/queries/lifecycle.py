"""The session lifecycle's statements: expiry and close set, a user erased, expired sessions found and purged.

A session is expired when ``expire_time <= now`` (``parts.unexpired`` is the
rule the reads apply). The sweeper's statements select by the
``expire_time`` index (``ix_ags_sessions_expire_time``, partial where the
database has partial indexes: ``expire_time <= now`` implies the index's
``expire_time IS NOT NULL``), soonest-expired first, so that they cost
O(expired), never O(all sessions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import Expiry, SessionKey
from adk_grpc_sessions.server.backends.sql.queries.parts import (
    NAMED,
    NOW,
    VISIBLE,
    Bound,
    name_params,
    unexpired,
    visible_params,
)
from adk_grpc_sessions.server.backends.sql.schema import events, sessions, user_state, user_state_size

_APP: sa.BindParameter[str] = sa.bindparam("b_app_name")
_USER: sa.BindParameter[str] = sa.bindparam("b_user_id")

_DELETE_EXPIRED_NAMED = sa.delete(sessions).where(NAMED, sessions.c.expire_time <= NOW)


def delete_expired_named(key: SessionKey, now: float) -> Bound:
    """Deletes the session ``key`` if it has expired by ``now`` (its events and state go with it)."""
    return _DELETE_EXPIRED_NAMED, {**name_params(key), "b_now": now}


_LOCK_VISIBLE = (
    sa.select(sessions.c.session_pk, sessions.c.expire_time, sessions.c.ttl, sessions.c.close_time)
    .where(VISIBLE)
    .with_for_update()
)


def lock_visible(key: SessionKey, now: float) -> Bound:
    """The session ``key``'s row (its key and lifecycle), locked; nothing if it has expired by ``now``.

    (SQLite, which has one writer, has no row locks and needs none.)
    """
    return _LOCK_VISIBLE, visible_params(key, now)


_SET_LIFECYCLE = (
    sa.update(sessions)
    .where(sessions.c.session_pk == sa.bindparam("b_session_pk"))
    .values(
        expire_time=sa.bindparam("b_expire_time", type_=sessions.c.expire_time.type),
        ttl=sa.bindparam("b_ttl", type_=sessions.c.ttl.type),
        close_time=sa.bindparam("b_close_time", type_=sessions.c.close_time.type),
    )
)


def set_lifecycle(session_pk: int, expiry: Expiry, close_time: float | None) -> Bound:
    """Sets a session's expiry and close time; its revision, update time and events stay as they are."""
    return _SET_LIFECYCLE, {
        "b_session_pk": session_pk,
        "b_expire_time": expiry.expire_time,
        "b_ttl": expiry.ttl,
        "b_close_time": close_time,
    }


_OF_USER = sa.and_(sessions.c.app_name == _APP, sessions.c.user_id == _USER)
_EXPIRE_USER = sa.update(sessions).where(_OF_USER, unexpired()).values(expire_time=NOW, ttl=None)
_DELETE_USER_STATE = sa.delete(user_state).where(user_state.c.app_name == _APP, user_state.c.user_id == _USER)
_DELETE_USER_STATE_SIZE = sa.delete(user_state_size).where(
    user_state_size.c.app_name == _APP, user_state_size.c.user_id == _USER
)


def erase_user(app_name: str, user_id: str, now: float) -> list[Bound]:
    """The statements that erase a user, in the one transaction they must share.

    The user's state's size row first (the lock every writer of the user's
    state takes first), then every visible session of the user expires at
    ``now``, then the user's state rows go.
    """
    params = {"b_app_name": app_name, "b_user_id": user_id, "b_now": now}
    return [(_DELETE_USER_STATE_SIZE, params), (_EXPIRE_USER, params), (_DELETE_USER_STATE, params)]


def _expired(app: bool, user: bool) -> sa.Select[Any]:
    query = sa.select(
        sessions.c.session_pk,
        sessions.c.app_name,
        sessions.c.user_id,
        sessions.c.session_id,
        sessions.c.last_sequence,
        sessions.c.events_bytes,
    ).where(sessions.c.expire_time <= NOW)
    if app:
        query = query.where(sessions.c.app_name == _APP)
    if user:
        query = query.where(sessions.c.user_id == _USER)
    return query.order_by(sessions.c.expire_time).limit(sa.bindparam("b_limit"))


_EXPIRED = {(app, user): _expired(app, user) for app in (False, True) for user in (False, True)}
# Several servers may purge at once: each skips the rows another is purging
# rather than waiting for them (PostgreSQL, MySQL 8.0+, MariaDB 10.6+; SQLite,
# one writer, renders no lock at all).
_CLAIM_EXPIRED = {form: query.with_for_update(skip_locked=True) for form, query in _EXPIRED.items()}


def _expired_params(now: float, limit: int, app_name: str | None, user_id: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"b_now": now, "b_limit": limit}
    if app_name is not None:
        params["b_app_name"] = app_name
    if user_id is not None:
        params["b_user_id"] = user_id
    return params


def select_expired(
    now: float, limit: int, *, app_name: str | None = None, user_id: str | None = None, lock: bool
) -> Bound:
    """Up to ``limit`` sessions expired by ``now``, soonest-expired first.

    Rows of (session_pk, app_name, user_id, session_id, last_sequence: how
    many events the session holds (events are numbered from 1, and go only
    with their session or from the newest down: ``trim_events``),
    events_bytes: their summed size).
    Optionally only one app's, or one user's of it (``user_id`` needs
    ``app_name``). With ``lock``, the rows are locked and rows another
    transaction holds are skipped (``FOR UPDATE SKIP LOCKED``).
    """
    if user_id is not None and app_name is None:
        raise ValueError("purging one user's sessions needs the app's name too")
    forms = _CLAIM_EXPIRED if lock else _EXPIRED
    return forms[(app_name is not None, user_id is not None)], _expired_params(now, limit, app_name, user_id)


_DELETE_SESSIONS = sa.delete(sessions).where(
    sessions.c.session_pk.in_(sa.bindparam("b_session_pks", expanding=True))
)


def delete_sessions(session_pks: Sequence[int]) -> Bound:
    """Deletes sessions by key; their events and session state go with them (ON DELETE CASCADE)."""
    return _DELETE_SESSIONS, {"b_session_pks": list(session_pks)}


_TRIMMED_BYTES = sa.select(sa.func.coalesce(sa.func.sum(events.c.size_bytes), 0)).where(
    events.c.session_pk == sa.bindparam("b_session_pk"), events.c.sequence > sa.bindparam("b_keep")
)
_TRIM_EVENTS = sa.delete(events).where(
    events.c.session_pk == sa.bindparam("b_session_pk"), events.c.sequence > sa.bindparam("b_keep")
)
_SET_TRIMMED = (
    sa.update(sessions)
    .where(sessions.c.session_pk == sa.bindparam("b_session_pk"))
    .values(
        last_sequence=sa.bindparam("b_keep", type_=sessions.c.last_sequence.type),
        events_bytes=sessions.c.events_bytes - sa.bindparam("b_bytes", type_=sessions.c.events_bytes.type),
    )
)


def trimmed_bytes(session_pk: int, keep: int) -> Bound:
    """The summed size of a session's events numbered after ``keep`` (what ``trim_events`` deletes)."""
    return _TRIMMED_BYTES, {"b_session_pk": session_pk, "b_keep": keep}


def trim_events(session_pk: int, keep: int, deleted_bytes: int) -> list[Bound]:
    """Deletes a session's events numbered after ``keep``, and counts them out of its row.

    For an expired session too large to delete in one transaction: its newest
    events go first, through the ``(session_pk, sequence)`` index, and the
    row's ``last_sequence`` and ``events_bytes`` keep describing what is left.
    """
    params = {"b_session_pk": session_pk, "b_keep": keep}
    return [(_TRIM_EVENTS, params), (_SET_TRIMMED, {**params, "b_bytes": deleted_bytes})]


_COUNT_EXPIRED = sa.select(sa.func.count()).select_from(sessions).where(sessions.c.expire_time <= NOW)


def count_expired(now: float) -> Bound:
    """How many sessions have expired by ``now`` (an index range count)."""
    return _COUNT_EXPIRED, {"b_now": now}
