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


_ABSENT, _ONE_SCOPE_ONE_KEY, _ONE_SCOPE, _MANY = range(4)
"""How ``select_sizes`` matches one kind of scope (sessions, users, apps): left out when none is
wanted; by equality when one scope is (and its key by equality too when one key is); else
among the lists. Equality lets the database go straight to the row by its key, where a list
is a table-valued parameter (SQLite's ``json_each``) joined in: several times the cost, for
what is most often the only scope of a lone append."""


def _shape(scopes: Sequence[Any], digests: Sequence[str]) -> int:
    if not scopes:
        return _ABSENT
    if len(scopes) > 1:
        return _MANY
    return _ONE_SCOPE_ONE_KEY if len(digests) == 1 else _ONE_SCOPE


def _match(
    columns: Sequence[sa.ColumnElement[Any]], name: str, form: str, *, one: bool
) -> sa.ColumnElement[bool]:
    """``columns`` equal to the one value of parameter ``name`` (``one``), else ``_matches``."""
    if not one:
        return _matches(columns, name, form)
    return sa.and_(*(column == sa.bindparam(f"{name}_{n}") for n, column in enumerate(columns)))


def _match_params(name: str, values: Sequence[Any], width: int, form: str, *, one: bool) -> dict[str, Any]:
    if not one:
        return _matches_params(name, values, width, form)
    (value,) = values
    return {f"{name}_{n}": part for n, part in enumerate(value if width > 1 else (value,))}


@functools.cache
def _select_sizes(form: str, session_shape: int, user_shape: int, app_shape: int) -> sa.CompoundSelect[Any]:
    """``select_sizes``'s statement for scopes of these shapes (``_shape``); at least one is not absent."""
    none = sa.null()
    parts: list[sa.Select[Any]] = []
    if session_shape != _ABSENT:
        one, one_key = session_shape != _MANY, session_shape == _ONE_SCOPE_ONE_KEY
        session_named = _match(
            (sessions.c.app_name, sessions.c.user_id, sessions.c.session_id), "b_sessions", form, one=one
        )
        digests = _match((session_state.c.key_digest,), "b_session_digests", form, one=one_key)
        parts += [
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
            .where(session_named, digests),
            sa.select(
                part(SESSION_SIZE),
                sessions.c.app_name,
                sessions.c.user_id,
                sessions.c.session_id,
                none,
                sessions.c.state_bytes,
                none,
            ).where(session_named),
        ]
    if user_shape != _ABSENT:
        one, one_key = user_shape != _MANY, user_shape == _ONE_SCOPE_ONE_KEY
        parts += [
            sa.select(
                part(USER_ENTRY),
                user_state.c.app_name,
                user_state.c.user_id,
                none,
                user_state.c.key_digest,
                user_state.c.entry_bytes,
                none,
            ).where(
                _match((user_state.c.app_name, user_state.c.user_id), "b_users", form, one=one),
                _match((user_state.c.key_digest,), "b_user_digests", form, one=one_key),
            ),
            sa.select(
                part(USER_SIZE),
                user_state_size.c.app_name,
                user_state_size.c.user_id,
                none,
                none,
                user_state_size.c.state_bytes,
                user_state_size.c.version,
            ).where(
                _match((user_state_size.c.app_name, user_state_size.c.user_id), "b_users", form, one=one)
            ),
        ]
    if app_shape != _ABSENT:
        one, one_key = app_shape != _MANY, app_shape == _ONE_SCOPE_ONE_KEY
        parts += [
            sa.select(
                part(APP_ENTRY),
                app_state.c.app_name,
                none,
                none,
                app_state.c.key_digest,
                app_state.c.entry_bytes,
                none,
            ).where(
                _match((app_state.c.app_name,), "b_apps", form, one=one),
                _match((app_state.c.key_digest,), "b_app_digests", form, one=one_key),
            ),
            sa.select(
                part(APP_SIZE),
                app_state_size.c.app_name,
                none,
                none,
                none,
                app_state_size.c.state_bytes,
                app_state_size.c.version,
            ).where(_match((app_state_size.c.app_name,), "b_apps", form, one=one)),
        ]
    return sa.union_all(*parts)


def select_sizes_statements(dialect: sa.Dialect) -> list[sa.Executable]:
    """Statements ``select_sizes`` runs on ``dialect``, to compile them at start.

    The form for many scopes of each kind, and the forms of a lone write
    (one scope of a kind and one key in it, for any of the kinds); the
    other forms are compiled when first run.
    """
    form = _list_form(dialect)
    lone = (_ABSENT, _ONE_SCOPE_ONE_KEY)
    return [
        _select_sizes(form, _MANY, _MANY, _MANY),
        *(
            _select_sizes(form, session_shape, user_shape, app_shape)
            for session_shape in lone
            for user_shape in lone
            for app_shape in lone
            if (session_shape, user_shape, app_shape) != (_ABSENT, _ABSENT, _ABSENT)
        ),
    ]


def select_sizes(dialect: sa.Dialect, wanted: SizesWanted) -> Bound:
    """The sizes ``wanted`` names, as one statement (``wanted`` names at least one scope).

    Each scope's size (and a shared scope's version), and what each of the
    given keys counts now in those scopes (where it is set).

    The keys' digests are matched in every scope named, not by pair: a few
    rows more than needed, which the reader ignores.
    """
    form = _list_form(dialect)
    shapes = (
        _shape(wanted.sessions, wanted.session_digests),
        _shape(wanted.users, wanted.user_digests),
        _shape(wanted.apps, wanted.app_digests),
    )
    session_shape, user_shape, app_shape = shapes
    params: dict[str, Any] = {}
    if session_shape != _ABSENT:
        names = [(k.app_name, k.user_id, k.session_id) for k in wanted.sessions]
        params |= _match_params("b_sessions", names, 3, form, one=session_shape != _MANY)
        params |= _match_params(
            "b_session_digests", wanted.session_digests, 1, form, one=session_shape == _ONE_SCOPE_ONE_KEY
        )
    if user_shape != _ABSENT:
        params |= _match_params("b_users", wanted.users, 2, form, one=user_shape != _MANY)
        params |= _match_params(
            "b_user_digests", wanted.user_digests, 1, form, one=user_shape == _ONE_SCOPE_ONE_KEY
        )
    if app_shape != _ABSENT:
        params |= _match_params("b_apps", wanted.apps, 1, form, one=app_shape != _MANY)
        params |= _match_params(
            "b_app_digests", wanted.app_digests, 1, form, one=app_shape == _ONE_SCOPE_ONE_KEY
        )
    return _select_sizes(form, *shapes), params


def select_lone_sizes(wanted: SizesWanted) -> tuple[sa.CompoundSelect[Any], tuple[str, ...], tuple[Any, ...]]:
    """SQLite: ``select_sizes`` for the write of one session, its parameters as names and values in order.

    ``wanted`` names at most one scope of each kind (those of one session),
    and at least one. For ``driver_sql.PreparedStatement``: no mapping of
    parameters to build per write.
    """
    shapes = (
        _shape(wanted.sessions, wanted.session_digests),
        _shape(wanted.users, wanted.user_digests),
        _shape(wanted.apps, wanted.app_digests),
    )
    assert _MANY not in shapes, "one scope of each kind at most"
    values: list[Any] = []
    for names, digests in (
        ([(k.app_name, k.user_id, k.session_id) for k in wanted.sessions], wanted.session_digests),
        (wanted.users, wanted.user_digests),
        ([(app_name,) for app_name in wanted.apps], wanted.app_digests),
    ):
        if names:
            (name,) = names
            values += name
            values.append(digests[0] if len(digests) == 1 else pydantic_core.to_json(list(digests)).decode())
    return _select_sizes(_JSON, *shapes), _lone_names(*shapes), tuple(values)


@functools.cache
def _lone_names(session_shape: int, user_shape: int, app_shape: int) -> tuple[str, ...]:
    """The names of ``select_lone_sizes``'s parameters, in the order of its values."""
    names: list[str] = []
    for shape, scopes, width, digests in (
        (session_shape, "b_sessions", 3, "b_session_digests"),
        (user_shape, "b_users", 2, "b_user_digests"),
        (app_shape, "b_apps", 1, "b_app_digests"),
    ):
        if shape != _ABSENT:
            names += [f"{scopes}_{n}" for n in range(width)]
            names.append(f"{digests}_0" if shape == _ONE_SCOPE_ONE_KEY else digests)
    return tuple(names)


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
