"""Several restored sessions' rows at once: which names are held, the rows inserted, their counts set.

A copy restores thousands of small sessions; written a statement per
part per session, their round trips (and on SQLite their commits) cost
far more than the rows. These statements take a whole batch of sessions
each (``restoring.restore_sessions``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import RestoredSession, SessionKey
from adk_grpc_sessions.server.backends.sql.queries.parts import Bound
from adk_grpc_sessions.server.backends.sql.queries.rows import encode_fork_origin, encode_labels
from adk_grpc_sessions.server.backends.sql.schema import events, sessions

_NAME = sa.tuple_(sessions.c.app_name, sessions.c.user_id, sessions.c.session_id)

_SELECT_NAMED = sa.select(
    sessions.c.session_pk, sessions.c.app_name, sessions.c.user_id, sessions.c.session_id
).where(_NAME.in_(sa.bindparam("b_names", expanding=True)))


def select_named(keys: Iterable[SessionKey]) -> Bound:
    """The key and name of each session named in ``keys`` (expired or not)."""
    return _SELECT_NAMED, {"b_names": [(key.app_name, key.user_id, key.session_id) for key in keys]}


_INSERT_RESTORED = sa.insert(sessions).values(revision=0, last_sequence=0, events_bytes=0)


def insert_restored(rows: list[dict[str, Any]]) -> Bound:
    """Inserts sessions' rows (``restored_row``); their revisions and counts are ``set_counts``'s."""
    return _INSERT_RESTORED, rows


def restored_row(session: RestoredSession, state_bytes: int, initial_state: str | None) -> dict[str, Any]:
    """The row of a restored session (without its key, revision and event counts)."""
    key = session.key
    forked_from = session.forked_from
    return {
        "app_name": key.app_name,
        "user_id": key.user_id,
        "session_id": key.session_id,
        "create_time": session.create_time,
        "last_update_time": session.last_update_time,
        "state_bytes": state_bytes,
        "expire_time": session.expiry.expire_time,
        "ttl": session.expiry.ttl,
        "close_time": session.close_time,
        "display_name": session.metadata.display_name or None,
        "labels": encode_labels(session.metadata.labels),
        "initial_state": initial_state,
        "forked_from": None if forked_from is None else encode_fork_origin(forked_from),
    }


_SELECT_LAST_EVENT_PKS = (
    sa.select(events.c.session_pk, sa.func.max(events.c.event_pk))
    .where(events.c.session_pk.in_(sa.bindparam("b_session_pks", expanding=True)))
    .group_by(events.c.session_pk)
)


def select_last_event_pks(session_pks: Sequence[int]) -> Bound:
    """Each session's key with the key of its latest event (sessions without events are left out)."""
    return _SELECT_LAST_EVENT_PKS, {"b_session_pks": list(session_pks)}


_SET_COUNTS = (
    sa.update(sessions)
    .where(sessions.c.session_pk == sa.bindparam("b_session_pk"))
    .values(
        revision=sa.bindparam("b_revision"),
        last_sequence=sa.bindparam("b_last_sequence"),
        events_bytes=sa.bindparam("b_events_bytes", type_=sa.BigInteger()),
    )
)


def set_counts(rows: list[dict[str, Any]]) -> Bound:
    """Sets sessions' revisions and event counts.

    ``rows``: ``b_session_pk``, ``b_revision``, ``b_last_sequence`` and ``b_events_bytes`` each.
    """
    return _SET_COUNTS, rows
