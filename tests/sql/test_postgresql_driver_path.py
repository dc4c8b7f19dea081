"""PostgreSQL: a batch of appends, a lone create and a session's read go straight to the driver.

Through SQLAlchemy if that fails. The batch's statement runs on a kept
connection's asyncpg connection (``PostgresqlExecutor.fetch``), a session's
read too (``select``), and a lone create's statement, once, its
notification in it (``PostgresqlExecutor.fetch_once``); SQLAlchemy never
sees them then. Whatever the way it took, the outcome is the same: stored
once, or refused for the same reason. A create whose connection was lost
while it ran may have committed: it is reported as unavailable, never run again.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from adk_grpc_sessions.server.backends.base import (
    DEFAULT_BUDGET,
    DEFAULT_LIMITS,
    NEVER,
    NO_METADATA,
    BackendUnavailableError,
    EventWindow,
    Expiry,
    Metadata,
    NewEvent,
    ScopedState,
    SessionExistsError,
    SessionKey,
    SessionNotFoundError,
    SessionRecord,
    StaleRevisionError,
)
from adk_grpc_sessions.server.backends.sql import SqlBackend, creates, driver_sql, reading, transactions
from adk_grpc_sessions.server.backends.sql.appends import postgresql
from adk_grpc_sessions.server.backends.sql.creates import PendingCreate
from adk_grpc_sessions.server.backends.sql.queries import sessions as session_queries
from adk_grpc_sessions.server.backends.sql.queries import watching
from adk_grpc_sessions.server.backends.sql.transactions import server
from adk_grpc_sessions.server.backends.sql.transactions.server import PostgresqlExecutor
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
def through_sqlalchemy(backend: SqlBackend, *statements: sa.Executable) -> Iterator[list[str]]:
    """The runs of ``statements`` SQLAlchemy makes meanwhile (one entry each)."""
    engine = backend.engine.sync_engine
    sqls = {driver_sql.driver_statement(statement, engine.dialect).sql for statement in statements}
    seen: list[str] = []

    def before_cursor_execute(*args: Any) -> None:
        if args[2] in sqls:
            seen.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before_cursor_execute)


def batches_through_sqlalchemy(backend: SqlBackend) -> AbstractContextManager[list[str]]:
    """The batch statements (of every form) SQLAlchemy runs meanwhile (one entry each)."""
    return through_sqlalchemy(backend, *postgresql.statements(backend.engine.dialect))


def reads_through_sqlalchemy(backend: SqlBackend) -> AbstractContextManager[list[str]]:
    """The whole-session reads (of every form) that SQLAlchemy runs meanwhile (one entry each)."""
    windows = [
        EventWindow(num_recent_events=recent, after_timestamp=after)
        for recent in (None, 3)
        for after in (None, 1.0)
    ]
    return through_sqlalchemy(
        backend,
        *(session_queries.select_whole_session(KEY, window, DEFAULT_BUDGET, 0.0)[0] for window in windows),
    )


def creates_through_sqlalchemy(backend: SqlBackend) -> AbstractContextManager[list[str]]:
    """The creates made at once that SQLAlchemy runs meanwhile (one entry each)."""
    return through_sqlalchemy(backend, session_queries.create_at_once(KEY, 0.0, NEVER)[0])


@contextmanager
def statements_on_the_driver(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The statements asyncpg's connections that wrote sessions ran meanwhile, BEGIN and COMMIT included.

    Filled once the block ends. Only connections that ran a statement on
    ``ags_sessions`` count: other connections of the process (a listener's,
    the pool's transactions around them) run statements of their own meanwhile.
    """
    seen: list[str] = []
    ran: list[tuple[int, str]] = []
    for method in ("execute", "fetch"):
        original = getattr(asyncpg.Connection, method)

        async def spy(
            self: asyncpg.Connection, query: str, *args: Any, _original: Any = original, **kw: Any
        ) -> Any:
            ran.append((id(self), query))
            return await _original(self, query, *args, **kw)

        monkeypatch.setattr(asyncpg.Connection, method, spy)
    try:
        yield seen
    finally:
        writers = {connection for connection, query in ran if "ags_sessions" in query}
        seen[:] = [query for connection, query in ran if connection in writers]


@asynccontextmanager
async def notifications(backend: SqlBackend) -> AsyncIterator[list[str]]:
    """The payloads heard meanwhile on the watch channel, by a connection of its own listening."""
    url = backend.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    listener = await asyncpg.connect(url)
    heard: list[str] = []
    await listener.add_listener(watching.CHANNEL, lambda *notification: heard.append(notification[3]))
    try:
        yield heard
    finally:
        await listener.close()


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not within 5 s")


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


@contextmanager
def driver_parameters(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Sequence[Any]]]:
    """The parameters of each statement run on the driver meanwhile."""
    seen: list[Sequence[Any]] = []
    fetch_on_driver = server._fetch_on_driver

    async def recording(
        connection: AsyncConnection, sql: str, parameters: Sequence[Any], **kwargs: Any
    ) -> Any:
        seen.append(parameters)
        return await fetch_on_driver(connection, sql, parameters, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(server, "_fetch_on_driver", recording)
        yield seen


async def test_a_lone_append_goes_to_the_driver_as_values_and_a_batch_as_arrays(
    backend: SqlBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = SessionKey("app", "user", "other")
    other_revision = (await backend.create_session(other, ScopedState(), 1.0)).revision
    current = await revision(backend)  # read before: a read goes to the driver too
    with driver_parameters(monkeypatch) as lone:
        first = await backend.append_event(KEY, new_event("e1"), current)
    assert "e1" in lone[0], "the lone append's event id is a value of its own"
    assert [] not in lone[0], "the scopes of state it sets nothing in are no arrays at all"
    with driver_parameters(monkeypatch) as together:
        await asyncio.gather(
            backend.append_event(KEY, new_event("e2"), first.revision),
            backend.append_event(other, new_event("o1"), other_revision),
        )
    assert ["e2", "o1"] in together[0], "a batch's event ids are one array"
    stored = await backend.get_session(KEY, EventWindow())
    assert stored is not None and [event.id for event in stored.events] == ["e0", "e1", "e2"]


async def test_an_append_reaches_a_kept_connections_driver_without_a_greenlet(
    backend: SqlBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops: list[AsyncConnection] = []
    get_raw_connection = AsyncConnection.get_raw_connection

    async def counted(connection: AsyncConnection) -> Any:
        hops.append(connection)
        return await get_raw_connection(connection)

    monkeypatch.setattr(AsyncConnection, "get_raw_connection", counted)
    result = await backend.append_event(KEY, new_event("e1"), await revision(backend))
    assert hops == []
    assert not result.already_applied and result.revision == await revision(backend)


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


async def test_a_lone_create_is_made_without_sqlalchemy_with_the_shared_state(backend: SqlBackend) -> None:
    await backend.create_session(
        SessionKey("app", "user", "with-state"), ScopedState(app={"a": "1"}, user={"u\u0000": "2"}), 2.0
    )
    with creates_through_sqlalchemy(backend) as seen:
        created = await backend.create_session(SessionKey("app", "user", "new"), ScopedState(), 3.0)
    assert seen == []
    assert (created.state.app, created.state.user, created.state.session) == (
        {"a": "1"},
        {"u\u0000": "2"},
        {},
    )
    stored = await backend.get_session(SessionKey("app", "user", "new"), EventWindow())
    assert stored is not None and stored.revision == created.revision


async def test_a_lone_create_is_one_statement_on_the_driver_its_notification_in_it(
    backend: SqlBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    with statements_on_the_driver(monkeypatch) as seen:
        await backend.create_session(SessionKey("app", "user", "new"), ScopedState(), 3.0)
    assert len(seen) == 1, seen
    assert "pg_notify" in seen[0]


async def test_a_lone_create_notifies_the_listening_servers_once_and_a_refused_one_not(
    backend: SqlBackend,
) -> None:
    new, last = SessionKey("app", "user", "new"), SessionKey("app", "user", "last")
    async with notifications(backend) as heard:
        await backend.create_session(new, ScopedState(), 3.0)
        with pytest.raises(SessionExistsError):
            await backend.create_session(KEY, ScopedState(), 3.0)
        await backend.create_session(last, ScopedState(), 3.0)
        # Notifications come in commit order: the last one heard, every earlier one was.
        await until(lambda: watching.created_payload(last) in heard)
    assert [watching.parse_payload(text) for text in heard] == [
        watching.Notified(new, created=True),
        watching.Notified(last, created=True),
    ]


async def test_a_lone_create_of_a_taken_name_is_refused_as_taken(backend: SqlBackend) -> None:
    with pytest.raises(SessionExistsError):
        await backend.create_session(KEY, ScopedState(), 3.0)
    with creates_through_sqlalchemy(backend) as seen:
        await backend.create_session(SessionKey("app", "user", "next"), ScopedState(), 3.0)
    assert seen == [], "the connection is good for the next create"


async def test_a_lone_create_whose_kept_connection_was_ended_is_made_once_on_a_new_one(
    backend: SqlBackend,
) -> None:
    await run(
        backend,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    created = await backend.create_session(SessionKey("app", "user", "new"), ScopedState(), 3.0)
    stored = await backend.get_session(SessionKey("app", "user", "new"), EventWindow())
    assert stored is not None and stored.revision == created.revision
    with creates_through_sqlalchemy(backend) as seen:
        await backend.create_session(SessionKey("app", "user", "next"), ScopedState(), 3.0)
    assert seen == []


async def test_a_lone_create_whose_commit_is_cut_off_is_unavailable_and_not_run_again(
    backend: SqlBackend,
) -> None:
    # Its connection ends in its commit: whether the commit landed is not known.
    await run(
        backend,
        "CREATE FUNCTION test_cut() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.session_id = 'cut' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; "
        "RETURN NEW; END $$",
        "CREATE CONSTRAINT TRIGGER test_cut AFTER INSERT ON ags_sessions "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_cut()",
    )
    with creates_through_sqlalchemy(backend) as seen, pytest.raises(BackendUnavailableError):
        await backend.create_session(SessionKey("app", "user", "cut"), ScopedState(), 3.0)
    assert seen == [], "not run again"
    created = await backend.create_session(SessionKey("app", "user", "after"), ScopedState(), 3.0)
    assert created.revision > 0


async def test_creates_stored_together_on_the_driver_are_one_statement_and_refuse_names_taken(
    backend: SqlBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = transactions.Database(backend.engine.url)
    executor = PostgresqlExecutor(database)
    first, second = SessionKey("app", "user", "b-first"), SessionKey("app", "other", "a-second")
    batch = [
        PendingCreate(name, ScopedState(), 3.0, NEVER, NO_METADATA, DEFAULT_LIMITS, None)
        for name in (first, KEY, second, first)
    ]
    warm_up = PendingCreate(
        SessionKey("app", "user", "warm-up"), ScopedState(), 3.0, NEVER, NO_METADATA, DEFAULT_LIMITS, None
    )
    try:
        await creates.store_on_driver(executor, [warm_up])  # leaves a connection kept
        async with notifications(backend) as heard:
            with statements_on_the_driver(monkeypatch) as seen:
                outcomes = await creates.store_on_driver(executor, batch, notify=True)
            await until(lambda: len(heard) >= 2)
    finally:
        await executor.close()
        await database.dispose()
    assert outcomes is not None and len(seen) == 1
    made, taken, other, twice = outcomes
    assert isinstance(taken, SessionExistsError) and isinstance(twice, SessionExistsError)
    assert isinstance(made, SessionRecord) and isinstance(other, SessionRecord)
    for record in (made, other):
        stored = await backend.get_session(record.key, EventWindow())
        assert stored is not None and stored.revision == record.revision
    assert sorted(heard) == sorted(watching.created_payload(name) for name in (first, second))


async def test_creates_made_together_through_the_backend_are_stored_on_the_driver(
    backend: SqlBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first create finds the writer free and goes alone; the others wait
    # for it and are stored together, as one statement on the driver too.
    engine = backend.engine.sync_engine
    inserts: list[str] = []

    def before_cursor_execute(*args: Any) -> None:
        if "INSERT INTO ags_sessions" in args[2]:
            inserts.append(args[2])

    names = [SessionKey("app", "user", f"together-{n}") for n in range(8)]
    sa.event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        with statements_on_the_driver(monkeypatch) as seen:
            made = await asyncio.gather(*(backend.create_session(name, ScopedState(), 3.0) for name in names))
    finally:
        sa.event.remove(engine, "before_cursor_execute", before_cursor_execute)
    assert inserts == [], "no create went through SQLAlchemy"
    assert 1 <= len(seen) < len(names), seen
    assert not any(statement.lstrip().upper().startswith(("BEGIN", "COMMIT")) for statement in seen)
    for record in made:
        stored = await backend.get_session(record.key, EventWindow())
        assert stored is not None and stored.revision == record.revision


async def test_a_session_read_is_one_statement_on_the_driver_as_sqlalchemy_would_read_it(
    backend: SqlBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = SessionKey("app", "user", "read")
    created = await backend.create_session(
        key,
        ScopedState(app={"a\u0000": "1"}, user={"u": '"2"'}, session={"s\u0000k": "[3]"}),
        2.0,
        expiry=Expiry(expire_time=4_000_000_000.0),
        metadata=Metadata(display_name="named \u0000", labels={"l": "v"}),
    )
    await backend.append_event(key, new_event("r1", ScopedState(session={"t": "4"})), created.revision)
    window = EventWindow(num_recent_events=5)
    with reads_through_sqlalchemy(backend) as seen, statements_on_the_driver(monkeypatch) as ran:
        read = await backend.get_session(key, window)
    assert seen == []
    assert len(ran) == 1, ran
    async with backend.transaction(write=False) as connection:
        expected = await connection.run_sync(
            lambda sync: reading.session_at_once(sync, key, window, DEFAULT_BUDGET, 3.0)
        )
    assert read == expected
    assert read is not None and read.metadata.display_name == "named \u0000"
    assert read.state.session == {"s\u0000k": "[3]", "t": "4"}


async def test_a_read_whose_kept_connection_was_ended_is_made_through_sqlalchemy_then_on_the_driver_again(
    backend: SqlBackend,
) -> None:
    before = await backend.get_session(KEY, EventWindow())
    await run(
        backend,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    with reads_through_sqlalchemy(backend) as seen:
        read = await backend.get_session(KEY, EventWindow())
    assert seen, "the statement ran again through SQLAlchemy"
    assert read == before
    with reads_through_sqlalchemy(backend) as seen:
        again = await backend.get_session(KEY, EventWindow())
    assert seen == [], "the new connection is kept, and the driver used again"
    assert again == before
