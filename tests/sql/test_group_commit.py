"""Appends stored together in one transaction (group commit), each still all-or-nothing.

On a SQLite file, PostgreSQL and MariaDB. Appends submitted at the same
moment form one batch; the ``batches`` fixture records each batch the
backend stores, so every test can check that it exercised the batch it
means to.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    AppendResult,
    BackendUnavailableError,
    EventIdConflictError,
    EventWindow,
    NewEvent,
    ScopedState,
    SessionKey,
    SessionNotFoundError,
    SessionRecord,
    StaleRevisionError,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.sql import SqlBackend, appends, driver_sql
from adk_grpc_sessions.server.backends.sql.appends import one_by_one, postgresql, sqlite
from adk_grpc_sessions.server.backends.sql.appends.batch import PendingAppend
from adk_grpc_sessions.server.backends.sql.transactions import Executor

StoreBatch = Callable[[sa.Connection, list[PendingAppend], StorageLimits], list[AppendResult | None]]
Store = Callable[[Executor, list[PendingAppend], StorageLimits], Awaitable[list[AppendResult | None]]]
WAYS = (postgresql, sqlite, one_by_one)
"""The ways to store a batch (``appends``): whichever the backend uses runs each batch in its ``store``."""


def key(name: str, user: str = "user") -> SessionKey:
    return SessionKey("app", user, name)


def new_event(
    event_id: str, timestamp: float = 10.0, delta: ScopedState | None = None, text: str = ""
) -> NewEvent:
    return NewEvent(
        id=event_id,
        invocation_id="inv",
        author="user",
        branch="",
        timestamp=timestamp,
        state_delta=delta or ScopedState(),
        event_json=json.dumps({"id": event_id, "timestamp": timestamp, "text": text or event_id}),
    )


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The event ids of every batch the backend stores, in the order it stores them."""
    recorded: list[list[str]] = []

    def recording(real: Store) -> Store:
        async def store(
            executor: Executor, batch: list[PendingAppend], limits: StorageLimits
        ) -> list[AppendResult | None]:
            recorded.append([append.event.id for append in batch])
            return await real(executor, batch, limits)

        return store

    for way in WAYS:
        monkeypatch.setattr(way, "store", recording(way.store))
    return recorded


async def created(backend: SqlBackend, *names: str, user: str = "user") -> list[int]:
    """Creates the sessions; returns their revisions."""
    return [(await backend.create_session(key(name, user), ScopedState(), 1.0)).revision for name in names]


async def read(backend: SqlBackend, session_key: SessionKey) -> SessionRecord:
    record = await backend.get_session(session_key, EventWindow())
    assert record is not None
    return record


async def test_appends_submitted_together_are_stored_in_one_batch(
    backend: SqlBackend, batches: list[list[str]]
) -> None:
    names = [f"s{n}" for n in range(8)]
    revisions = await created(backend, *names)
    results = await asyncio.gather(
        *(
            backend.append_event(
                key(name), new_event(f"e-{name}", 5.0, ScopedState(session={"n": "1"})), revision
            )
            for name, revision in zip(names, revisions, strict=True)
        )
    )
    assert batches == [[f"e-{name}" for name in names]]
    assert len({r.revision for r in results} | set(revisions)) == 16, "every revision is new"
    for name, result in zip(names, results, strict=True):
        stored = await read(backend, key(name))
        assert not result.already_applied
        assert (stored.revision, stored.last_update_time, stored.state.session) == (
            result.revision,
            5.0,
            {"n": "1"},
        )
        assert stored.events == [result.event]
        assert result.event.sequence == 1


async def _batch_keeps_each_events_wire_cache(backend: SqlBackend, batches: list[list[str]]) -> None:
    names = ["a", "b", "c", "d"]
    revisions = await created(backend, *names)
    given = {"a": b"\x0a\x02a1", "b": b"", "c": bytes(range(256)) * 300, "d": b"\x00"}
    appended = []
    for name in names:
        event = new_event(f"{name}1")
        event.wire_cache = given[name]
        appended.append(event)
    await asyncio.gather(
        *(
            backend.append_event(key(name), event, revision)
            for name, event, revision in zip(names, appended, revisions, strict=True)
        )
    )
    assert batches[-1] == ["a1", "b1", "c1", "d1"]
    for name in names:
        (stored,) = (await read(backend, key(name))).events
        assert stored.wire_cache == given[name]
        page = await backend.list_events(key(name), None, 10, None)
        assert [e.wire_cache for e in page.items] == [given[name]]


async def test_every_event_of_a_batch_keeps_its_wire_cache(
    backend: SqlBackend, batches: list[list[str]]
) -> None:
    await _batch_keeps_each_events_wire_cache(backend, batches)


async def test_an_older_sqlite_keeps_each_events_wire_cache_too(
    older_sqlite: SqlBackend, batches: list[list[str]]
) -> None:
    await _batch_keeps_each_events_wire_cache(older_sqlite, batches)


async def test_a_stale_append_in_a_batch_writes_nothing_and_the_others_are_stored(
    backend: SqlBackend, batches: list[list[str]]
) -> None:
    # Users of their own: appends changing one user's state never share a batch.
    (first,), (stale,), (last,) = [await created(backend, name, user=f"u{name}") for name in ("a", "b", "c")]
    moved_on = await backend.append_event(
        key("b", "ub"), new_event("b1", 2.0, ScopedState(session={"k": "1"})), stale
    )
    delta = ScopedState(user={"k": "2"}, session={"k": "2"})
    outcomes = await asyncio.gather(
        backend.append_event(key("a", "ua"), new_event("a1", 3.0, delta), first),
        backend.append_event(key("b", "ub"), new_event("b2", 3.0, delta), stale),
        backend.append_event(key("c", "uc"), new_event("c1", 3.0, delta), last),
        return_exceptions=True,
    )
    assert batches[-1] == ["a1", "b2", "c1"]
    assert isinstance(outcomes[1], StaleRevisionError)
    assert (outcomes[1].expected, outcomes[1].current) == (stale, moved_on.revision)
    untouched = await read(backend, key("b", "ub"))
    assert [e.id for e in untouched.events] == ["b1"]
    assert (untouched.revision, untouched.last_update_time, untouched.state) == (
        moved_on.revision,
        2.0,
        ScopedState(session={"k": "1"}),
    )
    for name in ("a", "c"):
        stored = await read(backend, key(name, f"u{name}"))
        assert [e.id for e in stored.events] == [f"{name}1"]
        assert stored.state == delta


async def test_appends_changing_one_shared_scope_of_state_are_stored_one_batch_after_another(
    backend: SqlBackend, batches: list[list[str]]
) -> None:
    names = ["a", "b", "c", "d"]
    revisions = await created(backend, *names)
    deltas = {
        "a": ScopedState(user={"n": "1"}),
        "b": ScopedState(user={"n": "2"}),
        "c": ScopedState(app={"n": "3"}),
        "d": ScopedState(session={"n": "4"}),
    }
    await asyncio.gather(
        *(
            backend.append_event(key(name), new_event(f"{name}1", 2.0, deltas[name]), revision)
            for name, revision in zip(names, revisions, strict=True)
        )
    )
    # b shares a's user: it waits for the next batch; c (the app) and d (its own state) need not.
    assert batches[-2:] == [["a1", "c1", "d1"], ["b1"]]
    assert (await read(backend, key("a"))).state == ScopedState(app={"n": "3"}, user={"n": "2"})


async def test_a_retry_in_a_batch_answers_the_original_result_and_the_others_are_stored(
    backend: SqlBackend, batches: list[list[str]]
) -> None:
    retried, other = await created(backend, "a", "b")
    event = new_event("a1", 2.0, ScopedState(user={"n": "1"}))
    original = await backend.append_event(key("a"), event, retried)
    outcomes = await asyncio.gather(
        backend.append_event(key("a"), event, retried),
        backend.append_event(key("b"), new_event("b1", 3.0), other),
    )
    assert batches[-1] == ["a1", "b1"]
    again, stored = outcomes
    assert again.already_applied
    assert (again.event, again.revision, again.last_update_time) == (
        original.event,
        original.revision,
        original.last_update_time,
    )
    assert not stored.already_applied
    assert [e.id for e in (await read(backend, key("a"))).events] == ["a1"]
    assert [e.id for e in (await read(backend, key("b"))).events] == ["b1"]


async def test_an_append_to_a_missing_session_in_a_batch_fails_alone(
    backend: SqlBackend, batches: list[list[str]]
) -> None:
    (revision,) = await created(backend, "a")
    outcomes = await asyncio.gather(
        backend.append_event(key("missing"), new_event("m1"), revision),
        backend.append_event(key("a"), new_event("a1"), revision),
        return_exceptions=True,
    )
    assert batches[-1] == ["m1", "a1"]
    assert isinstance(outcomes[0], SessionNotFoundError)
    assert isinstance(outcomes[1], AppendResult)


async def test_another_event_under_a_stored_id_in_a_batch_conflicts_alone(
    backend: SqlBackend, batches: list[list[str]]
) -> None:
    first, other = await created(backend, "a", "b")
    stored = await backend.append_event(key("a"), new_event("e1", text="original"), first)
    outcomes = await asyncio.gather(
        backend.append_event(key("a"), new_event("e1", text="another"), stored.revision),
        backend.append_event(key("b"), new_event("b1"), other),
        return_exceptions=True,
    )
    assert batches[-1] == ["e1", "b1"]
    assert isinstance(outcomes[0], EventIdConflictError)
    assert isinstance(outcomes[1], AppendResult)
    assert (await read(backend, key("a"))).revision == stored.revision


async def test_one_event_id_in_two_sessions_of_a_batch_is_stored_in_both(
    backend: SqlBackend, batches: list[list[str]]
) -> None:
    revisions = await created(backend, "a", "b")
    results = await asyncio.gather(
        *(
            backend.append_event(key(name), new_event("same"), r)
            for name, r in zip("ab", revisions, strict=True)
        )
    )
    assert batches[-1] == ["same", "same"]
    assert [r.already_applied for r in results] == [False, False]
    for name in "ab":
        assert [e.id for e in (await read(backend, key(name))).events] == ["same"]


async def test_two_appends_racing_on_one_session_go_in_separate_batches_and_one_wins(
    backend: SqlBackend, batches: list[list[str]]
) -> None:
    (revision,) = await created(backend, "a")
    outcomes = await asyncio.gather(
        backend.append_event(
            key("a"), new_event("first", delta=ScopedState(session={"w": '"first"'})), revision
        ),
        backend.append_event(
            key("a"), new_event("second", delta=ScopedState(session={"w": '"second"'})), revision
        ),
        return_exceptions=True,
    )
    assert batches == [["first"], ["second"]]
    winner, loser = outcomes
    assert isinstance(winner, AppendResult)
    assert isinstance(loser, StaleRevisionError)
    stored = await read(backend, key("a"))
    assert ([e.id for e in stored.events], stored.state.session) == (["first"], {"w": '"first"'})


async def test_concurrent_retries_of_one_event_among_other_appends_store_it_once(
    backend: SqlBackend, batches: list[list[str]]
) -> None:
    revision, *others = await created(backend, "a", "b", "c", "d")
    event = new_event("e1", 2.0, ScopedState(app={"count": "1"}, user={"count": "1"}))
    retries = [backend.append_event(key("a"), event, revision) for _ in range(6)]
    neighbours = [
        backend.append_event(key(name), new_event(f"{name}1"), r)
        for name, r in zip("bcd", others, strict=True)
    ]
    results = await asyncio.gather(*retries, *neighbours)
    assert len(batches) >= 6 and all(batch.count("e1") <= 1 for batch in batches)
    assert sorted(r.already_applied for r in results[:6]) == [False] + [True] * 5
    assert len({(r.revision, r.event.sequence) for r in results[:6]}) == 1
    assert [e.id for e in (await read(backend, key("a"))).events] == ["e1"]
    for name in "bcd":
        assert [e.id for e in (await read(backend, key(name))).events] == [f"{name}1"]


async def test_a_shared_key_set_by_two_appends_at_once_takes_the_later_value(
    backend: SqlBackend, batches: list[list[str]]
) -> None:
    revisions = await created(backend, "a", "b")
    await asyncio.gather(
        *(
            backend.append_event(
                key(name), new_event(f"{name}1", delta=ScopedState(app={"k": v}, user={"k": v})), r
            )
            for name, v, r in zip("ab", ('"a"', '"b"'), revisions, strict=True)
        )
    )
    # One batch after the other: a batch changes each shared scope once at most.
    assert batches[-2:] == [["a1"], ["b1"]]
    assert await backend.get_user_state("app", "user") == {"k": '"b"'}
    assert await backend.get_app_state("app") == {"k": '"b"'}


async def test_a_refused_append_does_not_hide_an_earlier_value_of_a_shared_key(
    backend: SqlBackend, batches: list[list[str]]
) -> None:
    first, stale = await created(backend, "a", "b")
    await backend.append_event(key("b"), new_event("b0"), stale)
    outcomes = await asyncio.gather(
        backend.append_event(
            key("a"), new_event("a1", delta=ScopedState(app={"k": '"a"'}, user={"k": '"a"'})), first
        ),
        backend.append_event(
            key("b"), new_event("b1", delta=ScopedState(app={"k": '"b"'}, user={"k": '"b"'})), stale
        ),
        return_exceptions=True,
    )
    assert batches[-2:] == [["a1"], ["b1"]]
    assert isinstance(outcomes[1], StaleRevisionError)
    assert await backend.get_user_state("app", "user") == {"k": '"a"'}
    assert await backend.get_app_state("app") == {"k": '"a"'}


@asynccontextmanager
async def connection_lost_in_a_batch(
    backend: SqlBackend, monkeypatch: pytest.MonkeyPatch, doomed: str
) -> AsyncIterator[None]:
    """Every batch holding the event id ``doomed`` loses its connection after writing, before committing.

    PostgreSQL stores a batch in one statement: a trigger ends the
    connection in the middle of it. Elsewhere the batch's statements run,
    and then the connection is reported lost.
    """
    if backend.engine.dialect.name == "postgresql":
        async with ddl(backend) as run:
            await run(
                "CREATE FUNCTION test_drop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.event_id = '{doomed}' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; "
                "RETURN NEW; END $$"
            )
            await run(
                "CREATE TRIGGER test_drop BEFORE INSERT ON ags_events FOR EACH ROW EXECUTE FUNCTION test_drop()"
            )
        yield
        async with ddl(backend) as run:
            await run("DROP TRIGGER test_drop ON ags_events")
        return
    lost = sa.exc.OperationalError(
        "COMMIT", None, ConnectionResetError("connection reset by peer"), connection_invalidated=True
    )

    def losing(real: StoreBatch) -> StoreBatch:
        def store_batch(
            connection: sa.Connection, batch: list[PendingAppend], limits: StorageLimits
        ) -> list[AppendResult | None]:
            answers = real(connection, batch, limits)
            if any(append.event.id == doomed for append in batch):
                raise lost
            return answers

        return store_batch

    with monkeypatch.context() as patched:
        for way in (sqlite, one_by_one):
            patched.setattr(way, "store_batch", losing(way.store_batch))
        yield


@asynccontextmanager
async def ddl(backend: SqlBackend) -> AsyncIterator[Callable[[str], Awaitable[Any]]]:
    async with backend.transaction(write=True) as connection:
        yield lambda sql: connection.exec_driver_sql(sql)


async def test_a_connection_lost_in_a_batch_fails_every_append_of_it_and_stores_none(
    backend: SqlBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["a", "b", "c"]
    # Users of their own: appends changing one user's state never share a batch.
    revisions = [(await created(backend, name, user=f"u{name}"))[0] for name in names]
    async with connection_lost_in_a_batch(backend, monkeypatch, doomed="b1"):
        outcomes = await asyncio.gather(
            *(
                backend.append_event(
                    key(name, f"u{name}"), new_event(f"{name}1", delta=ScopedState(user={name: "1"})), r
                )
                for name, r in zip(names, revisions, strict=True)
            ),
            return_exceptions=True,
        )
    assert all(isinstance(o, BackendUnavailableError) for o in outcomes), outcomes
    assert len({id(o) for o in outcomes}) == len(outcomes), "each caller gets an exception of its own"
    for name, revision in zip(names, revisions, strict=True):
        untouched = await read(backend, key(name, f"u{name}"))
        assert (untouched.events, untouched.revision) == ([], revision)
        assert await backend.get_user_state("app", f"u{name}") == {}
    # The database is back: the same appends (as clients retry them) go through.
    retried = await backend.append_event(key("b", "ub"), new_event("b1"), revisions[1])
    assert not retried.already_applied


@pytest.fixture
async def older_sqlite(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> AsyncIterator[SqlBackend]:
    """A SQLite backend as it runs on SQLite before 3.35, which can neither update from a
    joined table nor return rows: it stores a batch one append at a time."""
    monkeypatch.setattr(appends, "claims_together_in_sqlite", lambda: False)
    backend = SqlBackend.from_uri(f"sqlite:///{tmp_path / 'old.db'}")
    await backend.upgrade_schema()
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
def poisoned(backend: SqlBackend) -> Callable[[], Awaitable[None]]:
    """Installs a trigger with which the database refuses to store the event id ``poison``."""
    statements = {
        "postgresql": [
            "CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.event_id = 'poison' THEN RAISE EXCEPTION 'poisoned event'; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER test_poison BEFORE INSERT ON ags_events FOR EACH ROW EXECUTE FUNCTION test_poison()",
        ],
        "sqlite": [
            "CREATE TRIGGER test_poison BEFORE INSERT ON ags_events WHEN NEW.event_id = 'poison' "
            "BEGIN SELECT RAISE(ABORT, 'poisoned event'); END"
        ],
        "mariadb": [
            "CREATE TRIGGER test_poison BEFORE INSERT ON ags_events FOR EACH ROW "
            "IF NEW.event_id = 'poison' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poisoned event'; END IF"
        ],
    }[backend.engine.dialect.name]

    async def install() -> None:
        async with ddl(backend) as run:
            for statement in statements:
                await run(statement)

    return install


async def test_an_append_the_database_refuses_fails_alone_and_the_rest_of_its_batch_is_stored(
    backend: SqlBackend, batches: list[list[str]], poisoned: Callable[[], Awaitable[None]]
) -> None:
    await poisoned()
    names = ["a", "b", "c"]
    # Users of their own: appends changing one user's state never share a batch.
    revisions = [(await created(backend, name, user=f"u{name}"))[0] for name in names]
    outcomes = await asyncio.gather(
        *(
            backend.append_event(
                key(name, f"u{name}"), new_event(event_id, delta=ScopedState(user={name: "1"})), r
            )
            for name, event_id, r in zip(names, ["a1", "poison", "c1"], revisions, strict=True)
        ),
        return_exceptions=True,
    )
    assert batches == [["a1", "poison", "c1"], ["a1"], ["poison"], ["c1"]], "then one append at a time"
    assert isinstance(outcomes[1], Exception) and not isinstance(outcomes[1], BackendUnavailableError)
    assert [type(o) for o in (outcomes[0], outcomes[2])] == [AppendResult, AppendResult]
    assert (await read(backend, key("b", "ub"))).revision == revisions[1]
    assert [await backend.get_user_state("app", f"u{name}") for name in names] == [{"a": "1"}, {}, {"c": "1"}]


async def test_an_older_sqlite_stores_a_batch_one_append_at_a_time_with_the_same_outcome(
    older_sqlite: SqlBackend, batches: list[list[str]]
) -> None:
    backend = older_sqlite
    (first,), (stale,), (retried,) = [await created(backend, name, user=f"u{name}") for name in "abc"]
    await backend.append_event(key("b", "ub"), new_event("b0"), stale)
    original = await backend.append_event(key("c", "uc"), new_event("c1"), retried)
    outcomes = await asyncio.gather(
        backend.append_event(key("a", "ua"), new_event("a1", delta=ScopedState(user={"k": '"a"'})), first),
        backend.append_event(key("b", "ub"), new_event("b1", delta=ScopedState(user={"k": '"b"'})), stale),
        backend.append_event(key("c", "uc"), new_event("c1"), retried),
        return_exceptions=True,
    )
    assert batches[-1] == ["a1", "b1", "c1"]
    stored, refused, again = outcomes
    assert isinstance(stored, AppendResult) and not stored.already_applied
    assert isinstance(refused, StaleRevisionError)
    assert isinstance(again, AppendResult) and again.already_applied and again.revision == original.revision
    assert await backend.get_user_state("app", "ua") == {"k": '"a"'}
    assert await backend.get_user_state("app", "ub") == {}
    assert [e.id for e in (await read(backend, key("b", "ub"))).events] == ["b0"]


async def test_closing_twice_is_harmless(backend: SqlBackend) -> None:
    (revision,) = await created(backend, "a")
    await backend.append_event(key("a"), new_event("a1"), revision)
    await backend.close()
    await backend.close()


async def test_no_batch_waits_for_its_statements_to_be_compiled(backend: SqlBackend) -> None:
    # start() compiled every form a batch statement comes in; compiling one
    # in the middle of a burst would stall the writer (up to 43 ms on SQLite).
    names = [f"s{n}" for n in range(33)]
    revisions = dict(zip(names, await created(backend, *names), strict=True))
    compiled = driver_sql.driver_statement.cache_info().misses
    for size in (1, 2, 3, 5, 9, 17, 33):
        await asyncio.gather(
            *(
                backend.append_event(
                    key(name), new_event(f"{name}-{size}", delta=ScopedState(app={"k": "1"})), r
                )
                for name, r in list(revisions.items())[:size]
            )
        )
        revisions = {name: (await read(backend, key(name))).revision for name in names}
    assert driver_sql.driver_statement.cache_info().misses == compiled
