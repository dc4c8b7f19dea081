"""A lone write on SQLite: the threads that run transactions, and the sizes read that judges state.

The threads take work from one queue and hand results back to the event
loop themselves; what a caller sees must be what any executor gives: the
result, the work's own exception, and a clean end on close. The sizes read
of a write that names one scope of a kind matches it by equality, and must
read what the form for many scopes reads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import pathlib
import sqlite3
import threading
import time
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.elements import quoted_name

from adk_grpc_sessions.server.backends.base import (
    AppendResult,
    EventWindow,
    Expiry,
    NewEvent,
    ScopedState,
    SessionKey,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.errors import BackendUnavailableError
from adk_grpc_sessions.server.backends.sql import SqlBackend, dialects, driver_sql, state_limit
from adk_grpc_sessions.server.backends.sql.appends import sqlite as sqlite_appends
from adk_grpc_sessions.server.backends.sql.appends.batch import PendingAppend
from adk_grpc_sessions.server.backends.sql.dialects import database_url
from adk_grpc_sessions.server.backends.sql.queries import sizes
from adk_grpc_sessions.server.backends.sql.schema import key_digest
from adk_grpc_sessions.server.backends.sql.transactions.sqlite import SqliteThreads
from adk_grpc_sessions.server.backends.sql.types import QuotedText
from adk_grpc_sessions.wire.limits import state_entry_bytes

_NAME = "lone-path-test"


@pytest.fixture
async def readers(tmp_path: pathlib.Path) -> AsyncIterator[SqliteThreads]:
    """Two reader threads on a new SQLite file, closed after the test."""
    threads = SqliteThreads(
        database_url(f"sqlite:///{tmp_path / 'threads.db'}"), threads=2, begin="DEFERRED", name=_NAME
    )
    await threads.prepare()
    yield threads
    await threads.close()


def _number(n: int, connection: sa.Connection) -> int:
    return n


def _alive() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(_NAME)]


async def test_work_run_in_a_thread_hands_its_result_to_the_caller(readers: SqliteThreads) -> None:
    done: list[int] = []

    await readers.run(lambda connection: connection.execute(sa.text("SELECT 41 + 1")).scalar_one(), done)

    assert done == [42]


async def test_work_that_raises_raises_its_own_exception_in_the_caller(readers: SqliteThreads) -> None:
    def fail(connection: sa.Connection) -> int:
        raise LookupError("from the thread")

    with pytest.raises(LookupError, match="from the thread"):
        await readers.run(fail, [])
    done: list[int] = []
    await readers.run(lambda connection: 7, done)
    assert done == [7], "the thread serves on after a failure"


async def test_a_caller_that_gives_up_leaves_the_threads_serving(readers: SqliteThreads) -> None:
    waiting = asyncio.create_task(readers.run(lambda connection: time.sleep(0.2), []))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting

    results: list[int] = []
    await asyncio.gather(*(readers.run(functools.partial(_number, n), results) for n in range(4)))

    assert sorted(results) == [0, 1, 2, 3]


async def test_work_queued_before_close_is_done_and_the_threads_end(tmp_path: pathlib.Path) -> None:
    threads = SqliteThreads(
        database_url(f"sqlite:///{tmp_path / 'threads.db'}"), threads=2, begin="DEFERRED", name=_NAME
    )
    await threads.prepare()
    done: list[int] = []

    def slow_read(n: int, connection: sa.Connection) -> int:
        time.sleep(0.02)
        return int(connection.execute(sa.text("SELECT :n"), {"n": n}).scalar_one())

    queued = [asyncio.create_task(threads.run(functools.partial(slow_read, n), done)) for n in range(6)]
    await asyncio.sleep(0)  # every one is queued
    await threads.close()

    await asyncio.gather(*queued)
    assert sorted(done) == list(range(6))
    assert _alive() == []


async def test_work_asked_for_after_close_fails_as_unavailable(readers: SqliteThreads) -> None:
    await readers.close()

    with pytest.raises(BackendUnavailableError, match="closed"):
        await readers.run(lambda connection: 1, [])
    await readers.close()  # again: nothing happens


def _sizes_sql(wanted: sizes.SizesWanted) -> str:
    dialect = sqlite.dialect()
    statement, _ = sizes.select_sizes(dialect, wanted)
    assert isinstance(statement, sa.ClauseElement)
    return str(statement.compile(dialect=dialect))


_KEY = SessionKey("app", "u", "s")


def test_a_write_of_one_session_reads_its_sizes_by_equality() -> None:
    sql = _sizes_sql(sizes.SizesWanted(sessions=[_KEY], session_digests=[key_digest("k")]))

    assert "ags_sessions.session_id = ?" in sql
    assert "ags_session_state.key_digest = ?" in sql
    assert "json_each" not in sql


def test_a_write_of_no_shared_scope_reads_no_shared_sizes() -> None:
    sql = _sizes_sql(sizes.SizesWanted(sessions=[_KEY], session_digests=[key_digest("k")]))

    assert "ags_user_state" not in sql
    assert "ags_app_state" not in sql


def test_a_write_of_several_sessions_reads_them_as_a_list() -> None:
    other = SessionKey("app", "u", "t")

    sql = _sizes_sql(sizes.SizesWanted(sessions=[_KEY, other], session_digests=[key_digest("k")]))

    assert "json_each" in sql


@pytest.fixture
async def backend(tmp_path: pathlib.Path) -> AsyncIterator[SqlBackend]:
    """A started SQLite ``SqlBackend`` on a new file."""
    opened = SqlBackend.from_uri(f"sqlite:///{tmp_path / 'sessions.db'}")
    await opened.upgrade_schema()
    await opened.start()
    yield opened
    await opened.close()


async def _read(backend: SqlBackend, wanted: sizes.SizesWanted) -> state_limit.Sizes:
    async with backend.transaction(write=False) as connection:
        rows = (await connection.execute(*sizes.select_sizes(connection.dialect, wanted))).all()
    return state_limit.sizes_from_rows(rows)


@pytest.mark.parametrize("keys", [["k1"], ["k1", "k2", "absent"]], ids=["one key", "several keys"])
async def test_one_scope_of_each_kind_reads_what_the_form_for_many_reads(
    backend: SqlBackend, keys: list[str]
) -> None:
    other = SessionKey("app", "v", "t")
    for key in (_KEY, other):
        await backend.create_session(key, ScopedState(), 1.0)
    state = {"k1": '"one"', "k2": '"two, longer"'}
    event = NewEvent(
        id="e1",
        invocation_id="i",
        author="a",
        branch="",
        timestamp=2.0,
        state_delta=ScopedState(app=state, user=state, session=state),
        event_json='{"id": "e1", "timestamp": 2.0}',
    )
    record = await backend.get_session(_KEY, EventWindow(num_recent_events=0))
    assert record is not None
    await backend.append_event(_KEY, event, record.revision)
    digests = sorted(map(key_digest, keys))
    one = sizes.SizesWanted(
        sessions=[_KEY],
        session_digests=digests,
        users=[("app", "u")],
        user_digests=digests,
        apps=["app"],
        app_digests=digests,
    )
    many = sizes.SizesWanted(
        sessions=[_KEY, other],
        session_digests=digests,
        users=[("app", "u"), ("app", "v")],
        user_digests=digests,
        apps=["app", "other-app"],
        app_digests=digests,
    )

    alone, among_many = await _read(backend, one), await _read(backend, many)

    assert alone.sessions[_KEY] == among_many.sessions[_KEY]
    assert alone.users[("app", "u")] == among_many.users[("app", "u")]
    assert alone.apps["app"] == among_many.apps["app"]
    assert alone.sessions[_KEY].size > 0 and set(alone.sessions[_KEY].entries) == {
        key_digest("k1"),
        *([key_digest("k2")] if len(keys) > 1 else []),
    }


def _plain_event(event_id: str, timestamp: float = 2.0) -> NewEvent:
    return NewEvent(
        id=event_id,
        invocation_id="i",
        author="a",
        branch="",
        timestamp=timestamp,
        state_delta=ScopedState(),
        event_json=f'{{"id": "{event_id}", "timestamp": {timestamp}}}',
    )


async def _revision(backend: SqlBackend, key: SessionKey) -> int:
    record = await backend.get_session(key, EventWindow(num_recent_events=0))
    assert record is not None
    return record.revision


def _writer(backend_file: pathlib.Path) -> sa.Engine:
    return dialects.create_sqlite_sync_engine(
        database_url(f"sqlite:///{backend_file}"), connections=1, begin="IMMEDIATE"
    )


async def test_a_lone_append_without_state_is_one_claim_and_one_insert(
    backend: SqlBackend, tmp_path: pathlib.Path
) -> None:
    await backend.create_session(_KEY, ScopedState(), 1.0)
    append = PendingAppend(_KEY, _plain_event("e1"), await _revision(backend, _KEY), now=2.0)
    engine = _writer(tmp_path / "sessions.db")
    statements: list[str] = []
    try:
        with engine.connect() as connection, connection.begin():
            dbapi_connection = connection.connection.dbapi_connection
            assert dbapi_connection is not None
            dbapi_connection.set_trace_callback(statements.append)
            (result,) = sqlite_appends.store_batch(connection, [append], StorageLimits())
            dbapi_connection.set_trace_callback(None)
    finally:
        engine.dispose()

    # The claim and the insert, each naming its one row directly (no table of the batch to build and join).
    assert [statement.split()[0] for statement in statements] == ["UPDATE", "INSERT"]
    assert result is not None and result.revision == await _revision(backend, _KEY)


_EVENTS_LIMIT = 100
_REFUSALS = ("stale revision", "event held", "events full", "session closed", "session expired")


async def _refused_append(backend: SqlBackend, key: SessionKey, refusal: str) -> PendingAppend:
    """An append to ``key`` (a new session) that the claim must refuse for ``refusal``."""
    # Still there for the reads below (by the real clock), expired by the append's clock.
    expire_time = time.time() + 3600
    expiry = Expiry(expire_time=expire_time) if refusal == "session expired" else Expiry()
    await backend.create_session(key, ScopedState(), 1.0, expiry=expiry)
    if refusal == "event held":
        await backend.append_event(key, _plain_event("e1"), await _revision(backend, key))
    if refusal == "session closed":
        await backend.close_session(key, 1.5, None)
    revision = await _revision(backend, key) + (2 if refusal == "stale revision" else 0)
    event = _plain_event("e1" if refusal == "event held" else "e2")
    if refusal == "events full":
        event = dataclasses.replace(event, size=_EVENTS_LIMIT + 1)
    return PendingAppend(key, event, revision, now=expire_time + 1 if refusal == "session expired" else 2.0)


@pytest.mark.parametrize("refusal", _REFUSALS)
async def test_a_lone_append_is_refused_as_the_same_append_in_a_batch_is(
    backend: SqlBackend, tmp_path: pathlib.Path, refusal: str
) -> None:
    limits = StorageLimits(max_session_bytes=_EVENTS_LIMIT) if refusal == "events full" else StorageLimits()
    lone = await _refused_append(backend, SessionKey("app", "u", "lone"), refusal)
    batched = await _refused_append(backend, SessionKey("app", "u", "batched"), refusal)
    await backend.create_session(SessionKey("app", "u", "other"), ScopedState(), 1.0)
    other = PendingAppend(
        SessionKey("app", "u", "other"),
        _plain_event("o1", timestamp=1.0),
        await _revision(backend, SessionKey("app", "u", "other")),
        now=2.0,
    )
    revisions = [await _revision(backend, append.key) for append in (lone, batched)]
    engine = _writer(tmp_path / "sessions.db")
    try:
        with engine.connect() as connection, connection.begin():
            alone = sqlite_appends.store_batch(connection, [lone], limits)
        with engine.connect() as connection, connection.begin():
            among_others = sqlite_appends.store_batch(connection, [batched, other], limits)
    finally:
        engine.dispose()

    assert alone == [None]
    assert among_others[0] is None and among_others[1] is not None
    assert [await _revision(backend, append.key) for append in (lone, batched)] == revisions


async def test_each_append_of_a_batch_gets_a_revision_never_given_before(
    backend: SqlBackend, tmp_path: pathlib.Path
) -> None:
    keys = [SessionKey("app", "u", f"s{n}") for n in range(3)]
    for key in keys:
        await backend.create_session(key, ScopedState(), 1.0)
    given = {await _revision(backend, key) for key in keys}
    for n in range(3):  # events, then their session gone: their keys are the largest ever
        await backend.append_event(keys[2], _plain_event(f"gone{n}"), await _revision(backend, keys[2]))
        given.add(await _revision(backend, keys[2]))
    await backend.delete_session(keys[2])
    await backend.create_session(keys[2], ScopedState(), 1.0)
    given.add(await _revision(backend, keys[2]))
    batch = [
        PendingAppend(keys[0], _plain_event("a"), await _revision(backend, keys[0]), now=2.0),
        PendingAppend(keys[1], _plain_event("b"), 12345, now=2.0),  # stale: refused
        PendingAppend(keys[2], _plain_event("c"), await _revision(backend, keys[2]), now=2.0),
    ]
    engine = _writer(tmp_path / "sessions.db")
    try:
        with engine.connect() as connection, connection.begin():
            results = sqlite_appends.store_batch(connection, batch, StorageLimits())
    finally:
        engine.dispose()

    first, refused, last = results
    assert refused is None
    assert first is not None and last is not None
    # An event's revision is even (a creation's odd), and its key the largest ever handed out.
    assert first.revision > max(r for r in given if r % 2 == 0) and last.revision > first.revision
    assert {first.revision, last.revision}.isdisjoint(given)
    assert [await _revision(backend, key) for key in (keys[0], keys[2])] == [first.revision, last.revision]
    record = await backend.get_session(keys[2], EventWindow())
    assert record is not None and [event.id for event in record.events] == ["c"]
    after = await backend.append_event(keys[1], _plain_event("d"), await _revision(backend, keys[1]))
    assert after.revision > last.revision


async def test_a_created_session_gets_a_revision_never_given_before(backend: SqlBackend) -> None:
    newest = SessionKey("app", "u", "newest")
    await backend.create_session(SessionKey("app", "u", "first"), ScopedState(), 1.0)
    await backend.create_session(newest, ScopedState(), 1.0)
    given = await _revision(backend, newest)
    await backend.delete_session(newest)  # the largest key there is now is below the one it had

    created = await asyncio.gather(
        *(backend.create_session(SessionKey("app", "u", f"s{n}"), ScopedState(), 2.0) for n in range(5))
    )

    revisions = [record.revision for record in created]
    assert len(set(revisions)) == len(revisions) and min(revisions) > given
    for record in created:
        assert await _revision(backend, record.key) == record.revision


def _stateful_event(event_id: str, delta: ScopedState, timestamp: float = 2.0) -> NewEvent:
    return dataclasses.replace(_plain_event(event_id, timestamp), state_delta=delta, size=50)


def _store(
    backend_file: pathlib.Path, batch: list[PendingAppend], limits: StorageLimits
) -> list[AppendResult | None]:
    """``store_batch`` of ``batch`` in a writer transaction of its own."""
    engine = _writer(backend_file)
    try:
        with engine.connect() as connection, connection.begin():
            return list(sqlite_appends.store_batch(connection, batch, limits))
    finally:
        engine.dispose()


def _stored_rows(backend_file: pathlib.Path, user_id: str) -> dict[str, list[tuple[object, ...]]]:
    """What storage holds of ``user_id``'s session "s" and its scopes, without the keys that differ by session."""
    queries = {
        "session": "SELECT last_sequence, last_update_time, events_bytes, state_bytes, expire_time"
        " FROM ags_sessions WHERE user_id = :user_id",
        "events": "SELECT sequence, event_id, invocation_id, author, branch, timestamp, state_delta,"
        " event_json, wire_cache, size_bytes FROM ags_events JOIN ags_sessions USING (session_pk)"
        " WHERE user_id = :user_id ORDER BY sequence",
        "session state": "SELECT key_digest, state_key, value, entry_bytes FROM ags_session_state"
        " JOIN ags_sessions USING (session_pk) WHERE user_id = :user_id ORDER BY key_digest",
        "user state": "SELECT key_digest, state_key, value, entry_bytes FROM ags_user_state"
        " WHERE user_id = :user_id ORDER BY key_digest",
        "user size": "SELECT state_bytes FROM ags_user_state_size WHERE user_id = :user_id",
    }
    engine = sa.create_engine(f"sqlite:///{backend_file}")
    try:
        with engine.connect() as connection:
            return {
                name: [tuple(row) for row in connection.execute(sa.text(sql), {"user_id": user_id})]
                for name, sql in queries.items()
            }
    finally:
        engine.dispose()


async def test_a_lone_append_stores_what_the_same_append_in_a_batch_stores(
    backend: SqlBackend, tmp_path: pathlib.Path
) -> None:
    database = tmp_path / "sessions.db"
    lone_key, batched_key, other = (SessionKey("app", u, "s") for u in ("lone", "batched", "other"))
    for key in (lone_key, batched_key, other):
        await backend.create_session(
            key, ScopedState(session={"kept": '"as it was"'}, user={"k": '"old"'}), 1.0
        )

    def append(key: SessionKey, event_id: str, revision: int) -> PendingAppend:
        delta = ScopedState(
            session={"turn": "7", "kept": '"replaced, longer"', "new": "[1, 2]"},
            user={"k": '"new value"', "k2": "true"},
        )
        return PendingAppend(key, _stateful_event(event_id, delta), revision, now=2.0)

    for n in range(2):  # the second append replaces keys the first set
        lone = append(lone_key, f"e{n}", await _revision(backend, lone_key))
        batched = append(batched_key, f"e{n}", await _revision(backend, batched_key))
        unrelated = PendingAppend(other, _plain_event(f"o{n}"), await _revision(backend, other), now=2.0)
        (alone,) = _store(database, [lone], StorageLimits())
        _, among_others = _store(database, [unrelated, batched], StorageLimits())
        assert alone is not None and among_others is not None
        assert lone.judged == batched.judged
        assert dataclasses.replace(alone, revision=0) == dataclasses.replace(among_others, revision=0)
        assert alone.revision == await _revision(backend, lone_key)

    assert _stored_rows(database, "lone") == _stored_rows(database, "batched")


@pytest.mark.parametrize("scope", ["session", "user", "app"])
async def test_a_lone_append_past_the_state_limit_is_refused_and_writes_nothing(
    backend: SqlBackend, tmp_path: pathlib.Path, scope: str
) -> None:
    await backend.create_session(_KEY, ScopedState(), 1.0)
    revision = await _revision(backend, _KEY)
    delta = ScopedState(**{scope: {"big": '"' + "x" * 200 + '"'}})
    append = PendingAppend(_KEY, _stateful_event("e1", delta), revision, now=2.0)

    (result,) = _store(tmp_path / "sessions.db", [append], StorageLimits(max_state_bytes=100))

    assert result is None and append.judged is None
    assert await _revision(backend, _KEY) == revision
    record = await backend.get_session(_KEY, EventWindow())
    assert record is not None and record.events == [] and record.state == ScopedState()


async def test_a_lone_append_to_a_shared_scope_without_a_size_row_makes_one(
    backend: SqlBackend, tmp_path: pathlib.Path
) -> None:
    await backend.create_session(_KEY, ScopedState(), 1.0)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'sessions.db'}")
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM ags_user_state_size"))
        connection.execute(sa.text("DELETE FROM ags_app_state_size"))
    delta = ScopedState(user={"k": '"v"'}, app={"k": '"w"'})
    append = PendingAppend(_KEY, _stateful_event("e1", delta), await _revision(backend, _KEY), now=2.0)

    (result,) = _store(tmp_path / "sessions.db", [append], StorageLimits())

    assert result is not None
    with engine.connect() as connection:
        users = connection.execute(sa.text("SELECT state_bytes FROM ags_user_state_size")).scalars().all()
        apps = connection.execute(sa.text("SELECT state_bytes FROM ags_app_state_size")).scalars().all()
    engine.dispose()
    assert users == [state_entry_bytes("k", '"v"')]
    assert apps == [state_entry_bytes("k", '"w"')]


async def test_a_lone_append_finding_the_database_busy_fails_as_sqlalchemy_reports_a_busy_database(
    backend: SqlBackend, tmp_path: pathlib.Path
) -> None:
    await backend.create_session(_KEY, ScopedState(), 1.0)
    append = PendingAppend(_KEY, _plain_event("e1"), await _revision(backend, _KEY), now=2.0)
    database = tmp_path / "sessions.db"
    # Another writer (as another process would) holds the write lock; this one waits not at all for it.
    holding = sqlite3.connect(database, isolation_level=None)
    reader = dialects.create_sqlite_sync_engine(
        database_url(f"sqlite:///{database}"), connections=1, begin="DEFERRED"
    )
    try:
        holding.execute("BEGIN IMMEDIATE")
        with reader.connect() as connection:
            dbapi_connection = connection.connection.dbapi_connection
            assert dbapi_connection is not None
            dbapi_connection.execute("PRAGMA busy_timeout = 0")
            with connection.begin(), pytest.raises(sa.exc.DBAPIError) as raised:
                sqlite_appends.store_batch(connection, [append], StorageLimits())
    finally:
        holding.close()
        reader.dispose()

    assert dialects.is_retryable(raised.value)
    assert await _revision(backend, _KEY) == append.expected_revision


def test_a_prepared_statement_takes_its_values_in_the_callers_order_converted_as_sqlalchemy_would() -> None:
    table = sa.table(
        "t", sa.column("a", sa.Integer()), sa.column("b", QuotedText()), sa.column("c", sa.Integer())
    )
    statement = sa.select(table.c.a).where(
        table.c.b == sa.bindparam("b_b", type_=QuotedText()),
        table.c.c == sa.literal(3),
        table.c.a == sa.bindparam("b_a"),
    )
    compiled = driver_sql.driver_statement(statement, sqlite.dialect())

    bind = compiled.binder(("b_a", "b_b"))

    assert list(bind((1, "x"))) == list(compiled.parameters({"b_a": 1, "b_b": "x"})) == ['"x"', 3, 1]
    with pytest.raises(ValueError, match="b_b"):
        compiled.binder(("b_a",))


def test_a_name_the_statement_holds_goes_to_the_driver_as_plain_text() -> None:
    # SQLAlchemy's names are a subclass of str, which the driver adapts with a lookup on every run.
    statement = sa.select(sa.literal(1)).where(
        sa.literal(quoted_name("ags_events", None)) == sa.bindparam("b_name")
    )
    compiled = driver_sql.driver_statement(statement, sqlite.dialect())

    for parameters in (compiled.binder(("b_name",))(("x",)), compiled.parameters({"b_name": "x"})):
        assert [type(value) for value in parameters] == [int, str, str]
