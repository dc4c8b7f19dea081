"""The SQL statements of the SQL backend, built with SQLAlchemy Core, and row conversions.

Statements only: no connections, no transactions (``backend`` holds those).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Final

import pydantic_core
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from adk_grpc_sessions.server.backends.base import (
    EncodedEvent,
    EventRecord,
    EventWindow,
    NewEvent,
    ReadBudget,
    ScopedState,
    SessionKey,
    SessionPosition,
    StateMap,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.sql import dialects
from adk_grpc_sessions.server.backends.sql.schema import (
    app_state,
    app_state_size,
    event_revision,
    events,
    key_digest,
    session_state,
    sessions,
    user_state,
    user_state_size,
)
from adk_grpc_sessions.wire.limits import SESSION_HEAD_BYTES, state_entry_bytes

_STATE_UPDATE_COLUMNS: Final = ("state_key", "value", "entry_bytes")
"""What an upsert of a state row sets where the key exists already."""
_ROWS_PER_UPSERT: Final = 500
_BYTES_PER_UPSERT: Final = 4 * 1024 * 1024
"""Upserts are split so one statement stays well under MySQL's default max_allowed_packet."""

EVENT_COLUMNS: Final = (
    events.c.event_pk,
    events.c.sequence,
    events.c.event_id,
    events.c.invocation_id,
    events.c.author,
    events.c.branch,
    events.c.timestamp,
    events.c.state_delta,
    events.c.event_json,
    events.c.encoded_fields,
    events.c.size_bytes,
)
ENCODED_EVENT_COLUMNS: Final = (
    events.c.sequence,
    events.c.event_id,
    events.c.event_json,
    events.c.encoded_fields,
)
"""What a read selects of each event: enough for the response, if the event has its encoding."""
SESSION_COLUMNS: Final = (
    sessions.c.session_pk,
    sessions.c.app_name,
    sessions.c.user_id,
    sessions.c.session_id,
    sessions.c.create_time,
    sessions.c.last_update_time,
    sessions.c.revision,
    sessions.c.last_sequence,
    sessions.c.events_bytes,
    sessions.c.state_bytes,
)
_APP, _USER, _SESSION = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Growth:
    """How one append changes the sizes its claim checks and counts (``sizes`` works it out).

    Growths are what the append's keys add to each scope's size, less what
    the values they replace counted (so they may be negative). A version is
    that of the shared scope's size row the growth was worked out against,
    or -1 if the append does not change that scope.
    """

    session: int = 0
    user: int = 0
    app: int = 0
    user_version: int = -1
    app_version: int = -1


NO_GROWTH: Final = Growth()


_MAX_SESSION_BYTES = sa.bindparam("b_max_session_bytes", type_=sa.BigInteger())
_MAX_STATE_BYTES = sa.bindparam("b_max_state_bytes", type_=sa.BigInteger())


def _limit_params(limits: StorageLimits) -> dict[str, int]:
    return {"b_max_session_bytes": limits.max_session_bytes, "b_max_state_bytes": limits.max_state_bytes}


Bound = tuple[sa.Executable, dict[str, Any] | list[dict[str, Any]]]
"""A statement and the values of its parameters: ``connection.execute(*bound)``.

Every statement is built once, here, with named parameters, and reused: then
SQLAlchemy compiles it once per dialect and finds it in its cache by
identity, instead of building and hashing a new statement tree per call.
"""

_NAMED = sa.and_(
    sessions.c.app_name == sa.bindparam("b_app_name"),
    sessions.c.user_id == sa.bindparam("b_user_id"),
    sessions.c.session_id == sa.bindparam("b_session_id"),
)


def _name(key: SessionKey) -> dict[str, Any]:
    return {"b_app_name": key.app_name, "b_user_id": key.user_id, "b_session_id": key.session_id}


_SELECT_SESSION = sa.select(*SESSION_COLUMNS).where(_NAMED)


def select_session(key: SessionKey) -> Bound:
    """The session row named ``key``."""
    return _SELECT_SESSION, _name(key)


_INSERT_SESSION = sa.insert(sessions).values(revision=0, last_sequence=0, events_bytes=0)


def insert_session(key: SessionKey, now: float, state_bytes: int = 0) -> Bound:
    """A new session row whose own state counts ``state_bytes``; its revision is set once its key is known."""
    return _INSERT_SESSION, {
        "app_name": key.app_name,
        "user_id": key.user_id,
        "session_id": key.session_id,
        "create_time": now,
        "last_update_time": now,
        "state_bytes": state_bytes,
    }


_SET_REVISION = (
    sa.update(sessions)
    .where(sessions.c.session_pk == sa.bindparam("b_session_pk"))
    .values(revision=sa.bindparam("b_revision"))
)


def _part(number: int) -> sa.ColumnElement[Any]:
    """The column that tells which part of a union a row comes from."""
    return sa.literal_column(str(number)).label("part")


def _typed_null(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A NULL for ``column`` in the first part of a union whose later parts select that column.

    A union's result columns take the first part's types: SQLAlchemy's
    (which convert what the driver returns: quoted state keys, user ids on
    MySQL/MariaDB), and PostgreSQL's, which types a union pair by pair, so
    that NULL and NULL would make text, and text then fail to match bigint
    or bytea. Hence a cast, not just a NULL.
    """
    return sa.cast(sa.null(), column.type).label(column.key)


# The parts of ``create_at_once``'s rows.
_CREATED_ROW, _CREATED_APP, _CREATED_USER = 0, 1, 2


def _create_at_once() -> sa.CompoundSelect[Any]:
    """PostgreSQL: a session without state of its own created, and the app's and the user's state read.

    (And the size rows of the app's and the user's state made, if missing.)
    One statement: the insert is a common table expression whose key comes
    from the sessions' own sequence, so that its revision
    (``creation_revision``, 2 * key + 1) goes into the same row; the app's
    and the user's state are read in the statement's snapshot. Rows of
    (part, session_pk, revision, state_key, value): the session first.
    """
    # The size rows of the user's and the app's state, made if there are none,
    # before the session: the order every writer takes them in.
    user_size = (
        postgresql.insert(user_state_size)
        .values(app_name=sa.bindparam("b_app_name"), user_id=sa.bindparam("b_user_id"))
        .on_conflict_do_nothing()
        .returning(sa.literal_column("1"))
        .cte("user_size")
    )
    app_size = (
        postgresql.insert(app_state_size)
        .values(app_name=sa.bindparam("b_app_name"))
        .on_conflict_do_nothing()
        .returning(sa.literal_column("1"))
        .cte("app_size")
    )
    key = (
        sa.select(
            sa.func.nextval(sa.func.pg_get_serial_sequence(sessions.name, sessions.c.session_pk.name)).label(
                "pk"
            )
        )
        .where(
            sa.select(sa.func.count()).select_from(user_size).scalar_subquery() >= 0,
            sa.select(sa.func.count()).select_from(app_size).scalar_subquery() >= 0,
        )
        .subquery("key")
    )
    now = sa.bindparam("b_now", type_=sessions.c.create_time.type)
    created = (
        sa.insert(sessions)
        .from_select(
            list(SESSION_COLUMNS),  # every column, in this order:
            sa.select(
                key.c.pk,
                sa.bindparam("b_app_name", type_=sessions.c.app_name.type),
                sa.bindparam("b_user_id", type_=sessions.c.user_id.type),
                sa.bindparam("b_session_id", type_=sessions.c.session_id.type),
                now,
                now,
                2 * key.c.pk + 1,
                sa.literal(0, sa.BigInteger()),  # last_sequence
                sa.literal(0, sa.BigInteger()),  # events_bytes
                sa.literal(0, sa.BigInteger()),  # state_bytes
            ),
        )
        .returning(sessions.c.session_pk, sessions.c.revision)
        .cte("created")
    )
    none = sa.null()
    app_name: sa.BindParameter[str] = sa.bindparam("b_app_name")
    return sa.union_all(
        sa.select(
            _part(_CREATED_ROW),
            created.c.session_pk,
            created.c.revision,
            _typed_null(app_state.c.state_key),
            _typed_null(app_state.c.value),
        ),
        sa.select(_part(_CREATED_APP), none, none, app_state.c.state_key, app_state.c.value).where(
            app_state.c.app_name == app_name
        ),
        sa.select(_part(_CREATED_USER), none, none, user_state.c.state_key, user_state.c.value).where(
            user_state.c.app_name == app_name, user_state.c.user_id == sa.bindparam("b_user_id")
        ),
    )


_CREATE_AT_ONCE = _create_at_once()


def create_at_once(key: SessionKey, now: float) -> Bound:
    """PostgreSQL: ``_create_at_once`` for the session ``key``, created at ``now``."""
    return _CREATE_AT_ONCE, {**_name(key), "b_now": now}


def created_from_rows(rows: Iterable[Sequence[Any]]) -> tuple[int, ScopedState]:
    """The revision ``create_at_once`` gave the session, and its merged state (none of its own)."""
    revision: int | None = None
    state = ScopedState()
    for part, _, row_revision, state_key, value in rows:
        if part == _CREATED_ROW:
            revision = row_revision
        elif part == _CREATED_APP:
            state.app[state_key] = value
        else:
            state.user[state_key] = value
    if revision is None:
        raise RuntimeError("a session was created, yet the statement did not return it")
    return revision, state


def set_revision(session_pk: int, revision: int) -> Bound:
    """Records the session's new revision."""
    return _SET_REVISION, {"b_session_pk": session_pk, "b_revision": revision}


_SIZE_BYTES = sa.bindparam("b_size_bytes", type_=sa.BigInteger())
_SESSION_GROWTH = sa.bindparam("b_session_growth", type_=sa.BigInteger())
_CLAIM = (
    sa.update(sessions)
    .where(
        _NAMED,
        sessions.c.revision == sa.bindparam("b_expected_revision"),
        sessions.c.events_bytes + _SIZE_BYTES <= _MAX_SESSION_BYTES,
        sa.or_(_SESSION_GROWTH <= 0, sessions.c.state_bytes + _SESSION_GROWTH <= _MAX_STATE_BYTES),
    )
    .values(
        last_sequence=sessions.c.last_sequence + 1,
        last_update_time=sa.bindparam("b_timestamp"),
        events_bytes=sessions.c.events_bytes + _SIZE_BYTES,
        state_bytes=sessions.c.state_bytes + _SESSION_GROWTH,
    )
)
_CLAIM_RETURNING = _CLAIM.returning(sessions.c.session_pk, sessions.c.last_sequence)


def claim_next_sequence(
    key: SessionKey,
    expected_revision: int,
    event: NewEvent,
    growth: Growth,
    limits: StorageLimits,
    *,
    returning: bool,
) -> Bound:
    """The conditional update every append starts with: it matches only at ``expected_revision``.

    And only with room for the event and its session state's ``growth``
    within ``limits`` (as ``_claim``), which it counts. It takes the
    session's row lock, so a concurrent append of the same session waits
    here and then finds the revision changed: the database, not this
    process, decides which of two writers is stale. With ``returning`` it
    answers the session's key and its new last sequence (where the database
    can return from an UPDATE).
    """
    params = {
        **_name(key),
        "b_expected_revision": expected_revision,
        "b_timestamp": event.timestamp,
        "b_size_bytes": event.size,
        "b_session_growth": growth.session,
        **_limit_params(limits),
    }
    return (_CLAIM_RETURNING if returning else _CLAIM), params


# Appends stored a batch at a time (``appending``), with a fixed number of
# statements per batch, whatever its size:
# - PostgreSQL: one statement, its own transaction (``store_batch``), so a
#   batch costs one round trip. Its rows arrive as one array per column,
#   unnested, so one statement text (prepared once per connection) serves
#   every batch size.
# - SQLite: a claim, an insert and an update for the whole batch
#   (``claim_batch``, ``insert_event_batch``, ``set_revision_batch``), the
#   rows as SELECT ... UNION ALL ... (one text per power-of-two batch size;
#   SQLite parses in process), then the state upserts.
_ColumnSpec = tuple[tuple[str, Any], ...]

_CLAIM_COLUMNS: Final[_ColumnSpec] = (
    ("app_name", sessions.c.app_name.type),
    ("user_id", sessions.c.user_id.type),
    ("session_id", sessions.c.session_id.type),
    ("expected_revision", sessions.c.revision.type),
    ("timestamp", sessions.c.last_update_time.type),
    ("event_id", events.c.event_id.type),
    ("size_bytes", events.c.size_bytes.type),
    ("session_growth", sessions.c.state_bytes.type),
)
_NEW_STATE_COLUMNS: Final[_ColumnSpec] = (
    ("session_new", sessions.c.state_bytes.type),
    ("user_new", user_state_size.c.state_bytes.type),
    ("app_new", app_state_size.c.state_bytes.type),
)
"""What the keys an append sets count in each scope (0: it sets none there): the batch statement
(PostgreSQL) works out each scope's growth from these and what the keys count now."""
_EVENT_COLUMNS: Final[_ColumnSpec] = tuple(
    (name, events.c[name].type)
    for name in (
        "session_pk",
        "sequence",
        "event_id",
        "invocation_id",
        "author",
        "branch",
        "timestamp",
        "state_delta",
        "event_json",
        "encoded_fields",
        "size_bytes",
    )
)
_REVISION_COLUMNS: Final[_ColumnSpec] = (
    ("session_pk", sessions.c.session_pk.type),
    ("revision", sessions.c.revision.type),
)
_APPEND_COLUMNS: Final[_ColumnSpec] = (
    ("position", sa.Integer()),
    *(column for column in _CLAIM_COLUMNS if column[0] != "session_growth"),
    *(
        (name, type_)
        for name, type_ in _EVENT_COLUMNS
        if name not in ("session_pk", "sequence", "event_id", "timestamp", "size_bytes")
    ),
    *_NEW_STATE_COLUMNS,
)
_STATE_ROW_COLUMNS: Final[_ColumnSpec] = (
    ("position", sa.Integer()),
    ("key_digest", session_state.c.key_digest.type),
    ("state_key", session_state.c.state_key.type),
    ("value", session_state.c.value.type),
    ("entry_bytes", session_state.c.entry_bytes.type),
)


_CLAIMABLE_COLUMNS: Final = frozenset(
    {"position", "expected_revision", "timestamp", "event_id", "size_bytes", "session_growth"}
)


def _unnested(name: str, columns: _ColumnSpec) -> sa.CTE:
    """A table ``name`` of the rows given as one array parameter per column (``_arrays``)."""
    arrays = (
        sa.func.unnest(
            *(sa.bindparam(f"{name}_{column}", type_=postgresql.ARRAY(type_)) for column, type_ in columns)
        )
        .table_valued(*(sa.column(column, type_) for column, type_ in columns))
        .render_derived(name=f"{name}_arrays")
    )
    return sa.select(arrays).cte(name)


def _arrays(name: str, columns: _ColumnSpec, rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """The parameters of ``_unnested(name, columns)`` for these rows."""
    return {f"{name}_{column}": [row[index] for row in rows] for index, (column, _) in enumerate(columns)}


def _claimable(
    batch: sa.CTE,
    *,
    after: sa.CTE | None = None,
    extra: Callable[[sa.FromClause], Sequence[sa.ColumnElement[Any]]] = lambda candidate: (),
) -> sa.Select[Any]:
    """The sessions a batch names, with what their claim needs, locked in key order.

    (FOR UPDATE; SQLite, which has one writer anyway, ignores it.) Two
    batches naming the same sessions, as server replicas may, then wait for
    each other instead of deadlocking. ``after``: a CTE whose rows are locked
    first (the shared scopes' sizes, which every writer of them locks before
    any session). ``extra``: more columns, of the candidate session row.
    """
    candidate = sessions.alias("candidate")
    query = sa.select(
        candidate.c.session_pk,
        *(c for c in batch.c if c.name in _CLAIMABLE_COLUMNS),
        *extra(candidate),
    )
    if after is not None:
        query = query.where(sa.select(sa.func.count()).select_from(after).scalar_subquery() >= 0)
    return (
        query.join_from(
            batch,
            candidate,
            sa.and_(
                candidate.c.app_name == batch.c.app_name,
                candidate.c.user_id == batch.c.user_id,
                candidate.c.session_id == batch.c.session_id,
            ),
        )
        .order_by(candidate.c.session_pk)
        .with_for_update(of=candidate)
    )


def _claim(claimable: sa.CTE | sa.Subquery, *extra: sa.ColumnElement[bool]) -> sa.Update:
    """Claims each session of ``claimable`` that can take its append; counts the append's sizes.

    That is: at its expected revision, not holding the event yet, with room
    for the event (``b_max_session_bytes``) and for its own state's growth
    (``b_max_state_bytes``; a write that does not grow it always has room),
    and whatever ``extra`` requires. The sizes are compared with the row as
    it is when locked, so replicas never pass a limit together.
    """
    stored = sa.exists().where(
        events.c.session_pk == sessions.c.session_pk, events.c.event_id == claimable.c.event_id
    )
    growth = claimable.c.session_growth
    return (
        sa.update(sessions)
        .where(
            sessions.c.session_pk == claimable.c.session_pk,
            sessions.c.revision == claimable.c.expected_revision,
            ~stored,
            sessions.c.events_bytes + claimable.c.size_bytes <= _MAX_SESSION_BYTES,
            sa.or_(growth <= 0, sessions.c.state_bytes + growth <= _MAX_STATE_BYTES),
            *extra,
        )
        .values(
            last_sequence=sessions.c.last_sequence + 1,
            last_update_time=claimable.c.timestamp,
            events_bytes=sessions.c.events_bytes + claimable.c.size_bytes,
            state_bytes=sessions.c.state_bytes + growth,
        )
    )


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
            sa.or_(growth <= 0, locked.c.state_bytes + growth <= _MAX_STATE_BYTES),
        ),
    )


@functools.cache
def _store_batch() -> sa.Select[Any]:
    batch = _unnested("batch", _APPEND_COLUMNS)
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

    claimable = _claimable(batch, after=app_locked, extra=growths).cte("claimable")
    # The event's key is drawn here, so the revision (``schema.event_revision``:
    # twice the key) is set in the same update; a statement cannot update a
    # row twice.
    event_pk = sa.func.nextval(sa.func.pg_get_serial_sequence(events.name, events.c.event_pk.name))
    claimed = (
        _claim(
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
        *(batch.c[name] for name, _ in _EVENT_COLUMNS if name not in ("session_pk", "sequence")),
    )
    stored = (
        sa.insert(events)
        .from_select(
            ["event_pk", "session_pk", "sequence", *(n for n, _ in _EVENT_COLUMNS[2:])], event_values
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
    user_key = (batch.c.app_name, batch.c.user_id, user_rows.c.key_digest)
    user_written = _upsert_from(
        user_state,
        sa.select(*user_key, user_rows.c.state_key, user_rows.c.value, user_rows.c.entry_bytes)
        .join_from(user_rows, claimed, user_rows.c.position == claimed.c.position)
        .join(batch, batch.c.position == claimed.c.position)
        .where(sa.select(sa.func.count()).select_from(session_written).scalar_subquery() >= 0)
        .ext(postgresql.distinct_on(*user_key))
        .order_by(*user_key, user_rows.c.position.desc()),
        "user_written",
    )
    user_counted = _counted(user_state_size, claimed, claimable, "user", after=user_written)
    app_key = (batch.c.app_name, app_rows.c.key_digest)
    app_written = _upsert_from(
        app_state,
        sa.select(*app_key, app_rows.c.state_key, app_rows.c.value, app_rows.c.entry_bytes)
        .join_from(app_rows, claimed, app_rows.c.position == claimed.c.position)
        .join(batch, batch.c.position == claimed.c.position)
        .where(sa.select(sa.func.count()).select_from(user_counted).scalar_subquery() >= 0)
        .ext(postgresql.distinct_on(*app_key))
        .order_by(*app_key, app_rows.c.position.desc()),
        "app_written",
    )
    app_counted = _counted(app_state_size, claimed, claimable, "app", after=app_written)
    return sa.select(
        claimed.c.position, claimed.c.session_pk, claimed.c.last_sequence, claimed.c.event_pk
    ).add_cte(stored, session_written, user_written, user_counted, app_written, app_counted)


def _upsert_from(table: sa.Table, rows: sa.Select[Any], name: str) -> sa.CTE:
    columns = [column.name for column in table.columns]
    upsert = postgresql.insert(table).from_select(columns, rows)
    return (
        upsert.on_conflict_do_update(
            index_elements=[column.name for column in table.primary_key.columns],
            set_={name: upsert.excluded[name] for name in _STATE_UPDATE_COLUMNS},
        )
        .returning(sa.literal_column("1"))
        .cte(name)
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


def store_batch(appends: Sequence[tuple[SessionKey, int, NewEvent]], limits: StorageLimits) -> Bound:
    """PostgreSQL: a batch of appends, each ``(key, expected_revision, event)``, stored in one statement.

    Each append whose session can take it (``_claim``: at its expected
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
    for position, (key, expected_revision, event) in enumerate(appends):
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
                event.encoded_fields or None,
                *news,
            )
        )
    session_rows, user_rows, app_rows = state_rows
    return _store_batch(), {
        **_limit_params(limits),
        **_arrays("batch", _APPEND_COLUMNS, batch),
        **_arrays("session_rows", _STATE_ROW_COLUMNS, session_rows),
        **_arrays("user_rows", _STATE_ROW_COLUMNS, user_rows),
        **_arrays("app_rows", _STATE_ROW_COLUMNS, app_rows),
    }


BATCH_LIMIT: Final = 64
"""The most appends one batch statement takes."""
_SQLITE_BATCH_SIZES: Final = tuple(1 << n for n in range(BATCH_LIMIT.bit_length()))
"""The sizes SQLite's batch statements come in (``_selected_params`` pads a batch up to one)."""


def batch_statements(dialect: sa.Dialect) -> list[sa.Executable]:
    """Every statement the batch path runs on ``dialect``, in every form, to compile them all at start.

    Only the shared scopes' size updates for MySQL/MariaDB, which store a
    batch one append at a time with the statements every other call uses.
    """
    if dialect.name == dialects.POSTGRESQL:
        return [_store_batch()]
    if dialect.name != dialects.SQLITE:
        return [_ADD_TO_USER_SIZE, _ADD_TO_APP_SIZE]
    found: list[sa.Executable] = [_select_sizes(_JSON), _ADD_TO_USER_SIZE, _ADD_TO_APP_SIZE]
    for size in _SQLITE_BATCH_SIZES:
        found += [_claim_batch(size), _insert_event_batch(size), _set_revision_batch(size)]
    for table in (session_state, user_state, app_state):
        found.append(dialects.upsert(dialect, table, _STATE_UPDATE_COLUMNS))
    return found


def _selected_rows(columns: _ColumnSpec, size: int) -> sa.CTE:
    """SQLite: a table "batch" of ``size`` rows given as parameters ``b_{column}_{n}``.

    SELECT ... UNION ALL SELECT ...: SQLAlchemy caches the compiled form of
    this (it does not cache a VALUES construct with rows). Sizes are powers
    of two (``_selected_params`` pads a batch with rows of NULLs, which match
    no session), so that seven forms of each statement, compiled once each,
    serve every batch: compiling all 64 sizes would take 2 s.
    """
    rows = [
        sa.select(*(sa.bindparam(f"b_{name}_{n}", type_=type_).label(name) for name, type_ in columns))
        for n in range(size)
    ]
    return (rows[0] if size == 1 else sa.union_all(*rows)).cte("batch")


def _selected_params(columns: _ColumnSpec, rows: Sequence[Sequence[Any]]) -> tuple[int, dict[str, Any]]:
    """The size of ``_selected_rows`` for these rows, and its parameters."""
    size = 1 << max(0, len(rows) - 1).bit_length()
    assert size in _SQLITE_BATCH_SIZES, f"a batch of {len(rows)} is more than the largest form"
    padded = [*rows, *([(None,) * len(columns)] * (size - len(rows)))]
    return size, {
        f"b_{name}_{n}": value
        for n, row in enumerate(padded)
        for (name, _), value in zip(columns, row, strict=True)
    }


@functools.cache
def _claim_batch(size: int) -> sa.Update:
    claimable = _claimable(_selected_rows(_CLAIM_COLUMNS, size)).subquery("claimable")
    return _claim(claimable).returning(*SESSION_COLUMNS)


def claim_batch(claims: Sequence[tuple[SessionKey, int, NewEvent, Growth]], limits: StorageLimits) -> Bound:
    """SQLite: the conditional update of the sessions of a batch of appends.

    Each append is given as ``(key, expected_revision, event, growth)``. A
    session is claimed (its last sequence counted up, its update time and
    sizes set) only if it can take the append (``_claim``); the statement
    returns the rows it claimed (``SESSION_COLUMNS``, with the new last
    sequence). The keys must be distinct.
    """
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
        )
        for key, expected, event, growth in claims
    ]
    size, params = _selected_params(_CLAIM_COLUMNS, rows)
    return _claim_batch(size), {**params, **_limit_params(limits)}


@functools.cache
def _insert_event_batch(size: int) -> sa.Insert:
    batch = _selected_rows(_EVENT_COLUMNS, size)
    names = [name for name, _ in _EVENT_COLUMNS]
    return (
        sa.insert(events)
        .from_select(
            names, sa.select(*(batch.c[name] for name in names)).where(batch.c.session_pk.is_not(None))
        )
        .returning(events.c.session_pk, events.c.event_pk)
    )


def insert_event_batch(rows: Sequence[dict[str, Any]]) -> Bound:
    """SQLite: events' rows (from ``event_row``, of distinct sessions).

    Returns each row's (session_pk, event_pk).
    """
    values = [tuple(row[name] for name, _ in _EVENT_COLUMNS) for row in rows]
    size, params = _selected_params(_EVENT_COLUMNS, values)
    return _insert_event_batch(size), params


@functools.cache
def _set_revision_batch(size: int) -> sa.Update:
    batch = _selected_rows(_REVISION_COLUMNS, size)
    return (
        sa.update(sessions)
        .where(sessions.c.session_pk == batch.c.session_pk)
        .values(revision=batch.c.revision)
    )


def set_revision_batch(revisions: Sequence[tuple[int, int]]) -> Bound:
    """SQLite: records several sessions' new revisions, each by ``(session_pk, revision)``."""
    size, params = _selected_params(_REVISION_COLUMNS, revisions)
    return _set_revision_batch(size), params


_INSERT_EVENT = sa.insert(events)


def event_row(session_pk: int, sequence: int, event: NewEvent) -> dict[str, Any]:
    """The column values of an event's row."""
    return {
        "session_pk": session_pk,
        "sequence": sequence,
        "event_id": event.id,
        "invocation_id": event.invocation_id,
        "author": event.author,
        "branch": event.branch,
        "timestamp": event.timestamp,
        "state_delta": encode_state_delta(event.state_delta),
        "event_json": event.event_json,
        "encoded_fields": event.encoded_fields or None,
        "size_bytes": event.size,
    }


def insert_event(session_pk: int, sequence: int, event: NewEvent) -> Bound:
    """The event's row."""
    return _INSERT_EVENT, event_row(session_pk, sequence, event)


def insert_events(rows: list[dict[str, Any]]) -> Bound:
    """Several events' rows (from ``event_row``) at once."""
    return _INSERT_EVENT, rows


_SELECT_EVENT_BY_ID = sa.select(*EVENT_COLUMNS).where(
    events.c.session_pk == sa.bindparam("b_session_pk"), events.c.event_id == sa.bindparam("b_event_id")
)


def select_event_by_id(session_pk: int, event_id: str) -> Bound:
    """The stored event with ``event_id`` in the session, if any."""
    return _SELECT_EVENT_BY_ID, {"b_session_pk": session_pk, "b_event_id": event_id}


def _events_in_window(
    session_pk: sa.ColumnElement[int], floor: sa.ColumnElement[int], after_timestamp: bool
) -> sa.ColumnElement[bool]:
    """The session's events after sequence ``floor``, and with ``after_timestamp`` ADK's after_timestamp rule.

    The rule is evaluated as ADK evaluates it: scan back from the newest
    event (the (session_pk, sequence) index, backwards) and stop at the first
    one older than ``b_after_timestamp``, so only the events returned are read.
    """
    above_floor = sa.and_(events.c.session_pk == session_pk, events.c.sequence > floor)
    if not after_timestamp:
        return above_floor
    last_older = (
        sa.select(events.c.sequence)
        .where(above_floor, events.c.timestamp < sa.bindparam("b_after_timestamp"))
        .order_by(events.c.sequence.desc())
        .limit(1)
        .scalar_subquery()
    )
    return sa.and_(above_floor, events.c.sequence > sa.func.coalesce(last_older, floor))


_EVENTS_ABOVE_FLOOR = sa.select(*ENCODED_EVENT_COLUMNS).where(
    _events_in_window(sa.bindparam("b_session_pk"), sa.bindparam("b_floor"), after_timestamp=False)
)
_EVENTS_AFTER_LAST_OLDER = sa.select(*ENCODED_EVENT_COLUMNS).where(
    _events_in_window(sa.bindparam("b_session_pk"), sa.bindparam("b_floor"), after_timestamp=True)
)
_UPTO = sa.bindparam("b_upto", type_=sa.BigInteger())
_WINDOW = _EVENTS_ABOVE_FLOOR.order_by(events.c.sequence)
_WINDOW_AFTER = _EVENTS_AFTER_LAST_OLDER.order_by(events.c.sequence)
_PAGE = _WINDOW.where(events.c.sequence <= _UPTO).limit(sa.bindparam("b_limit"))
_PAGE_AFTER = _WINDOW_AFTER.where(events.c.sequence <= _UPTO).limit(sa.bindparam("b_limit"))
_SIZES_PAGE = _PAGE.with_only_columns(events.c.sequence, events.c.size_bytes)
_SIZES_PAGE_AFTER = _PAGE_AFTER.with_only_columns(events.c.sequence, events.c.size_bytes)
_UNENCODED = (
    sa.select(*EVENT_COLUMNS)
    .where(
        events.c.session_pk == sa.bindparam("b_session_pk"),
        events.c.sequence.between(sa.bindparam("b_first"), sa.bindparam("b_last")),
        events.c.encoded_fields.is_(None),
    )
    .order_by(events.c.sequence)
)


def select_window(session_pk: int, last_sequence: int, window: EventWindow) -> Bound:
    """The events a session read returns, oldest first (``EventWindow``'s rules).

    As ``ENCODED_EVENT_COLUMNS``; the events have consecutive sequence numbers.
    """
    floor = 0
    if window.num_recent_events is not None:
        floor = max(0, last_sequence - window.num_recent_events)
    params: dict[str, Any] = {"b_session_pk": session_pk, "b_floor": floor}
    if window.after_timestamp is None:
        return _WINDOW, params
    return _WINDOW_AFTER, {**params, "b_after_timestamp": window.after_timestamp}


_BUDGET_BYTES = sa.bindparam("b_budget_bytes", type_=sa.BigInteger())
_BUDGET_EVENTS = sa.bindparam("b_budget_events", type_=sa.BigInteger())


def _budget_params(budget: ReadBudget) -> dict[str, int]:
    return {"b_budget_bytes": budget.bytes, "b_budget_events": budget.max_events}


def _shared_state_bytes(
    app_name: sa.ColumnElement[str], user_id: sa.ColumnElement[str]
) -> sa.ColumnElement[int]:
    """What the app's and the user's state count, from their size rows (0 for a scope without one)."""
    user = sa.select(user_state_size.c.state_bytes).where(
        user_state_size.c.app_name == app_name, user_state_size.c.user_id == user_id
    )
    app = sa.select(app_state_size.c.state_bytes).where(app_state_size.c.app_name == app_name)
    return sa.func.coalesce(user.scalar_subquery(), 0) + sa.func.coalesce(app.scalar_subquery(), 0)


def _fits_whole(
    events_bytes: sa.ColumnElement[int],
    state_bytes: sa.ColumnElement[int],
    last_sequence: sa.ColumnElement[int],
) -> sa.ColumnElement[int]:
    """1 if a session's events and merged state all fit in the read's budget, by the sizes kept; else 0."""
    total = events_bytes + state_bytes + _shared_state_bytes(sessions.c.app_name, sessions.c.user_id)
    return sa.case((sa.and_(total <= _BUDGET_BYTES, last_sequence <= _BUDGET_EVENTS), 1), else_=0)


# The parts of ``select_whole_session``'s rows, in the order they come.
_WHOLE_SESSION, _WHOLE_APP, _WHOLE_USER, _WHOLE_OWN, _WHOLE_EVENT = 0, 1, 2, 3, 4


def _whole_session(recent: bool, after_timestamp: bool) -> sa.CompoundSelect[Any]:
    """A session read as one statement: the session's row, its merged state and its events window.

    The session is a common table expression (computed once) that the other
    parts find its key in. Every part has the columns (part, session_pk,
    create_time, last_update_time, revision, fits, state_key, value,
    sequence, event_id, event_json, encoded_fields), NULL where a part has
    no such thing. The events are read only if all of the session's events
    and its state fit in the read's budget (``fits``, 1 or 0: the sizes kept
    on its rows say so without reading them), so the statement never reads
    more than a response holds; else ``session`` reads them in parts.
    ``recent``: keep only events after the session's last_sequence -
    ``b_recent``; ``after_timestamp``: ADK's after_timestamp rule, as
    ``select_window`` applies it.
    """
    named = (
        sa.select(
            sessions.c.session_pk,
            sessions.c.create_time,
            sessions.c.last_update_time,
            sessions.c.revision,
            sessions.c.last_sequence,
            _fits_whole(sessions.c.events_bytes, sessions.c.state_bytes, sessions.c.last_sequence).label(
                "fits"
            ),
        )
        .where(_NAMED)
        .cte("named")
    )
    session_pk = sa.select(named.c.session_pk).scalar_subquery()
    fits = sa.select(named.c.fits).scalar_subquery() == 1
    floor: sa.ColumnElement[int] = (
        sa.select(named.c.last_sequence).scalar_subquery() - sa.bindparam("b_recent", type_=sa.BigInteger())
        if recent
        else sa.bindparam("b_floor", type_=sa.BigInteger())
    )
    in_window = _events_in_window(session_pk, floor, after_timestamp)
    none = sa.null()

    def state_part(number: int, table: sa.Table, *where: sa.ColumnElement[bool]) -> sa.Select[Any]:
        return sa.select(
            _part(number),
            none,
            none,
            none,
            none,
            none,
            table.c.state_key,
            table.c.value,
            none,
            none,
            none,
            none,
        ).where(*where)

    app_name: sa.BindParameter[str] = sa.bindparam("b_app_name")
    return sa.union_all(
        sa.select(
            _part(_WHOLE_SESSION),
            named.c.session_pk,
            named.c.create_time,
            named.c.last_update_time,
            named.c.revision,
            named.c.fits,
            _typed_null(session_state.c.state_key),
            _typed_null(session_state.c.value),
            _typed_null(events.c.sequence),
            _typed_null(events.c.event_id),
            _typed_null(events.c.event_json),
            _typed_null(events.c.encoded_fields),
        ),
        state_part(_WHOLE_APP, app_state, app_state.c.app_name == app_name),
        state_part(
            _WHOLE_USER,
            user_state,
            user_state.c.app_name == app_name,
            user_state.c.user_id == sa.bindparam("b_user_id"),
        ),
        state_part(_WHOLE_OWN, session_state, session_state.c.session_pk == session_pk),
        sa.select(
            _part(_WHOLE_EVENT), none, none, none, none, none, none, none, *ENCODED_EVENT_COLUMNS
        ).where(in_window, fits),
    )
    # No ORDER BY: the database would sort every event's JSON through its
    # sorter (twice the time of the whole read on SQLite, at 1,000 events);
    # ``whole_session_from_rows`` puts the events in order instead.


_WHOLE_SESSIONS = {
    (recent, after): _whole_session(recent, after) for recent in (False, True) for after in (False, True)
}


def select_whole_session(key: SessionKey, window: EventWindow, budget: ReadBudget) -> Bound:
    """The session named ``key`` with its merged state and the events ``window`` selects, as one statement.

    What ``select_session``, ``select_window`` and ``select_merged_state``
    read, in one round trip and one snapshot (it can run alone, in
    autocommit), if the session fits in ``budget`` whole; else without the
    events. Read the rows with ``whole_session_from_rows``.
    """
    params = {**_name(key), **_budget_params(budget)}
    if window.num_recent_events is not None and window.num_recent_events <= budget.max_events:
        params["b_budget_events"] = _UNBOUNDED  # the window holds few enough events, however many the session
    recent = window.num_recent_events is not None
    if recent:
        params["b_recent"] = window.num_recent_events
    else:
        params["b_floor"] = 0
    after = window.after_timestamp is not None
    if after:
        params["b_after_timestamp"] = window.after_timestamp
    return _WHOLE_SESSIONS[(recent, after)], params


@dataclass(frozen=True, slots=True)
class WholeSession:
    """What ``select_whole_session`` read of a session that exists."""

    session_pk: int
    create_time: float
    last_update_time: float
    revision: int
    fits: bool
    """Whether the session fitted in the read's budget whole: only then were its events read."""
    state: ScopedState
    events: list[Sequence[Any]]
    """Rows as ``ENCODED_EVENT_COLUMNS`` selects them, in sequence order."""


def whole_session_from_rows(rows: Iterable[Sequence[Any]]) -> WholeSession | None:
    """The session ``select_whole_session`` read; None if there is no such session."""
    head: Sequence[Any] | None = None
    state = ScopedState()
    scopes = {_WHOLE_APP: state.app, _WHOLE_USER: state.user, _WHOLE_OWN: state.session}
    event_rows: list[Sequence[Any]] = []
    for row in rows:
        part = row[0]
        if part == _WHOLE_EVENT:
            event_rows.append(row[8:])
        elif part == _WHOLE_SESSION:
            head = row
        else:
            scopes[part][row[6]] = row[7]
    if head is None:
        return None
    # Already in order as every database here reads them (by the events'
    # primary key); sorting a sorted list is a single pass.
    event_rows.sort(key=itemgetter(0))
    _, session_pk, create_time, last_update_time, revision, fits = head[:6]
    return WholeSession(session_pk, create_time, last_update_time, revision, fits == 1, state, event_rows)


def _event_page_at_once(after_timestamp: bool) -> sa.CompoundSelect[Any]:
    """``select_event_page`` and the session's own row, as one statement (see ``_whole_session``).

    Rows of (part, sequence, event_id, event_json, encoded_fields,
    session_pk, fits): the session's row first (part 0: its key, and 1 if
    all of its events fit in the read's budget, else 0; the rest NULL) if the
    session exists, then the page's events (part 1, in any order), read only
    if they all fit (else ``event_page`` reads the page with its budget).
    """
    named = (
        sa.select(
            sessions.c.session_pk,
            sa.case((sessions.c.events_bytes <= _BUDGET_BYTES, 1), else_=0).label("fits"),
        )
        .where(_NAMED)
        .cte("named")
    )
    floor = sa.bindparam("b_floor", type_=sa.BigInteger())
    in_window = _events_in_window(sa.select(named.c.session_pk).scalar_subquery(), floor, after_timestamp)
    page = (
        sa.select(*ENCODED_EVENT_COLUMNS)
        .where(in_window, events.c.sequence <= _UPTO, sa.select(named.c.fits).scalar_subquery() == 1)
        .order_by(events.c.sequence)
        .limit(sa.bindparam("b_limit"))
        .subquery("page")
    )
    return sa.union_all(
        sa.select(
            _part(0), *map(_typed_null, ENCODED_EVENT_COLUMNS), named.c.session_pk, named.c.fits
        ).select_from(named),
        sa.select(_part(1), *page.c, sa.null(), sa.null()),
    )


_EVENT_PAGES_AT_ONCE = {after: _event_page_at_once(after) for after in (False, True)}
_UNBOUNDED: Final = 2**62
"""An ``upto`` past any sequence: a page of every event that follows."""


def select_event_page_at_once(
    key: SessionKey,
    after_timestamp: float | None,
    after: int | None,
    upto: int | None,
    limit: int,
    budget: int,
) -> Bound:
    """``select_event_page`` for the session named ``key``, with whether it exists, in one round trip.

    Events up to sequence ``upto`` (None: all), read only if all of the
    session's events fit in ``budget`` bytes. Read the rows with
    ``event_page_from_rows``.
    """
    params: dict[str, Any] = {
        **_name(key),
        "b_floor": after or 0,
        "b_upto": _UNBOUNDED if upto is None else upto,
        "b_limit": limit,
        "b_budget_bytes": budget,
    }
    if after_timestamp is None:
        return _EVENT_PAGES_AT_ONCE[False], params
    return _EVENT_PAGES_AT_ONCE[True], {**params, "b_after_timestamp": after_timestamp}


@dataclass(frozen=True, slots=True)
class EventPageRows:
    """What ``select_event_page_at_once`` read of a session that exists."""

    session_pk: int
    fits: bool
    """Whether all of the session's events fit in the budget: only then was the page read."""
    rows: list[Sequence[Any]]
    """Rows as ``ENCODED_EVENT_COLUMNS`` selects them, in sequence order."""


def event_page_from_rows(rows: Iterable[Sequence[Any]]) -> EventPageRows | None:
    """The page ``select_event_page_at_once`` read; None if no such session."""
    head: Sequence[Any] | None = None
    page: list[Sequence[Any]] = []
    for row in rows:
        if row[0] == 0:
            head = row
        else:
            page.append(row[1:5])
    if head is None:
        return None
    page.sort(key=itemgetter(0))
    return EventPageRows(head[5], head[6] == 1, page)


def select_event_page(
    session_pk: int, after_timestamp: float | None, after: int | None, upto: int | None, limit: int
) -> Bound:
    """Up to ``limit`` events after sequence ``after``, up to ``upto``, in append order.

    With the after_timestamp rule.

    As ``ENCODED_EVENT_COLUMNS``; the events have consecutive sequence numbers.
    """
    params: dict[str, Any] = {
        "b_session_pk": session_pk,
        "b_floor": after or 0,
        "b_upto": _UNBOUNDED if upto is None else upto,
        "b_limit": limit,
    }
    if after_timestamp is None:
        return _PAGE, params
    return _PAGE_AFTER, {**params, "b_after_timestamp": after_timestamp}


def select_event_sizes(
    session_pk: int, after_timestamp: float | None, after: int | None, upto: int | None, limit: int
) -> Bound:
    """``select_event_page``'s events as (sequence, size_bytes) only: to find how many fit in a budget."""
    params: dict[str, Any] = {
        "b_session_pk": session_pk,
        "b_floor": after or 0,
        "b_upto": _UNBOUNDED if upto is None else upto,
        "b_limit": limit,
    }
    if after_timestamp is None:
        return _SIZES_PAGE, params
    return _SIZES_PAGE_AFTER, {**params, "b_after_timestamp": after_timestamp}


_EVENT_RANGE = (
    sa.select(*ENCODED_EVENT_COLUMNS)
    .where(
        events.c.session_pk == sa.bindparam("b_session_pk"),
        events.c.sequence.between(sa.bindparam("b_first"), sa.bindparam("b_last")),
    )
    .order_by(events.c.sequence)
)


def select_event_range(session_pk: int, first: int, last: int) -> Bound:
    """The session's events from sequence ``first`` to ``last``, as ``ENCODED_EVENT_COLUMNS``, in order."""
    return _EVENT_RANGE, {"b_session_pk": session_pk, "b_first": first, "b_last": last}


def select_unencoded_events(session_pk: int, first: int, last: int) -> Bound:
    """Every column of the session's events from sequence ``first`` to ``last`` stored without an encoding."""
    return _UNENCODED, {"b_session_pk": session_pk, "b_first": first, "b_last": last}


def _session_page(by_user: bool, resume: bool) -> sa.Select[Any]:
    """A page of sessions: a keyset, never an offset.

    Each page starts where the index says the last one ended. The tuple
    comparison is spelled out (rather than as a row value) because MySQL uses
    an index only for the spelled-out form; its leading "time >= t" is what
    lets every database seek straight to it.
    """
    time, user, session = sessions.c.last_update_time, sessions.c.user_id, sessions.c.session_id
    query = sa.select(*SESSION_COLUMNS).where(sessions.c.app_name == sa.bindparam("b_app_name"))
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
    last_update_time, revision, state_key, value), NULL where a part has no
    such thing. A CTE named more than once is computed once (PostgreSQL,
    MySQL/MariaDB and SQLite from 3.35 materialize it; older SQLite runs it
    again, in the same statement's snapshot, so it is the same page).

    With ``arrays`` (PostgreSQL), the state rows are picked by the page's
    user ids and session keys gathered into two arrays, which the primary
    key indexes look up directly. A join (or IN, or LATERAL, which
    PostgreSQL flattens into a join) leaves the planner free to choose, and
    on tables written to since they were last analyzed (after a burst of
    creates) it chooses a full scan of the state: 73 ms instead of 1 ms
    for a page at 300,000 state rows, in a hash join; in a nested loop, a
    scan of all of the app's user state for each user of the page.
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
        + _shared_state_bytes(app_name, listed.c.user_id)
        + sa.bindparam("b_session_head_bytes", type_=sa.BigInteger())
    )
    order = (listed.c.last_update_time, listed.c.user_id, listed.c.session_id)
    costed = sa.select(
        *(column for column in listed.c), sa.func.sum(cost).over(order_by=order).label("running")
    ).cte("costed")
    page = sa.select(costed).where(costed.c.running <= _BUDGET_BYTES).cte("page")

    page_rows = sa.select(
        _part(_PAGE_ROW),
        costed.c.session_pk,
        costed.c.user_id,
        costed.c.session_id,
        costed.c.create_time,
        costed.c.last_update_time,
        costed.c.revision,
        _typed_null(session_state.c.state_key),
        _typed_null(session_state.c.value),
        costed.c.running,
    )
    app_rows = sa.select(
        _part(_PAGE_APP), none, none, none, none, none, none, app_state.c.state_key, app_state.c.value, none
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
        _part(_PAGE_USER),
        none,
        user_state.c.user_id,
        none,
        none,
        none,
        none,
        user_state.c.state_key,
        user_state.c.value,
        none,
    ).where(user_state.c.app_name == app_name, users_of_page)
    session_rows = sa.select(
        _part(_PAGE_SESSION),
        session_state.c.session_pk,
        none,
        none,
        none,
        none,
        none,
        session_state.c.state_key,
        session_state.c.value,
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
) -> Bound:
    """Up to ``limit`` sessions after ``after``, with the state of those that fit in ``budget`` bytes.

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
    running).
    """
    page: list[Sequence[Any]] = []
    app: StateMap = {}
    users: dict[str, StateMap] = {}
    own: dict[int, StateMap] = {}
    for row in rows:
        part, session_pk, user_id, _, _, _, _, state_key, value, _ = row
        if part == _PAGE_ROW:
            page.append(row)
        elif part == _PAGE_APP:
            app[state_key] = value
        elif part == _PAGE_USER:
            users.setdefault(user_id, {})[state_key] = value
        else:
            own.setdefault(session_pk, {})[state_key] = value
    return page, app, users, own


_DELETE_SESSION = sa.delete(sessions).where(_NAMED)


def delete_session(key: SessionKey) -> Bound:
    """Deletes the session; its events and session state go with it (ON DELETE CASCADE)."""
    return _DELETE_SESSION, _name(key)


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


_MAX_SESSION_PK = sa.select(sa.func.max(events.c.event_pk)).where(
    events.c.session_pk == sa.bindparam("b_session_pk")
)


def select_last_event_pk(session_pk: int) -> Bound:
    """The key of the session's latest event."""
    return _MAX_SESSION_PK, {"b_session_pk": session_pk}


_SET_IMPORTED = (
    sa.update(sessions)
    .where(sessions.c.session_pk == sa.bindparam("b_session_pk"))
    .values(
        revision=sa.bindparam("b_revision"),
        last_sequence=sa.bindparam("b_last_sequence"),
        last_update_time=sa.bindparam("b_last_update_time"),
        events_bytes=sa.bindparam("b_events_bytes"),
    )
)


def set_imported(
    session_pk: int, revision: int, last_sequence: int, last_update_time: float, events_bytes: int = 0
) -> Bound:
    """Records an imported session's revision, event count, update time and events' size."""
    return _SET_IMPORTED, {
        "b_session_pk": session_pk,
        "b_revision": revision,
        "b_last_sequence": last_sequence,
        "b_last_update_time": last_update_time,
        "b_events_bytes": events_bytes,
    }


@dataclass(frozen=True, slots=True)
class StateChange:
    """A state delta and whose state it changes: the session ``session_pk`` of ``user_id`` in ``app_name``."""

    app_name: str
    user_id: str
    session_pk: int
    delta: ScopedState


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
                digest = key_digest(state_key)
                rows[(*owner.values(), digest)] = {
                    **owner,
                    "key_digest": digest,
                    "state_key": state_key,
                    "value": value,
                    "entry_bytes": state_entry_bytes(state_key, value),
                }
    for table, rows_by_key in ((session_state, session_rows), (user_state, user_rows), (app_state, app_rows)):
        if not rows_by_key:
            continue
        statement = dialects.upsert(dialect, table, _STATE_UPDATE_COLUMNS)
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


def encode_state_delta(delta: ScopedState) -> str | None:
    """An event's state delta as stored: only the scopes it changes; None if it changes none."""
    if delta.is_empty():
        return None
    scopes = {"app": delta.app, "user": delta.user, "session": delta.session}
    return pydantic_core.to_json({name: values for name, values in scopes.items() if values}).decode()


def decode_state_delta(stored: str | None) -> ScopedState:
    """The inverse of ``encode_state_delta``."""
    if stored is None:
        return ScopedState()
    scopes = pydantic_core.from_json(stored)
    return ScopedState(
        app=scopes.get("app", {}), user=scopes.get("user", {}), session=scopes.get("session", {})
    )


def event_from_row(row: sa.Row[Any]) -> EventRecord:
    """The ``EventRecord`` of a row selected with ``EVENT_COLUMNS``."""
    # Unpacked by position: a thousand-event read pays for every attribute lookup.
    (
        _,
        sequence,
        event_id,
        invocation_id,
        author,
        branch,
        timestamp,
        state_delta,
        event_json,
        encoded,
        size,
    ) = tuple(row)
    return EventRecord(
        id=event_id,
        invocation_id=invocation_id,
        author=author,
        branch=branch,
        timestamp=timestamp,
        state_delta=decode_state_delta(state_delta),
        event_json=event_json,
        sequence=sequence,
        encoded_fields=encoded or b"",
        size=size,
    )


def encoded_events_from_rows(rows: Iterable[Sequence[Any]]) -> list[EncodedEvent | None]:
    """The ``EncodedEvent`` of each row selected with ``ENCODED_EVENT_COLUMNS``; None for one without."""
    # Unpacked in the loop header: the fastest way through a thousand rows.
    return [
        None if encoded is None else EncodedEvent(event_id, sequence, event_json, encoded)
        for sequence, event_id, event_json, encoded in rows
    ]


def revision_after(row: sa.Row[Any]) -> int:
    """The session's revision right after the event in ``row`` was stored."""
    return event_revision(row.event_pk)


# --- Sizes of state, for the state limit (``sizes`` judges with them) -----------------------------

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

    def part(number: int) -> sa.ColumnElement[Any]:
        return sa.literal_column(str(number)).label("part")

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
            _typed_null(user_state_size.c.version),
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
