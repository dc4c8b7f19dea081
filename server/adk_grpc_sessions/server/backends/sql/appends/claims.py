"""The claim in SQL: the conditional update of a session that every append starts with.

A session is claimed for an append only at the append's expected revision,
without its event yet, open and not expired, and with room for the event and
its state's growth within the limits, compared with the row as it is once
locked: so the database, not this process, decides which of two writers is
stale, and server replicas never pass a limit together. The claim counts the
append's sizes in the same update, and slides the expiry of a session with a
ttl when the server refreshes expiry on append. ``claim_next_sequence`` is the form for one
append (``one_by_one``); ``claimable_sessions`` and ``claim`` are what PostgreSQL's
and SQLite's batch statements are built around (``postgresql``, ``sqlite``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import NewEvent, SessionKey, StorageLimits
from adk_grpc_sessions.server.backends.sql.queries.parts import NAMED, NOW, Bound, name_params, unexpired
from adk_grpc_sessions.server.backends.sql.schema import events, sessions
from adk_grpc_sessions.server.backends.sql.state_limit import Growth

MAX_SESSION_BYTES = sa.bindparam("b_max_session_bytes", type_=sa.BigInteger())
MAX_STATE_BYTES = sa.bindparam("b_max_state_bytes", type_=sa.BigInteger())


def limit_params(limits: StorageLimits) -> dict[str, int]:
    """The parameters of ``MAX_SESSION_BYTES`` and ``MAX_STATE_BYTES`` for ``limits``."""
    return {"b_max_session_bytes": limits.max_session_bytes, "b_max_state_bytes": limits.max_state_bytes}


REFRESH = sa.bindparam("b_refresh", type_=sa.Boolean())
"""Whether the batch's appends slide their sessions' expiry (``PendingAppend.refresh_expiry``)."""
_OPEN_AND_UNEXPIRED = sa.and_(unexpired(), sessions.c.close_time.is_(None))
"""Only a session that has not expired (by ``NOW``) and is not closed takes an event; a refused
append finds out which (``refusals``), after the event id, as the contract orders the checks."""
_SLID_EXPIRE_TIME = sa.case(
    (sa.and_(REFRESH, sessions.c.ttl.is_not(None)), NOW + sessions.c.ttl), else_=sessions.c.expire_time
)
"""A session given its expiry as a ttl, with sliding expiry on, expires that long after this append."""

_SIZE_BYTES = sa.bindparam("b_size_bytes", type_=sa.BigInteger())
_SESSION_GROWTH = sa.bindparam("b_session_growth", type_=sa.BigInteger())
_CLAIM = (
    sa.update(sessions)
    .where(
        NAMED,
        sessions.c.revision == sa.bindparam("b_expected_revision"),
        sessions.c.events_bytes + _SIZE_BYTES <= MAX_SESSION_BYTES,
        sa.or_(_SESSION_GROWTH <= 0, sessions.c.state_bytes + _SESSION_GROWTH <= MAX_STATE_BYTES),
        _OPEN_AND_UNEXPIRED,
    )
    .values(
        last_sequence=sessions.c.last_sequence + 1,
        last_update_time=sa.bindparam("b_timestamp"),
        events_bytes=sessions.c.events_bytes + _SIZE_BYTES,
        state_bytes=sessions.c.state_bytes + _SESSION_GROWTH,
        expire_time=_SLID_EXPIRE_TIME,
    )
)
_CLAIM_RETURNING = _CLAIM.returning(sessions.c.session_pk, sessions.c.last_sequence)
CLAIM_NEW_EVENT: Final = _CLAIM.where(
    ~sa.exists().where(
        events.c.session_pk == sessions.c.session_pk, events.c.event_id == sa.bindparam("b_event_id")
    )
)
"""``claim_next_sequence``'s update that also requires the session not to hold the event yet.

SQLite's form for a batch of one append (``sqlite``): the session named
directly, where the batch form builds a table of the batch and joins it.
(SQLite finds the event by both keys, through the unique index, as the
batch form does.) Its parameters: ``claim_new_event_params``.
"""


def claim_next_sequence(
    key: SessionKey,
    expected_revision: int,
    event: NewEvent,
    growth: Growth,
    limits: StorageLimits,
    expiry: dict[str, Any],
    *,
    returning: bool,
) -> Bound:
    """The conditional update every append starts with: it matches only at ``expected_revision``.

    And only with room for the event and its session state's ``growth``
    within ``limits`` (as ``claim``), which it counts. It takes the
    session's row lock, so a concurrent append of the same session waits
    here and then finds the revision changed: the database, not this
    process, decides which of two writers is stale. Only an open session that
    has not expired is claimed; ``expiry`` (``batch.expiry_params``) says by
    which clock, and whether its expiry slides. With ``returning`` it
    answers the session's key and its new last sequence (where the database
    can return from an UPDATE).
    """
    params = _claim_params(key, expected_revision, event, growth, limits, expiry)
    return (_CLAIM_RETURNING if returning else _CLAIM), params


def claim_new_event_params(
    key: SessionKey,
    expected_revision: int,
    event: NewEvent,
    growth: Growth,
    limits: StorageLimits,
    expiry: dict[str, Any],
) -> dict[str, Any]:
    """The parameters of ``CLAIM_NEW_EVENT``: ``claim_next_sequence``'s, and the event's id."""
    params = _claim_params(key, expected_revision, event, growth, limits, expiry)
    params["b_event_id"] = event.id
    return params


def _claim_params(
    key: SessionKey,
    expected_revision: int,
    event: NewEvent,
    growth: Growth,
    limits: StorageLimits,
    expiry: dict[str, Any],
) -> dict[str, Any]:
    return {
        **name_params(key),
        "b_expected_revision": expected_revision,
        "b_timestamp": event.timestamp,
        "b_size_bytes": event.size,
        "b_session_growth": growth.session,
        **limit_params(limits),
        **expiry,
    }


ColumnSpec = tuple[tuple[str, Any], ...]

CLAIM_COLUMNS: Final[ColumnSpec] = (
    ("app_name", sessions.c.app_name.type),
    ("user_id", sessions.c.user_id.type),
    ("session_id", sessions.c.session_id.type),
    ("expected_revision", sessions.c.revision.type),
    ("timestamp", sessions.c.last_update_time.type),
    ("event_id", events.c.event_id.type),
    ("size_bytes", events.c.size_bytes.type),
    ("session_growth", sessions.c.state_bytes.type),
)
EVENT_ROW_COLUMNS: Final[ColumnSpec] = tuple(
    (name, events.c[name].type)
    for name in (
        "session_pk",
        "sequence",
        "event_id",
        "invocation_id",
        "author",
        "branch",
        "timestamp",
        "state_delta",
        "event_json",
        "wire_cache",
        "size_bytes",
    )
)
_CLAIMABLE_COLUMNS: Final = frozenset(
    {"position", "expected_revision", "timestamp", "event_id", "size_bytes", "session_growth"}
)


def claimable_sessions(
    batch: sa.CTE,
    *,
    after: sa.CTE | None = None,
    extra: Callable[[sa.FromClause], Sequence[sa.ColumnElement[Any]]] = lambda candidate: (),
) -> sa.Select[Any]:
    """The sessions a batch names, with what their claim needs, locked in key order.

    (FOR UPDATE; SQLite, which has one writer anyway, ignores it.) Two
    batches naming the same sessions, as server replicas may, then wait for
    each other instead of deadlocking. ``after``: a CTE whose rows are locked
    first (the shared scopes' sizes, which every writer of them locks before
    any session). ``extra``: more columns, of the candidate session row.
    """
    candidate = sessions.alias("candidate")
    query = sa.select(
        candidate.c.session_pk,
        *(c for c in batch.c if c.name in _CLAIMABLE_COLUMNS),
        *extra(candidate),
    )
    if after is not None:
        query = query.where(sa.select(sa.func.count()).select_from(after).scalar_subquery() >= 0)
    return (
        query.join_from(
            batch,
            candidate,
            sa.and_(
                candidate.c.app_name == batch.c.app_name,
                candidate.c.user_id == batch.c.user_id,
                candidate.c.session_id == batch.c.session_id,
            ),
        )
        .order_by(candidate.c.session_pk)
        .with_for_update(of=candidate)
    )


def claim(claimable: sa.CTE | sa.Subquery, *extra: sa.ColumnElement[bool]) -> sa.Update:
    """Claims each session of ``claimable`` that can take its append; counts the append's sizes.

    That is: at its expected revision, not holding the event yet, with room
    for the event (``b_max_session_bytes``) and for its own state's growth
    (``b_max_state_bytes``; a write that does not grow it always has room),
    open and not expired by ``NOW`` (its expiry slid with ``REFRESH``), and
    whatever ``extra`` requires. The sizes are compared with the row as it
    is when locked, so replicas never pass a limit together.
    """
    # Both keys from ``claimable``: the only way to find the event is then by both, through the
    # unique index; one from the row being updated lets the planner look it up by the session
    # alone (when statistics make that look as cheap) and read all its events.
    stored = sa.exists().where(
        events.c.session_pk == claimable.c.session_pk, events.c.event_id == claimable.c.event_id
    )
    growth = claimable.c.session_growth
    return (
        sa.update(sessions)
        .where(
            sessions.c.session_pk == claimable.c.session_pk,
            sessions.c.revision == claimable.c.expected_revision,
            ~stored,
            sessions.c.events_bytes + claimable.c.size_bytes <= MAX_SESSION_BYTES,
            sa.or_(growth <= 0, sessions.c.state_bytes + growth <= MAX_STATE_BYTES),
            _OPEN_AND_UNEXPIRED,
            *extra,
        )
        .values(
            last_sequence=sessions.c.last_sequence + 1,
            last_update_time=claimable.c.timestamp,
            events_bytes=sessions.c.events_bytes + claimable.c.size_bytes,
            state_bytes=sessions.c.state_bytes + growth,
            expire_time=_SLID_EXPIRE_TIME,
        )
    )
