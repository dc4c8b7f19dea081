"""Pages of app and user names: a loose index scan, one index probe per name listed.

A name is listed if it holds an unexpired session or any shared state. A
``SELECT DISTINCT`` over the sessions' indexes would read every session of
every app it passes (PostgreSQL has no skip scan), so each name is found by
a probe of each table's index for the first name after the one before, and
the probes are chained by a recursive common table expression: one
statement, whose cost is the page, not what is stored. The least of the
probes that found something is the next name (written with COALESCE, as
MySQL's LEAST and SQLite's min answer NULL if any argument is NULL).
Names sort in code point order on every database (``types.KeyString``).
"""

from __future__ import annotations

import functools
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from adk_grpc_sessions.server.backends.sql.dialects import SQLITE
from adk_grpc_sessions.server.backends.sql.queries.parts import NOW, Bound, unexpired
from adk_grpc_sessions.server.backends.sql.schema import KEY_LENGTH, app_state, sessions, user_state
from adk_grpc_sessions.server.backends.sql.types import KeyString

_AFTER: Final = sa.bindparam("b_after", type_=KeyString(KEY_LENGTH))
_APP: Final = sa.bindparam("b_app_name", type_=KeyString(KEY_LENGTH))
_LIMIT: Final = sa.bindparam("b_limit", type_=sa.Integer())


def _first_after(column: sa.Column[str], after: sa.ColumnElement[str], *where: Any) -> sa.ColumnElement[str]:
    """The first value of ``column`` (the leading or second column of an index) after ``after``."""
    return sa.select(column).where(*where, column > after).order_by(column).limit(1).scalar_subquery()


def _least(dialect_name: str, probes: list[sa.ColumnElement[str]]) -> sa.ColumnElement[str]:
    """The least of ``probes`` that is not NULL; NULL if every one is."""
    rotated = [sa.func.coalesce(*probes[i:], *probes[:i]) for i in range(len(probes))]
    return sa.func.min(*rotated) if dialect_name == SQLITE else sa.func.least(*rotated)


def _app_probes(after: sa.ColumnElement[str]) -> list[sa.ColumnElement[str]]:
    return [
        _first_after(sessions.c.app_name, after, unexpired()),
        _first_after(user_state.c.app_name, after),
        _first_after(app_state.c.app_name, after),
    ]


def _user_probes(after: sa.ColumnElement[str]) -> list[sa.ColumnElement[str]]:
    return [
        _first_after(sessions.c.user_id, after, sessions.c.app_name == _APP, unexpired()),
        _first_after(user_state.c.user_id, after, user_state.c.app_name == _APP),
    ]


@functools.cache
def _names(dialect_name: str, users: bool) -> sa.Select[Any]:
    probes = _user_probes if users else _app_probes
    start = sa.select(_least(dialect_name, probes(_AFTER)).label("name"), sa.literal(1).label("n"))
    names = start.cte("names", recursive=True)
    step = sa.select(_least(dialect_name, probes(names.c.name)), names.c.n + 1).where(
        names.c.name.is_not(None), names.c.n < _LIMIT
    )
    names = names.union_all(step)
    # Typed again: the expression's type (binary on MySQL/MariaDB) is lost in the union.
    name = sa.type_coerce(names.c.name, KeyString(KEY_LENGTH))
    return sa.select(name).where(names.c.name.is_not(None)).order_by(names.c.name)


_HOLDS_ANYTHING: Final = sa.select(sa.literal(1)).where(
    sa.or_(
        sa.exists().where(sessions.c.app_name == _APP, unexpired()),
        sa.exists().where(user_state.c.app_name == _APP),
        sa.exists().where(app_state.c.app_name == _APP),
    )
)


def app_holds_anything(app_name: str, now: float) -> Bound:
    """A row if ``app_name`` holds an unexpired session or any shared state; none otherwise."""
    return _HOLDS_ANYTHING, {"b_app_name": app_name, NOW.key: now}


def select_app_names(dialect: Dialect, after: str, limit: int, now: float) -> Bound:
    """Up to ``limit`` app names after ``after`` ("" = from the first), in order."""
    return _names(dialect.name, False), {"b_after": after, "b_limit": limit, NOW.key: now}


def select_user_names(dialect: Dialect, app_name: str, after: str, limit: int, now: float) -> Bound:
    """Up to ``limit`` user ids of ``app_name`` after ``after`` ("" = from the first), in order."""
    params = {"b_app_name": app_name, "b_after": after, "b_limit": limit, NOW.key: now}
    return _names(dialect.name, True), params
