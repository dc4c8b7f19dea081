"""The session lifecycle in SQL (expiry, close, erase, purge), on a SQLite file, PostgreSQL and MariaDB.

Time is the backend's clock (``Backend.clock``), which each test sets and
moves: an expired session must be gone at once, for every read path, in
the statement that reads it, whether or not it has been purged. What a
purge or an erase leaves is checked in the tables themselves.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    NEVER,
    EventWindow,
    Expiry,
    NewEvent,
    PurgeBatch,
    ReadBudget,
    ScopedState,
    SessionClosedError,
    SessionKey,
    SessionNotFoundError,
    SessionUpdate,
)
from adk_grpc_sessions.server.backends.sql import SqlBackend, appends, schema
from tests.sql.conftest import new_database_uri

T0 = 1_700_000_000.0
KEY = SessionKey("app", "user", "session")
SMALL = ReadBudget(bytes=600)
"""A budget too small for the whole session: reads take the path of several statements."""


class Clock:
    """A clock the test moves: the backend's ``clock``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def new_event(event_id: str, delta: ScopedState | None = None, timestamp: float = T0) -> NewEvent:
    body = {"id": event_id, "author": "user", "timestamp": timestamp, "text": event_id}
    return NewEvent(
        id=event_id,
        invocation_id="inv",
        author="user",
        branch="",
        timestamp=timestamp,
        state_delta=delta or ScopedState(),
        event_json=json.dumps(body),
        wire_cache=b"opaque:" + event_id.encode(),
        size=200,
    )


# Every way of storing appends: each database's own, and on SQLite also one by one (as MySQL/MariaDB).
WAYS = ["sqlite", "sqlite-one-by-one", "postgresql", "mariadb"]


@pytest.fixture(params=WAYS)
async def backend(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SqlBackend]:
    """A started backend whose clock stands at ``T0`` (``backend.clock.now`` moves it)."""
    kind = request.param.split("-")[0]
    if request.param == "sqlite-one-by-one":
        monkeypatch.setattr(appends, "claims_together_in_sqlite", lambda: False)
    opened = SqlBackend.from_uri(await new_database_uri(kind, tmp_path))
    monkeypatch.setattr(opened, "clock", Clock(T0))
    await opened.upgrade_schema()
    await opened.start()
    yield opened
    await opened.close()


def move_clock(backend: SqlBackend, to: float) -> None:
    clock = backend.clock
    assert isinstance(clock, Clock)
    clock.now = to


async def rows(backend: SqlBackend, table: sa.Table, *where: sa.ColumnElement[bool]) -> list[Any]:
    """The rows of ``table`` (read directly) that match ``where``."""
    async with backend.transaction(write=False) as connection:
        return list((await connection.execute(sa.select(table).where(*where))).all())


async def session_pk(backend: SqlBackend, key: SessionKey) -> int:
    found = await rows(
        backend,
        schema.sessions,
        schema.sessions.c.app_name == key.app_name,
        schema.sessions.c.user_id == key.user_id,
        schema.sessions.c.session_id == key.session_id,
    )
    assert len(found) == 1
    return int(found[0].session_pk)


async def test_an_expired_session_is_gone_at_once_for_every_read_list_and_append(backend: SqlBackend) -> None:
    created = await backend.create_session(KEY, ScopedState(session={"k": "1"}), T0, expiry=Expiry(T0 + 60))
    assert created.expiry == Expiry(T0 + 60)
    stored = await backend.append_event(KEY, new_event("e1"), created.revision)
    await backend.append_event(KEY, new_event("e2"), stored.revision)
    for budget in (ReadBudget(), SMALL):
        read = await backend.get_session(KEY, EventWindow(), budget=budget)
        assert read is not None and read.expiry == Expiry(T0 + 60)
        assert (await backend.list_events(KEY, None, 10, None, budget=budget)).items
    assert [s.key for s in (await backend.list_sessions("app", "user", 10, None)).items] == [KEY]

    move_clock(backend, T0 + 60)  # expire_time <= now: expired
    for budget in (ReadBudget(), SMALL):
        assert await backend.get_session(KEY, EventWindow(), budget=budget) is None
        assert await backend.get_session(KEY, EventWindow(num_recent_events=1), budget=budget) is None
        with pytest.raises(SessionNotFoundError):
            await backend.list_events(KEY, None, 10, None, budget=budget)
    assert (await backend.list_sessions("app", "user", 10, None)).items == []
    assert (await backend.list_sessions("app", None, 10, None)).items == []
    with pytest.raises(SessionNotFoundError):
        await backend.append_event(KEY, new_event("e3"), 0)
    with pytest.raises(SessionNotFoundError):
        await backend.update_session(KEY, SessionUpdate(expiry=NEVER))
    with pytest.raises(SessionNotFoundError):
        await backend.close_session(KEY, T0 + 60, None)
    # Not purged yet: the rows are still there, unseen.
    assert len(await rows(backend, schema.sessions)) == 1
    assert len(await rows(backend, schema.events)) == 2


async def test_a_session_created_over_an_expired_one_is_new(backend: SqlBackend) -> None:
    old = await backend.create_session(KEY, ScopedState(session={"old": "1"}), T0, expiry=Expiry(T0 + 1))
    appended = await backend.append_event(KEY, new_event("e1"), old.revision)
    move_clock(backend, T0 + 1)
    new = await backend.create_session(KEY, ScopedState(), T0 + 1)
    assert new.expiry == NEVER
    assert new.revision not in (old.revision, appended.revision)
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None
    assert (read.events, read.state.session, read.revision) == ([], {}, new.revision)
    # The old one's rows went in the same transaction.
    assert len(await rows(backend, schema.sessions)) == 1
    assert await rows(backend, schema.events) == []
    assert await rows(backend, schema.session_state) == []


async def test_purge_deletes_expired_sessions_rows_and_keeps_user_and_app_state(backend: SqlBackend) -> None:
    shared = ScopedState(app={"a": "1"}, user={"u": "1"}, session={"s": "1"})
    keys = [SessionKey("app", "user", f"s{n}") for n in range(5)]
    for n, key in enumerate(keys):
        # s0..s2 expire (soonest first: s2, s1, s0), s3 later, s4 never.
        expiry = [Expiry(T0 + 30), Expiry(T0 + 20), Expiry(T0 + 10), Expiry(T0 + 1000), NEVER][n]
        created = await backend.create_session(key, shared, T0, expiry=expiry)
        await backend.append_event(key, new_event(f"e{n}", ScopedState(session={"x": "2"})), created.revision)
    pks = {key: await session_pk(backend, key) for key in keys}
    move_clock(backend, T0 + 100)
    assert await backend.count_expired() == 3
    assert await backend.list_expired(10) == [keys[2], keys[1], keys[0]]

    assert await backend.purge_expired(2) == PurgeBatch([keys[2], keys[1]], 2)
    assert await backend.purge_expired(2) == PurgeBatch([keys[0]], 1)
    assert (await backend.purge_expired(2)).done
    assert await backend.count_expired() == 0

    gone = [pks[k] for k in keys[:3]]
    kept = [pks[k] for k in keys[3:]]
    assert await rows(backend, schema.sessions, schema.sessions.c.session_pk.in_(gone)) == []
    assert await rows(backend, schema.events, schema.events.c.session_pk.in_(gone)) == []
    assert await rows(backend, schema.session_state, schema.session_state.c.session_pk.in_(gone)) == []
    assert len(await rows(backend, schema.events, schema.events.c.session_pk.in_(kept))) == 2
    assert len(await rows(backend, schema.session_state, schema.session_state.c.session_pk.in_(kept))) == 4
    assert await backend.get_user_state("app", "user") == {"u": "1"}
    assert await backend.get_app_state("app") == {"a": "1"}
    assert {s.key for s in (await backend.list_sessions("app", None, 10, None)).items} == set(keys[3:])


async def test_purge_of_one_user_takes_only_that_users_sessions(backend: SqlBackend) -> None:
    for user in ("alice", "bob"):
        await backend.create_session(SessionKey("app", user, "s"), ScopedState(), T0, expiry=Expiry(T0 + 1))
    move_clock(backend, T0 + 2)
    assert (await backend.purge_expired(10, app_name="app", user_id="alice")).purged == [
        SessionKey("app", "alice", "s")
    ]
    assert await backend.list_expired(10) == [SessionKey("app", "bob", "s")]


async def test_sliding_expiry_moves_on_each_stored_append_but_not_on_a_retry(backend: SqlBackend) -> None:
    created = await backend.create_session(KEY, ScopedState(), T0, expiry=Expiry(T0 + 100, ttl=100))
    move_clock(backend, T0 + 50)
    first = await backend.append_event(KEY, new_event("e1"), created.revision, refresh_expiry=True)
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None and read.expiry == Expiry(T0 + 150, ttl=100)

    move_clock(backend, T0 + 120)
    retry = await backend.append_event(KEY, new_event("e1"), created.revision, refresh_expiry=True)
    assert retry.already_applied
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None and read.expiry == Expiry(T0 + 150, ttl=100)

    # Without refresh (the server's flag off), an append leaves the expiry as it is.
    await backend.append_event(KEY, new_event("e2"), first.revision)
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None and read.expiry == Expiry(T0 + 150, ttl=100)
    move_clock(backend, T0 + 150)
    assert await backend.get_session(KEY, EventWindow()) is None


async def test_an_absolute_expiry_does_not_slide(backend: SqlBackend) -> None:
    created = await backend.create_session(KEY, ScopedState(), T0, expiry=Expiry(T0 + 100))
    move_clock(backend, T0 + 50)
    await backend.append_event(KEY, new_event("e1"), created.revision, refresh_expiry=True)
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None and read.expiry == Expiry(T0 + 100)


async def test_close_refuses_appends_keeps_reads_and_a_retry_of_an_earlier_event_is_applied(
    backend: SqlBackend,
) -> None:
    created = await backend.create_session(KEY, ScopedState(), T0)
    stored = await backend.append_event(KEY, new_event("e1"), created.revision)
    closed = await backend.close_session(KEY, T0 + 5, None)
    assert (closed.close_time, closed.revision, closed.last_update_time) == (T0 + 5, stored.revision, T0)

    with pytest.raises(SessionClosedError):
        await backend.append_event(KEY, new_event("e2"), stored.revision)
    retry = await backend.append_event(KEY, new_event("e1"), created.revision)
    assert retry.already_applied and retry.revision == stored.revision

    read = await backend.get_session(KEY, EventWindow())
    assert read is not None
    assert ([e.id for e in read.events], read.close_time, read.revision) == (["e1"], T0 + 5, stored.revision)
    listed = (await backend.list_sessions("app", "user", 10, None)).items
    assert [s.close_time for s in listed] == [T0 + 5]
    again = await backend.close_session(KEY, T0 + 9, None)  # closing twice keeps the first close
    assert again.close_time == T0 + 5


async def test_close_with_a_closed_ttl_brings_the_expiry_forward_only(backend: SqlBackend) -> None:
    near = SessionKey("app", "user", "near")
    await backend.create_session(KEY, ScopedState(), T0, expiry=Expiry(T0 + 1000, ttl=1000))
    await backend.create_session(near, ScopedState(), T0, expiry=Expiry(T0 + 10))
    closed = await backend.close_session(KEY, T0 + 5, 100)
    assert closed.expiry == Expiry(T0 + 105)  # its ttl cleared: appends no longer slide it
    assert (await backend.close_session(near, T0 + 5, 100)).expiry == Expiry(T0 + 10)


async def test_an_update_of_expiry_sets_and_removes_it_without_touching_the_revision(
    backend: SqlBackend,
) -> None:
    created = await backend.create_session(KEY, ScopedState(session={"k": "1"}), T0)
    updated = await backend.update_session(KEY, SessionUpdate(expiry=Expiry(T0 + 10, ttl=10)))
    assert (updated.expiry, updated.revision, updated.state.session) == (
        Expiry(T0 + 10, 10),
        created.revision,
        {"k": "1"},
    )
    assert (await backend.update_session(KEY, SessionUpdate(expiry=NEVER))).expiry == NEVER
    move_clock(backend, T0 + 1_000_000)
    assert await backend.get_session(KEY, EventWindow()) is not None


async def _user_rows(backend: SqlBackend, app_name: str, user_id: str) -> dict[str, list[Any]]:
    """Every row of every table that belongs to the user ``user_id`` of ``app_name``, by table."""
    found: dict[str, list[Any]] = {}
    owned = sa.select(schema.sessions.c.session_pk).where(
        schema.sessions.c.app_name == app_name, schema.sessions.c.user_id == user_id
    )
    for table in schema.metadata.sorted_tables:
        if "user_id" in table.c:
            where = sa.and_(table.c.app_name == app_name, table.c.user_id == user_id)
        elif "session_pk" in table.c:
            where = table.c.session_pk.in_(owned)
        else:
            continue
        found[table.name] = await rows(backend, table, where)
    return found


async def test_erase_leaves_nothing_of_the_user_in_any_table_and_touches_nobody_else(
    backend: SqlBackend,
) -> None:
    others = [("app", "bob"), ("other-app", "alice")]
    for app_name, user_id in [("app", "alice"), *others]:
        for n in range(3):
            key = SessionKey(app_name, user_id, f"s{n}")
            state = ScopedState(app={"a": "1"}, user={"u": "1"}, session={"s": "1"})
            created = await backend.create_session(key, state, T0, expiry=[NEVER, Expiry(T0 + 9)][n % 2])
            await backend.append_event(
                key, new_event(f"e{n}", ScopedState(user={"v": "2"})), created.revision
            )
    before = {owner: await _user_rows(backend, *owner) for owner in others}
    assert any((await _user_rows(backend, "app", "alice")).values())

    await backend.erase_user("app", "alice")
    # Gone at once, before any purge.
    assert (await backend.list_sessions("app", "alice", 10, None)).items == []
    assert await backend.get_session(SessionKey("app", "alice", "s0"), EventWindow()) is None
    assert await backend.get_user_state("app", "alice") == {}
    while not (await backend.purge_expired(2, app_name="app", user_id="alice")).done:
        pass
    await backend.erase_user("app", "alice")  # idempotent

    assert {name: found for name, found in (await _user_rows(backend, "app", "alice")).items() if found} == {}
    assert {owner: await _user_rows(backend, *owner) for owner in others} == before
    assert await backend.get_app_state("app") == {"a": "1"}
    # A session the user creates afterwards is new, and theirs.
    await backend.create_session(SessionKey("app", "alice", "s0"), ScopedState(user={"n": "1"}), T0)
    assert await backend.get_user_state("app", "alice") == {"n": "1"}


async def test_concurrent_appends_to_a_closed_session_are_all_refused(backend: SqlBackend) -> None:
    import asyncio

    keys = [SessionKey("app", "user", f"s{n}") for n in range(6)]
    revisions = [(await backend.create_session(k, ScopedState(), T0)).revision for k in keys]
    for key in keys[::2]:
        await backend.close_session(key, T0, None)
    results = await asyncio.gather(
        *(backend.append_event(k, new_event("e"), r) for k, r in zip(keys, revisions, strict=True)),
        return_exceptions=True,
    )
    assert [type(r).__name__ for r in results] == ["SessionClosedError", "AppendResult"] * 3
