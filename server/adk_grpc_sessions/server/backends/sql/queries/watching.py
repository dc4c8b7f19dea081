"""What a watch reads (``Backend.read_watched``), and what tells other servers that a session changed.

A watched event's resume point is ``schema.event_revision`` of its own row
(``2 * event_pk``), whether it was appended or copied by a fork: a key never
reused, so a resume point names one event of one session. A session's
creation revision (``2 * session_pk + 1``) resumes after the events a fork
copied (none for a created session). Each page is a range of the
``(session_pk, sequence)`` index.

PostgreSQL: ``pg_notify`` on ``CHANNEL``, inside the writing transaction
(delivered only on commit), carrying the session's names and its revision
(or how it ended, or ``CREATED``) as a JSON array: never an event (a payload
holds at most 8,000 bytes). MySQL/MariaDB cannot notify: their watched
sessions' heads are polled (``select_heads``), all of a server's in one
statement, and their watched users' (``select_user_heads``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from adk_grpc_sessions.server.backends.base import SessionEnd, SessionKey
from adk_grpc_sessions.server.backends.sql.queries.parts import NAMED, Bound, name_params
from adk_grpc_sessions.server.backends.sql.schema import events, sessions

CHANNEL: Final = "ags_watch"
"""The PostgreSQL notification channel every server of one database listens on."""

WATCHED_EVENT_COLUMNS: Final = (
    events.c.event_pk,
    events.c.sequence,
    events.c.event_id,
    events.c.event_json,
    events.c.wire_cache,
    events.c.size_bytes,
)

_ANCHOR = events.alias("anchor")
_HEAD = (
    sa.select(
        sessions.c.session_pk,
        sessions.c.revision,
        sessions.c.last_sequence,
        sessions.c.events_bytes,
        sessions.c.close_time,
        sessions.c.expire_time,
        sessions.c.forked_from,
        _ANCHOR.c.sequence.label("anchor_sequence"),
    )
    .select_from(
        sessions.outerjoin(
            _ANCHOR,
            sa.and_(
                _ANCHOR.c.event_pk == sa.bindparam("b_event_pk"),
                _ANCHOR.c.session_pk == sessions.c.session_pk,
            ),
        )
    )
    .where(NAMED)
)


def select_head(key: SessionKey, event_pk: int) -> Bound:
    """The session's row, expired or not, and the sequence of its event ``event_pk`` (NULL: none such).

    Expired or not: a watch tells an expired session from a missing one. The
    event by its primary key, and only if it is this session's: one statement.
    """
    return _HEAD, {**name_params(key), "b_event_pk": event_pk}


_WATCHED = (
    sa.select(*WATCHED_EVENT_COLUMNS)
    .where(
        events.c.session_pk == sa.bindparam("b_session_pk"),
        events.c.sequence > sa.bindparam("b_after"),
        events.c.sequence <= sa.bindparam("b_upto"),
    )
    .order_by(events.c.sequence)
)
_SIZES = (
    sa.select(events.c.sequence, events.c.size_bytes)
    .where(
        events.c.session_pk == sa.bindparam("b_session_pk"),
        events.c.sequence > sa.bindparam("b_after"),
        events.c.sequence <= sa.bindparam("b_upto"),
    )
    .order_by(events.c.sequence)
)


def select_watched(session_pk: int, after: int, upto: int) -> Bound:
    """The session's events after sequence ``after``, up to ``upto``, as ``WATCHED_EVENT_COLUMNS``."""
    return _WATCHED, {"b_session_pk": session_pk, "b_after": after, "b_upto": upto}


def select_sizes(session_pk: int, after: int, upto: int) -> Bound:
    """``select_watched``'s events as (sequence, size_bytes) only: to find how many fit in a budget."""
    return _SIZES, {"b_session_pk": session_pk, "b_after": after, "b_upto": upto}


_NOTIFY = sa.select(sa.func.pg_notify(CHANNEL, sa.bindparam("b_payload", type_=sa.Text())))


def notify(key: SessionKey, revision: int | None = None, end: SessionEnd | None = None) -> Bound:
    """PostgreSQL: tells every listening server that ``key`` changed (to ``revision``) or ended."""
    return _NOTIFY, {"b_payload": payload(key, revision, end)}


def notify_all(keys: Sequence[SessionKey], end: SessionEnd) -> Bound:
    """PostgreSQL: ``notify`` of each of ``keys`` ending, in one statement."""
    return _NOTIFY, [{"b_payload": payload(key, None, end)} for key in keys]


CREATED: Final = "created"
"""A notification's last element for a session created (or forked): only watchers of its user care."""

_NOTIFY_CREATED = sa.text(
    f"SELECT pg_notify('{CHANNEL}', payload) FROM unnest(CAST(:b_payloads AS text[])) AS payload"
).bindparams(sa.bindparam("b_payloads", type_=ARRAY(sa.Text())))


def notify_created(keys: Sequence[SessionKey]) -> Bound:
    """PostgreSQL: tells every listening server that each of ``keys`` was created, in one statement."""
    return _NOTIFY_CREATED, {"b_payloads": [created_payload(key) for key in keys]}


def created_payload(key: SessionKey) -> str:
    """The text of a notification that ``key`` was created (``payload``)."""
    return payload(key, None, None, created=True)


def notify_call(payload_text: sa.ColumnElement[str]) -> sa.ColumnElement[Any]:
    """PostgreSQL: ``pg_notify`` of ``payload_text`` on ``CHANNEL``, for a writing statement to evaluate.

    A statement evaluating it tells every listening server, on its commit,
    as a ``notify`` statement in its transaction would.
    """
    return sa.func.pg_notify(CHANNEL, payload_text)


def notifying(rows: sa.Select[Any], notifications: sa.Select[Any]) -> sa.Select[Any]:
    """``rows``, in a statement that also evaluates ``notifications`` (``notify_call``s) whole, once.

    A common table expression that only reads is evaluated only as far as
    it is read: counting its rows evaluates it whole, once, whatever the
    rest of the statement reads of it.
    """
    notified = notifications.cte("notified")
    return rows.where(sa.select(sa.func.count()).select_from(notified).scalar_subquery() >= 0)


def payload(key: SessionKey, revision: int | None, end: SessionEnd | None, *, created: bool = False) -> str:
    """A notification's text: ``[app_name, user_id, session_id, revision, end or CREATED]``."""
    last: int | str | None = CREATED if created else end.value if end is not None else revision
    return json.dumps([key.app_name, key.user_id, key.session_id, last], ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Notified:
    """What one notification says: ``key`` changed (to ``revision``, if known), ended, or was created."""

    key: SessionKey
    revision: int | None = None
    end: SessionEnd | None = None
    created: bool = False


def parse_payload(text: str) -> Notified | None:
    """A notification's session and what happened to it; None if it is not one of ours."""
    try:
        app_name, user_id, session_id, last = json.loads(text)
    except (ValueError, TypeError):
        return None
    key = SessionKey(str(app_name), str(user_id), str(session_id))
    if last == CREATED:
        return Notified(key, created=True)
    if isinstance(last, str):
        try:
            return Notified(key, end=SessionEnd(last))
        except ValueError:
            return None
    return Notified(key, revision=int(last) if isinstance(last, int) else None)


def select_heads(keys: Sequence[SessionKey]) -> Bound:
    """MySQL/MariaDB: the revision, close and expiry of each of ``keys`` that exists, in one statement."""
    names = sa.tuple_(sessions.c.app_name, sessions.c.user_id, sessions.c.session_id)
    statement = sa.select(
        sessions.c.app_name,
        sessions.c.user_id,
        sessions.c.session_id,
        sessions.c.revision,
        sessions.c.close_time,
        sessions.c.expire_time,
    ).where(names.in_([(k.app_name, k.user_id, k.session_id) for k in keys]))
    params: dict[str, Any] = {}
    return statement, params


def select_user_heads(users: Sequence[tuple[str, str]]) -> Bound:
    """MySQL/MariaDB: the head of every session of each of ``users`` (app_name, user_id), in one statement.

    Expired or not (a session gone from one poll to the next was deleted or
    purged); ``session_pk`` tells a session deleted and created again.
    """
    owners = sa.tuple_(sessions.c.app_name, sessions.c.user_id)
    statement = sa.select(
        sessions.c.app_name,
        sessions.c.user_id,
        sessions.c.session_id,
        sessions.c.session_pk,
        sessions.c.revision,
        sessions.c.close_time,
        sessions.c.expire_time,
        sessions.c.display_name,
        sessions.c.labels,
    ).where(owners.in_(list(users)))
    params: dict[str, Any] = {}
    return statement, params
