"""SQLite: a batch of sessions without state of their own created in a few statements.

As ``creates`` does on PostgreSQL in one statement, here in four, each run
on the connection's own DBAPI cursor (``driver_sql``): the size rows of the
users' and apps' state made where missing, the sessions inserted in one
multi-row ``INSERT`` that skips names already held (``ON CONFLICT DO
NOTHING``) and returns those it inserted, and the apps' and users' state
read. The insert gives each row its key itself, the next AUTOINCREMENT would
hand out (``parts.sqlite_last_key``) counted on by the row's place, so that
the revision (``creation_revision``, 2 * key + 1) goes in with the row; a
key skipped by a name held is never handed out. A name held is not an
error: no savepoint per session, and a session the insert did not return
was refused as taken.

The rows are those ``writing.create_session`` writes for such a session.
Statements whose text depends on the batch's size are built and compiled
once per size, sizes rounded up to a power of two (rows repeated to fill).
A lone create, the most common batch, runs the statements for one session
prepared (``driver_sql.PreparedStatement``): its values given as tuples,
on one cursor, with far less Python around SQLite's work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from adk_grpc_sessions.server.backends.sql import driver_sql
from adk_grpc_sessions.server.backends.sql.queries.creates import CreatedBatch, NewSession
from adk_grpc_sessions.server.backends.sql.queries.parts import part, sqlite_last_key
from adk_grpc_sessions.server.backends.sql.queries.rows import encode_initial_state
from adk_grpc_sessions.server.backends.sql.schema import (
    app_state,
    app_state_size,
    creation_revision,
    sessions,
    user_state,
    user_state_size,
)

_INSERT_USER_SIZES: Final = sqlite.insert(user_state_size).on_conflict_do_nothing(
    index_elements=[c.name for c in user_state_size.primary_key.columns]
)
_INSERT_APP_SIZES: Final = sqlite.insert(app_state_size).on_conflict_do_nothing(
    index_elements=[c.name for c in app_state_size.primary_key.columns]
)
_NO_OWN_STATE: Final = encode_initial_state({})
_APP, _USER = 1, 2


def create_batch(connection: sa.Connection, batch: Sequence[NewSession]) -> CreatedBatch:
    """Creates ``batch`` (of distinct names, in key order); which were created (by position), and state.

    A position missing from the result's revisions: that name was held.
    """
    if len(batch) == 1:
        return _create_lone(connection, batch[0])
    users = sorted({(new.key.app_name, new.key.user_id) for new in batch})
    apps = sorted({app_name for app_name, _ in users})
    driver_sql.execute(
        connection,
        _INSERT_USER_SIZES,
        [{"app_name": a, "user_id": u, "state_bytes": 0, "version": 0} for a, u in users],
    )
    driver_sql.execute(
        connection, _INSERT_APP_SIZES, [{"app_name": a, "state_bytes": 0, "version": 0} for a in apps]
    )
    values: dict[str, Any] = {}
    # The last session repeated up to the statement's size: a repeat is a name
    # the statement has just taken, skipped as any name held is.
    padded = [*batch, *[batch[-1]] * (_padded_size(len(batch)) - len(batch))]
    for position, new in enumerate(padded):
        values.update(
            {
                f"app_name_{position}": new.key.app_name,
                f"user_id_{position}": new.key.user_id,
                f"session_id_{position}": new.key.session_id,
                f"now_{position}": new.now,
                f"expire_time_{position}": new.expiry.expire_time,
                f"ttl_{position}": new.expiry.ttl,
                f"display_name_{position}": new.display_name or None,
            }
        )
    inserted: Sequence[Any] = driver_sql.run(
        connection, _insert_sessions(len(padded), connection.dialect), values
    ).all()
    position_of = {
        (new.key.app_name, new.key.user_id, new.key.session_id): position
        for position, new in enumerate(batch)
    }
    created = CreatedBatch()
    for session_pk, app_name, user_id, session_id in inserted:
        created.revisions[position_of[(app_name, user_id, session_id)]] = creation_revision(session_pk)
    if not created.revisions:
        return created
    apps += [apps[-1]] * (_padded_size(len(apps)) - len(apps))
    users += [users[-1]] * (_padded_size(len(users)) - len(users))
    state_values: dict[str, Any] = {f"app_{n}": a for n, a in enumerate(apps)}
    state_values.update({f"user_app_{n}": a for n, (a, _) in enumerate(users)})
    state_values.update({f"user_{n}": u for n, (_, u) in enumerate(users)})
    rows = driver_sql.run(connection, _select_state(len(apps), len(users), connection.dialect), state_values)
    _state_from_rows(rows, created, connection.dialect)
    return created


@dataclass(frozen=True, slots=True)
class _LoneStatements:
    """``create_batch``'s statements for one session, prepared for one dialect."""

    insert_user_size: driver_sql.PreparedStatement
    insert_app_size: driver_sql.PreparedStatement
    insert_session: driver_sql.PreparedStatement
    select_state: driver_sql.PreparedStatement


@functools.lru_cache(maxsize=16)
def _lone_statements(dialect: sa.Dialect) -> _LoneStatements:
    return _LoneStatements(
        driver_sql.PreparedStatement(
            _INSERT_USER_SIZES, dialect, ("app_name", "user_id", "state_bytes", "version")
        ),
        driver_sql.PreparedStatement(_INSERT_APP_SIZES, dialect, ("app_name", "state_bytes", "version")),
        driver_sql.PreparedStatement(
            _insert_sessions(1, dialect),
            dialect,
            ("app_name_0", "user_id_0", "session_id_0", "now_0", "expire_time_0", "ttl_0", "display_name_0"),
        ),
        driver_sql.PreparedStatement(
            _select_state(1, 1, dialect), dialect, ("app_0", "user_app_0", "user_0")
        ),
    )


def _create_lone(connection: sa.Connection, new: NewSession) -> CreatedBatch:
    """``create_batch`` of one session: the same statements, prepared, on one driver cursor."""
    statements = _lone_statements(connection.dialect)
    app_name, user_id = new.key.app_name, new.key.user_id
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None, "a connection in use has its driver connection"
    cursor = dbapi_connection.cursor()
    try:
        statements.insert_user_size.rows(cursor, (app_name, user_id, 0, 0))
        statements.insert_app_size.rows(cursor, (app_name, 0, 0))
        inserted = statements.insert_session.rows(
            cursor,
            (
                app_name,
                user_id,
                new.key.session_id,
                new.now,
                new.expiry.expire_time,
                new.expiry.ttl,
                new.display_name or None,
            ),
        )
        created = CreatedBatch()
        if inserted:
            ((session_pk, *_),) = inserted
            created.revisions[0] = creation_revision(session_pk)
            rows = statements.select_state.rows(cursor, (app_name, app_name, user_id))
            _state_from_rows(rows, created, connection.dialect)
        return created
    finally:
        cursor.close()


def _padded_size(size: int) -> int:
    """The size of the statement that takes ``size`` rows: the next power of two, so that few are compiled."""
    return 1 << (size - 1).bit_length()


def _state_from_rows(rows: Iterable[Sequence[Any]], created: CreatedBatch, dialect: sa.Dialect) -> None:
    """``created``'s state from ``_select_state``'s rows, decoded as SQLAlchemy would decode them."""
    key_of, value_of = _result_processors(dialect)
    for row_part, app_name, user_id, raw_key, raw_value in rows:
        state_key, value = key_of(raw_key), value_of(raw_value)
        if row_part == _APP:
            created.app_state.setdefault(app_name, {})[state_key] = value
        else:
            created.user_state.setdefault((app_name, user_id), {})[state_key] = value


@functools.lru_cache(maxsize=16)
def _result_processors(dialect: sa.Dialect) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """How the state rows' key and value columns are decoded (the driver's rows come back raw)."""
    decoders = []
    for column in (app_state.c.state_key, app_state.c.value):
        processor = column.type.result_processor(dialect, None)
        decoders.append(processor if processor is not None else _as_is)
    return decoders[0], decoders[1]


def _as_is(value: Any) -> Any:
    return value


@functools.lru_cache(maxsize=256)
def _insert_sessions(size: int, dialect: sa.Dialect) -> driver_sql.DriverStatement:
    """The multi-row insert of ``size`` sessions, skipping names held; (session_pk, name) of each inserted."""
    rows = [
        {
            sessions.c.app_name: sa.bindparam(f"app_name_{n}", type_=sessions.c.app_name.type),
            sessions.c.user_id: sa.bindparam(f"user_id_{n}", type_=sessions.c.user_id.type),
            sessions.c.session_id: sa.bindparam(f"session_id_{n}", type_=sessions.c.session_id.type),
            sessions.c.create_time: sa.bindparam(f"now_{n}", type_=sessions.c.create_time.type),
            sessions.c.last_update_time: sa.bindparam(f"now_{n}", type_=sessions.c.last_update_time.type),
            sessions.c.session_pk: sqlite_last_key(sessions) + (n + 1),
            sessions.c.revision: 2 * (sqlite_last_key(sessions) + (n + 1)) + 1,  # creation_revision
            sessions.c.last_sequence: sa.literal(0, sa.BigInteger()),
            sessions.c.events_bytes: sa.literal(0, sa.BigInteger()),
            sessions.c.state_bytes: sa.literal(0, sa.BigInteger()),
            sessions.c.expire_time: sa.bindparam(f"expire_time_{n}", type_=sessions.c.expire_time.type),
            sessions.c.ttl: sa.bindparam(f"ttl_{n}", type_=sessions.c.ttl.type),
            sessions.c.display_name: sa.bindparam(f"display_name_{n}", type_=sessions.c.display_name.type),
            sessions.c.initial_state: sa.literal(_NO_OWN_STATE, sessions.c.initial_state.type),
        }
        for n in range(size)
    ]
    statement = (
        sqlite.insert(sessions)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(sessions.c.session_pk, sessions.c.app_name, sessions.c.user_id, sessions.c.session_id)
    )
    return driver_sql.DriverStatement(statement, dialect)


@functools.lru_cache(maxsize=256)
def _select_state(apps: int, users: int, dialect: sa.Dialect) -> driver_sql.DriverStatement:
    """Rows of (part, app_name, user_id, state_key, value) of ``apps`` apps' and ``users`` users' state."""
    statement = sa.union_all(
        sa.select(
            part(_APP), app_state.c.app_name, sa.null(), app_state.c.state_key, app_state.c.value
        ).where(app_state.c.app_name.in_([sa.bindparam(f"app_{n}") for n in range(apps)])),
        sa.select(
            part(_USER),
            user_state.c.app_name,
            user_state.c.user_id,
            user_state.c.state_key,
            user_state.c.value,
        ).where(
            sa.or_(
                *(
                    sa.and_(
                        user_state.c.app_name == sa.bindparam(f"user_app_{n}"),
                        user_state.c.user_id == sa.bindparam(f"user_{n}"),
                    )
                    for n in range(users)
                )
            )
        ),
    )
    return driver_sql.DriverStatement(statement, dialect)
