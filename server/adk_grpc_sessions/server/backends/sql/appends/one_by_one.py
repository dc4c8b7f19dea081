"""How a batch of appends is stored on MySQL/MariaDB (and SQLite before 3.35): claimed one by one.

In one transaction: the sizes the appends' state is judged by are read
(locked on MySQL/MariaDB), then each append's claim (``claims``) and event
run in a savepoint of their own, so an event id found taken undoes just that
append; then the state deltas are upserted, one upsert per scope for the
whole batch, and the shared scopes' sizes counted. These databases can
either not update from a joined table or not return rows from an UPDATE,
which the batch forms need.

Locks are taken in the order every writer takes them: the shared scopes'
size rows (users', then apps', in key order), the sessions (in key order),
then state rows (session, user, app), so writers wait for each other but
never deadlock.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from adk_grpc_sessions.server.backends.base import AppendResult, StorageLimits
from adk_grpc_sessions.server.backends.sql import dialects, driver_sql, state_limit
from adk_grpc_sessions.server.backends.sql.appends.batch import (
    PendingAppend,
    Stored,
    expiry_params,
    growths,
    results,
    shared_growths,
    state_changes,
)
from adk_grpc_sessions.server.backends.sql.appends.claims import claim_next_sequence
from adk_grpc_sessions.server.backends.sql.queries import sizes as size_queries
from adk_grpc_sessions.server.backends.sql.queries.events import insert_event
from adk_grpc_sessions.server.backends.sql.queries.rows import inserted_key
from adk_grpc_sessions.server.backends.sql.queries.sessions import select_session, set_revision
from adk_grpc_sessions.server.backends.sql.queries.sizes import SizesWanted
from adk_grpc_sessions.server.backends.sql.queries.state import upsert_state
from adk_grpc_sessions.server.backends.sql.schema import event_revision
from adk_grpc_sessions.server.backends.sql.state_limit import Growth
from adk_grpc_sessions.server.backends.sql.transactions import Executor


async def store(
    executor: Executor, appends: list[PendingAppend], limits: StorageLimits
) -> list[AppendResult | None]:
    """``BatchStore.store``: ``store_batch`` in a write transaction."""
    return await executor.write(lambda connection: store_batch(connection, appends, limits))


def statements(dialect: sa.Dialect) -> list[sa.Executable]:
    """The statements ``store_batch`` runs as the driver's own SQL, to compile at start.

    Only the shared scopes' size updates: the rest are the statements every
    other call runs.
    """
    return [*size_queries.ADD_TO_SHARED_SIZES]


def store_batch(
    connection: sa.Connection, appends: list[PendingAppend], limits: StorageLimits
) -> list[AppendResult | None]:
    """Stores the appends that may be stored; None for each one refused.

    (``BatchStore.store`` says when an append is refused.)
    """
    judged = growths(connection, appends, limits, _read_sizes)
    chosen = [(append, growth) for append, growth in zip(appends, judged, strict=True) if growth is not None]
    stored = _claim_one_by_one(connection, chosen, limits)
    for upsert in upsert_state(connection.dialect, state_changes(stored)):
        connection.execute(*upsert)
    for bound in size_queries.add_to_shared_sizes(*shared_growths(stored)):
        driver_sql.execute(connection, *bound)
    return results(appends, stored)


def _read_sizes(connection: sa.Connection, wanted: SizesWanted) -> state_limit.Sizes:
    """The sizes ``wanted`` names; on MySQL/MariaDB the shared scopes' rows locked as they are read.

    (SQLite has one writer: what its transaction reads stays as it is.)
    """
    if connection.dialect.name not in dialects.MYSQL_FAMILY:
        # All rows at once: iterating the result would fetch them one by one.
        return state_limit.sizes_from_rows(
            connection.execute(*size_queries.select_sizes(connection.dialect, wanted)).all()
        )
    found = state_limit.Sizes()
    for part, bound in size_queries.lock_shared_sizes(wanted):
        rows = connection.execute(*bound)
        state_limit.sizes_from_rows(state_limit.locked_rows_as_sizes(part, rows), found)
    own = SizesWanted(sessions=wanted.sessions, session_digests=wanted.session_digests)
    if own.sessions:
        state_limit.sizes_from_rows(
            connection.execute(*size_queries.select_sizes(connection.dialect, own)), found
        )
    return found


def _claim_one_by_one(
    connection: sa.Connection, appends: list[tuple[PendingAppend, Growth]], limits: StorageLimits
) -> list[Stored]:
    stored: list[Stored] = []
    # In key order, as every batch takes them, so that batches of server
    # replicas naming the same sessions wait for each other, never deadlock.
    for append, growth in sorted(
        appends, key=lambda a: (a[0].key.app_name, a[0].key.user_id, a[0].key.session_id)
    ):
        try:
            with connection.begin_nested():
                one = _claim_one(connection, append, growth, limits)
        except IntegrityError:
            # The event id is taken: the savepoint's rollback undid the claim.
            one = None
        if one is not None:
            stored.append(one)
    return stored


def _claim_one(
    connection: sa.Connection, append: PendingAppend, growth: Growth, limits: StorageLimits
) -> Stored | None:
    key, event = append.key, append.event
    returning = connection.dialect.update_returning
    claim = claim_next_sequence(
        key, append.expected_revision, event, growth, limits, expiry_params([append]), returning=returning
    )
    if returning:
        claimed = connection.execute(*claim).first()
        if claimed is None:
            return None
        session_pk, sequence = claimed
    else:
        # MySQL and MariaDB cannot return from an UPDATE; the row is ours
        # (locked) now, so reading it back sees exactly what we wrote.
        if connection.execute(*claim).rowcount != 1:
            return None
        session = connection.execute(*select_session(key, None)).one()
        session_pk, sequence = session.session_pk, session.last_sequence
    event_pk = inserted_key(connection.execute(*insert_event(session_pk, sequence, event)))
    connection.execute(*set_revision(session_pk, event_revision(event_pk)))
    return Stored(append, growth, session_pk, sequence, event_pk)
