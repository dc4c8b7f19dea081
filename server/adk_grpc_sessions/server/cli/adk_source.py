"""``adk://<SQLAlchemy URL>``: an ADK ``DatabaseSessionService`` database, read as a ``copy`` source.

It reads the source through ADK's own table models (``google.adk.sessions.
schemas``), so every event comes back exactly as ADK itself would return it,
and yields it as ``Event.model_dump_json(by_alias=True, exclude_none=True)``:
the very JSON the Python client sends for that event. Both of ADK's layouts
are read:
- v1 (ADK 1.22 and later): events as JSON;
- v0 (ADK 1.19 to 1.21): event actions pickled. They are unpickled only by
  ADK's restricted unpickler, which resolves nothing but the plain data types
  ``EventActions`` can hold and refuses anything else (a callable, say), so a
  hostile database cannot run code here. A session holding such a value is
  reported and left out, not guessed at.

Sessions are read a page at a time and their events in chunks (keyset
paging), so a database of any size is read in bounded memory. ADK keeps no
revision, metadata, expiry or initial state: those arrive empty.

This is the only module of the server that imports google-adk: a tool, not
the request path (and imported only when a copy from ``adk://`` runs).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pydantic_core
import sqlalchemy as sa
from google.adk.sessions.migration import _schema_check_utils
from google.adk.sessions.schemas import v0, v1
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from adk_grpc_sessions.server.backends.base import NewEvent, RestoredSession, SessionKey, StateMap
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError
from adk_grpc_sessions.server.backends.sql import dialects
from adk_grpc_sessions.server.cli.transfer import (
    EVENT_CHUNK,
    Item,
    SessionCopy,
    SharedState,
    Totals,
    restorable_event,
)

SCHEME: Final = "adk://"
_SESSIONS_PER_PAGE: Final = 100


class _Models:
    """ADK's table models for one schema version."""

    def __init__(self, session: Any, event: Any, app_state: Any, user_state: Any) -> None:
        self.session, self.event, self.app_state, self.user_state = session, event, app_state, user_state


_MODELS: Final = {
    _schema_check_utils.SCHEMA_VERSION_1_JSON: _Models(
        v1.StorageSession, v1.StorageEvent, v1.StorageAppState, v1.StorageUserState
    ),
    _schema_check_utils.SCHEMA_VERSION_0_PICKLE: _Models(
        v0.StorageSession, v0.StorageEvent, v0.StorageAppState, v0.StorageUserState
    ),
}


class UnreadableError(Exception):
    """Something of the source cannot be copied as it is (the message says what, and why)."""


class AdkSource:
    """An ADK database's sessions, events, app and user state, as a ``transfer.Source``.

    What cannot be read or stored is collected in ``problems`` and left out.
    """

    def __init__(self, uri: str) -> None:
        """Opens (lazily) the database ``adk://URL`` names.

        Raises:
            ValueError: the URL is malformed, or names an SQLite file that does not exist.
        """
        url = dialects.database_url(uri.removeprefix(SCHEME))
        if url.get_backend_name() == dialects.SQLITE and not Path(url.database or "").expanduser().is_file():
            # Opening a missing file would create an empty database, and copy nothing.
            raise ValueError(f"no ADK database at {url.database!r}")
        # Not dialects.create_engine: that would switch an SQLite source to WAL, and it is only read.
        self._engine: AsyncEngine = create_async_engine(url)
        self.schema_version = ""
        self.problems: list[str] = []

    async def start(self) -> None:
        """Reads the source's ADK schema version.

        Raises:
            ValueError: not an ADK session database, or one of an unknown version.
        """
        async with self._engine.connect() as connection:
            has_sessions = await connection.run_sync(lambda c: sa.inspect(c).has_table("sessions"))
            if not has_sessions:
                raise ValueError(
                    "the source has no 'sessions' table: not an ADK DatabaseSessionService database"
                )
            version: str = await connection.run_sync(
                _schema_check_utils.get_db_schema_version_from_connection
            )
        if version not in _MODELS:
            raise ValueError(f"unknown ADK session schema version {version!r}")
        self.schema_version = version

    async def close(self) -> None:
        """Closes the source's connections."""
        await self._engine.dispose()

    @property
    def _models(self) -> _Models:
        return _MODELS[self.schema_version]

    async def totals(self) -> Totals:
        """See ``transfer.Source.totals``: two counts."""
        async with AsyncSession(self._engine) as reader:
            sessions = await reader.execute(sa.select(sa.func.count()).select_from(self._models.session))
            events = await reader.execute(sa.select(sa.func.count()).select_from(self._models.event))
            return Totals(sessions.scalar_one(), events.scalar_one())

    async def items(self) -> AsyncIterator[Item]:
        """See ``transfer.Source.items``: app states, user states, then sessions by name."""
        async for item in self._shared_state():
            yield item
        async for session_row in self._session_rows():
            copy = self._session_copy(session_row)
            if copy is not None:
                yield copy

    async def _shared_state(self) -> AsyncIterator[SharedState]:
        async with AsyncSession(self._engine) as reader:
            app_rows = (await reader.scalars(sa.select(self._models.app_state))).all()
            user_rows = (await reader.scalars(sa.select(self._models.user_state))).all()
        for app_row in app_rows:
            state = self._state_map(app_row.state, f"app state of {app_row.app_name!r}")
            if state is not None:
                yield SharedState(app_row.app_name, None, state)
        for user_row in user_rows:
            state = self._state_map(
                user_row.state, f"user state of {user_row.user_id!r} in {user_row.app_name!r}"
            )
            if state is not None:
                yield SharedState(user_row.app_name, user_row.user_id, state)

    async def _session_rows(self) -> AsyncIterator[Any]:
        session_model = self._models.session
        order = (session_model.app_name, session_model.user_id, session_model.id)
        after: tuple[str, str, str] | None = None
        while True:
            async with AsyncSession(self._engine) as reader:
                query = sa.select(session_model).order_by(*order).limit(_SESSIONS_PER_PAGE)
                if after is not None:
                    query = query.where(sa.tuple_(*order) > sa.tuple_(*after))
                page = list((await reader.scalars(query)).all())
            for session_row in page:
                yield session_row
            if len(page) < _SESSIONS_PER_PAGE:
                return
            last = page[-1]
            after = (last.app_name, last.user_id, last.id)

    def _session_copy(self, session_row: Any) -> SessionCopy | None:
        key = SessionKey(session_row.app_name, session_row.user_id, session_row.id)
        state = self._state_map(session_row.state, f"state of {_name(key)}")
        if state is None:
            return None
        head = RestoredSession(
            key=key,
            create_time=_seconds(session_row.create_time),
            last_update_time=session_row.get_update_timestamp(),
            revision=0,
            state=state,
            initial_state=None,
            event_count=0,
        )
        return SessionCopy(head, self._events(key))

    async def _events(self, key: SessionKey) -> AsyncIterator[list[NewEvent]]:
        """The session's events in ADK's own read order (by timestamp, ties by event id), in chunks.

        An event ADK cannot read, or the server would not store, ends the session's
        events there (reported): the copy's verification then finds it incomplete.
        """
        event_model = self._models.event
        after: tuple[Any, str] | None = None
        while True:
            query = (
                sa.select(event_model)
                .where(
                    event_model.app_name == key.app_name,
                    event_model.user_id == key.user_id,
                    event_model.session_id == key.session_id,
                )
                .order_by(event_model.timestamp, event_model.id)
                .limit(EVENT_CHUNK)
            )
            if after is not None:
                query = query.where(sa.tuple_(event_model.timestamp, event_model.id) > sa.tuple_(*after))
            try:
                async with AsyncSession(self._engine) as reader:
                    rows = list((await reader.scalars(query)).all())
                chunk = [_event(row) for row in rows]
            except UnreadableError as exc:
                self.problems.append(f"{_name(key)}: {exc}")
                return
            except Exception as exc:  # restricted unpickling refused, or data ADK itself cannot read
                self.problems.append(f"{_name(key)}: events unreadable: {exc}")
                return
            if chunk:
                yield chunk
            if len(rows) < EVENT_CHUNK:
                return
            after = (rows[-1].timestamp, rows[-1].id)

    def _state_map(self, state: dict[str, Any] | None, what: str) -> StateMap | None:
        """A state dict as key -> JSON text; None (and a problem noted) if a value is not JSON."""
        result: StateMap = {}
        for state_key, value in (state or {}).items():
            if not _finite(value):
                self.problems.append(
                    f"{what}: key {state_key!r} holds NaN or Infinity, which JSON cannot carry"
                )
                return None
            result[state_key] = pydantic_core.to_json(value).decode()
        return result


def _event(event_row: Any) -> NewEvent:
    try:
        # ADK's own conversion: what DatabaseSessionService.get_session returns.
        event = event_row.to_event()
    except Exception as exc:  # data that ADK itself cannot turn into an Event
        raise UnreadableError(f"event {event_row.id!r} cannot be read: {exc}") from exc
    try:
        return restorable_event(event.model_dump_json(by_alias=True, exclude_none=True))
    except InvalidArgumentError as exc:
        raise UnreadableError(f"event {event_row.id!r} is not storable: {exc}") from exc


def _name(key: SessionKey) -> str:
    return f"session {key.session_id!r} of user {key.user_id!r} in app {key.app_name!r}"


def _seconds(value: datetime) -> float:
    """ADK's stored datetime as float seconds (naive values are UTC, as ADK writes them)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True
