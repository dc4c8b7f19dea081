"""The sizes the state limit is judged by: read for a batch at once, locked, and counted.

``state_limit`` judges a write with what these read; see there for why the
judgement holds across server replicas.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pydantic_core
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from adk_grpc_sessions.server.backends.base import SessionKey
from adk_grpc_sessions.server.backends.sql import dialects
from adk_grpc_sessions.server.backends.sql.queries.parts import Bound, part, typed_null
from adk_grpc_sessions.server.backends.sql.schema import (
    app_state,
    app_state_size,
    session_state,
    sessions,
    user_state,
    user_state_size,
)

_SIZES_PARTS: Final = ("session_entry", "session", "user_entry", "user", "app_entry", "app")
SESSION_ENTRY, SESSION_SIZE, USER_ENTRY, USER_SIZE, APP_ENTRY, APP_SIZE = range(len(_SIZES_PARTS))
"""The parts of ``select_sizes``'s rows: (part, app_name, user_id, session_id, key_digest, bytes, version)."""


@dataclass(frozen=True, slots=True)
class SizesWanted:
    """What a write needs to know to judge its growth (``select_sizes``).

    The sizes of the scopes it changes, and what the keys it sets count now.
    """

    sessions: Sequence[SessionKey] = ()
    session_digests: Sequence[str] = ()
    users: Sequence[tuple[str, str]] = ()
    user_digests: Sequence[str] = ()
    apps: Sequence[str] = ()
    app_digests: Sequence[str] = ()


_ARRAYS, _JSON, _EXPANDING = "arrays", "json", "expanding"
"""How a statement takes a list of values as one parameter: PostgreSQL arrays, SQLite JSON text,
else SQLAlchemy's expanding IN (one placeholder per value)."""


def _list_form(dialect: sa.Dialect) -> str:
    if dialect.name == dialects.POSTGRESQL:
        return _ARRAYS
    if dialect.name == dialects.SQLITE:
        return _JSON
    return _EXPANDING


def _matches(columns: Sequence[sa.ColumnElement[Any]], name: str, form: str) -> sa.ColumnElement[bool]:
    """``columns`` (as a tuple) among the values of parameter ``name``.

    On PostgreSQL one array per column, unnested, and on SQLite a JSON array
    of them: one statement text for any number of values, compiled once
    (SQLAlchemy's expanding IN renders a text per call, at a cost a batch of
    appends notices). Elsewhere an expanding IN.
    """
    if form == _EXPANDING:
        if len(columns) == 1:
            return columns[0].in_(sa.bindparam(name, expanding=True))
        return sa.tuple_(*columns).in_(sa.bindparam(name, expanding=True))
    if form == _JSON:
        each = sa.func.json_each(sa.bindparam(name, type_=sa.Text())).table_valued("value")
        if len(columns) == 1:
            return columns[0].in_(sa.select(each.c.value))
        picked = [sa.func.json_extract(each.c.value, f"$[{n}]") for n in range(len(columns))]
        return sa.tuple_(*columns).in_(sa.select(*picked))
    unnested = sa.func.unnest(
        *(
            sa.bindparam(f"{name}_{n}", type_=postgresql.ARRAY(column.type))
            for n, column in enumerate(columns)
        )
    )
    return sa.tuple_(*columns).in_(sa.select(sa.text("*")).select_from(unnested))


def _matches_params(name: str, values: Sequence[Any], width: int, form: str) -> dict[str, Any]:
    if form == _EXPANDING:
        return {name: list(values)}
    if form == _JSON:
        return {name: pydantic_core.to_json(list(values)).decode()}
    if width == 1:
        return {f"{name}_0": list(values)}
    return {f"{name}_{n}": [value[n] for value in values] for n in range(width)}


@functools.cache
def _select_sizes(form: str) -> sa.CompoundSelect[Any]:
    none = sa.null()
    session_named = _matches(
        (sessions.c.app_name, sessions.c.user_id, sessions.c.session_id), "b_sessions", form
    )
    users = _matches((user_state_size.c.app_name, user_state_size.c.user_id), "b_users", form)
    user_rows = _matches((user_state.c.app_name, user_state.c.user_id), "b_users", form)
    apps = _matches((app_state_size.c.app_name,), "b_apps", form)
    app_rows = _matches((app_state.c.app_name,), "b_apps", form)
    return sa.union_all(
        sa.select(
            part(SESSION_ENTRY),
            sessions.c.app_name,
            sessions.c.user_id,
            sessions.c.session_id,
            session_state.c.key_digest,
            session_state.c.entry_bytes.label("bytes"),
            typed_null(user_state_size.c.version),
        )
        .join_from(sessions, session_state, session_state.c.session_pk == sessions.c.session_pk)
        .where(session_named, _matches((session_state.c.key_digest,), "b_session_digests", form)),
        sa.select(
            part(SESSION_SIZE),
            sessions.c.app_name,
            sessions.c.user_id,
            sessions.c.session_id,
            none,
            sessions.c.state_bytes,
            none,
        ).where(session_named),
        sa.select(
            part(USER_ENTRY),
            user_state.c.app_name,
            user_state.c.user_id,
            none,
            user_state.c.key_digest,
            user_state.c.entry_bytes,
            none,
        ).where(user_rows, _matches((user_state.c.key_digest,), "b_user_digests", form)),
        sa.select(
            part(USER_SIZE),
            user_state_size.c.app_name,
            user_state_size.c.user_id,
            none,
            none,
            user_state_size.c.state_bytes,
            user_state_size.c.version,
        ).where(users),
        sa.select(
            part(APP_ENTRY),
            app_state.c.app_name,
            none,
            none,
            app_state.c.key_digest,
            app_state.c.entry_bytes,
            none,
        ).where(app_rows, _matches((app_state.c.key_digest,), "b_app_digests", form)),
        sa.select(
            part(APP_SIZE),
            app_state_size.c.app_name,
            none,
            none,
            none,
            app_state_size.c.state_bytes,
            app_state_size.c.version,
        ).where(apps),
    )


def select_sizes_statement(dialect: sa.Dialect) -> sa.Executable:
    """The statement ``select_sizes`` runs on ``dialect`` (to compile it at start)."""
    return _select_sizes(_list_form(dialect))


def select_sizes(dialect: sa.Dialect, wanted: SizesWanted) -> Bound:
    """The sizes ``wanted`` names, as one statement.

    Each scope's size (and a shared scope's version), and what each of the
    given keys counts now in those scopes (where it is set).

    The keys' digests are matched in every scope named, not by pair: a few
    rows more than needed, which the reader ignores.
    """
    form = _list_form(dialect)
    names = [(k.app_name, k.user_id, k.session_id) for k in wanted.sessions]
    return _select_sizes(form), {
        **_matches_params("b_sessions", names, 3, form),
        **_matches_params("b_session_digests", wanted.session_digests, 1, form),
        **_matches_params("b_users", wanted.users, 2, form),
        **_matches_params("b_user_digests", wanted.user_digests, 1, form),
        **_matches_params("b_apps", wanted.apps, 1, form),
        **_matches_params("b_app_digests", wanted.app_digests, 1, form),
    }


@functools.cache
def _lock_user_sizes() -> sa.Select[Any]:
    keys = (user_state_size.c.app_name, user_state_size.c.user_id)
    return (
        sa.select(*keys, user_state_size.c.state_bytes, user_state_size.c.version)
        .where(_matches(keys, "b_users", _EXPANDING))
        .order_by(*keys)
        .with_for_update()
    )


@functools.cache
def _lock_app_sizes() -> sa.Select[Any]:
    return (
        sa.select(app_state_size.c.app_name, app_state_size.c.state_bytes, app_state_size.c.version)
        .where(_matches((app_state_size.c.app_name,), "b_apps", _EXPANDING))
        .order_by(app_state_size.c.app_name)
        .with_for_update()
    )


@functools.cache
def _lock_user_entries() -> sa.Select[Any]:
    keys = (user_state.c.app_name, user_state.c.user_id)
    return (
        sa.select(*keys, user_state.c.key_digest, user_state.c.entry_bytes)
        .where(
            _matches(keys, "b_users", _EXPANDING),
            _matches((user_state.c.key_digest,), "b_user_digests", _EXPANDING),
        )
        .order_by(*keys, user_state.c.key_digest)
        .with_for_update()
    )


@functools.cache
def _lock_app_entries() -> sa.Select[Any]:
    return (
        sa.select(app_state.c.app_name, app_state.c.key_digest, app_state.c.entry_bytes)
        .where(
            _matches((app_state.c.app_name,), "b_apps", _EXPANDING),
            _matches((app_state.c.key_digest,), "b_app_digests", _EXPANDING),
        )
        .order_by(app_state.c.app_name, app_state.c.key_digest)
        .with_for_update()
    )


def lock_shared_sizes(wanted: SizesWanted) -> list[tuple[int, Bound]]:
    """MySQL/MariaDB: the shared scopes' size rows, then the rows of the keys set in them, locked.

    Each as ``(part, statement)``, the part its rows stand for in
    ``select_sizes``'s terms; rows of (app_name, [user_id,] [key_digest,] bytes[, version]).
    Locking reads see every committed change (a plain read would see the
    transaction's snapshot), and hold the scopes until the commit, as every
    writer of them does, in this order.
    """
    users = {"b_users": list(wanted.users)}
    apps = {"b_apps": list(wanted.apps)}
    locks: list[tuple[int, Bound]] = []
    if wanted.users:
        locks.append((USER_SIZE, (_lock_user_sizes(), users)))
    if wanted.apps:
        locks.append((APP_SIZE, (_lock_app_sizes(), apps)))
    if wanted.users and wanted.user_digests:
        locks.append(
            (USER_ENTRY, (_lock_user_entries(), {**users, "b_user_digests": list(wanted.user_digests)}))
        )
    if wanted.apps and wanted.app_digests:
        locks.append((APP_ENTRY, (_lock_app_entries(), {**apps, "b_app_digests": list(wanted.app_digests)})))
    return locks


_SIZE_ROWS_OF = sa.union_all(
    sa.select(user_state_size.c.app_name, user_state_size.c.user_id).where(
        user_state_size.c.app_name == sa.bindparam("b_app_name"),
        user_state_size.c.user_id == sa.bindparam("b_user_id"),
    ),
    sa.select(app_state_size.c.app_name, sa.null()).where(
        app_state_size.c.app_name == sa.bindparam("b_app_name")
    ),
)


def select_size_rows_of(app_name: str, user_id: str) -> Bound:
    """Which of the user's and the app's state size rows exist: rows of (app_name, user_id or None)."""
    return _SIZE_ROWS_OF, {"b_app_name": app_name, "b_user_id": user_id}


def ensure_shared_sizes(
    dialect: sa.Dialect, users: Sequence[tuple[str, str]], apps: Sequence[str]
) -> Iterator[Bound]:
    """Size rows (empty) for the shared scopes named that have none yet; rows that exist are left alone."""
    if users:
        yield (
            dialects.insert_missing(dialect, user_state_size),
            [
                {"app_name": app_name, "user_id": user_id, "state_bytes": 0, "version": 0}
                for app_name, user_id in sorted(users)
            ],
        )
    if apps:
        yield (
            dialects.insert_missing(dialect, app_state_size),
            [{"app_name": app_name, "state_bytes": 0, "version": 0} for app_name in sorted(apps)],
        )


_ADD_TO_USER_SIZE = (
    sa.update(user_state_size)
    .where(
        user_state_size.c.app_name == sa.bindparam("b_app_name"),
        user_state_size.c.user_id == sa.bindparam("b_user_id"),
    )
    .values(
        state_bytes=user_state_size.c.state_bytes + sa.bindparam("b_growth", type_=sa.BigInteger()),
        version=user_state_size.c.version + 1,
    )
)
_ADD_TO_APP_SIZE = (
    sa.update(app_state_size)
    .where(app_state_size.c.app_name == sa.bindparam("b_app_name"))
    .values(
        state_bytes=app_state_size.c.state_bytes + sa.bindparam("b_growth", type_=sa.BigInteger()),
        version=app_state_size.c.version + 1,
    )
)


ADD_TO_SHARED_SIZES: Final = (_ADD_TO_USER_SIZE, _ADD_TO_APP_SIZE)
"""The statements ``add_to_shared_sizes`` runs (to compile them at start)."""


def add_to_shared_sizes(
    users: Sequence[tuple[str, str, int]], apps: Sequence[tuple[str, int]]
) -> Iterator[Bound]:
    """Adds each growth to its shared scope's size row, and moves the row's version on.

    ``users`` as (app_name, user_id, growth), ``apps`` as (app_name, growth);
    in key order, the order their rows are locked in.
    """
    if users:
        yield (
            _ADD_TO_USER_SIZE,
            [
                {"b_app_name": app_name, "b_user_id": user_id, "b_growth": growth}
                for app_name, user_id, growth in sorted(users)
            ],
        )
    if apps:
        yield (
            _ADD_TO_APP_SIZE,
            [{"b_app_name": app_name, "b_growth": growth} for app_name, growth in sorted(apps)],
        )


_SUM_USER_STATE = (
    sa.select(sa.func.coalesce(sa.func.sum(user_state.c.entry_bytes), 0))
    .where(
        user_state.c.app_name == sa.bindparam("b_app_name"), user_state.c.user_id == sa.bindparam("b_user_id")
    )
    .scalar_subquery()
)
_SUM_APP_STATE = (
    sa.select(sa.func.coalesce(sa.func.sum(app_state.c.entry_bytes), 0))
    .where(app_state.c.app_name == sa.bindparam("b_app_name"))
    .scalar_subquery()
)
_RECOUNT_USER_SIZE = (
    sa.update(user_state_size)
    .where(
        user_state_size.c.app_name == sa.bindparam("b_app_name"),
        user_state_size.c.user_id == sa.bindparam("b_user_id"),
    )
    .values(state_bytes=_SUM_USER_STATE, version=user_state_size.c.version + 1)
)
_RECOUNT_APP_SIZE = (
    sa.update(app_state_size)
    .where(app_state_size.c.app_name == sa.bindparam("b_app_name"))
    .values(state_bytes=_SUM_APP_STATE, version=app_state_size.c.version + 1)
)


def recount_shared_size(app_name: str, user_id: str | None) -> Bound:
    """Sets a shared scope's size row (the user's, or with ``user_id`` None the app's) to what its rows count.

    For writes that set many keys at once and check no limit (an import).
    """
    if user_id is None:
        return _RECOUNT_APP_SIZE, {"b_app_name": app_name}
    return _RECOUNT_USER_SIZE, {"b_app_name": app_name, "b_user_id": user_id}
