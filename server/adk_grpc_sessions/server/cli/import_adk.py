"""``adk-grpc-sessions import-adk``: copies an ADK ``DatabaseSessionService`` database into a SQL backend.

It reads the source through ADK's own table models (``google.adk.sessions.
schemas``), so every event comes back exactly as ADK itself would return it,
and stores it as ``Event.model_dump_json(by_alias=True, exclude_none=True)``:
the very JSON the Python client sends for that event. Both of ADK's layouts
are read:
- v1 (ADK 1.22 and later): events as JSON;
- v0 (ADK 1.19 to 1.21): event actions pickled. They are unpickled only by
  ADK's restricted unpickler, which resolves nothing but the plain data types
  ``EventActions`` can hold and refuses anything else (a callable, say), so a
  hostile database cannot run code here. A session holding such a value is
  reported and left out, not guessed at.

Each session is copied in one transaction, so an interrupted run leaves no
half-copied session, and a re-run skips the sessions already copied. At the
end every copied session's event count, and every app and user state key, is
compared with the source.

This is the only module of the server that imports google-adk: a tool, not
the request path (and imported only when the command runs). Writing the
copied sessions is the SQL backend's (``backends.sql.importing``).
"""

from __future__ import annotations

import argparse
import asyncio
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pydantic_core
import sqlalchemy as sa
from google.adk.sessions.migration import _schema_check_utils
from google.adk.sessions.schemas import v0, v1
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from adk_grpc_sessions.server.api.messages import encode_event_fields, event_size
from adk_grpc_sessions.server.backends import build_backend, redact_uri
from adk_grpc_sessions.server.backends.base import SessionKey, StateMap
from adk_grpc_sessions.server.backends.event_json import parse_event
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError
from adk_grpc_sessions.server.backends.sql import SqlBackend, dialects
from adk_grpc_sessions.server.backends.sql.importing import ImportedSession, SessionImporter

_SESSIONS_PER_PAGE: Final = 100


@dataclass(slots=True)
class ImportReport:
    """What an import found and did."""

    schema_version: str = ""
    """The source's ADK schema: "1" (JSON) or "0" (pickled actions)."""
    sessions_found: int = 0
    sessions_copied: int = 0
    sessions_already_there: int = 0
    events_found: int = 0
    app_states: int = 0
    user_states: int = 0
    problems: list[str] = field(default_factory=list)
    """Sessions not copied, and counts that do not match; empty when everything arrived."""

    @property
    def complete(self) -> bool:
        """Whether every session, event and state key of the source is in the target."""
        return not self.problems


@dataclass(frozen=True, slots=True)
class _Models:
    """ADK's table models for one schema version."""

    session: Any
    event: Any
    app_state: Any
    user_state: Any


_MODELS: Final = {
    _schema_check_utils.SCHEMA_VERSION_1_JSON: _Models(
        v1.StorageSession, v1.StorageEvent, v1.StorageAppState, v1.StorageUserState
    ),
    _schema_check_utils.SCHEMA_VERSION_0_PICKLE: _Models(
        v0.StorageSession, v0.StorageEvent, v0.StorageAppState, v0.StorageUserState
    ),
}


def run(args: argparse.Namespace) -> int:
    """Runs the import; 0 when everything arrived, 1 when the count check found something missing."""
    report = asyncio.run(import_adk(args.source, args.backend))
    return 0 if report.complete else 1


async def import_adk(source_url: str, backend_uri: str, *, console: Console | None = None) -> ImportReport:
    """Copies every session, event, app state and user state of ``source_url`` into ``backend_uri``.

    The target's schema is created or upgraded first. Progress is drawn on
    ``console`` (stderr by default), then a summary.

    Raises:
        ValueError: a URL is malformed, the target is not a SQL backend, or the
            source is not an ADK session database.
        BackendUnavailableError: the target cannot be reached.
    """
    console = console or Console(stderr=True)
    target = build_backend(backend_uri)
    if not isinstance(target, SqlBackend):
        raise ValueError(f"import-adk copies into a SQL backend, not {redact_uri(backend_uri)!r}")
    source = _source_engine(source_url)
    report = ImportReport()
    try:
        await target.upgrade_schema()
        await target.start()
        report.schema_version = await _schema_version(source)
        models = _MODELS[report.schema_version]
        importer = SessionImporter(target)
        await _copy_shared_state(source, models, importer, report)
        await _copy_sessions(source, models, importer, report, console)
    finally:
        await source.dispose()
        await target.close()
    _print_summary(report, console)
    return report


def _source_engine(source_url: str) -> AsyncEngine:
    url = dialects.database_url(source_url)
    if url.get_backend_name() == dialects.SQLITE and not Path(url.database or "").expanduser().is_file():
        # Opening a missing file would create an empty database, and import nothing.
        raise ValueError(f"no ADK database at {url.database!r}")
    # Not dialects.create_engine: that would switch an SQLite source to WAL,
    # and the source is only read.
    return create_async_engine(url)


async def _schema_version(source: AsyncEngine) -> str:
    async with source.connect() as connection:
        has_sessions = await connection.run_sync(lambda c: sa.inspect(c).has_table("sessions"))
        if not has_sessions:
            raise ValueError("the source has no 'sessions' table: not an ADK DatabaseSessionService database")
        version: str = await connection.run_sync(_schema_check_utils.get_db_schema_version_from_connection)
    if version not in _MODELS:
        raise ValueError(f"unknown ADK session schema version {version!r}")
    return version


async def _copy_shared_state(
    source: AsyncEngine, models: _Models, importer: SessionImporter, report: ImportReport
) -> None:
    """Copies app and user state (overwriting the same keys, so a re-run is harmless) and checks it."""
    async with AsyncSession(source) as reader:
        for app_row in (await reader.scalars(sa.select(models.app_state))).all():
            state = _state_map(app_row.state, f"app state of {app_row.app_name!r}", report)
            if state is None:
                continue
            await importer.import_app_state(app_row.app_name, state)
            report.app_states += 1
            _check_state(state, await importer.stored_app_state(app_row.app_name), report, app_row.app_name)
        for user_row in (await reader.scalars(sa.select(models.user_state))).all():
            what = f"user state of {user_row.user_id!r} in {user_row.app_name!r}"
            state = _state_map(user_row.state, what, report)
            if state is None:
                continue
            await importer.import_user_state(user_row.app_name, user_row.user_id, state)
            report.user_states += 1
            stored = await importer.stored_user_state(user_row.app_name, user_row.user_id)
            _check_state(state, stored, report, what)


async def _copy_sessions(
    source: AsyncEngine,
    models: _Models,
    importer: SessionImporter,
    report: ImportReport,
    console: Console,
) -> None:
    async with AsyncSession(source) as reader:
        total = (await reader.execute(sa.select(sa.func.count()).select_from(models.session))).scalar_one()
    progress = Progress(
        TextColumn("copying sessions"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    with progress:
        task = progress.add_task("sessions", total=total)
        async for session_row, event_rows in _source_sessions(source, models):
            report.sessions_found += 1
            if isinstance(event_rows, Exception):
                name = f"session {session_row.id!r} of user {session_row.user_id!r}"
                report.problems.append(
                    f"{name} in app {session_row.app_name!r}: events unreadable: {event_rows}"
                )
            else:
                report.events_found += len(event_rows)
                await _copy_session(session_row, event_rows, importer, report)
            progress.advance(task)


async def _source_sessions(
    source: AsyncEngine, models: _Models
) -> AsyncIterator[tuple[Any, list[Any] | Exception]]:
    """Every session of the source with its events in ADK's order (or why they cannot be read)."""
    session_model = models.session
    order = (session_model.app_name, session_model.user_id, session_model.id)
    after: tuple[str, str, str] | None = None
    while True:
        async with AsyncSession(source) as reader:
            query = sa.select(session_model).order_by(*order).limit(_SESSIONS_PER_PAGE)
            if after is not None:
                query = query.where(sa.tuple_(*order) > sa.tuple_(*after))
            page = list((await reader.scalars(query)).all())
        for session_row in page:
            yield session_row, await _source_events(source, models, session_row)
        if len(page) < _SESSIONS_PER_PAGE:
            return
        last = page[-1]
        after = (last.app_name, last.user_id, last.id)


async def _source_events(source: AsyncEngine, models: _Models, session_row: Any) -> list[Any] | Exception:
    """The session's event rows in ADK's own read order (by timestamp, ties by event id).

    v0 actions are unpickled (restrictedly) as the rows are fetched, so a
    refused payload surfaces here, and is returned rather than raised.
    """
    event_model = models.event
    query = (
        sa.select(event_model)
        .where(
            event_model.app_name == session_row.app_name,
            event_model.user_id == session_row.user_id,
            event_model.session_id == session_row.id,
        )
        .order_by(event_model.timestamp, event_model.id)
    )
    try:
        async with AsyncSession(source) as reader:
            return list((await reader.scalars(query)).all())
    except Exception as exc:  # restricted unpickling refused, or data ADK itself cannot read
        return exc


async def _copy_session(
    session_row: Any, event_rows: list[Any], importer: SessionImporter, report: ImportReport
) -> None:
    key = SessionKey(session_row.app_name, session_row.user_id, session_row.id)
    name = f"session {key.session_id!r} of user {key.user_id!r} in app {key.app_name!r}"
    stored_count = await importer.stored_event_count(key)
    if stored_count is None:
        session = _imported_session(key, session_row, event_rows, name, report)
        if session is None:
            return
        if await importer.import_session(session):
            report.sessions_copied += 1
        else:  # created by someone else since the count above
            report.sessions_already_there += 1
        stored_count = await importer.stored_event_count(key)
    else:
        report.sessions_already_there += 1
    if stored_count != len(event_rows):
        report.problems.append(
            f"{name}: the target holds {stored_count} events, the source {len(event_rows)} "
            "(a session of that name already existed there, and was left as it was)"
        )


def _imported_session(
    key: SessionKey, session_row: Any, event_rows: list[Any], name: str, report: ImportReport
) -> ImportedSession | None:
    """The session as the backend stores it; None (and a problem reported) if it cannot be copied."""
    state = _state_map(session_row.state, f"state of {name}", report)
    if state is None:
        return None
    events = []
    for event_row in event_rows:
        try:
            # ADK's own conversion: what DatabaseSessionService.get_session returns.
            event = event_row.to_event()
            parsed = parse_event(event.model_dump_json(by_alias=True, exclude_none=True))
            # Encoded as an append encodes it, so reads of imported sessions are as fast.
            parsed.encoded_fields = encode_event_fields(parsed)
            parsed.size = event_size(parsed)
            events.append(parsed)
        except InvalidArgumentError as exc:
            report.problems.append(f"{name}: event {event_row.id!r} is not storable: {exc}")
            return None
        except Exception as exc:  # data that ADK itself cannot turn into an Event
            report.problems.append(f"{name}: event {event_row.id!r} cannot be read: {exc}")
            return None
    return ImportedSession(
        key=key,
        create_time=_seconds(session_row.create_time),
        last_update_time=session_row.get_update_timestamp(),
        state=state,
        events=events,
    )


def _seconds(value: datetime) -> float:
    """ADK's stored datetime as float seconds (naive values are UTC, as ADK writes them)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _state_map(state: dict[str, Any] | None, what: str, report: ImportReport) -> StateMap | None:
    """A state dict as key -> JSON text; None (and a problem reported) if a value is not JSON."""
    result: StateMap = {}
    for state_key, value in (state or {}).items():
        if not _finite(value):
            report.problems.append(
                f"{what}: key {state_key!r} holds NaN or Infinity, which JSON cannot carry"
            )
            return None
        result[state_key] = pydantic_core.to_json(value).decode()
    return result


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def _check_state(expected: StateMap, stored: StateMap, report: ImportReport, what: str) -> None:
    missing = [k for k, v in expected.items() if stored.get(k) != v]
    if missing:
        report.problems.append(f"{what}: keys {missing!r} did not arrive")


def _print_summary(report: ImportReport, console: Console) -> None:
    console.print(
        f"ADK schema v{report.schema_version}: {report.sessions_found} sessions with "
        f"{report.events_found} events, {report.app_states} app states, {report.user_states} user states"
    )
    console.print(
        f"copied {report.sessions_copied} sessions; {report.sessions_already_there} were already there"
    )
    for problem in report.problems:
        console.print(f"[red]problem:[/red] {problem}", highlight=False)
    if report.complete:
        console.print("[green]count check passed: everything in the source is in the target[/green]")
    else:
        console.print(f"[red]count check failed: {len(report.problems)} problems[/red]")
