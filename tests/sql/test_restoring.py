"""The restore path (``Backend.restore_*``): a session written exactly as it was, in chunks, resumably.

On memory and every SQL database: what copy and import write with, and read with.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import pytest
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    Backend,
    EventWindow,
    Expiry,
    ForkOrigin,
    Metadata,
    NewEvent,
    RestoredSession,
    ScopedState,
    SessionExistsError,
    SessionKey,
    SessionNotFoundError,
    StaleRevisionError,
)
from adk_grpc_sessions.server.backends.memory import MemoryBackend
from adk_grpc_sessions.server.backends.sql import SqlBackend
from adk_grpc_sessions.server.backends.sql.queries import restored as restored_queries
from adk_grpc_sessions.server.backends.sql.queries.parts import Bound
from adk_grpc_sessions.server.cli.transfer import restorable_event, stored_events
from adk_grpc_sessions.wire.limits import state_bytes

KEY = SessionKey("app ✓", "用户", "séance")


@pytest.fixture
def backend(any_backend: Backend) -> Backend:
    """Memory, SQLite, PostgreSQL, MariaDB."""
    return any_backend


def _event_json(number: int, *, invocation: str = "inv", delta: dict[str, object] | None = None) -> str:
    # Spacing and key order of the JSON are part of what must come back byte for byte.
    event = {"id": f"e{number}", "author": "agent", "invocationId": invocation, "timestamp": 1000.5 + number}
    if delta is not None:
        event["actions"] = {"stateDelta": delta}
    return json.dumps(event, ensure_ascii=False, indent=None, separators=(", ", ": ")) + " "


def _head(event_count: int, **changes: object) -> RestoredSession:
    fields: dict[str, object] = {
        "key": KEY,
        "create_time": 1000.25,
        "last_update_time": 1000.5 + event_count,
        "revision": 987_654,
        "state": {"k": '[1, 2.50, {"ü": null}]', "n": str(2**63)},
        "initial_state": {"k": '"start"'},
        "event_count": event_count,
        "expiry": Expiry(expire_time=4_000_000_000.5, ttl=86_400.0),
        "close_time": 2000.75,
        "metadata": Metadata("Ein Gespräch", {"team": "search", "tier": "gold"}),
        "forked_from": ForkOrigin("origin", 3, "inv-2", 999.125),
    }
    fields.update(changes)
    return RestoredSession(**fields)  # type: ignore[arg-type]


async def _json_of_events(backend: Backend, key: SessionKey) -> list[tuple[int, str, str]]:
    return [
        (event.sequence, event.id, event.event_json)
        async for page in stored_events(backend, key)
        for event in page
    ]


async def test_a_session_restored_in_chunks_reads_back_exactly_as_it_was(backend: Backend) -> None:
    events = [restorable_event(_event_json(n, delta={"k": n})) for n in range(1, 8)]
    head = _head(len(events))
    await backend.restore_session(head, events[:3])
    await backend.restore_events(KEY, 4, events[3:5])
    await backend.restore_events(KEY, 6, events[5:])
    await backend.restore_events(KEY, 8, [])

    stored = await backend.read_session_head(KEY)
    assert stored is not None
    kept = ("create_time", "last_update_time", "state", "initial_state", "event_count", "expiry")
    for name in (*kept, "close_time", "metadata", "forked_from"):
        assert getattr(stored, name) == getattr(head, name), name
    assert await _json_of_events(backend, KEY) == [
        (n, f"e{n}", _event_json(n, delta={"k": n})) for n in range(1, 8)
    ]
    record = await backend.get_session(KEY, EventWindow(after_timestamp=1005.5))
    assert record is not None
    # Deltas are not applied again: the state is the one restored, and reads use the events' timestamps.
    assert record.state.session == head.state
    assert [event.id for event in record.events] == ["e5", "e6", "e7"]
    # Sizes are counted as appends count them: the session's limit holds for restored sessions too.
    assert record.stored_bytes == sum(event.size for event in events) + state_bytes(head.state) > 0
    if isinstance(backend, MemoryBackend):
        assert stored.revision == head.revision  # kept where storage can keep it
    else:
        assert stored.revision != head.revision  # derived from keys in SQL


async def test_a_restored_session_takes_appends_and_forks_like_any_other(backend: Backend) -> None:
    events = [
        restorable_event(_event_json(1, invocation="inv-1", delta={"k": 1})),
        restorable_event(_event_json(2, invocation="inv-2", delta={"k": 2})),
    ]
    await backend.restore_session(_head(2, close_time=None, forked_from=None), events)
    stored = await backend.read_session_head(KEY)
    assert stored is not None
    appended = await backend.append_event(
        KEY, restorable_event(_event_json(3, delta={"x": 1})), stored.revision
    )
    assert appended.event.sequence == 3 and not appended.already_applied
    again = await backend.append_event(KEY, events[0], appended.revision)  # a retry of a restored event
    assert again.already_applied
    fork = await backend.fork_session(KEY, "fork", 3000.0, before_invocation_id="inv-2")
    # The initial state restored, plus the first event's delta: the state before invocation inv-2.
    assert fork.state.session == {"k": "1"}


async def test_events_restored_out_of_turn_are_refused_and_change_nothing(backend: Backend) -> None:
    events = [restorable_event(_event_json(n)) for n in range(1, 4)]
    await backend.restore_session(_head(3), events[:1])
    for first_sequence in (1, 3):
        with pytest.raises(StaleRevisionError):
            await backend.restore_events(KEY, first_sequence, events[1:])
    with pytest.raises(SessionNotFoundError):
        await backend.restore_events(SessionKey("app", "u", "missing"), 1, events)
    with pytest.raises(SessionExistsError):
        await backend.restore_session(_head(0))
    assert [seq for seq, _, _ in await _json_of_events(backend, KEY)] == [1]


async def test_a_restore_replaces_an_expired_namesake(backend: Backend) -> None:
    now = backend.clock()
    await backend.create_session(
        KEY, ScopedState(session={"old": "1"}), now, expiry=Expiry(expire_time=now + 0.5)
    )
    later = now + 1
    backend.clock = lambda: later  # type: ignore[method-assign]
    await backend.restore_session(_head(1), [restorable_event(_event_json(1))])
    stored = await backend.read_session_head(KEY)
    assert stored is not None and stored.state == _head(1).state and stored.event_count == 1


async def test_shared_state_is_restored_key_by_key_and_counted(backend: Backend) -> None:
    await backend.create_session(KEY, ScopedState(app={"kept": "1"}, user={"kept": "2"}), 1.0)
    await backend.restore_shared_state(KEY.app_name, None, {"a": '"ä"', "kept": "10"})
    await backend.restore_shared_state(KEY.app_name, KEY.user_id, {"b": "[]"})
    await backend.restore_shared_state(KEY.app_name, KEY.user_id, {"b": "[]"})  # again: nothing changes
    assert await backend.get_app_state(KEY.app_name) == {"kept": "10", "a": '"ä"'}
    assert await backend.get_user_state(KEY.app_name, KEY.user_id) == {"kept": "2", "b": "[]"}
    await backend.restore_shared_state("only state", "someone", {"x": "1"})
    assert list((await backend.list_users("only state", 10, None)).items) == ["someone"]
    record = await backend.get_session(KEY, EventWindow())
    assert record is not None and record.state.app == {"kept": "10", "a": '"ä"'}


def _batch() -> list[tuple[RestoredSession, list[NewEvent]]]:
    """Sessions of several apps and users: with and without events, metadata, state and a fork origin."""
    batch: list[tuple[RestoredSession, list[NewEvent]]] = []
    for number in range(12):
        key = SessionKey(f"app {number % 2} ✓", f"用户 {number % 3}", f"séance {number}")
        events = [restorable_event(_event_json(n, delta={"k": n})) for n in range(1, 1 + number % 4)]
        plain = number % 3 == 0
        head = _head(
            len(events),
            key=key,
            state={} if plain else {"k": f'"{number}"', "n": str(2**63)},
            initial_state=None if plain else {"k": '"start"'},
            expiry=Expiry() if plain else Expiry(expire_time=4_000_000_000.5, ttl=86_400.0),
            close_time=2000.75 if number % 3 == 1 else None,
            metadata=Metadata() if plain else Metadata(f"Gespräch {number}", {"n": str(number)}),
            forked_from=None if plain else ForkOrigin("origin", 3, "inv-2", 999.125),
        )
        batch.append((head, events))
    return batch


async def test_sessions_restored_together_read_back_as_each_restored_alone(backend: Backend) -> None:
    batch = _batch()
    assert await backend.restore_sessions(batch) == []
    for head, events in batch:
        stored = await backend.read_session_head(head.key)
        assert stored is not None
        for name in ("create_time", "last_update_time", "state", "event_count", "expiry", "close_time"):
            assert getattr(stored, name) == getattr(head, name), name
        for name in ("metadata", "forked_from"):
            assert getattr(stored, name) == getattr(head, name), name
        if head.initial_state is not None:  # "not kept" reads back as kept or not, by backend
            assert stored.initial_state == head.initial_state
        assert [json for _, _, json in await _json_of_events(backend, head.key)] == [
            event.event_json for event in events
        ]
        record = await backend.get_session(head.key, EventWindow())
        assert record is not None
        assert record.stored_bytes == sum(event.size for event in events) + state_bytes(head.state)
        if head.close_time is not None:
            continue
        # Its revision is one an append takes, and its events resume where they end.
        appended = await backend.append_event(
            head.key, restorable_event(_event_json(9, invocation="later")), stored.revision
        )
        assert appended.event.sequence == len(events) + 1
    # Their own scopes' sizes are made as a create makes them: shared state restored later is counted.
    head = batch[1][0]
    await backend.restore_shared_state(head.key.app_name, head.key.user_id, {"u": "1"})
    assert await backend.get_user_state(head.key.app_name, head.key.user_id) == {"u": "1"}


async def test_a_batch_leaves_sessions_whose_names_are_held_to_be_restored_one_by_one(
    backend: Backend,
) -> None:
    batch = _batch()
    live, expiring = batch[2][0].key, batch[5][0].key
    now = backend.clock()
    await backend.create_session(live, ScopedState(session={"mine": "1"}), now)
    await backend.create_session(expiring, ScopedState(), now, expiry=Expiry(expire_time=now + 0.5))
    later = now + 1
    backend.clock = lambda: later  # type: ignore[method-assign]
    held = await backend.restore_sessions(batch)
    if isinstance(backend, MemoryBackend):
        assert held == [live]  # restored one by one, where the expired namesake is purged
    else:
        assert held == [live, expiring]
        await backend.restore_session(*batch[5])  # purges the expired namesake
    still = await backend.read_session_head(live)
    assert still is not None and still.state == {"mine": "1"}  # left alone
    for head, events in batch:
        if head.key != live:
            stored = await backend.read_session_head(head.key)
            assert stored is not None and stored.create_time == head.create_time
            assert stored.event_count == len(events)


async def test_a_batch_of_sessions_costs_a_few_statements_not_a_few_per_session(database_uri: str) -> None:
    backend = SqlBackend.from_uri(database_uri)
    await backend.upgrade_schema()
    await backend.start()
    statements = 0

    database = backend.engine.url.database

    def count(connection: sa.Connection, *_: object) -> None:
        # This test's database only: another test's engine still at work in this process must not count.
        nonlocal statements
        if connection.engine.url.database == database:
            statements += 1

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    try:
        assert await backend.restore_sessions(_batch()) == []
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)
        await backend.close()
    # The names checked, rows, their keys, labels, size rows, state, events, last events, counts.
    assert 0 < statements <= 12, statements


async def test_a_name_taken_after_the_batch_checked_it_leaves_the_batch_to_be_written_one_by_one(
    database_uri: str,
) -> None:
    backend = SqlBackend.from_uri(database_uri)
    await backend.upgrade_schema()
    await backend.start()
    try:
        batch = _batch()
        taken = batch[4][0].key
        await backend.create_session(taken, ScopedState(session={"mine": "1"}), backend.clock())
        checks = 0
        real_check = restored_queries.select_named

        def blind_first_check(keys: Iterable[SessionKey]) -> Bound:
            # As if another writer created ``taken`` between the batch's check and its insert.
            nonlocal checks
            checks += 1
            return real_check([] if checks == 1 else keys)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(restored_queries, "select_named", blind_first_check)
            assert await backend.restore_sessions(batch) == [taken]
        for head, events in batch:
            stored = await backend.read_session_head(head.key)
            assert stored is not None
            if head.key == taken:
                assert stored.state == {"mine": "1"} and stored.create_time != head.create_time
            else:
                assert stored.create_time == head.create_time and stored.event_count == len(events)
    finally:
        await backend.close()
