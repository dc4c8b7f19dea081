"""The SQL backend's writes other than appends, each one transaction's work on a synchronous connection.

(Appends are stored in batches: ``appends``.)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from adk_grpc_sessions.server.backends.base import (
    ScopedState,
    SessionExistsError,
    SessionKey,
    SessionRecord,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.sql import state_limit
from adk_grpc_sessions.server.backends.sql.queries import sessions as session_queries
from adk_grpc_sessions.server.backends.sql.queries import sizes as size_queries
from adk_grpc_sessions.server.backends.sql.queries.rows import inserted_key
from adk_grpc_sessions.server.backends.sql.queries.state import (
    StateChange,
    merged_state_from_rows,
    select_merged_state,
    upsert_state,
)
from adk_grpc_sessions.server.backends.sql.schema import creation_revision
from adk_grpc_sessions.server.backends.sql.state_limit import Growth


def create_session(
    connection: sa.Connection, key: SessionKey, state: ScopedState, now: float, limits: StorageLimits
) -> SessionRecord:
    """Creates the session ``key`` with ``state``, at ``now``; its record, with its merged state.

    With app or user state, the shared scopes' size rows are locked first
    (as appends lock them), and the state judged against what they hold:
    nothing is written unless every scope has room.

    Raises:
        SessionExistsError: the session exists.
        StateSizeLimitError: a scope would pass ``limits.max_state_bytes`` (nothing is written).
    """
    growth = _judge_create(connection, key, state, limits)
    try:
        inserted = connection.execute(*session_queries.insert_session(key, now, growth.session))
    except IntegrityError:
        raise SessionExistsError(key) from None
    session_pk = inserted_key(inserted)
    revision = creation_revision(session_pk)
    connection.execute(*session_queries.set_revision(session_pk, revision))
    change = StateChange(key.app_name, key.user_id, session_pk, state)
    for upsert in upsert_state(connection.dialect, [change]):
        connection.execute(*upsert)
    for bound in size_queries.add_to_shared_sizes(*state_limit.shared_growths([(key, growth)])):
        connection.execute(*bound)
    merged = connection.execute(*select_merged_state(key.app_name, key.user_id, session_pk))
    return SessionRecord(
        key=key,
        state=merged_state_from_rows(merged),
        events=[],
        create_time=now,
        last_update_time=now,
        revision=revision,
    )


def _judge_create(
    connection: sa.Connection, key: SessionKey, state: ScopedState, limits: StorageLimits
) -> Growth:
    """What a new session's state adds to each scope, judged with the shared scopes' rows locked.

    Raises:
        StateSizeLimitError: a scope would pass ``limits.max_state_bytes`` (nothing is written).
    """
    # Every session's user and app get their state's size rows, so that
    # appends find them (a read first: most exist, and making one locks it).
    present = set(
        map(tuple, connection.execute(*size_queries.select_size_rows_of(key.app_name, key.user_id)))
    )
    users = [] if (key.app_name, key.user_id) in present else [(key.app_name, key.user_id)]
    apps = [] if (key.app_name, None) in present else [key.app_name]
    ensure_shared_sizes(connection, users, apps)
    wanted = state_limit.wanted([(key, state)], existing_sessions=False)
    found = state_limit.Sizes()
    for part, locked in size_queries.lock_shared_sizes(wanted):
        state_limit.sizes_from_rows(
            state_limit.locked_rows_as_sizes(part, connection.execute(*locked)), found
        )
    return state_limit.judge(key, state, found, limits, creating=True)


def create_at_once(connection: sa.Connection, key: SessionKey, now: float) -> tuple[int, ScopedState]:
    """PostgreSQL, a session without state of its own: the create as one statement.

    Three round trips (begin, the statement, commit) instead of five. Its
    revision, and the app's and the user's state. In a transaction, not in
    autocommit: a create is not safe to run twice (the second run would call
    the session taken), and only a transaction tells a statement that
    failed, and may be run again on a new connection, from a commit that
    failed and may have landed.

    Raises:
        SessionExistsError: the session exists.
    """
    try:
        rows = connection.execute(*session_queries.create_at_once(key, now)).all()
    except IntegrityError:
        raise SessionExistsError(key) from None
    return session_queries.created_from_rows(rows)


def delete_session(connection: sa.Connection, key: SessionKey) -> None:
    """Deletes the session; its events and session state go with it."""
    connection.execute(*session_queries.delete_session(key))


def ensure_shared_sizes(
    connection: sa.Connection, users: Sequence[tuple[str, str]], apps: Sequence[str]
) -> None:
    """Makes the size rows of the shared scopes of state named that have none yet."""
    for bound in size_queries.ensure_shared_sizes(connection.dialect, users, apps):
        connection.execute(*bound)
