"""Pages of sessions with their merged state, in listing order, as one statement each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from adk_grpc_sessions.server.backends.base import StateMap
from adk_grpc_sessions.server.backends.keyset_cursors import SessionPosition
from adk_grpc_sessions.server.backends.sql import dialects
from adk_grpc_sessions.server.backends.sql.queries.parts import (
    BUDGET_BYTES,
    SESSION_COLUMNS,
    Bound,
    part,
    shared_state_bytes,
    typed_null,
    unexpired,
)
from adk_grpc_sessions.server.backends.sql.schema import app_state, session_state, sessions, user_state
from adk_grpc_sessions.wire.limits import SESSION_HEAD_BYTES


def _session_page(by_user: bool, resume: bool) -> sa.Select[Any]:
    """A page of sessions: a keyset, never an offset.

    Each page starts where the index says the last one ended. The tuple
    comparison is spelled out (rather than as a row value) because MySQL uses
    an index only for the spelled-out form; its leading "time >= t" is what
    lets every database seek straight to it.
    """
    time, user, session = sessions.c.last_update_time, sessions.c.user_id, sessions.c.session_id
    # Expired sessions are filtered out of the rows the listing index finds.
    query = sa.select(*SESSION_COLUMNS).where(sessions.c.app_name == sa.bindparam("b_app_name"), unexpired())
    if by_user:
        query = query.where(user == sa.bindparam("b_user_id")).order_by(time, session)
    else:
        query = query.order_by(time, user, session)
    if resume:
        after_time: sa.BindParameter[float] = sa.bindparam("b_after_time")
        after_user: sa.BindParameter[str] = sa.bindparam("b_after_user")
        after_session: sa.BindParameter[str] = sa.bindparam("b_after_session")
        query = query.where(
            time >= after_time,
            sa.or_(
                time > after_time,
                sa.and_(
                    time == after_time,
                    sa.or_(user > after_user, sa.and_(user == after_user, session > after_session)),
                ),
            ),
        )
    return query.limit(sa.bindparam("b_limit"))


# The parts of ``select_session_page``'s rows, in the order they come.
_PAGE_ROW, _PAGE_APP, _PAGE_USER, _PAGE_SESSION = 0, 1, 2, 3


def _session_page_with_state(by_user: bool, resume: bool, arrays: bool) -> sa.CompoundSelect[Any]:
    """A page of sessions and the state it needs, as one statement (one round trip, one snapshot).

    The page is a common table expression that the state parts join: the
    app's state, the page's users' and the page's sessions'. Every part has
    the same columns (part, session_pk, user_id, session_id, create_time,
    last_update_time, revision, state_key, value, expire_time, ttl,
    close_time, running), NULL where a part has no
    such thing. A CTE named more than once is computed once (PostgreSQL,
    MySQL/MariaDB and SQLite from 3.35 materialize it; older SQLite runs it
    again, in the same statement's snapshot, so it is the same page).

    With ``arrays`` (PostgreSQL), the state rows are picked by the page's
    user ids and session keys gathered into two arrays, which the primary
    key indexes look up directly. A join (or IN, or LATERAL, which
    PostgreSQL flattens into a join) leaves the planner free to choose, and
    on tables written to since they were last analyzed (after a burst of
    creates) it may choose a full scan of the state, in a hash join, many
    times slower than the lookups; or, in a nested loop, a scan of all of
    the app's user state for each user of the page.
    MySQL/MariaDB and SQLite join by nested loops over the index anyway.
    """
    listed = _session_page(by_user, resume).cte("listed")
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
    order = (listed.c.last_update_time, listed.c.user_id, listed.c.session_id)
    costed = sa.select(
        *(column for column in listed.c), sa.func.sum(cost).over(order_by=order).label("running")
    ).cte("costed")
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
        none,
    ).where(app_state.c.app_name == app_name, sa.exists(sa.select(page.c.session_pk)))
    users_of_page: sa.ColumnElement[bool]
    sessions_of_page: sa.ColumnElement[bool]
    if arrays:
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
        none,
    ).where(sessions_of_page)
    # The page's own order within its part; the state rows' order does not matter.
    return sa.union_all(page_rows, app_rows, user_rows, session_rows).order_by(
        sa.literal_column("part"),
        sa.literal_column("last_update_time"),
        sa.literal_column("user_id"),
        sa.literal_column("session_id"),
    )


_SESSION_PAGES_WITH_STATE = {
    (arrays, by_user, resume): _session_page_with_state(by_user, resume, arrays)
    for arrays in (False, True)
    for by_user in (False, True)
    for resume in (False, True)
}


def select_session_page(
    dialect: sa.Dialect,
    app_name: str,
    user_id: str | None,
    after: SessionPosition | None,
    limit: int,
    budget: int,
    now: float,
) -> Bound:
    """Up to ``limit`` sessions after ``after``, with the state of those that fit in ``budget`` bytes.

    Only sessions that have not expired by ``now``.

    Sessions in (last_update_time, user_id, session_id) order: one user's,
    or every user's when ``user_id`` is None. Each row says what the
    sessions up to it take in a response (``running``); the state of the
    others is not read.

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
    form = (dialect.name == dialects.POSTGRESQL, user_id is not None, after is not None)
    return _SESSION_PAGES_WITH_STATE[form], params


def page_from_rows(
    rows: Iterable[Sequence[Any]],
) -> tuple[list[Sequence[Any]], StateMap, dict[str, StateMap], dict[int, StateMap]]:
    """The page's sessions in order, then the app's state, each user's and each session's.

    A session is its row as selected: (part, session_pk, user_id,
    session_id, create_time, last_update_time, revision, None, None,
    expire_time, ttl, close_time, running).
    """
    page: list[Sequence[Any]] = []
    app: StateMap = {}
    users: dict[str, StateMap] = {}
    own: dict[int, StateMap] = {}
    for row in rows:
        row_part, session_pk, user_id, _, _, _, _, state_key, value, _, _, _, _ = row
        if row_part == _PAGE_ROW:
            page.append(row)
        elif row_part == _PAGE_APP:
            app[state_key] = value
        elif row_part == _PAGE_USER:
            users.setdefault(user_id, {})[state_key] = value
        else:
            own.setdefault(session_pk, {})[state_key] = value
    return page, app, users, own
