"""PostgreSQL: a batch of appends goes straight to the driver, and through SQLAlchemy when that fails.

The batch's statement runs on a kept connection's asyncpg connection
(``PostgresqlExecutor.fetch``); SQLAlchemy never sees it then. Whatever the
way it took, an append's outcome is the same: stored once, or refused for
the same reason.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    EventWindow,
    NewEvent,
    ScopedState,
    SessionKey,
    SessionNotFoundError,
    StaleRevisionError,
)
from adk_grpc_sessions.server.backends.sql import SqlBackend, driver_sql
from adk_grpc_sessions.server.backends.sql.appends import postgresql
from tests.sql.conftest import new_database_uri

KEY = SessionKey("app", "user", "s")


@pytest.fixture
async def backend(tmp_path: pathlib.Path) -> AsyncIterator[SqlBackend]:
    """A started backend on a new PostgreSQL database, with one session (``KEY``) and one append to it.

    The append leaves a connection kept idle, on which the next batch runs.
    """
    opened = SqlBackend.from_uri(await new_database_uri("postgresql", tmp_path))
    await opened.upgrade_schema()
    await opened.start()
    created = await opened.create_session(KEY, ScopedState(), 1.0)
    await opened.append_event(KEY, new_event("e0"), created.revision)
    yield opened
    await opened.close()


def new_event(event_id: str, delta: ScopedState | None = None) -> NewEvent:
    return NewEvent(
        id=event_id,
        invocation_id="inv",
        author="user",
        branch="",
        timestamp=5.0,
        state_delta=delta or ScopedState(),
        event_json=json.dumps({"id": event_id, "timestamp": 5.0}),
    )


@contextmanager
def batches_through_sqlalchemy(backend: SqlBackend) -> Iterator[list[str]]:
    """The batch statements SQLAlchemy runs meanwhile (one entry each)."""
    engine = backend.engine.sync_engine
    batch_sql = driver_sql.driver_statement(postgresql.statements(engine.dialect)[0], engine.dialect).sql
    seen: list[str] = []

    def before_cursor_execute(*args: Any) -> None:
        if args[2] == batch_sql:
            seen.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before_cursor_execute)


async def revision(backend: SqlBackend) -> int:
    record = await backend.get_session(KEY, EventWindow())
    assert record is not None
    return record.revision


async def run(backend: SqlBackend, *statements: str) -> None:
    async with backend.transaction(write=True) as connection:
        for statement in statements:
            await connection.exec_driver_sql(statement)


async def test_an_append_on_a_kept_connection_is_stored_without_sqlalchemy(backend: SqlBackend) -> None:
    with batches_through_sqlalchemy(backend) as seen:
        result = await backend.append_event(
            KEY, new_event("e1", ScopedState(session={"k": "1"}, user={"u": "2"})), await revision(backend)
        )
    assert seen == []
    stored = await backend.get_session(KEY, EventWindow())
    assert stored is not None
    assert [event.id for event in stored.events] == ["e0", "e1"]
    assert (stored.revision, stored.state.session, stored.state.user) == (
        result.revision,
        {"k": "1"},
        {"u": "2"},
    )


async def test_a_stale_append_on_the_driver_is_refused_as_stale(backend: SqlBackend) -> None:
    stale = await revision(backend)
    await backend.append_event(KEY, new_event("e1"), stale)
    with batches_through_sqlalchemy(backend) as seen, pytest.raises(StaleRevisionError):
        await backend.append_event(KEY, new_event("e2"), stale)
    assert seen == []


async def test_an_append_retried_on_the_driver_is_already_applied(backend: SqlBackend) -> None:
    before = await revision(backend)
    first = await backend.append_event(KEY, new_event("e1"), before)
    with batches_through_sqlalchemy(backend) as seen:
        again = await backend.append_event(KEY, new_event("e1"), before)
    assert seen == []
    assert again.already_applied and again.revision == first.revision == await revision(backend)


async def test_an_append_to_a_missing_session_on_the_driver_is_refused_as_not_found(
    backend: SqlBackend,
) -> None:
    with batches_through_sqlalchemy(backend) as seen, pytest.raises(SessionNotFoundError):
        await backend.append_event(SessionKey("app", "user", "missing"), new_event("e1"), 2)
    assert seen == []


async def test_an_append_the_driver_fails_is_stored_once_through_sqlalchemy(backend: SqlBackend) -> None:
    # The database refuses the first insert of an event once (as a
    # serialization failure, which leaves nothing behind), then lets it be.
    await run(
        backend,
        "CREATE SEQUENCE test_refusals",
        "CREATE FUNCTION test_refuse_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF nextval('test_refusals') = 1 THEN "
        "RAISE EXCEPTION 'refused once' USING ERRCODE = 'serialization_failure'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER test_refuse_once BEFORE INSERT ON ags_events "
        "FOR EACH ROW EXECUTE FUNCTION test_refuse_once()",
    )
    with batches_through_sqlalchemy(backend) as seen:
        result = await backend.append_event(
            KEY, new_event("e1", ScopedState(session={"k": "1"})), await revision(backend)
        )
    assert len(seen) == 1, "the statement ran again through SQLAlchemy"
    stored = await backend.get_session(KEY, EventWindow())
    assert stored is not None
    assert [event.id for event in stored.events] == ["e0", "e1"]
    assert (stored.revision, stored.state.session) == (result.revision, {"k": "1"})
    assert not result.already_applied
    # The connection the database answered is still good for the next append.
    with batches_through_sqlalchemy(backend) as seen:
        await backend.append_event(KEY, new_event("e2"), result.revision)
    assert seen == []


async def test_an_append_whose_kept_connection_was_ended_is_stored_once_on_a_new_one(
    backend: SqlBackend,
) -> None:
    before = await revision(backend)
    await run(
        backend,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    with batches_through_sqlalchemy(backend) as seen:
        result = await backend.append_event(KEY, new_event("e1"), before)
    assert seen, "the statement ran again through SQLAlchemy"
    stored = await backend.get_session(KEY, EventWindow())
    assert stored is not None
    assert [event.id for event in stored.events] == ["e0", "e1"]
    assert stored.revision == result.revision and not result.already_applied
    with batches_through_sqlalchemy(backend) as seen:
        await backend.append_event(KEY, new_event("e2"), result.revision)
    assert seen == [], "the new connection is kept, and the driver used again"
