"""A fork's statements: its source locked, its fork point found, its events and state copied in the database.

The events are copied by one ``INSERT ... SELECT`` through the source's
``(session_pk, sequence)`` index: their rows never leave the database. A
fork of every event copies the source's state rows the same way; a fork
before an invocation has its state made from the source's initial state and
the session deltas of the copied events (``session_deltas``, streamed).
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import SessionKey
from adk_grpc_sessions.server.backends.sql.queries.parts import VISIBLE, Bound, visible_params
from adk_grpc_sessions.server.backends.sql.schema import events, session_state, sessions

_LOCK_SOURCE = (
    sa.select(
        sessions.c.session_pk,
        sessions.c.last_sequence,
        sessions.c.state_bytes,
        sessions.c.initial_state,
    )
    .where(VISIBLE)
    .with_for_update()
)


def lock_source(key: SessionKey, now: float) -> Bound:
    """The source's row, locked (its appends wait for the fork); nothing if it has expired by ``now``.

    Rows of (session_pk, last_sequence, state_bytes, initial_state).
    """
    return _LOCK_SOURCE, visible_params(key, now)


_FIRST_OF_INVOCATION = sa.select(sa.func.min(events.c.sequence)).where(
    events.c.session_pk == sa.bindparam("b_session_pk"),
    events.c.invocation_id == sa.bindparam("b_invocation_id", type_=events.c.invocation_id.type),
)


def first_of_invocation(session_pk: int, invocation_id: str) -> Bound:
    """The sequence of the session's first event of the invocation (NULL if it has none)."""
    return _FIRST_OF_INVOCATION, {"b_session_pk": session_pk, "b_invocation_id": invocation_id}


# Every column of an event but its own key and its session's: a column added to
# the table is copied by forks without a change here.
_COPIED_COLUMNS: Final = tuple(c.name for c in events.c if c.name not in ("event_pk", "session_pk"))
_SOURCE_EVENTS = sa.and_(
    events.c.session_pk == sa.bindparam("b_source_pk"),
    events.c.sequence <= sa.bindparam("b_upto", type_=sa.BigInteger()),
)
_COPY_EVENTS = sa.insert(events).from_select(
    ["session_pk", *_COPIED_COLUMNS],
    sa.select(
        sa.bindparam("b_target_pk", type_=sa.BigInteger()), *(events.c[name] for name in _COPIED_COLUMNS)
    )
    .where(_SOURCE_EVENTS)
    # In sequence order, so that the copies' keys ascend as the source's do.
    .order_by(events.c.sequence),
)


def copy_events(source_pk: int, target_pk: int, upto: int) -> Bound:
    """Copies the source's events numbered up to ``upto`` into the session ``target_pk``, as they are."""
    return _COPY_EVENTS, {"b_source_pk": source_pk, "b_target_pk": target_pk, "b_upto": upto}


_COPIED_BYTES = sa.select(sa.func.coalesce(sa.func.sum(events.c.size_bytes), 0)).where(
    events.c.session_pk == sa.bindparam("b_session_pk")
)


def events_bytes(session_pk: int) -> Bound:
    """The summed size of a session's events (a fork's, once copied)."""
    return _COPIED_BYTES, {"b_session_pk": session_pk}


_STATE_COLUMNS: Final = ("key_digest", "state_key", "value", "entry_bytes")
_COPY_STATE = sa.insert(session_state).from_select(
    ["session_pk", *_STATE_COLUMNS],
    sa.select(
        sa.bindparam("b_target_pk", type_=sa.BigInteger()),
        *(session_state.c[name] for name in _STATE_COLUMNS),
    ).where(session_state.c.session_pk == sa.bindparam("b_source_pk")),
)


def copy_state(source_pk: int, target_pk: int) -> Bound:
    """Copies the source's session-scoped state rows, as they are, to the session ``target_pk``."""
    return _COPY_STATE, {"b_source_pk": source_pk, "b_target_pk": target_pk}


_SESSION_DELTAS = (
    sa.select(events.c.state_delta)
    .where(_SOURCE_EVENTS, events.c.state_delta.is_not(None))
    .order_by(events.c.sequence)
    .execution_options(yield_per=256)
)


def session_deltas(source_pk: int, upto: int) -> Bound:
    """The state deltas of the source's events numbered up to ``upto``, in order, streamed."""
    return _SESSION_DELTAS, {"b_source_pk": source_pk, "b_upto": upto}


_SET_FORK = (
    sa.update(sessions)
    .where(sessions.c.session_pk == sa.bindparam("b_session_pk"))
    .values(
        revision=sa.bindparam("b_revision", type_=sa.BigInteger()),
        last_sequence=sa.bindparam("b_last_sequence", type_=sa.BigInteger()),
        events_bytes=sa.bindparam("b_events_bytes", type_=sa.BigInteger()),
        state_bytes=sa.bindparam("b_state_bytes", type_=sa.BigInteger()),
        forked_from=sa.bindparam("b_forked_from", type_=sessions.c.forked_from.type),
    )
)


def set_fork(
    session_pk: int, revision: int, last_sequence: int, events_bytes: int, state_bytes: int, forked_from: str
) -> Bound:
    """Records a fork's revision, its copied events' count and size, its state's size and its origin."""
    params: dict[str, Any] = {
        "b_session_pk": session_pk,
        "b_revision": revision,
        "b_last_sequence": last_sequence,
        "b_events_bytes": events_bytes,
        "b_state_bytes": state_bytes,
        "b_forked_from": forked_from,
    }
    return _SET_FORK, params
