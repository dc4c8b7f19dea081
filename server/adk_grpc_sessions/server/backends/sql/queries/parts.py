"""What the queries are built of: the bound statement, a session named by its key, columns, union parts."""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import ReadBudget, SessionKey
from adk_grpc_sessions.server.backends.sql.schema import app_state_size, events, sessions, user_state_size

Bound = tuple[sa.Executable, dict[str, Any] | list[dict[str, Any]]]
"""A statement and the values of its parameters: ``connection.execute(*bound)``.

Every statement is built once, with named parameters, and reused: then
SQLAlchemy compiles it once per dialect and finds it in its cache by
identity, instead of building and hashing a new statement tree per call.
"""

RETRIED_EVENT_COLUMNS: Final = (
    events.c.event_pk,
    events.c.sequence,
    events.c.event_id,
    events.c.event_json,
    events.c.wire_cache,
    events.c.size_bytes,
    events.c.timestamp,
)
"""What a retried append's check selects of the event it stored before (``rows.retried_event``)."""
READ_EVENT_COLUMNS: Final = (
    events.c.sequence,
    events.c.event_id,
    events.c.event_json,
    events.c.wire_cache,
)
"""What a read selects of each event: everything its response needs (``rows.read_events``)."""
SESSION_COLUMNS: Final = (
    sessions.c.session_pk,
    sessions.c.app_name,
    sessions.c.user_id,
    sessions.c.session_id,
    sessions.c.create_time,
    sessions.c.last_update_time,
    sessions.c.revision,
    sessions.c.last_sequence,
    sessions.c.events_bytes,
    sessions.c.state_bytes,
    sessions.c.expire_time,
    sessions.c.ttl,
    sessions.c.close_time,
)

METADATA_COLUMNS: Final = (
    sessions.c.display_name,
    sessions.c.labels,
    sessions.c.forked_from,
)
"""What reads select of a session beside ``SESSION_COLUMNS``: its metadata (``rows.session_metadata``)."""

NAMED: Final = sa.and_(
    sessions.c.app_name == sa.bindparam("b_app_name"),
    sessions.c.user_id == sa.bindparam("b_user_id"),
    sessions.c.session_id == sa.bindparam("b_session_id"),
)
"""The session row named by ``name_params``."""


NOW: Final = sa.bindparam("b_now", type_=sessions.c.expire_time.type)
"""The time expiry is judged by (``Backend.clock()``), where a statement compares it."""


def unexpired(expire_time: sa.ColumnElement[float | None] = sessions.c.expire_time) -> sa.ColumnElement[bool]:
    """A session that has not expired by ``NOW``: the rule every read, list and append applies.

    In the statement that reads the row, so the primary-key path costs
    nothing more, and listings keep their indexes (it filters the rows the
    index finds).
    """
    return sa.or_(expire_time.is_(None), expire_time > NOW)


VISIBLE: Final = sa.and_(NAMED, unexpired())
"""The session row named by ``visible_params``, unless it has expired."""


def visible_params(key: SessionKey, now: float) -> dict[str, Any]:
    """The parameters of ``VISIBLE`` for the session ``key`` at ``now``."""
    return {**name_params(key), "b_now": now}


def name_params(key: SessionKey) -> dict[str, Any]:
    """The parameters of ``NAMED`` for the session ``key``."""
    return {"b_app_name": key.app_name, "b_user_id": key.user_id, "b_session_id": key.session_id}


def part(number: int) -> sa.ColumnElement[Any]:
    """The column that tells which part of a union a row comes from."""
    return sa.literal_column(str(number)).label("part")


def typed_null(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A NULL for ``column`` in the first part of a union whose later parts select that column.

    A union's result columns take the first part's types: SQLAlchemy's
    (which convert what the driver returns: quoted state keys, user ids on
    MySQL/MariaDB), and PostgreSQL's, which types a union pair by pair, so
    that NULL and NULL would make text, and text then fail to match bigint
    or bytea. Hence a cast, not just a NULL.
    """
    return sa.cast(sa.null(), column.type).label(column.key)


UNBOUNDED: Final = 2**62
"""A sequence past any other: "up to" it takes every event that follows."""

BUDGET_BYTES: Final = sa.bindparam("b_budget_bytes", type_=sa.BigInteger())
BUDGET_EVENTS: Final = sa.bindparam("b_budget_events", type_=sa.BigInteger())


def budget_params(budget: ReadBudget) -> dict[str, int]:
    """The parameters of ``BUDGET_BYTES`` and ``BUDGET_EVENTS`` for ``budget``."""
    return {"b_budget_bytes": budget.bytes, "b_budget_events": budget.max_events}


def shared_state_bytes(
    app_name: sa.ColumnElement[str], user_id: sa.ColumnElement[str]
) -> sa.ColumnElement[int]:
    """What the app's and the user's state count, from their size rows (0 for a scope without one)."""
    user = sa.select(user_state_size.c.state_bytes).where(
        user_state_size.c.app_name == app_name, user_state_size.c.user_id == user_id
    )
    app = sa.select(app_state_size.c.state_bytes).where(app_state_size.c.app_name == app_name)
    return sa.func.coalesce(user.scalar_subquery(), 0) + sa.func.coalesce(app.scalar_subquery(), 0)


_SQLITE_SEQUENCE: Final = sa.table(
    "sqlite_sequence", sa.column("name", sa.Text()), sa.column("seq", sa.BigInteger())
)


def sqlite_last_key(table: sa.Table) -> sa.ColumnElement[int]:
    """SQLite: the largest key AUTOINCREMENT has handed out for ``table`` (0 before the first).

    AUTOINCREMENT's next key is one more than the larger of what
    ``sqlite_sequence`` recorded and the largest key there is. A statement
    may give rows keys above this one itself: an explicit key moves
    ``sqlite_sequence`` on, so none is handed out twice, and a writer holds
    SQLite's write lock from BEGIN, so none is taken in between.
    """
    (key,) = table.primary_key.columns
    recorded = sa.select(_SQLITE_SEQUENCE.c.seq).where(_SQLITE_SEQUENCE.c.name == table.name)
    return sa.func.max(
        sa.func.coalesce(recorded.scalar_subquery(), 0),
        sa.func.coalesce(sa.select(sa.func.max(key)).scalar_subquery(), 0),
    )
