"""SQLite: a lone append (a batch of one, the most common batch), with as little Python around it as can be.

The statements and their outcome are ``sqlite``'s for a batch of one: the
sizes its state is judged by (only if it changes state), the claim of its
session, named directly (which sets the revision from the key its event will
get), the event's insert, the state's upserts, and the shared scopes' size
rows. What differs is the Python around them, which costs more than SQLite
takes to run such small statements: each statement is a
``driver_sql.PreparedStatement`` (compiled once, its parameters given as a
tuple in an order worked out once), run on one DBAPI cursor for the whole
append, its rows read as the driver's tuples.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import AppendResult, StateMap, StorageLimits
from adk_grpc_sessions.server.backends.sql import dialects, state_limit
from adk_grpc_sessions.server.backends.sql.appends.batch import (
    PendingAppend,
    appended,
    judge_append,
    sizes_with_shared_rows,
)
from adk_grpc_sessions.server.backends.sql.appends.claims import (
    CLAIM_NEW_EVENT,
    EVENT_ROW_COLUMNS,
    ColumnSpec,
)
from adk_grpc_sessions.server.backends.sql.driver_sql import PreparedStatement
from adk_grpc_sessions.server.backends.sql.queries import sizes as size_queries
from adk_grpc_sessions.server.backends.sql.queries.parts import SESSION_COLUMNS, sqlite_last_key
from adk_grpc_sessions.server.backends.sql.queries.rows import encode_state_delta
from adk_grpc_sessions.server.backends.sql.queries.sizes import SizesWanted
from adk_grpc_sessions.server.backends.sql.queries.state import (
    STATE_ROW_COLUMNS,
    STATE_UPDATE_COLUMNS,
    state_row,
)
from adk_grpc_sessions.server.backends.sql.schema import (
    app_state,
    event_pk_of_revision,
    events,
    session_state,
    user_state,
)
from adk_grpc_sessions.server.backends.sql.state_limit import NO_GROWTH

CLAIM_ONE: Final = CLAIM_NEW_EVENT.values(revision=2 * (sqlite_last_key(events) + 1)).returning(
    *SESSION_COLUMNS
)
"""The claim of one append's session, named directly; its event's key is the next AUTOINCREMENT gives."""
_CLAIM_NAMES: Final = (
    "b_app_name",
    "b_user_id",
    "b_session_id",
    "b_expected_revision",
    "b_timestamp",
    "b_size_bytes",
    "b_session_growth",
    "b_max_session_bytes",
    "b_max_state_bytes",
    "b_now",
    "b_refresh",
    "b_event_id",
)
_RETURNED: Final = [column.name for column in SESSION_COLUMNS]
_SESSION_PK, _SEQUENCE, _REVISION = (
    _RETURNED.index(name) for name in ("session_pk", "last_sequence", "revision")
)

EVENT_COLUMNS: Final[ColumnSpec] = (("event_pk", events.c.event_pk.type), *EVENT_ROW_COLUMNS)
"""An event's row, with the key its claim gave it."""
INSERT_ONE: Final = sa.insert(events).values(
    {name: sa.bindparam(f"b_{name}", type_=type_) for name, type_ in EVENT_COLUMNS}
)
"""One event's row, with its key (``EVENT_COLUMNS``, each as parameter ``b_{column}``)."""

_STATE_OWNERS: Final = (("session_pk",), ("app_name", "user_id"), ("app_name",))
"""The owner columns of the session's, the user's and the app's state rows."""


@dataclass(frozen=True, slots=True)
class _Prepared:
    """The statements of a lone append, prepared for one dialect."""

    claim: PreparedStatement
    insert_event: PreparedStatement
    upserts: tuple[PreparedStatement, PreparedStatement, PreparedStatement]
    """Of the session's, the user's and the app's state rows."""
    add_to_user_size: PreparedStatement
    add_to_app_size: PreparedStatement


@functools.lru_cache(maxsize=16)
def _prepared(dialect: sa.Dialect) -> _Prepared:
    upserts = tuple(
        PreparedStatement(
            dialects.upsert(dialect, table, STATE_UPDATE_COLUMNS), dialect, (*owner, *STATE_ROW_COLUMNS)
        )
        for table, owner in zip((session_state, user_state, app_state), _STATE_OWNERS, strict=True)
    )
    add_to_user, add_to_app = size_queries.ADD_TO_SHARED_SIZES
    return _Prepared(
        claim=PreparedStatement(CLAIM_ONE, dialect, _CLAIM_NAMES),
        insert_event=PreparedStatement(INSERT_ONE, dialect, tuple(f"b_{name}" for name, _ in EVENT_COLUMNS)),
        upserts=(upserts[0], upserts[1], upserts[2]),
        add_to_user_size=PreparedStatement(add_to_user, dialect, ("b_app_name", "b_user_id", "b_growth")),
        add_to_app_size=PreparedStatement(add_to_app, dialect, ("b_app_name", "b_growth")),
    )


def store_lone(
    connection: sa.Connection, append: PendingAppend, limits: StorageLimits
) -> AppendResult | None:
    """Stores the append if it may be stored, as ``sqlite.store_batch`` stores a batch of it; None if not."""
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None, "a connection in use has its driver connection"
    cursor = dbapi_connection.cursor()
    try:
        return _store(connection, cursor, append, limits)
    finally:
        cursor.close()


def _store(
    connection: sa.Connection, cursor: Any, append: PendingAppend, limits: StorageLimits
) -> AppendResult | None:
    key, event = append.key, append.event
    delta = event.state_delta
    if delta.is_empty():
        growth = append.judged = NO_GROWTH
    else:
        wanted = state_limit.wanted(((key, delta),))
        found = sizes_with_shared_rows(connection, wanted, functools.partial(_read_sizes, cursor))
        judged = judge_append(append, found, limits)
        if judged is None:
            return None
        growth = judged
    prepared = _prepared(connection.dialect)
    claimed = prepared.claim.rows(
        cursor,
        (
            key.app_name,
            key.user_id,
            key.session_id,
            append.expected_revision,
            event.timestamp,
            event.size,
            growth.session,
            limits.max_session_bytes,
            limits.max_state_bytes,
            append.now,
            append.refresh_expiry,
            event.id,
        ),
    )
    if not claimed:
        return None
    (row,) = claimed
    session_pk, sequence, revision = row[_SESSION_PK], row[_SEQUENCE], row[_REVISION]
    event_pk = event_pk_of_revision(revision)
    # The session was checked to lack the event, and this transaction is the only writer.
    prepared.insert_event.rows(
        cursor,
        (
            event_pk,
            session_pk,
            sequence,
            event.id,
            event.invocation_id,
            event.author,
            event.branch,
            event.timestamp,
            encode_state_delta(delta),
            event.event_json,
            event.wire_cache or None,
            event.size,
        ),
    )
    session_upsert, user_upsert, app_upsert = prepared.upserts
    _upsert(cursor, session_upsert, (session_pk,), delta.session)
    _upsert(cursor, user_upsert, (key.app_name, key.user_id), delta.user)
    _upsert(cursor, app_upsert, (key.app_name,), delta.app)
    users, apps = state_limit.shared_growths(((key, growth),), versioned=False)
    for user_growth in users:
        prepared.add_to_user_size.rows(cursor, user_growth)
    for app_growth in apps:
        prepared.add_to_app_size.rows(cursor, app_growth)
    return appended(event, sequence, event_pk)


def _upsert(cursor: Any, upsert: PreparedStatement, owner: tuple[Any, ...], values: StateMap) -> None:
    """Sets ``values``'s keys in the scope of ``owner``, in key order (as ``queries.state.upsert_state``)."""
    if len(values) == 1:
        ((state_key, value),) = values.items()
        upsert.rows(cursor, (*owner, *state_row(state_key, value)))
    elif values:
        upsert.run_many(
            cursor, sorted((*owner, *state_row(state_key, value)) for state_key, value in values.items())
        )


def _read_sizes(cursor: Any, connection: sa.Connection, wanted: SizesWanted) -> state_limit.Sizes:
    statement, names, values = size_queries.select_lone_sizes(wanted)
    return state_limit.sizes_from_rows(
        _sizes_statement(statement, names, connection.dialect).rows(cursor, values)
    )


@functools.lru_cache(maxsize=64)
def _sizes_statement(
    statement: sa.Executable, names: tuple[str, ...], dialect: sa.Dialect
) -> PreparedStatement:
    """``select_lone_sizes``'s statement of one shape (there are a few), prepared."""
    return PreparedStatement(statement, dialect, names)
