"""State rows: the merged state of a session read in one round trip, a scope's state, and upserts.

State is one row per key (see ``schema``): applying a delta upserts only the
keys it names, in an order every writer shares.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import ScopedState, StateMap
from adk_grpc_sessions.server.backends.sql import dialects
from adk_grpc_sessions.server.backends.sql.queries.parts import Bound
from adk_grpc_sessions.server.backends.sql.schema import app_state, key_digest, session_state, user_state
from adk_grpc_sessions.wire.limits import state_entry_bytes

STATE_UPDATE_COLUMNS: Final = ("state_key", "value", "entry_bytes")
"""What an upsert of a state row sets where the key exists already."""
_ROWS_PER_UPSERT: Final = 500
_BYTES_PER_UPSERT: Final = 4 * 1024 * 1024
"""Upserts are split so one statement stays well under MySQL's default max_allowed_packet."""
_APP, _USER, _SESSION = 0, 1, 2


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


def select_app_state(app_name: str) -> Bound:
    """The app's state rows."""
    return _SELECT_APP_STATE, {"b_app_name": app_name}


def select_user_state(app_name: str, user_id: str) -> Bound:
    """One user's state rows."""
    return _SELECT_USER_STATE, {"b_app_name": app_name, "b_user_id": user_id}


@dataclass(frozen=True, slots=True)
class StateChange:
    """A state delta and whose state it changes: the session ``session_pk`` of ``user_id`` in ``app_name``."""

    app_name: str
    user_id: str
    session_pk: int
    delta: ScopedState


STATE_ROW_COLUMNS: Final = ("key_digest", "state_key", "value", "entry_bytes")
"""The columns of a state row beside its owner's (the session's, the user's, the app's): ``state_row``."""


def state_row(state_key: str, value: str) -> tuple[str, str, str, int]:
    """The values of ``STATE_ROW_COLUMNS`` of the row that sets ``state_key`` to ``value`` (JSON text)."""
    return key_digest(state_key), state_key, value, state_entry_bytes(state_key, value)


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
                row = state_row(state_key, value)
                rows[(*owner.values(), row[0])] = {**owner, **dict(zip(STATE_ROW_COLUMNS, row, strict=True))}
    for table, rows_by_key in ((session_state, session_rows), (user_state, user_rows), (app_state, app_rows)):
        if not rows_by_key:
            continue
        statement = dialects.upsert(dialect, table, STATE_UPDATE_COLUMNS)
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
