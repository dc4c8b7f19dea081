"""How a batch of appends is stored on SQLite (3.35 and later): a claim and an insert.

For the whole batch, in one transaction in SQLite's writer thread
(``transactions.sqlite``): the sizes the appends' state is judged by are read
(one statement), the sessions that can take their append are claimed
(``claims``: UPDATE ... FROM, which SQLite has from 3.33, RETURNING the
claimed rows, from 3.35), their events inserted, then the state upserted and
the shared scopes' sizes counted. The transaction is SQLite's one writer:
what it reads stays as it is until it commits, so no claimed append can hit
a unique key.

The claim sets each session's revision too, as PostgreSQL's does: its
event's ``event_pk`` is the next key AUTOINCREMENT would hand out
(``parts.sqlite_last_key``) counted on by the append's place in the batch,
and the insert gives the event that key. A key skipped by an append that
was not claimed is never handed out, so no revision is reused.

A batch of one (a lone append, the most common batch) is claimed and
inserted by one-row statements that name its session directly: no table of
the batch to build and join; and a lone append is stored by ``sqlite_lone``,
the same statements with less Python around them.

The batch's rows are given as SELECT ... UNION ALL SELECT ..., a statement
text per power-of-two batch size, compiled once each at start and run as the
driver's own SQL (``driver_sql``); SQLite parses in process, so a larger text
costs no round trip.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import AppendResult, NewEvent, SessionKey, StorageLimits
from adk_grpc_sessions.server.backends.sql import dialects, driver_sql, state_limit
from adk_grpc_sessions.server.backends.sql.appends.batch import (
    BATCH_LIMIT,
    PendingAppend,
    Stored,
    expiry_params,
    growths,
    results,
    shared_growths,
    state_changes,
)
from adk_grpc_sessions.server.backends.sql.appends.claims import (
    CLAIM_COLUMNS,
    EVENT_ROW_COLUMNS,
    ColumnSpec,
    claim,
    claim_new_event_params,
    claimable_sessions,
    limit_params,
)
from adk_grpc_sessions.server.backends.sql.appends.sqlite_lone import (
    CLAIM_ONE,
    EVENT_COLUMNS,
    INSERT_ONE,
    store_lone,
)
from adk_grpc_sessions.server.backends.sql.queries import sizes as size_queries
from adk_grpc_sessions.server.backends.sql.queries.parts import SESSION_COLUMNS, Bound, sqlite_last_key
from adk_grpc_sessions.server.backends.sql.queries.rows import event_row
from adk_grpc_sessions.server.backends.sql.queries.sizes import SizesWanted
from adk_grpc_sessions.server.backends.sql.queries.state import STATE_UPDATE_COLUMNS, upsert_state
from adk_grpc_sessions.server.backends.sql.schema import (
    app_state,
    event_pk_of_revision,
    events,
    session_state,
    user_state,
)
from adk_grpc_sessions.server.backends.sql.state_limit import Growth
from adk_grpc_sessions.server.backends.sql.transactions import Executor


async def store(
    executor: Executor, appends: list[PendingAppend], limits: StorageLimits
) -> list[AppendResult | None]:
    """``BatchStore.store``: ``store_batch`` in a write transaction."""
    return await executor.write(lambda connection: store_batch(connection, appends, limits))


def statements(dialect: sa.Dialect) -> list[sa.Executable]:
    """Every statement ``store_batch`` runs, in every form, to compile them all at start."""
    found: list[sa.Executable] = [
        *size_queries.select_sizes_statements(dialect),
        *size_queries.ADD_TO_SHARED_SIZES,
    ]
    found += [CLAIM_ONE, INSERT_ONE]
    for size in _BATCH_SIZES:
        found += [_claim_batch(size), _insert_event_batch(size)]
    for table in (session_state, user_state, app_state):
        found.append(dialects.upsert(dialect, table, STATE_UPDATE_COLUMNS))
    return found


def store_batch(
    connection: sa.Connection, appends: list[PendingAppend], limits: StorageLimits
) -> list[AppendResult | None]:
    """Stores the appends that may be stored; None for each one refused.

    (``BatchStore.store`` says when an append is refused.)
    """
    if len(appends) == 1:
        return [store_lone(connection, appends[0], limits)]
    judged = growths(connection, appends, limits, _read_sizes)
    claims = [
        (append.key, append.expected_revision, append.event, growth)
        for append, growth in zip(appends, judged, strict=True)
        if growth is not None
    ]
    claimed = (
        {
            SessionKey(row.app_name, row.user_id, row.session_id): (
                row.session_pk,
                row.last_sequence,
                event_pk_of_revision(row.revision),
            )
            for row in driver_sql.execute(connection, *claim_batch(claims, limits, expiry_params(appends)))
        }
        if claims
        else {}
    )
    stored: list[Stored] = []
    if claimed:
        for append, growth in zip(appends, judged, strict=True):
            if growth is not None and append.key in claimed:
                stored.append(Stored(append, growth, *claimed[append.key]))
        # Each claimed session was checked to lack the event, and this
        # transaction is the only writer, so no row here can hit a unique key.
        driver_sql.execute(connection, *insert_event_batch(stored))
        for upsert in upsert_state(connection.dialect, state_changes(stored)):
            driver_sql.execute(connection, *upsert)
        for bound in size_queries.add_to_shared_sizes(*shared_growths(stored)):
            driver_sql.execute(connection, *bound)
    return results(appends, stored)


def _read_sizes(connection: sa.Connection, wanted: SizesWanted) -> state_limit.Sizes:
    # SQLite takes the lists as JSON text: one statement text, run as the driver's own SQL.
    return state_limit.sizes_from_rows(
        driver_sql.execute(connection, *size_queries.select_sizes(connection.dialect, wanted)).all()
    )


_CLAIM_COLUMNS: Final[ColumnSpec] = (*CLAIM_COLUMNS, ("position", sa.BigInteger()))
"""A claim's columns, and the append's place among the batch's claims, which its event's key counts on."""
_BATCH_SIZES: Final = tuple(1 << n for n in range(BATCH_LIMIT.bit_length()))
"""The sizes SQLite's batch statements come in (``_selected_params`` pads a batch up to one)."""


def _selected_rows(columns: ColumnSpec, size: int) -> sa.CTE:
    """SQLite: a table "batch" of ``size`` rows given as parameters ``b_{column}_{n}``.

    SELECT ... UNION ALL SELECT ...: SQLAlchemy caches the compiled form of
    this (it does not cache a VALUES construct with rows). Sizes are powers
    of two (``_selected_params`` pads a batch with rows of NULLs, which match
    no session), so that seven forms of each statement, compiled once each,
    serve every batch, where a form per size would take long to compile.
    """
    rows = [
        sa.select(*(sa.bindparam(f"b_{name}_{n}", type_=type_).label(name) for name, type_ in columns))
        for n in range(size)
    ]
    return (rows[0] if size == 1 else sa.union_all(*rows)).cte("batch")


def _selected_params(columns: ColumnSpec, rows: Sequence[Sequence[Any]]) -> tuple[int, dict[str, Any]]:
    """The size of ``_selected_rows`` for these rows, and its parameters."""
    size = 1 << max(0, len(rows) - 1).bit_length()
    assert size in _BATCH_SIZES, f"a batch of {len(rows)} is more than the largest form"
    assert all(len(row) == len(columns) for row in rows), "a value for each column"
    names = _param_names(columns, size)
    values = itertools.chain(itertools.chain.from_iterable(rows), itertools.repeat(None))
    return size, dict(zip(names, values, strict=False))  # the NULLs that pad it repeat without end


@functools.cache
def _param_names(columns: ColumnSpec, size: int) -> tuple[str, ...]:
    """``_selected_rows``'s parameter names, row by row (made once: formatting them is most of the work)."""
    return tuple(f"b_{name}_{n}" for n in range(size) for name, _ in columns)


@functools.cache
def _claim_batch(size: int) -> sa.Update:
    # Unordered: the order writers lock sessions in does not matter to SQLite's one writer.
    candidates = claimable_sessions(_selected_rows(_CLAIM_COLUMNS, size)).order_by(None)
    claimable = candidates.subquery("claimable")
    event_pk = sqlite_last_key(events) + claimable.c.position + 1
    return claim(claimable).values(revision=2 * event_pk).returning(*SESSION_COLUMNS)


def claim_batch(
    claims: Sequence[tuple[SessionKey, int, NewEvent, Growth]], limits: StorageLimits, expiry: dict[str, Any]
) -> Bound:
    """SQLite: the conditional update of the sessions of a batch of appends.

    Each append is given as ``(key, expected_revision, event, growth)``. A
    session is claimed (its last sequence counted up, its update time and
    sizes set, its revision set to that of the event's key to be) only if it
    can take the append (``claims.claim``); the statement returns the rows it
    claimed (``SESSION_COLUMNS``, with the new last sequence and revision).
    The keys must be distinct. ``expiry``: ``batch.expiry_params``.

    A batch of one claims its session named directly (``_CLAIM_ONE``),
    without a table of the batch to build and join.
    """
    if len(claims) == 1:
        ((key, expected, event, growth),) = claims
        return CLAIM_ONE, claim_new_event_params(key, expected, event, growth, limits, expiry)
    rows = [
        (
            key.app_name,
            key.user_id,
            key.session_id,
            expected,
            event.timestamp,
            event.id,
            event.size,
            growth.session,
            position,
        )
        for position, (key, expected, event, growth) in enumerate(claims)
    ]
    size, params = _selected_params(_CLAIM_COLUMNS, rows)
    return _claim_batch(size), {**params, **limit_params(limits), **expiry}


@functools.cache
def _insert_event_batch(size: int) -> sa.Insert:
    batch = _selected_rows(EVENT_COLUMNS, size)
    names = [name for name, _ in EVENT_COLUMNS]
    return sa.insert(events).from_select(
        names, sa.select(*(batch.c[name] for name in names)).where(batch.c.session_pk.is_not(None))
    )


def insert_event_batch(stored: Sequence[Stored]) -> Bound:
    """SQLite: the events of claimed appends (of distinct sessions), each with the key its claim gave it."""
    if len(stored) == 1:
        (claimed,) = stored
        row = event_row(claimed.session_pk, claimed.sequence, claimed.append.event)
        params = {f"b_{name}": row[name] for name, _ in EVENT_ROW_COLUMNS}
        params["b_event_pk"] = claimed.event_pk
        return INSERT_ONE, params
    values = []
    for claimed in stored:
        row = event_row(claimed.session_pk, claimed.sequence, claimed.append.event)
        values.append((claimed.event_pk, *(row[name] for name, _ in EVENT_ROW_COLUMNS)))
    size, params = _selected_params(EVENT_COLUMNS, values)
    return _insert_event_batch(size), params
