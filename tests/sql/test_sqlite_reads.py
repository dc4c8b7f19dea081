"""Reads on SQLite (a session, a page of its events): their few statements run as the driver's own SQL.

Their rows go through the column types' own result
processors (quoted state keys, display names), so what it returns must be
exactly what the one-statement read through SQLAlchemy (PostgreSQL's) returns.
"""

from __future__ import annotations

import dataclasses
import pathlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from google.adk.events.event import Event as AdkEvent
from sqlalchemy import event
from sqlalchemy.pool import Pool

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.backends.base import (
    DEFAULT_BUDGET,
    DEFAULT_EVENT_CACHE_BYTES,
    EventWindow,
    Expiry,
    Metadata,
    NewEvent,
    ScopedState,
    SessionKey,
)
from adk_grpc_sessions.server.backends.sql import SqlBackend, dialects, driver_sql, reading
from adk_grpc_sessions.server.backends.sql.dialects import database_url
from adk_grpc_sessions.server.backends.sql.event_cache import EventCache
from adk_grpc_sessions.server.backends.sql.queries.events import select_window
from adk_grpc_sessions.server.backends.sql.queries.rows import read_events
from adk_grpc_sessions.server.backends.sql.queries.sessions import select_session
from adk_grpc_sessions.server.runtime.config import ServerConfig, config_from
from adk_grpc_sessions.server.runtime.serve import SessionServer

_KEY = SessionKey("app", "u", "s")


@pytest.fixture
async def backend(tmp_path: pathlib.Path) -> AsyncIterator[SqlBackend]:
    """A started SQLite ``SqlBackend`` on a new file."""
    opened = SqlBackend.from_uri(f"sqlite:///{tmp_path / 'sessions.db'}")
    await opened.upgrade_schema()
    await opened.start()
    yield opened
    await opened.close()


def _event(number: int) -> NewEvent:
    return NewEvent(
        id=f"e{number}",
        invocation_id="i",
        author="a",
        branch="",
        timestamp=2.0 + number / 3,
        state_delta=ScopedState(session={"turn\u0000 key": str(number)}),
        event_json=f'{{"id": "e{number}", "timestamp": {2.0 + number / 3!r}}}',
        wire_cache=b"\x00cache" if number % 2 else b"",
    )


async def _session_with_events(backend: SqlBackend, count: int) -> None:
    record = await backend.create_session(
        _KEY,
        ScopedState(app={"app:k": "1"}, user={"user:\u00e9": '"\\u0000"'}, session={"own": "{}"}),
        1.0 / 3,
        expiry=Expiry(expire_time=4e9, ttl=3600.5),
        metadata=Metadata("a \u0000 name", {"team": "x"}),
    )
    revision = record.revision
    for number in range(count):
        revision = (await backend.append_event(_KEY, _event(number), revision)).revision


def _count_built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, the number of events each read builds from fetched rows, in order."""
    built: list[int] = []

    def counting(rows: Any) -> list[Any]:
        events = read_events(rows)
        built.append(len(events))
        return events

    monkeypatch.setattr(reading, "read_events", counting)
    return built


async def _read_session(backend: SqlBackend) -> list[str]:
    record = await backend.get_session(_KEY, EventWindow())
    assert record is not None
    return [stored.id for stored in record.events]


async def _read_event_page(backend: SqlBackend) -> list[str]:
    page = await backend.list_events(_KEY, None, 100, None)
    return [stored.id for stored in page.items]


@pytest.mark.parametrize(
    ("read", "statements"), [(_read_session, 3), (_read_event_page, 2)], ids=["session", "event-page"]
)
async def test_a_read_on_sqlite_runs_its_statements_as_driver_sql_none_through_sqlalchemy(
    backend: SqlBackend,
    tmp_path: pathlib.Path,
    read: Callable[[SqlBackend], Awaitable[list[str]]],
    statements: int,
) -> None:
    await _session_with_events(backend, 3)
    await backend.close()
    through_sqlalchemy: list[str] = []
    run: list[str] = []

    def trace(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(
            dbapi_connection, sqlite3.Connection
        ):  # the threads' connections, not the async engine's
            dbapi_connection.set_trace_callback(run.append)

    def seen(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        through_sqlalchemy.append(statement)

    reopened = SqlBackend.from_uri(f"sqlite:///{tmp_path / 'sessions.db'}")
    event.listen(Pool, "connect", trace)
    event.listen(sa.Engine, "before_cursor_execute", seen)
    try:
        await reopened.start()
        run.clear()
        through_sqlalchemy.clear()
        ids = await read(reopened)
    finally:
        event.remove(sa.Engine, "before_cursor_execute", seen)
        event.remove(Pool, "connect", trace)
        await reopened.close()

    assert ids == ["e0", "e1", "e2"]
    assert through_sqlalchemy == []
    queries = [statement for statement in run if statement.split()[0] not in ("BEGIN", "COMMIT", "PRAGMA")]
    assert len(queries) == statements, queries


@pytest.mark.parametrize(
    "window",
    [
        EventWindow(),
        EventWindow(num_recent_events=2),
        EventWindow(num_recent_events=0),
        EventWindow(after_timestamp=2.5),
        EventWindow(num_recent_events=3, after_timestamp=2.0),
    ],
    ids=["all", "recent", "none", "after", "recent-after"],
)
async def test_the_driver_sql_read_returns_what_the_read_through_sqlalchemy_returns(
    backend: SqlBackend, tmp_path: pathlib.Path, window: EventWindow
) -> None:
    await _session_with_events(backend, 5)
    engine = dialects.create_sqlite_sync_engine(
        database_url(f"sqlite:///{tmp_path / 'sessions.db'}"), connections=1, begin="DEFERRED"
    )
    try:
        with engine.connect() as connection, connection.begin():
            through_sqlalchemy = reading.session_at_once(connection, _KEY, window, DEFAULT_BUDGET, 10.0)
            as_driver_sql = reading.session(connection, _KEY, window, DEFAULT_BUDGET, 10.0)
            cache = EventCache()
            from_cache = [
                reading.session(connection, _KEY, window, DEFAULT_BUDGET, 10.0, cache) for _ in range(2)
            ]
    finally:
        engine.dispose()

    assert isinstance(as_driver_sql, type(through_sqlalchemy))
    assert as_driver_sql == through_sqlalchemy
    assert from_cache == [through_sqlalchemy, through_sqlalchemy]
    assert as_driver_sql is not None and as_driver_sql.state.session["turn\u0000 key"] == "4"
    assert as_driver_sql.metadata.display_name == "a \u0000 name"


async def test_a_missing_or_expired_session_reads_as_none_through_driver_sql(
    backend: SqlBackend, tmp_path: pathlib.Path
) -> None:
    await _session_with_events(backend, 1)
    engine = dialects.create_sqlite_sync_engine(
        database_url(f"sqlite:///{tmp_path / 'sessions.db'}"), connections=1, begin="DEFERRED"
    )
    try:
        with engine.connect() as connection, connection.begin():
            missing = reading.session(
                connection, SessionKey("app", "u", "other"), EventWindow(), DEFAULT_BUDGET, 10.0
            )
            expired = reading.session(connection, _KEY, EventWindow(), DEFAULT_BUDGET, 4e9)
    finally:
        engine.dispose()

    assert missing is None and expired is None


@pytest.mark.parametrize(
    ("after_timestamp", "page_size", "after"),
    [(None, 100, None), (None, 2, None), (None, 2, 2), (2.5, 100, None), (2.0, 2, 1)],
    ids=["all", "first-page", "next-page", "after", "after-paged"],
)
async def test_the_driver_sql_event_page_is_the_page_read_through_sqlalchemy(
    backend: SqlBackend,
    tmp_path: pathlib.Path,
    after_timestamp: float | None,
    page_size: int,
    after: int | None,
) -> None:
    await _session_with_events(backend, 5)
    engine = dialects.create_sqlite_sync_engine(
        database_url(f"sqlite:///{tmp_path / 'sessions.db'}"), connections=1, begin="DEFERRED"
    )
    try:
        with engine.connect() as connection, connection.begin():
            through_sqlalchemy = reading.event_page_at_once(
                connection, _KEY, after_timestamp, page_size, after, DEFAULT_BUDGET, 10.0
            )
            as_driver_sql = reading.event_page(
                connection, _KEY, after_timestamp, page_size, after, DEFAULT_BUDGET, 10.0
            )
            cache = EventCache()
            from_cache = [
                reading.event_page(
                    connection, _KEY, after_timestamp, page_size, after, DEFAULT_BUDGET, 10.0, cache
                )
                for _ in range(2)
            ]
    finally:
        engine.dispose()

    assert as_driver_sql == through_sqlalchemy
    assert as_driver_sql.items
    assert from_cache == [through_sqlalchemy, through_sqlalchemy]


@pytest.mark.parametrize("query", ["session", "window"])
async def test_rows_selected_by_position_hold_what_the_named_rows_hold(
    backend: SqlBackend, tmp_path: pathlib.Path, query: str
) -> None:
    await _session_with_events(backend, 3)
    engine = dialects.create_sqlite_sync_engine(
        database_url(f"sqlite:///{tmp_path / 'sessions.db'}"), connections=1, begin="DEFERRED"
    )
    try:
        with engine.connect() as connection, connection.begin():
            (session_row,) = driver_sql.select(connection, *select_session(_KEY, None))
            bound = (
                select_session(_KEY, None)
                if query == "session"
                else select_window(session_row.session_pk, session_row.last_sequence, EventWindow())
            )
            named = driver_sql.select(connection, *bound)
            by_position = driver_sql.select(connection, *bound, named=False)
    finally:
        engine.dispose()

    # The session's row has converting columns (its display name): converted all the same.
    assert [list(row) for row in by_position] == [list(row) for row in named]
    assert len(named) == (1 if query == "session" else 3)


async def test_a_session_read_again_on_sqlite_builds_only_the_events_appended_since(
    backend: SqlBackend, monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    await _session_with_events(backend, 5)
    built = _count_built(monkeypatch)
    assert await _read_session(backend) == [f"e{number}" for number in range(5)]
    # Appended by another server on the file: this one learns of the event only by reading it.
    other = SqlBackend.from_uri(f"sqlite:///{tmp_path / 'sessions.db'}")
    await other.start()
    try:
        record = await other.get_session(_KEY, EventWindow())
        assert record is not None
        await other.append_event(_KEY, _event(5), record.revision)
    finally:
        await other.close()
    built.clear()

    assert await _read_session(backend) == [f"e{number}" for number in range(6)]
    assert await _read_event_page(backend) == [f"e{number}" for number in range(6)]
    page = await backend.list_events(_KEY, None, 2, None)
    assert [stored.id for stored in page.items] == ["e0", "e1"]
    assert page.next_cursor is not None
    assert built == [1]


async def test_a_session_read_after_appends_on_this_server_fetches_no_events(
    backend: SqlBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _session_with_events(backend, 3)
    built = _count_built(monkeypatch)
    record = await backend.get_session(_KEY, EventWindow())
    assert record is not None
    revision = record.revision
    for number in (3, 4):
        revision = (await backend.append_event(_KEY, _event(number), revision)).revision
    built.clear()

    assert await _read_session(backend) == [f"e{number}" for number in range(5)]
    assert await _read_event_page(backend) == [f"e{number}" for number in range(5)]
    assert built == []


async def test_a_sqlite_server_reads_what_another_server_wrote_since_its_last_read(
    backend: SqlBackend, tmp_path: pathlib.Path
) -> None:
    await _session_with_events(backend, 3)
    other = SqlBackend.from_uri(f"sqlite:///{tmp_path / 'sessions.db'}")
    await other.start()
    try:
        assert await _read_session(backend) == ["e0", "e1", "e2"]
        record = await other.get_session(_KEY, EventWindow())
        assert record is not None
        await other.append_event(_KEY, _event(3), record.revision)
        assert await _read_session(backend) == ["e0", "e1", "e2", "e3"]

        await other.delete_session(_KEY)
        made_again = await other.create_session(_KEY, ScopedState(), 9.0)
        await other.append_event(_KEY, _event(7), made_again.revision)

        assert await _read_session(backend) == ["e7"]
        assert await _read_event_page(backend) == ["e7"]
    finally:
        await other.close()


async def test_a_sqlite_server_keeps_no_events_of_a_session_it_deleted_or_a_user_it_erased(
    backend: SqlBackend,
) -> None:
    cache = backend._event_cache
    assert cache is not None
    await _session_with_events(backend, 2)
    other = SessionKey("app", "u", "other")
    created = await backend.create_session(other, ScopedState(), 1.0)
    await backend.append_event(other, _event(9), created.revision)
    assert await _read_session(backend) == ["e0", "e1"]
    assert await backend.get_session(other, EventWindow()) is not None
    kept_both = cache.size

    await backend.delete_session(_KEY)
    assert 0 < cache.size < kept_both

    await backend.erase_user("app", "u")
    assert cache.size == 0


async def test_a_sqlite_server_keeps_no_events_of_a_session_it_purged(backend: SqlBackend) -> None:
    cache = backend._event_cache
    assert cache is not None
    backend.clock = lambda: 100.0  # type: ignore[method-assign]
    created = await backend.create_session(_KEY, ScopedState(), 100.0, expiry=Expiry(expire_time=200.0))
    await backend.append_event(_KEY, _event(0), created.revision)
    assert await _read_session(backend) == ["e0"]
    assert cache.size > 0

    backend.clock = lambda: 300.0  # type: ignore[method-assign]
    assert (await backend.purge_expired(10)).purged == [_KEY]
    assert cache.size == 0


def test_the_event_cache_size_comes_from_a_flag_or_the_environment_and_may_not_be_negative() -> None:
    assert config_from({}, {}).event_cache_bytes == DEFAULT_EVENT_CACHE_BYTES
    assert config_from({}, {"ADK_GRPC_SESSIONS_EVENT_CACHE_BYTES": "0"}).event_cache_bytes == 0
    assert config_from({"event_cache_bytes": 1024}, {}).event_cache_bytes == 1024
    with pytest.raises(ValueError, match="--event-cache-bytes"):
        config_from({"event_cache_bytes": -1}, {})


async def test_a_sqlite_server_told_to_keep_no_events_reads_every_event_each_time(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = SqlBackend.from_uri(f"sqlite:///{tmp_path / 'sessions.db'}")
    backend.event_cache_bytes = 0
    await backend.upgrade_schema()
    await backend.start()
    try:
        await _session_with_events(backend, 3)
        built = _count_built(monkeypatch)
        for _ in range(2):
            assert await _read_session(backend) == ["e0", "e1", "e2"]
        assert built == [3, 3]
    finally:
        await backend.close()


@pytest.mark.parametrize(("cache_bytes", "built_again"), [(None, []), (0, [3])], ids=["default", "none"])
async def test_a_served_sqlite_server_keeps_events_as_its_setting_says(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, cache_bytes: int | None, built_again: list[int]
) -> None:
    uri = f"sqlite:///{tmp_path / 'sessions.db'}"
    config = ServerConfig(listen=["127.0.0.1:0"], backend=uri)
    if cache_bytes is not None:
        config = dataclasses.replace(config, event_cache_bytes=cache_bytes)
    server = SessionServer(config)
    await server.start()
    try:
        async with GrpcSessionService(f"127.0.0.1:{server.ports[0]}") as client:
            session = await client.create_session(app_name="app", user_id="u")
            for number in range(3):
                await client.append_event(
                    session, AdkEvent(id=f"e{number}", author="agent", invocation_id="i")
                )
            built = _count_built(monkeypatch)
            for _ in range(2):
                read = await client.get_session(app_name="app", user_id="u", session_id=session.id)
                assert read is not None
                assert [event.id for event in read.events] == ["e0", "e1", "e2"]
            assert built == [3, *built_again]
    finally:
        await server.stop()
