"""How a batch of appends is stored on PostgreSQL: one statement, its own transaction, one round trip.

The statement claims each append's session (``claims``), inserts the
events, sets the revisions, upserts the state and counts the shared scopes'
sizes, all in common table expressions. Its rows arrive as one array per
column, unnested, so one statement text (prepared once per connection)
serves every batch size; a lone append, the common case, comes as one
value per column instead, in a second form of the statement (arrays cost
the driver an encoding per element). Both are compiled once and run as the
driver's own SQL (``driver_sql``), on the driver itself (``PostgresqlExecutor.fetch``).
It runs alone, in autocommit: no BEGIN, no COMMIT.

The appends' state is judged within the statement: each shared scope's size
row is locked, and an append is stored only if the row still has the version
the statement's snapshot saw (``_shared_room``); otherwise it is refused, to
be judged again. Locks are taken in the order every writer takes them: the
shared scopes' size rows (users', then apps', in key order), the sessions
(in key order), then state rows (session, user, app), so writers wait for
each other but never deadlock.

One module, though longer than most here: the statement's common table
expressions and the code that binds a batch's rows to them are read
together, as one statement.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from adk_grpc_sessions.server.backends.base import AppendResult, StorageLimits
from adk_grpc_sessions.server.backends.sql.appends.batch import PendingAppend, Stored, expiry_params, results
from adk_grpc_sessions.server.backends.sql.appends.claims import (
    CLAIM_COLUMNS,
    EVENT_ROW_COLUMNS,
    MAX_STATE_BYTES,
    ColumnSpec,
    claim,
    claimable_sessions,
    limit_params,
)
from adk_grpc_sessions.server.backends.sql.queries import watching
from adk_grpc_sessions.server.backends.sql.queries.rows import encode_state_delta
from adk_grpc_sessions.server.backends.sql.queries.state import STATE_UPDATE_COLUMNS
from adk_grpc_sessions.server.backends.sql.schema import (
    app_state,
    app_state_size,
    events,
    key_digest,
    session_state,
    sessions,
    user_state,
    user_state_size,
)
from adk_grpc_sessions.server.backends.sql.state_limit import NO_GROWTH
from adk_grpc_sessions.server.backends.sql.transactions import Executor
from adk_grpc_sessions.server.backends.sql.transactions.server import PostgresqlExecutor
from adk_grpc_sessions.wire.limits import state_entry_bytes


async def store(
    executor: Executor, appends: list[PendingAppend], limits: StorageLimits
) -> list[AppendResult | None]:
    """``BatchStore.store``: ``_store_batch``, one statement in autocommit, run by the driver itself.

    Safe to run twice, as a statement in autocommit must be: its second run
    finds the appends stored and refuses them.
    """
    if not isinstance(executor, PostgresqlExecutor):
        raise TypeError(f"batches on PostgreSQL are stored through its own executor, not {executor!r}")
    # The statement judges the appends' state itself.
    for append in appends:
        append.judged = None
    return _results(appends, await executor.fetch(*_bound_batch(appends, limits)))


def statements(dialect: sa.Dialect) -> list[sa.Executable]:
    """The statements ``store`` runs (for a batch of several, for a lone append), to compile at start."""
    return [_store_batch(lone=False), _store_batch(lone=True)]


def _results(appends: list[PendingAppend], rows: Sequence[Sequence[Any]]) -> list[AppendResult | None]:
    """The appends' results from the rows ``_store_batch`` returned: None for each one refused."""
    stored = [
        Stored(appends[position], NO_GROWTH, session_pk, last_sequence, event_pk)
        for position, session_pk, last_sequence, event_pk, _notified in rows
    ]
    return results(appends, stored)


_NEW_STATE_COLUMNS: Final[ColumnSpec] = (
    ("session_new", sessions.c.state_bytes.type),
    ("user_new", user_state_size.c.state_bytes.type),
    ("app_new", app_state_size.c.state_bytes.type),
)
"""What the keys an append sets count in each scope (0: it sets none there): the batch statement
(PostgreSQL) works out each scope's growth from these and what the keys count now."""
_APPEND_COLUMNS: Final[ColumnSpec] = (
    ("position", sa.Integer()),
    *(column for column in CLAIM_COLUMNS if column[0] != "session_growth"),
    *(
        (name, type_)
        for name, type_ in EVENT_ROW_COLUMNS
        if name not in ("session_pk", "sequence", "event_id", "timestamp", "size_bytes")
    ),
    *_NEW_STATE_COLUMNS,
)
_STATE_ROW_COLUMNS: Final[ColumnSpec] = (
    ("position", sa.Integer()),
    ("key_digest", session_state.c.key_digest.type),
    ("state_key", session_state.c.state_key.type),
    ("value", session_state.c.value.type),
    ("entry_bytes", session_state.c.entry_bytes.type),
)


def _unnested(name: str, columns: ColumnSpec) -> sa.CTE:
    """A table ``name`` of the rows given as one array parameter per column (``_arrays``)."""
    arrays = (
        sa.func.unnest(
            *(sa.bindparam(f"{name}_{column}", type_=postgresql.ARRAY(type_)) for column, type_ in columns)
        )
        .table_valued(*(sa.column(column, type_) for column, type_ in columns))
        .render_derived(name=f"{name}_arrays")
    )
    return sa.select(arrays).cte(name)


def _single(name: str, columns: ColumnSpec) -> sa.CTE:
    """A table ``name`` of one row, given as one parameter per column (``_row``).

    What ``_unnested`` makes of one row: a lone append (the common case,
    an agent's turn) then costs the driver a typed scalar per column
    rather than an array each, which it encodes element by element.
    """
    return sa.select(
        *(sa.bindparam(f"{name}_{column}", type_=type_).label(column) for column, type_ in columns)
    ).cte(name)


def _row(name: str, columns: ColumnSpec, row: Sequence[Any]) -> dict[str, Any]:
    """The parameters of ``_single(name, columns)`` for ``row``."""
    return {f"{name}_{column}": value for (column, _), value in zip(columns, row, strict=True)}


def _arrays(name: str, columns: ColumnSpec, rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """The parameters of ``_unnested(name, columns)`` for these rows.

    No rows, no arrays: NULL unnests to no rows as an empty array does, and
    costs the driver nothing to encode (most appends set no state in most scopes).
    """
    if not rows:
        return dict.fromkeys((f"{name}_{column}" for column, _ in columns), None)
    return {f"{name}_{column}": [row[index] for row in rows] for index, (column, _) in enumerate(columns)}


def _touched_sizes(table: sa.Table, batch: sa.CTE, scope: str) -> sa.Select[Any]:
    """The size rows of the shared scopes (of kind ``scope``) a batch's appends set keys in."""
    keys = [column for column in table.primary_key.columns]
    changed = sa.select(*(batch.c[column.name] for column in keys)).where(batch.c[f"{scope}_new"] > 0)
    return sa.select(*keys, table.c.state_bytes, table.c.version).where(sa.tuple_(*keys).in_(changed))


def _locked_sizes(table: sa.Table, batch: sa.CTE, scope: str, *, after: sa.CTE | None = None) -> sa.CTE:
    """PostgreSQL: ``_touched_sizes``, locked in key order, as they are now (whatever the snapshot)."""
    query = _touched_sizes(table, batch, scope)
    if after is not None:
        query = query.where(sa.select(sa.func.count()).select_from(after).scalar_subquery() >= 0)
    keys = [column for column in table.primary_key.columns]
    return query.order_by(*keys).with_for_update().cte(f"{scope}_locked")


def _shared_growth(rows: sa.CTE, table: sa.Table, batch: sa.CTE, scope: str) -> sa.ColumnElement[int]:
    """What an append's keys add to a shared scope of state, less what the keys they replace count."""
    keys = [column.name for column in table.primary_key.columns if column.name != "key_digest"]
    replaced = (
        sa.select(sa.func.coalesce(sa.func.sum(table.c.entry_bytes), 0))
        .join_from(
            rows,
            table,
            sa.and_(table.c.key_digest == rows.c.key_digest, *(table.c[key] == batch.c[key] for key in keys)),
        )
        .where(rows.c.position == batch.c.position)
        .scalar_subquery()
    )
    return (batch.c[f"{scope}_new"] - replaced).label(f"{scope}_growth")


def _shared_room(locked: sa.CTE, seen: sa.CTE, claimable: sa.CTE, scope: str) -> sa.ColumnElement[bool]:
    """An append that sets no key in such a scope, or that grows it within the limit, as the scope is now.

    The growth was worked out from the statement's snapshot: it holds only
    if the scope's size row, locked now, still has the version the snapshot
    saw. Otherwise another server changed the scope meanwhile, and the
    append is refused, to be judged again.
    """
    keys = [column.name for column in locked.c if column.name not in ("state_bytes", "version")]
    growth = claimable.c[f"{scope}_growth"]
    return sa.or_(
        claimable.c[f"{scope}_new"] <= 0,
        sa.exists().where(
            *(locked.c[key] == claimable.c[key] for key in keys),
            *(seen.c[key] == claimable.c[key] for key in keys),
            locked.c.version == seen.c.version,
            sa.or_(growth <= 0, locked.c.state_bytes + growth <= MAX_STATE_BYTES),
        ),
    )


@functools.cache
def _store_batch(*, lone: bool) -> sa.Select[Any]:
    """The statement that stores a batch (``_bound_batch``); ``lone``: the form for a batch of one."""
    batch = _single("batch", _APPEND_COLUMNS) if lone else _unnested("batch", _APPEND_COLUMNS)
    session_rows = _unnested("session_rows", _STATE_ROW_COLUMNS)
    user_rows = _unnested("user_rows", _STATE_ROW_COLUMNS)
    app_rows = _unnested("app_rows", _STATE_ROW_COLUMNS)
    # The shared scopes' size rows first, users' then apps', each in key
    # order, then the sessions: the order every writer takes them in.
    user_locked = _locked_sizes(user_state_size, batch, "user")
    app_locked = _locked_sizes(app_state_size, batch, "app", after=user_locked)
    user_seen = _touched_sizes(user_state_size, batch, "user").cte("user_seen")
    app_seen = _touched_sizes(app_state_size, batch, "app").cte("app_seen")

    def growths(candidate: sa.FromClause) -> Sequence[sa.ColumnElement[Any]]:
        # A session's own state changes only by appends to it, which its
        # revision orders: its growth from the snapshot is exact if it is claimed.
        replaced = (
            sa.select(sa.func.coalesce(sa.func.sum(session_state.c.entry_bytes), 0))
            .join_from(
                session_rows,
                session_state,
                sa.and_(
                    session_state.c.key_digest == session_rows.c.key_digest,
                    session_state.c.session_pk == candidate.c.session_pk,
                ),
            )
            .where(session_rows.c.position == batch.c.position)
            .scalar_subquery()
        )
        return (
            (batch.c.session_new - replaced).label("session_growth"),
            batch.c.app_name,
            batch.c.user_id,
            batch.c.user_new,
            batch.c.app_new,
            _shared_growth(user_rows, user_state, batch, "user"),
            _shared_growth(app_rows, app_state, batch, "app"),
        )

    claimable = claimable_sessions(batch, after=app_locked, extra=growths).cte("claimable")
    # The event's key is drawn here, so the revision (``schema.event_revision``:
    # twice the key) is set in the same update; a statement cannot update a
    # row twice.
    event_pk = sa.func.nextval(sa.func.pg_get_serial_sequence(events.name, events.c.event_pk.name))
    claimed = (
        claim(
            claimable,
            _shared_room(user_locked, user_seen, claimable, "user"),
            _shared_room(app_locked, app_seen, claimable, "app"),
        )
        .values(revision=2 * event_pk)
        .returning(
            claimable.c.position,
            sessions.c.session_pk,
            sessions.c.last_sequence,
            (sessions.c.revision // 2).label("event_pk"),
        )
        .cte("claimed")
    )
    claimed_batch = sa.select(claimed, batch).join_from(
        claimed, batch, batch.c.position == claimed.c.position
    )
    event_values = claimed_batch.with_only_columns(
        claimed.c.event_pk,
        claimed.c.session_pk,
        claimed.c.last_sequence,
        *(batch.c[name] for name, _ in EVENT_ROW_COLUMNS if name not in ("session_pk", "sequence")),
    )
    stored = (
        sa.insert(events)
        .from_select(
            ["event_pk", "session_pk", "sequence", *(n for n, _ in EVENT_ROW_COLUMNS[2:])], event_values
        )
        .cte("stored")
    )
    # State, after every session is claimed (the main query below reads
    # "claimed" to its end before the other parts run): session rows, then
    # user rows in key order, then app rows in key order, as every writer
    # locks them. Each part waits for the one before it by reading its
    # count. A key set by several appends of the batch gets the value of the
    # latest one that was stored.
    session_written = _upsert_from(
        session_state,
        sa.select(
            claimed.c.session_pk,
            session_rows.c.key_digest,
            session_rows.c.state_key,
            session_rows.c.value,
            session_rows.c.entry_bytes,
        ).join_from(session_rows, claimed, session_rows.c.position == claimed.c.position),
        "session_written",
    )
    user_owner = (batch.c.app_name, batch.c.user_id)
    user_written = _shared_written(
        user_state, user_rows, user_owner, claimed, batch, "user", after=session_written
    )
    user_counted = _counted(user_state_size, claimed, claimable, "user", after=user_written)
    app_written = _shared_written(
        app_state, app_rows, (batch.c.app_name,), claimed, batch, "app", after=user_counted
    )
    app_counted = _counted(app_state_size, claimed, claimable, "app", after=app_written)
    # Each stored append tells the servers listening (``change_feeds``) which session moved to
    # which revision: on commit only, as notifications are delivered. Never the event: it may
    # pass a notification's size limit, and a listener reads it once for all its watchers.
    notified = sa.func.pg_notify(
        sa.literal(watching.CHANNEL),
        sa.cast(
            sa.func.json_build_array(
                batch.c.app_name, batch.c.user_id, batch.c.session_id, 2 * claimed.c.event_pk
            ),
            sa.Text(),
        ),
    ).label("notified")
    return (
        sa.select(
            claimed.c.position, claimed.c.session_pk, claimed.c.last_sequence, claimed.c.event_pk, notified
        )
        .join_from(claimed, batch, batch.c.position == claimed.c.position)
        .add_cte(stored, session_written, user_written, user_counted, app_written, app_counted)
    )


def _upsert_from(table: sa.Table, rows: sa.Select[Any], name: str) -> sa.CTE:
    columns = [column.name for column in table.columns]
    upsert = postgresql.insert(table).from_select(columns, rows)
    return (
        upsert.on_conflict_do_update(
            index_elements=[column.name for column in table.primary_key.columns],
            set_={name: upsert.excluded[name] for name in STATE_UPDATE_COLUMNS},
        )
        .returning(sa.literal_column("1"))
        .cte(name)
    )


def _shared_written(
    table: sa.Table,
    rows: sa.CTE,
    owner: Sequence[sa.ColumnElement[Any]],
    claimed: sa.CTE,
    batch: sa.CTE,
    scope: str,
    *,
    after: sa.CTE,
) -> sa.CTE:
    """Upserts the keys the stored appends set in the shared scopes (of kind ``scope``) of ``owner``.

    After ``after`` (each part waits for the one before it by reading its
    count), in key order; a key set by several appends gets the value of the
    latest.
    """
    key = (*owner, rows.c.key_digest)
    return _upsert_from(
        table,
        sa.select(*key, rows.c.state_key, rows.c.value, rows.c.entry_bytes)
        .join_from(rows, claimed, rows.c.position == claimed.c.position)
        .join(batch, batch.c.position == claimed.c.position)
        .where(sa.select(sa.func.count()).select_from(after).scalar_subquery() >= 0)
        .ext(postgresql.distinct_on(*key))
        .order_by(*key, rows.c.position.desc()),
        f"{scope}_written",
    )


def _counted(table: sa.Table, claimed: sa.CTE, claimable: sa.CTE, scope: str, *, after: sa.CTE) -> sa.CTE:
    """PostgreSQL: adds the growth of each stored append to the size row of the shared scope it changes.

    (Each scope is changed by one append of a batch at most; its row is locked already.)
    """
    keys = [column.name for column in table.primary_key.columns]
    growth = (
        sa.select(*(claimable.c[key] for key in keys), claimable.c[f"{scope}_growth"].label("growth"))
        .join_from(claimed, claimable, claimable.c.position == claimed.c.position)
        .where(
            claimable.c[f"{scope}_new"] > 0,
            sa.select(sa.func.count()).select_from(after).scalar_subquery() >= 0,
        )
        .subquery(f"{scope}_added")
    )
    return (
        sa.update(table)
        .where(*(table.c[key] == growth.c[key] for key in keys))
        .values(state_bytes=table.c.state_bytes + growth.c.growth, version=table.c.version + 1)
        .returning(sa.literal_column("1"))
        .cte(f"{scope}_counted")
    )


def _bound_batch(
    appends: Sequence[PendingAppend], limits: StorageLimits
) -> tuple[sa.Select[Any], dict[str, Any]]:
    """The statement that stores ``appends``, and its parameters.

    Each append whose session can take it (``claim``: at its expected
    revision, without its event yet, within ``limits``), and whose state
    has room in every scope it grows (``_shared_room``), is stored whole
    (event, revision, sequence, update time, state delta, sizes); the others
    write nothing. The statement returns a row per stored append: its
    ``position`` in ``appends``, its session's ``session_pk``, the event's
    sequence (``last_sequence``) and ``event_pk``. The keys must be
    distinct, and so must the shared scopes the appends change.
    """
    batch: list[tuple[Any, ...]] = []
    state_rows: tuple[list[tuple[Any, ...]], ...] = ([], [], [])
    for position, append in enumerate(appends):
        key, expected_revision, event = append.key, append.expected_revision, append.event
        delta = event.state_delta
        news = [0, 0, 0]
        for scope, (rows, values) in enumerate(
            zip(state_rows, (delta.session, delta.user, delta.app), strict=True)
        ):
            for k, v in values.items():
                entry = state_entry_bytes(k, v)
                news[scope] += entry
                rows.append((position, key_digest(k), k, v, entry))
        batch.append(
            (  # in the order of _APPEND_COLUMNS
                position,
                key.app_name,
                key.user_id,
                key.session_id,
                expected_revision,
                event.timestamp,
                event.id,
                event.size,
                event.invocation_id,
                event.author,
                event.branch,
                encode_state_delta(delta),
                event.event_json,
                event.wire_cache or None,
                *news,
            )
        )
    session_rows, user_rows, app_rows = state_rows
    lone = len(batch) == 1
    return _store_batch(lone=lone), {
        **limit_params(limits),
        **expiry_params(list(appends)),
        **(_row("batch", _APPEND_COLUMNS, batch[0]) if lone else _arrays("batch", _APPEND_COLUMNS, batch)),
        **_arrays("session_rows", _STATE_ROW_COLUMNS, session_rows),
        **_arrays("user_rows", _STATE_ROW_COLUMNS, user_rows),
        **_arrays("app_rows", _STATE_ROW_COLUMNS, app_rows),
    }
