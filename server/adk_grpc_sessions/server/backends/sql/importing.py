"""Writing sessions copied from elsewhere (``import-adk``) straight into the SQL backend's tables.

An imported session arrives whole: its final state and every event, which
were applied long ago. So events are stored without applying their state
deltas (replaying them would overwrite app and user state with old values),
and the session's state is stored as it was at the source. The sizes the
limits are checked on are kept as an append keeps them; an import itself is
not refused for a limit (what it copies was accepted at its source).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from adk_grpc_sessions.server.backends.base import NewEvent, ScopedState, SessionKey, StateMap
from adk_grpc_sessions.server.backends.sql import writing
from adk_grpc_sessions.server.backends.sql.backend import SqlBackend
from adk_grpc_sessions.server.backends.sql.queries import events as event_queries
from adk_grpc_sessions.server.backends.sql.queries import lifecycle as lifecycle_queries
from adk_grpc_sessions.server.backends.sql.queries import sessions as session_queries
from adk_grpc_sessions.server.backends.sql.queries import sizes as size_queries
from adk_grpc_sessions.server.backends.sql.queries import state as state_queries
from adk_grpc_sessions.server.backends.sql.queries.rows import event_row, inserted_key
from adk_grpc_sessions.server.backends.sql.schema import creation_revision, event_revision
from adk_grpc_sessions.wire.limits import state_bytes

_EVENT_BATCH_ROWS: Final = 200
_EVENT_BATCH_BYTES: Final = 4 * 1024 * 1024


@dataclass(slots=True)
class ImportedSession:
    """A session as it stands at the source: its own state, and its events in append order."""

    key: SessionKey
    create_time: float
    last_update_time: float
    state: StateMap
    events: list[NewEvent]


class SessionImporter:
    """Writes imported sessions and shared state into a ``SqlBackend``'s database (started).

    Each write is one transaction's work, run by the backend's executor as
    its own calls' work is.
    """

    def __init__(self, backend: SqlBackend) -> None:
        self._backend = backend

    async def stored_event_count(self, key: SessionKey) -> int | None:
        """How many events the session named ``key`` holds here; None if it does not exist or has expired."""
        clock = self._backend.clock()
        return await self._backend.executor.read(functools.partial(_stored_event_count, key=key, clock=clock))

    async def import_session(self, session: ImportedSession) -> bool:
        """Stores the session, its events and its state in one transaction.

        Returns False, and changes nothing, if a session of that name already exists.
        One that has expired is purged, as a create purges it (and, as there,
        only once the name is found held).
        """
        for clock in (None, self._backend.clock()):
            try:
                await self._backend.executor.write(
                    functools.partial(_import_session, session=session, clock=clock)
                )
            except _SessionTakenError:
                continue
            return True
        return False

    async def stored_app_state(self, app_name: str) -> StateMap:
        """The app's state as stored here."""
        return await self._backend.get_app_state(app_name)

    async def stored_user_state(self, app_name: str, user_id: str) -> StateMap:
        """The user's state as stored here."""
        return await self._backend.get_user_state(app_name, user_id)

    async def import_app_state(self, app_name: str, state: StateMap) -> None:
        """Sets every key of ``state`` in the app's state (other keys are left alone)."""
        await self._backend.executor.write(
            functools.partial(_upsert_shared, app_name=app_name, user_id="", state=ScopedState(app=state))
        )

    async def import_user_state(self, app_name: str, user_id: str, state: StateMap) -> None:
        """Sets every key of ``state`` in the user's state (other keys are left alone)."""
        await self._backend.executor.write(
            functools.partial(
                _upsert_shared, app_name=app_name, user_id=user_id, state=ScopedState(user=state)
            )
        )


def _stored_event_count(connection: sa.Connection, *, key: SessionKey, clock: float) -> int | None:
    row = connection.execute(*session_queries.select_session(key, clock)).first()
    return None if row is None else int(row.last_sequence)


class _SessionTakenError(Exception):
    """The imported session's name is taken here: raised to roll its transaction back."""


def _import_session(connection: sa.Connection, *, session: ImportedSession, clock: float | None) -> None:
    key = session.key
    if clock is not None:
        connection.execute(*lifecycle_queries.delete_expired_named(key, clock))
    try:
        inserted = connection.execute(
            *session_queries.insert_session(key, session.create_time, state_bytes(session.state))
        )
    except IntegrityError:
        raise _SessionTakenError from None
    session_pk = inserted_key(inserted)
    revision = creation_revision(session_pk)
    if session.events:
        _insert_events(connection, session_pk, session.events)
        last_event_pk = connection.execute(*event_queries.select_last_event_pk(session_pk)).scalar_one()
        revision = event_revision(int(last_event_pk))
    connection.execute(
        *session_queries.set_imported(
            session_pk,
            revision,
            len(session.events),
            session.last_update_time,
            sum(event.size for event in session.events),
        )
    )
    # As a create does: the user's and the app's state get their size rows.
    writing.ensure_shared_sizes(connection, [(key.app_name, key.user_id)], [key.app_name])
    change = state_queries.StateChange(
        key.app_name, key.user_id, session_pk, ScopedState(session=session.state)
    )
    for upsert in state_queries.upsert_state(connection.dialect, [change]):
        connection.execute(*upsert)


def _upsert_shared(connection: sa.Connection, *, app_name: str, user_id: str, state: ScopedState) -> None:
    """Upserts app or user ``state`` and counts its scope's size again."""
    change = state_queries.StateChange(app_name, user_id, 0, state)
    for upsert in state_queries.upsert_state(connection.dialect, [change]):
        connection.execute(*upsert)
    users = [(app_name, user_id)] if state.user else []
    apps = [app_name] if state.app else []
    writing.ensure_shared_sizes(connection, users, apps)
    connection.execute(*size_queries.recount_shared_size(app_name, user_id if state.user else None))


def _insert_events(connection: sa.Connection, session_pk: int, new_events: list[NewEvent]) -> None:
    batch: list[dict[str, Any]] = []
    size = 0
    for sequence, event in enumerate(new_events, start=1):
        row = event_row(session_pk, sequence, event)
        if batch and (len(batch) >= _EVENT_BATCH_ROWS or size + len(event.event_json) > _EVENT_BATCH_BYTES):
            connection.execute(*event_queries.insert_events(batch))
            batch, size = [], 0
        batch.append(row)
        size += len(event.event_json)
    if batch:
        connection.execute(*event_queries.insert_events(batch))
