"""The SQL backend's own rules, on a SQLite file, PostgreSQL and MariaDB.

The contract's behaviour as seen by clients is the conformance suite's job;
these tests pin down what only storage can get wrong: revisions, idempotent
appends under concurrency, exact keys, times and JSON, and agreement with
the memory backend (the reference) on event windows and listing order.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    EventIdConflictError,
    EventWindow,
    InvalidCursorError,
    NewEvent,
    ScopedState,
    SessionExistsError,
    SessionKey,
    SessionNotFoundError,
    StaleRevisionError,
    StoredEvent,
)
from adk_grpc_sessions.server.backends.memory import MemoryBackend
from adk_grpc_sessions.server.backends.sql import SqlBackend
from adk_grpc_sessions.server.backends.sql.schema import events, sessions

KEY = SessionKey("app", "user", "session")


def new_event(
    event_id: str, timestamp: float = 1_700_000_000.5, delta: ScopedState | None = None
) -> NewEvent:
    body = {
        "id": event_id,
        "author": "user",
        "timestamp": timestamp,
        "content": {"parts": [{"text": event_id}]},
    }
    return NewEvent(
        id=event_id,
        invocation_id="inv",
        author="user",
        branch="",
        timestamp=timestamp,
        state_delta=delta or ScopedState(),
        event_json=json.dumps(body),
    )


async def stored_row(backend: SqlBackend, key: SessionKey, event_id: str) -> Any:
    """The typed columns of an event's row, as stored (reads return none of them)."""
    query = (
        sa.select(
            events.c.timestamp, events.c.author, events.c.branch, events.c.invocation_id, events.c.state_delta
        )
        .join(sessions, sessions.c.session_pk == events.c.session_pk)
        .where(
            sessions.c.app_name == key.app_name,
            sessions.c.user_id == key.user_id,
            sessions.c.session_id == key.session_id,
            events.c.event_id == event_id,
        )
    )
    async with backend.transaction(write=False) as connection:
        return (await connection.execute(query)).one()


async def test_create_returns_merged_state_and_a_revision(backend: SqlBackend) -> None:
    await backend.create_session(SessionKey("app", "user", "other"), ScopedState(app={"a": "0"}), 1.0)
    created = await backend.create_session(
        KEY, ScopedState(app={"b": '"x"'}, user={"u": "[1]"}, session={"s": "2"}), 1_700_000_000.25
    )
    assert created.state == ScopedState(app={"a": "0", "b": '"x"'}, user={"u": "[1]"}, session={"s": "2"})
    assert created.revision > 0
    assert created.create_time == created.last_update_time == 1_700_000_000.25
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None
    assert (read.state, read.revision, read.events) == (created.state, created.revision, [])


async def test_create_of_an_existing_session_is_refused(backend: SqlBackend) -> None:
    await backend.create_session(KEY, ScopedState(session={"s": "1"}), 1.0)
    with pytest.raises(SessionExistsError):
        await backend.create_session(KEY, ScopedState(app={"a": "1"}), 2.0)
    assert await backend.get_app_state("app") == {}


async def test_append_stores_the_event_and_applies_its_delta_to_every_scope(backend: SqlBackend) -> None:
    created = await backend.create_session(KEY, ScopedState(session={"keep": "1"}), 1.0)
    delta = ScopedState(app={"a": "1"}, user={"u": "2"}, session={"s": "3"})
    result = await backend.append_event(KEY, new_event("e1", 5.5, delta), created.revision)
    assert not result.already_applied
    assert result.event.sequence == 1
    assert result.last_update_time == 5.5
    assert result.revision not in (0, created.revision)
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None
    assert read.revision == result.revision
    assert read.last_update_time == 5.5
    assert read.state == ScopedState(app={"a": "1"}, user={"u": "2"}, session={"keep": "1", "s": "3"})
    assert read.events == [result.event]


async def test_an_events_wire_cache_comes_back_with_it_and_with_a_retry(backend: SqlBackend) -> None:
    created = await backend.create_session(KEY, ScopedState(), 1.0)
    event = new_event("e1")
    event.wire_cache = b"\x0a\x02e1\x00\xff"
    result = await backend.append_event(KEY, event, created.revision)
    retried = await backend.append_event(KEY, event, created.revision)
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None
    assert [e.wire_cache for e in (result.event, retried.event, *read.events)] == [event.wire_cache] * 3


async def test_an_event_appended_without_a_wire_cache_reads_back_without_one(backend: SqlBackend) -> None:
    created = await backend.create_session(KEY, ScopedState(), 1.0)
    await backend.append_event(KEY, new_event("e1"), created.revision)
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None
    assert read.events[0].wire_cache == b""


async def test_reads_return_each_event_with_the_wire_cache_it_was_appended_with(backend: SqlBackend) -> None:
    revision = (await backend.create_session(KEY, ScopedState(), 1.0)).revision
    appended = []
    for n in range(7):
        event = new_event(f"e{n}", float(n), ScopedState(session={"n": str(n)}))
        if n % 3 != 1:  # e1 and e4 without a cache: the layer above rebuilds theirs
            event.wire_cache = f"cache of e{n}".encode()
        appended.append(event)
        revision = (await backend.append_event(KEY, event, revision)).revision
    expected: list[StoredEvent] = [e.stored_at(n) for n, e in enumerate(appended, start=1)]
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None and read.events == expected
    recent = await backend.get_session(KEY, EventWindow(num_recent_events=4, after_timestamp=3.0))
    assert recent is not None and recent.events == expected[3:]
    paged: list[StoredEvent] = []
    cursor = None
    while True:
        page = await backend.list_events(KEY, 1.0, 2, cursor)
        paged += page.items
        if (cursor := page.next_cursor) is None:
            break
    assert paged == expected[1:]


async def test_a_cursor_the_backend_did_not_write_is_an_invalid_cursor(backend: SqlBackend) -> None:
    await backend.create_session(KEY, ScopedState(), 1.0)
    for cursor in ("not-a-cursor", "[]", '[1.0, "u\\u0000", "s"]', '[1e400, "u", "s"]', "[0]", "[true]"):
        with pytest.raises(InvalidCursorError):
            await backend.list_sessions("app", None, 2, cursor)
        with pytest.raises(InvalidCursorError):
            await backend.list_events(KEY, None, 2, cursor)


async def test_append_with_an_old_revision_is_stale(backend: SqlBackend) -> None:
    created = await backend.create_session(KEY, ScopedState(), 1.0)
    first = await backend.append_event(KEY, new_event("e1"), created.revision)
    with pytest.raises(StaleRevisionError) as raised:
        await backend.append_event(KEY, new_event("e2"), created.revision)
    assert (raised.value.expected, raised.value.current) == (created.revision, first.revision)


async def test_append_to_a_missing_session_is_not_found(backend: SqlBackend) -> None:
    with pytest.raises(SessionNotFoundError):
        await backend.append_event(KEY, new_event("e1"), 1)


async def test_retried_append_returns_the_original_result_and_applies_nothing_again(
    backend: SqlBackend,
) -> None:
    created = await backend.create_session(KEY, ScopedState(), 1.0)
    event = new_event("e1", 2.0, ScopedState(user={"n": "1"}))
    original = await backend.append_event(KEY, event, created.revision)
    later = await backend.append_event(
        KEY, new_event("e2", 3.0, ScopedState(user={"n": "2"})), original.revision
    )
    retried = await backend.append_event(KEY, event, created.revision)
    assert retried.already_applied
    assert (retried.event, retried.revision, retried.last_update_time) == (
        original.event,
        original.revision,
        original.last_update_time,
    )
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None
    assert [e.id for e in read.events] == ["e1", "e2"]
    assert read.state.user == {"n": "2"}
    assert read.revision == later.revision


async def test_retry_with_the_current_revision_is_also_recognised(backend: SqlBackend) -> None:
    created = await backend.create_session(KEY, ScopedState(), 1.0)
    event = new_event("e1")
    original = await backend.append_event(KEY, event, created.revision)
    retried = await backend.append_event(KEY, event, original.revision)
    assert retried.already_applied and retried.revision == original.revision


async def test_another_event_under_a_stored_id_conflicts_whatever_the_revision(backend: SqlBackend) -> None:
    created = await backend.create_session(KEY, ScopedState(), 1.0)
    stored = await backend.append_event(KEY, new_event("e1", 1.0), created.revision)
    for revision in (created.revision, stored.revision):
        with pytest.raises(EventIdConflictError):
            await backend.append_event(KEY, new_event("e1", 2.0), revision)


async def test_concurrent_retries_of_one_event_store_it_once(backend: SqlBackend) -> None:
    created = await backend.create_session(KEY, ScopedState(), 1.0)
    event = new_event("e1", 2.0, ScopedState(app={"count": "1"}))
    results = await asyncio.gather(*(backend.append_event(KEY, event, created.revision) for _ in range(8)))
    assert sorted(r.already_applied for r in results) == [False] + [True] * 7
    assert len({r.revision for r in results}) == 1
    page = await backend.list_events(KEY, None, 100, None)
    assert [e.id for e in page.items] == ["e1"]


async def test_concurrent_appends_at_one_revision_let_exactly_one_through(backend: SqlBackend) -> None:
    created = await backend.create_session(KEY, ScopedState(), 1.0)
    outcomes = await asyncio.gather(
        *(backend.append_event(KEY, new_event(f"e{i}"), created.revision) for i in range(8)),
        return_exceptions=True,
    )
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(o, StaleRevisionError) for o in outcomes if o not in winners)


async def test_revisions_are_never_reused_by_a_recreated_session(backend: SqlBackend) -> None:
    seen = set()
    for _ in range(3):
        created = await backend.create_session(KEY, ScopedState(), 1.0)
        seen.add(created.revision)
        revision = created.revision
        for index in range(3):
            revision = (await backend.append_event(KEY, new_event(f"e{index}"), revision)).revision
            seen.add(revision)
        await backend.delete_session(KEY)
    assert len(seen) == 12


async def test_delete_removes_events_and_session_state_but_not_shared_state(backend: SqlBackend) -> None:
    created = await backend.create_session(KEY, ScopedState(app={"a": "1"}, user={"u": "1"}), 1.0)
    await backend.append_event(KEY, new_event("e1", 2.0, ScopedState(session={"s": "1"})), created.revision)
    await backend.delete_session(KEY)
    await backend.delete_session(KEY)  # a missing session is not an error
    assert await backend.get_session(KEY, EventWindow()) is None
    recreated = await backend.create_session(KEY, ScopedState(), 3.0)
    assert recreated.state == ScopedState(app={"a": "1"}, user={"u": "1"}, session={})
    assert (await backend.list_events(KEY, None, 10, None)).items == []


async def test_names_are_exact_code_points(backend: SqlBackend) -> None:
    names = ["bob", "Bob", "bob ", "böb", "bo\u0308b", "😀"]
    for name in names:
        await backend.create_session(
            SessionKey("app", name, "s"), ScopedState(user={"me": json.dumps(name)}), 1.0
        )
    for name in names:
        assert await backend.get_user_state("app", name) == {"me": json.dumps(name)}
    page = await backend.list_sessions("app", None, 100, None)
    assert [s.key.user_id for s in page.items] == sorted(names)


async def test_times_come_back_as_the_same_floats(backend: SqlBackend) -> None:
    times = [
        0.1,
        1_700_000_000.123456,
        1_700_000_000.987654321,
        -62_135_596_800.0,
        253_402_300_799.999,
        1e-300,
    ]
    for index, time in enumerate(times):
        key = SessionKey("app", "user", f"s{index}")
        created = await backend.create_session(key, ScopedState(), time)
        await backend.append_event(key, new_event("e", time), created.revision)
        read = await backend.get_session(key, EventWindow())
        assert read is not None
        stored = await stored_row(backend, key, "e")
        assert (read.create_time, read.last_update_time, stored.timestamp) == (time, time, time)


async def test_json_text_comes_back_byte_for_byte(backend: SqlBackend) -> None:
    created = await backend.create_session(KEY, ScopedState(), 1.0)
    odd_values = {
        "big": "123456789012345678901234567890",
        "float": "1.50",
        "nul": '"a\\u0000b"',
        "emoji": '"😀"',
    }
    long_key = "k" * 5000
    event = new_event("e1", 2.0, ScopedState(session={**odd_values, long_key: "1"}))
    # Spacing, escapes and number spellings that a JSON column type would rewrite, and 6 MiB.
    event.event_json = (
        '{"id": "e1",  "timestamp": 2.0, "nul": "\\u0000", "n": 12345678901234567890123, "f": 1.50, '
        f'"pad": "{"é😀" * (1024 * 1024)}"}}'
    )
    await backend.append_event(KEY, event, created.revision)
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None
    assert read.events[0].event_json == event.event_json
    assert read.state.session == {**odd_values, long_key: "1"}


async def test_client_text_with_any_character_comes_back(backend: SqlBackend) -> None:
    created = await backend.create_session(KEY, ScopedState(user={"nul\x00key": "1"}), 1.0)
    event = new_event("e1", 2.0, ScopedState(app={"\x00": "2"}, session={'"quoted"\n': "3"}))
    event.author, event.branch, event.invocation_id = "a\x00b", "root.\x00", "\x00"
    await backend.append_event(KEY, event, created.revision)
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None
    assert read.state == ScopedState(app={"\x00": "2"}, user={"nul\x00key": "1"}, session={'"quoted"\n': "3"})
    stored = await stored_row(backend, KEY, "e1")
    assert (stored.author, stored.branch, stored.invocation_id) == ("a\x00b", "root.\x00", "\x00")
    assert json.loads(stored.state_delta) == {
        "app": event.state_delta.app,
        "session": event.state_delta.session,
    }


async def _mirror(backend: SqlBackend, timestamps: list[float]) -> MemoryBackend:
    """Appends events with these timestamps to ``backend`` and to a memory backend; returns the latter."""
    reference = MemoryBackend()
    for store in (backend, reference):
        revision = (await store.create_session(KEY, ScopedState(), 0.0)).revision
        for index, timestamp in enumerate(timestamps):
            revision = (await store.append_event(KEY, new_event(f"e{index}", timestamp), revision)).revision
    return reference


async def test_event_windows_agree_with_the_memory_backend(backend: SqlBackend) -> None:
    shuffled = random.Random(7)
    timestamps = [float(t) for t in range(1, 31)]
    # In append order but for a few events written with older timestamps.
    for index in (5, 17, 18, 25):
        timestamps[index] = timestamps[index] - shuffled.choice([3.0, 10.0, 20.0])
    reference = await _mirror(backend, timestamps)
    for recent in (None, 0, 1, 5, 29, 30, 31):
        for after in (None, 0.0, 1.0, 7.0, 12.0, 18.5, 26.0, 30.0, 31.0):
            window = EventWindow(num_recent_events=recent, after_timestamp=after)
            ours = await backend.get_session(KEY, window)
            expected = await reference.get_session(KEY, window)
            assert ours is not None and expected is not None
            assert [e.id for e in ours.events] == [e.id for e in expected.events], window


async def test_event_pages_agree_with_the_memory_backend(backend: SqlBackend) -> None:
    reference = await _mirror(backend, [5.0, 1.0, 2.0, 6.0, 3.0, 7.0, 8.0, 4.0, 9.0])
    for after_timestamp in (None, 2.5, 4.0, 8.5):
        for page_size in (1, 2, 4, 100):
            pages = []
            for store in (backend, reference):
                ids, cursor = [], None
                while True:
                    page = await store.list_events(KEY, after_timestamp, page_size, cursor)
                    ids.append([e.id for e in page.items])
                    cursor = page.next_cursor
                    if cursor is None:
                        break
                pages.append(ids)
            assert pages[0] == pages[1], (after_timestamp, page_size)


async def test_session_pages_agree_with_the_memory_backend(backend: SqlBackend) -> None:
    reference = MemoryBackend()
    shuffled = random.Random(3)
    keys = [SessionKey("app", f"u{u}", f"s{s}") for u in range(4) for s in range(6)]
    shuffled.shuffle(keys)
    for index, key in enumerate(keys):
        for store in (backend, reference):
            # Few distinct times, so ties are broken by user and session ids.
            shared = ScopedState(app={f"a{index % 2}": str(index)}, user={f"u{index % 3}": str(index)})
            state = ScopedState(session={"i": str(index)}) if index % 5 else shared
            await store.create_session(key, state, float(index % 3))
    # State of another app, and of a namesake user there, that no listing of "app" may show.
    other = SessionKey("other-app", "u0", "s0")
    await backend.create_session(other, ScopedState(app={"x": "1"}, user={"x": "1"}, session={"x": "1"}), 0.0)
    for user_id in (None, "u2"):
        for page_size in (1, 5, 24, 100):
            listings = []
            for store in (backend, reference):
                items, cursor = [], None
                while True:
                    page = await store.list_sessions("app", user_id, page_size, cursor)
                    items += [(s.key, s.state, s.last_update_time, s.revision > 0) for s in page.items]
                    cursor = page.next_cursor
                    if cursor is None:
                        break
                listings.append(items)
            assert listings[0] == listings[1], (user_id, page_size)


async def test_check_answers_while_the_database_does(backend: SqlBackend) -> None:
    await backend.check()


async def drop_connections(database_uri: str) -> None:
    """Has the database end every connection to it (as a restart or a proxy's idle timeout would)."""
    admin = SqlBackend.from_uri(database_uri)
    try:
        async with admin.transaction(write=True) as connection:
            if admin.engine.dialect.name == "postgresql":
                await connection.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            else:
                ids = await connection.exec_driver_sql(
                    "SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()"
                )
                for (connection_id,) in list(ids):
                    await connection.exec_driver_sql(f"KILL {int(connection_id)}")
    finally:
        await admin.close()


# Database servers only: SQLite has no server to drop a connection.
@pytest.mark.parametrize("database_uri", ["postgresql", "mariadb"], indirect=True)
async def test_connections_the_database_dropped_are_replaced_without_failing_a_call(
    backend: SqlBackend, database_uri: str
) -> None:
    connects = 0

    @sa.event.listens_for(backend.engine.sync_engine, "connect")
    def count(*_: Any) -> None:
        nonlocal connects
        connects += 1

    revision = (await backend.create_session(KEY, ScopedState(), 1.0)).revision
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: backend.create_session(SessionKey(KEY.app_name, KEY.user_id, "another"), ScopedState(), 2.0),
        lambda: backend.get_session(KEY, EventWindow()),
        lambda: backend.append_event(KEY, new_event("e1"), revision),
        backend.check,
    ]
    for call in calls:
        before = connects
        await drop_connections(database_uri)
        await call()
        assert connects > before, "the dropped connection was replaced"


@pytest.mark.parametrize("database_uri", ["postgresql"], indirect=True)
async def test_connections_kept_between_statements_are_replaced_together_when_dropped(
    backend: SqlBackend, database_uri: str
) -> None:
    # Concurrent single-statement reads leave several connections kept open
    # (PostgreSQL runs them in autocommit); a restart drops all of them.
    sessions = [SessionKey(KEY.app_name, KEY.user_id, f"s{n}") for n in range(8)]
    revisions = [(await backend.create_session(key, ScopedState(), 1.0)).revision for key in sessions]
    for round_ in range(3):
        await asyncio.gather(*(backend.get_session(key, EventWindow()) for key in sessions))
        await drop_connections(database_uri)
        # Each call must succeed though every kept connection is now dead.
        for index, key in enumerate(sessions):
            result = await backend.append_event(key, new_event(f"e{round_}"), revisions[index])
            revisions[index] = result.revision
            assert (await backend.get_session(key, EventWindow())) is not None


@pytest.mark.parametrize("database_uri", ["postgresql"], indirect=True)
async def test_kept_connections_are_few_and_go_back_to_the_pool_on_close(database_uri: str) -> None:
    backend = SqlBackend.from_uri(database_uri)
    await backend.upgrade_schema()
    await backend.start()
    sessions = [SessionKey(KEY.app_name, KEY.user_id, f"s{n}") for n in range(12)]
    for key in sessions:
        await backend.create_session(key, ScopedState(), 1.0)
    await asyncio.gather(*(backend.get_session(key, EventWindow()) for key in sessions * 3))
    pool = backend.engine.pool
    checked_out = pool.checkedout()  # type: ignore[attr-defined]
    # A few stay open for the next statements, the rest went back to the pool,
    # so transactions (which take pooled connections) never wait for them.
    assert 1 <= checked_out <= 4
    async with backend.transaction(write=False) as connection:
        assert (await connection.exec_driver_sql("SELECT 1")).scalar() == 1
    await backend.close()
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
