"""Pages of sessions with their merged state, filtered and in a listing's order, as one statement each."""

from __future__ import annotations

import functools
import operator as operator_module
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from adk_grpc_sessions.server.backends.base import (
    ALL_SESSIONS,
    Condition,
    Field,
    Operator,
    OrderBy,
    SessionQuery,
    StateMap,
)
from adk_grpc_sessions.server.backends.keyset_cursors import SessionPosition
from adk_grpc_sessions.server.backends.sql import dialects
from adk_grpc_sessions.server.backends.sql.queries.parts import (
    BUDGET_BYTES,
    METADATA_COLUMNS,
    SESSION_COLUMNS,
    Bound,
    part,
    shared_state_bytes,
    typed_null,
    unexpired,
)
from adk_grpc_sessions.server.backends.sql.schema import (
    app_state,
    session_labels,
    session_state,
    sessions,
    user_state,
)
from adk_grpc_sessions.wire.limits import SESSION_HEAD_BYTES


def _condition(number: int, condition: ConditionShape) -> sa.ColumnElement[bool]:
    """One condition of a filter, on the session row (its values are parameters ``b_c<number>_*``)."""
    field, operator, flag = condition
    value: sa.BindParameter[Any] = sa.bindparam(f"b_c{number}_value")
    if field is Field.DISPLAY_NAME:
        name = sessions.c.display_name
        # NULL is the empty display name (none): "" compares with it by IS NULL.
        value = sa.bindparam(f"b_c{number}_value", type_=name.type)
        if operator is Operator.EQ:
            return name.is_(None) if flag else name == value
        return name.is_not(None) if flag else sa.or_(name.is_(None), name != value)
    if field is Field.LABEL:
        labelled = sa.and_(
            session_labels.c.session_pk == sessions.c.session_pk,
            session_labels.c.label_key == sa.bindparam(f"b_c{number}_label"),
        )
        if operator is Operator.HAS:
            return sa.exists().where(labelled)
        same = sa.exists().where(labelled, session_labels.c.label_value == value)
        return same if operator is Operator.EQ else ~same
    if field is Field.CLOSED:
        # (the flag is the value: a filter on closed is EQ only)
        return sessions.c.close_time.is_not(None) if flag else sessions.c.close_time.is_(None)
    column = sessions.c.create_time if field is Field.CREATE_TIME else sessions.c.last_update_time
    time: sa.BindParameter[float] = sa.bindparam(f"b_c{number}_value", type_=column.type)
    return _COMPARISONS[operator](column, time)


_COMPARISONS: Final[dict[Operator, Callable[[Any, Any], sa.ColumnElement[bool]]]] = {
    Operator.EQ: operator_module.eq,
    Operator.NE: operator_module.ne,
    Operator.LT: operator_module.lt,
    Operator.LE: operator_module.le,
    Operator.GT: operator_module.gt,
    Operator.GE: operator_module.ge,
}


def _order_time(order_by: OrderBy) -> sa.Column[float]:
    return sessions.c.create_time if order_by is OrderBy.CREATE_TIME else sessions.c.last_update_time


def _session_page(shape: ListingShape) -> sa.Select[Any]:
    """A page of sessions: a keyset, never an offset.

    Each page starts where the index of its order says the last one ended
    (``ix_ags_sessions_{user,app}_{listing,created}``, read forwards, or
    backwards when descending), and the filter's conditions are tested on
    the rows the index yields. The tuple comparison is spelled out (rather
    than as a row value) because MySQL uses an index only for the
    spelled-out form; its leading "time >= t" (or "<=") is what lets every
    database seek straight to it.
    """
    time = _order_time(shape.order_by)
    user, session = sessions.c.user_id, sessions.c.session_id
    # Expired sessions are filtered out of the rows the listing index finds.
    query = sa.select(*SESSION_COLUMNS, *METADATA_COLUMNS).where(
        sessions.c.app_name == sa.bindparam("b_app_name"), unexpired()
    )
    query = query.where(*(_condition(n, condition) for n, condition in enumerate(shape.conditions)))
    order: list[sa.ColumnElement[Any]] = [time, session] if shape.by_user else [time, user, session]
    if shape.descending:
        order = [column.desc() for column in order]
    if shape.by_user:
        query = query.where(user == sa.bindparam("b_user_id"))
    query = query.order_by(*order)
    if shape.resume:
        after_time: sa.BindParameter[float] = sa.bindparam("b_after_time", type_=time.type)
        after_user: sa.BindParameter[str] = sa.bindparam("b_after_user")
        after_session: sa.BindParameter[str] = sa.bindparam("b_after_session")
        beyond = operator_module.lt if shape.descending else operator_module.gt
        within = operator_module.le if shape.descending else operator_module.ge
        query = query.where(
            within(time, after_time),
            sa.or_(
                beyond(time, after_time),
                sa.and_(
                    time == after_time,
                    sa.or_(
                        beyond(user, after_user), sa.and_(user == after_user, beyond(session, after_session))
                    ),
                ),
            ),
        )
    return query.limit(sa.bindparam("b_limit"))


# The parts of ``select_session_page``'s rows, in the order they come.
_PAGE_ROW, _PAGE_APP, _PAGE_USER, _PAGE_SESSION = 0, 1, 2, 3


@functools.lru_cache(maxsize=512)
def _session_page_with_state(shape: ListingShape) -> sa.CompoundSelect[Any]:
    """A page of sessions and the state it needs, as one statement (one round trip, one snapshot).

    The page is a common table expression that the state parts join: the
    app's state, the page's users' and the page's sessions'. Every part has
    the same columns (part, session_pk, user_id, session_id, create_time,
    last_update_time, revision, state_key, value, expire_time, ttl,
    close_time, display_name, labels, forked_from, last_sequence,
    stored_bytes, running), NULL where a part has no such thing. A CTE
    named more than once is computed once (PostgreSQL,
    MySQL/MariaDB and SQLite from 3.35 materialize it; older SQLite runs it
    again, in the same statement's snapshot, so it is the same page).

    Built once per shape of query (its parameters apart), and kept.

    With ``shape.arrays`` (PostgreSQL), the state rows are picked by the page's
    user ids and session keys gathered into two arrays, which the primary
    key indexes look up directly. A join (or IN, or LATERAL, which
    PostgreSQL flattens into a join) leaves the planner free to choose, and
    on tables written to since they were last analyzed (after a burst of
    creates) it may choose a full scan of the state, in a hash join, many
    times slower than the lookups; or, in a nested loop, a scan of all of
    the app's user state for each user of the page.
    MySQL/MariaDB and SQLite join by nested loops over the index anyway.
    """
    listed = _session_page(shape).cte("listed")
    none = sa.null()
    app_name: sa.BindParameter[str] = sa.bindparam("b_app_name")
    # What each session takes in the response (its fields and its merged
    # state, by the sizes kept), summed in listing order: only the sessions
    # that fit have their state read.
    cost = (
        listed.c.state_bytes
        + shared_state_bytes(app_name, listed.c.user_id)
        + sa.bindparam("b_session_head_bytes", type_=sa.BigInteger())
    )
    time_name = _order_time(shape.order_by).name
    order: list[sa.ColumnElement[Any]] = [listed.c[time_name], listed.c.user_id, listed.c.session_id]
    if shape.descending:
        order = [column.desc() for column in order]
    costed = sa.select(
        *(column for column in listed.c), sa.func.sum(cost).over(order_by=order).label("running")
    ).cte("costed")
    tail = [none] * len(_METADATA_TAIL)
    page = sa.select(costed).where(costed.c.running <= BUDGET_BYTES).cte("page")

    page_rows = sa.select(
        part(_PAGE_ROW),
        costed.c.session_pk,
        costed.c.user_id,
        costed.c.session_id,
        costed.c.create_time,
        costed.c.last_update_time,
        costed.c.revision,
        typed_null(session_state.c.state_key),
        typed_null(session_state.c.value),
        costed.c.expire_time,
        costed.c.ttl,
        costed.c.close_time,
        costed.c.display_name,
        costed.c.labels,
        costed.c.forked_from,
        costed.c.last_sequence,
        (costed.c.events_bytes + costed.c.state_bytes).label("stored_bytes"),
        costed.c.running,
    )
    app_rows = sa.select(
        part(_PAGE_APP),
        none,
        none,
        none,
        none,
        none,
        none,
        app_state.c.state_key,
        app_state.c.value,
        none,
        none,
        none,
        *tail,
        none,
    ).where(app_state.c.app_name == app_name, sa.exists(sa.select(page.c.session_pk)))
    users_of_page: sa.ColumnElement[bool]
    sessions_of_page: sa.ColumnElement[bool]
    if shape.arrays:
        # The page's keys as arrays (one InitPlan each), which the state
        # tables' primary key indexes take as they are: `= ANY(array)`.
        # (Cast, because `= ANY ((SELECT ...))` is still a subquery to
        # PostgreSQL, which would then compare each key with a whole array.)
        users_of_page = user_state.c.user_id == sa.any_(
            sa.cast(
                sa.select(sa.func.array_agg(page.c.user_id)).scalar_subquery(), postgresql.ARRAY(sa.String())
            )
        )
        sessions_of_page = session_state.c.session_pk == sa.any_(
            sa.cast(
                sa.select(sa.func.array_agg(page.c.session_pk)).scalar_subquery(),
                postgresql.ARRAY(sa.BigInteger()),
            )
        )
    else:
        users_of_page = user_state.c.user_id.in_(sa.select(page.c.user_id))
        sessions_of_page = session_state.c.session_pk.in_(sa.select(page.c.session_pk))
    user_rows = sa.select(
        part(_PAGE_USER),
        none,
        user_state.c.user_id,
        none,
        none,
        none,
        none,
        user_state.c.state_key,
        user_state.c.value,
        none,
        none,
        none,
        *tail,
        none,
    ).where(user_state.c.app_name == app_name, users_of_page)
    session_rows = sa.select(
        part(_PAGE_SESSION),
        session_state.c.session_pk,
        none,
        none,
        none,
        none,
        none,
        session_state.c.state_key,
        session_state.c.value,
        none,
        none,
        none,
        *tail,
        none,
    ).where(sessions_of_page)
    # The page's own order within its part; the state rows' order does not matter.
    in_order: list[sa.ColumnElement[Any]] = [
        sa.literal_column(name) for name in (time_name, "user_id", "session_id")
    ]
    if shape.descending:
        in_order = [column.desc() for column in in_order]
    return sa.union_all(page_rows, app_rows, user_rows, session_rows).order_by(
        sa.literal_column("part"), *in_order
    )


_METADATA_TAIL: Final = ("display_name", "labels", "forked_from", "last_sequence", "stored_bytes")
"""The columns a page's session rows have after close_time (and before running), NULL in the state parts."""


@dataclass(frozen=True, slots=True)
class ListingShape:
    """What a listing statement's text depends on: everything of the query but its parameters' values."""

    arrays: bool
    """PostgreSQL: the page's state is picked by arrays of its keys."""
    by_user: bool
    resume: bool
    order_by: OrderBy
    descending: bool
    conditions: tuple[ConditionShape, ...]


ConditionShape = tuple[Field, Operator, bool]
"""A condition without its values: field, operator, and a flag (an empty display name; closed's value)."""


def _condition_shape(condition: Condition) -> ConditionShape:
    if condition.field is Field.CLOSED:
        return condition.field, condition.operator, bool(condition.value)
    return condition.field, condition.operator, condition.field is Field.DISPLAY_NAME and not condition.value


def _condition_params(number: int, condition: Condition) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if condition.field is Field.LABEL:
        params[f"b_c{number}_label"] = condition.label
    if condition.field is not Field.CLOSED and condition.operator is not Operator.HAS:
        params[f"b_c{number}_value"] = condition.value
    return params


def select_session_page(
    dialect: sa.Dialect,
    app_name: str,
    user_id: str | None,
    after: SessionPosition | None,
    limit: int,
    budget: int,
    now: float,
    query: SessionQuery = ALL_SESSIONS,
) -> Bound:
    """Up to ``limit`` sessions ``query`` keeps after ``after``, with the state of those fitting ``budget``.

    Only sessions that have not expired by ``now``.

    Sessions in ``query``'s order, (time, user_id, session_id), each
    ascending or each descending: one user's, or every user's when
    ``user_id`` is None. ``after`` is a position in that order. Each row
    says what the sessions up to it take in a response (``running``); the
    state of the others is not read.

    One statement, so that on PostgreSQL and MySQL/MariaDB it can run alone
    in autocommit: one round trip instead of four (begin, page, state,
    commit). Read the rows with ``page_from_rows``.
    """
    params: dict[str, Any] = {
        "b_app_name": app_name,
        "b_limit": limit,
        "b_budget_bytes": budget,
        "b_session_head_bytes": SESSION_HEAD_BYTES,
        "b_now": now,
    }
    if user_id is not None:
        params["b_user_id"] = user_id
    if after is not None:
        params.update(b_after_time=after[0], b_after_user=after[1], b_after_session=after[2])
    for number, condition in enumerate(query.conditions):
        params.update(_condition_params(number, condition))
    shape = ListingShape(
        arrays=dialect.name == dialects.POSTGRESQL,
        by_user=user_id is not None,
        resume=after is not None,
        order_by=query.order_by,
        descending=query.descending,
        conditions=tuple(map(_condition_shape, query.conditions)),
    )
    return _session_page_with_state(shape), params


PAGE_ROW_WIDTH: Final = 18
"""The columns of ``select_session_page``'s rows."""


def page_from_rows(
    rows: Iterable[Sequence[Any]],
) -> tuple[list[Sequence[Any]], StateMap, dict[str, StateMap], dict[int, StateMap]]:
    """The page's sessions in order, then the app's state, each user's and each session's.

    A session is its row as selected: (part, session_pk, user_id,
    session_id, create_time, last_update_time, revision, None, None,
    expire_time, ttl, close_time, display_name, labels, forked_from,
    last_sequence, stored_bytes, running).
    """
    page: list[Sequence[Any]] = []
    app: StateMap = {}
    users: dict[str, StateMap] = {}
    own: dict[int, StateMap] = {}
    for row in rows:
        row_part, session_pk, user_id, _, _, _, _, state_key, value = row[:9]
        if row_part == _PAGE_ROW:
            page.append(row)
        elif row_part == _PAGE_APP:
            app[state_key] = value
        elif row_part == _PAGE_USER:
            users.setdefault(user_id, {})[state_key] = value
        else:
            own.setdefault(session_pk, {})[state_key] = value
    return page, app, users, own
