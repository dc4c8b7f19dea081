"""PostgreSQL: a batch of sessions without state of their own created in one statement.

As ``sessions.create_at_once`` does for one session: the size rows of the
users' and apps' state made where missing (users', then apps', in key
order, the order every writer takes them in), the sessions inserted in key
order, each with its revision (``creation_revision``, 2 * key + 1) from its
key drawn from the sessions' own sequence, and the apps' and users' state
read in the statement's snapshot. A name already held is skipped (ON
CONFLICT DO NOTHING), not an error: the statement needs no savepoint per
session, and a session it did not return was refused as taken.

With ``notify``, the statement also tells the listening servers of each
session it created (``watching.notify_call``), only of those, and only
when it commits: a statement in autocommit is then the whole create, its
notification included, in one round trip.

The batch's rows arrive as one array per column, unnested, so one statement
text serves every batch size; it is compiled once and run as the driver's
own SQL (``driver_sql``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from adk_grpc_sessions.server.backends.base import Expiry, ScopedState, SessionKey
from adk_grpc_sessions.server.backends.sql.queries import watching
from adk_grpc_sessions.server.backends.sql.queries.parts import SESSION_COLUMNS, part, typed_null
from adk_grpc_sessions.server.backends.sql.schema import (
    app_state,
    app_state_size,
    sessions,
    user_state,
    user_state_size,
)

_BATCH_COLUMNS: Final = (
    ("position", sa.Integer()),
    ("app_name", sessions.c.app_name.type),
    ("user_id", sessions.c.user_id.type),
    ("session_id", sessions.c.session_id.type),
    ("now", sessions.c.create_time.type),
    ("expire_time", sessions.c.expire_time.type),
    ("ttl", sessions.c.ttl.type),
    ("display_name", sessions.c.display_name.type),
)
_PAYLOAD_COLUMN: Final = ("payload", sa.Text())
"""With ``notify``: each row's notification text (``watching.created_payload``)."""
_CREATED, _APP, _USER = 0, 1, 2


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session of a batch to create: its name, its creation time, expiry and display name."""

    key: SessionKey
    now: float
    expiry: Expiry
    display_name: str


@dataclass(slots=True)
class CreatedBatch:
    """What ``create_batch_at_once`` created: each created session's revision by position, and state."""

    revisions: dict[int, int] = field(default_factory=dict)
    app_state: dict[str, dict[str, str]] = field(default_factory=dict)
    user_state: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def state_of(self, key: SessionKey) -> ScopedState:
        """The merged state of a session created for ``key``: its app's and its user's (none of its own)."""
        return ScopedState(
            app=dict(self.app_state.get(key.app_name, {})),
            user=dict(self.user_state.get((key.app_name, key.user_id), {})),
        )


def create_batch_at_once(
    batch: Sequence[NewSession], *, notify: bool = False
) -> tuple[sa.CompoundSelect[Any], dict[str, Any]]:
    """The statement creating ``batch`` (of distinct names), and its parameters.

    ``notify``: the statement notifies each session it creates (PostgreSQL's ``watching.CHANNEL``).
    """
    rows = [
        (
            position,
            new.key.app_name,
            new.key.user_id,
            new.key.session_id,
            new.now,
            new.expiry.expire_time,
            new.expiry.ttl,
            new.display_name or None,
        )
        for position, new in enumerate(batch)
    ]
    values = {
        f"batch_{column}": [row[index] for row in rows] for index, (column, _) in enumerate(_BATCH_COLUMNS)
    }
    if notify:
        values[f"batch_{_PAYLOAD_COLUMN[0]}"] = [watching.created_payload(new.key) for new in batch]
    return _create_batch_at_once(notify), values


def created_from_rows(rows: Iterable[Sequence[Any]]) -> CreatedBatch:
    """What ``create_batch_at_once``'s rows say was created."""
    created = CreatedBatch()
    for row_part, position, revision, app_name, user_id, state_key, value in rows:
        if row_part == _CREATED:
            created.revisions[position] = revision
        elif row_part == _APP:
            created.app_state.setdefault(app_name, {})[state_key] = value
        else:
            created.user_state.setdefault((app_name, user_id), {})[state_key] = value
    return created


@functools.cache
def _create_batch_at_once(notify: bool) -> sa.CompoundSelect[Any]:
    """Rows of (part, position, revision, app_name, user_id, state_key, value): the created sessions first."""
    columns = (*_BATCH_COLUMNS, _PAYLOAD_COLUMN) if notify else _BATCH_COLUMNS
    arrays = (
        sa.func.unnest(
            *(sa.bindparam(f"batch_{column}", type_=postgresql.ARRAY(type_)) for column, type_ in columns)
        )
        .table_valued(*(sa.column(column, type_) for column, type_ in columns))
        .render_derived(name="batch_arrays")
    )
    batch = sa.select(arrays).cte("batch")
    user_size = (
        postgresql.insert(user_state_size)
        .from_select(
            ["app_name", "user_id"],
            sa.select(batch.c.app_name, batch.c.user_id)
            .distinct()
            .order_by(batch.c.app_name, batch.c.user_id),
        )
        .on_conflict_do_nothing()
        .returning(sa.literal_column("1"))
        .cte("user_size")
    )
    app_size = (
        postgresql.insert(app_state_size)
        .from_select(["app_name"], sa.select(batch.c.app_name).distinct().order_by(batch.c.app_name))
        .on_conflict_do_nothing()
        .returning(sa.literal_column("1"))
        .cte("app_size")
    )
    keyed = (
        sa.select(
            sa.func.nextval(sa.func.pg_get_serial_sequence(sessions.name, sessions.c.session_pk.name)).label(
                "pk"
            ),
            batch,
        )
        .where(
            sa.select(sa.func.count()).select_from(user_size).scalar_subquery() >= 0,
            sa.select(sa.func.count()).select_from(app_size).scalar_subquery() >= 0,
        )
        .subquery("keyed")
    )
    created = (
        postgresql.insert(sessions)
        .from_select(
            [*SESSION_COLUMNS, sessions.c.display_name, sessions.c.initial_state],  # in this order:
            sa.select(
                keyed.c.pk,
                keyed.c.app_name,
                keyed.c.user_id,
                keyed.c.session_id,
                keyed.c.now,
                keyed.c.now,
                2 * keyed.c.pk + 1,
                sa.literal(0, sa.BigInteger()),  # last_sequence
                sa.literal(0, sa.BigInteger()),  # events_bytes
                sa.literal(0, sa.BigInteger()),  # state_bytes
                keyed.c.expire_time,
                keyed.c.ttl,
                typed_null(sessions.c.close_time),
                keyed.c.display_name,
                sa.literal("{}", sessions.c.initial_state.type),  # no state of its own
            ).order_by(keyed.c.app_name, keyed.c.user_id, keyed.c.session_id),
        )
        .on_conflict_do_nothing()
        .returning(sessions.c.app_name, sessions.c.user_id, sessions.c.session_id, sessions.c.revision)
        .cte("created")
    )
    created_of_batch = sa.and_(
        batch.c.app_name == created.c.app_name,
        batch.c.user_id == created.c.user_id,
        batch.c.session_id == created.c.session_id,
    )
    created_rows = sa.select(
        part(_CREATED),
        batch.c.position,
        created.c.revision,
        typed_null(app_state.c.app_name),
        typed_null(user_state.c.user_id),
        typed_null(app_state.c.state_key),
        typed_null(app_state.c.value),
    ).join_from(created, batch, created_of_batch)
    if notify:
        # One notification a created session.
        created_rows = watching.notifying(
            created_rows,
            sa.select(watching.notify_call(batch.c.payload)).join_from(created, batch, created_of_batch),
        )
    none = sa.null()
    return sa.union_all(
        created_rows,
        sa.select(
            part(_APP), none, none, app_state.c.app_name, none, app_state.c.state_key, app_state.c.value
        ).where(app_state.c.app_name.in_(sa.select(batch.c.app_name))),
        sa.select(
            part(_USER),
            none,
            none,
            user_state.c.app_name,
            user_state.c.user_id,
            user_state.c.state_key,
            user_state.c.value,
        ).where(
            sa.tuple_(user_state.c.app_name, user_state.c.user_id).in_(
                sa.select(batch.c.app_name, batch.c.user_id)
            )
        ),
    )
