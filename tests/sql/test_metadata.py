"""Session metadata, filtered and ordered listings, and forks in SQL: a SQLite file, PostgreSQL and MariaDB.

Through the Backend API, on real databases; what only the tables can show
(the labels' rows, the initial state kept) is read from them directly.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    NEVER,
    Condition,
    EventWindow,
    Expiry,
    Field,
    ForkOrigin,
    ForkPointNotFoundError,
    ForkPointUnknownError,
    Metadata,
    NewEvent,
    Operator,
    OrderBy,
    ReadBudget,
    ScopedState,
    SessionExistsError,
    SessionKey,
    SessionNotFoundError,
    SessionQuery,
    SessionRecord,
    SessionUpdate,
)
from adk_grpc_sessions.server.backends.sql import SqlBackend, schema

T0 = 1_700_000_000.0
KEY = SessionKey("app", "user", "session")
SMALL = ReadBudget(bytes=2_000)
"""A budget too small for the whole session: reads take the path of several statements."""


def new_event(
    event_id: str, invocation_id: str = "inv", delta: ScopedState | None = None, timestamp: float = T0
) -> NewEvent:
    body = {"id": event_id, "invocationId": invocation_id, "author": "user", "timestamp": timestamp}
    return NewEvent(
        id=event_id,
        invocation_id=invocation_id,
        author="user",
        branch="",
        timestamp=timestamp,
        state_delta=delta or ScopedState(),
        event_json=json.dumps(body),
        wire_cache=b"opaque:" + event_id.encode(),
        size=200,
    )


async def append(backend: SqlBackend, key: SessionKey, event: NewEvent) -> int:
    """Appends ``event`` at the session's current revision; the new revision."""
    current = await backend.get_session(key, EventWindow(num_recent_events=0))
    assert current is not None
    return (await backend.append_event(key, event, current.revision)).revision


async def listed(
    backend: SqlBackend,
    query: SessionQuery,
    *,
    user_id: str | None = "user",
    page_size: int = 100,
) -> list[str]:
    """The session ids ``query`` lists, walking every page."""
    ids: list[str] = []
    cursor = None
    while True:
        page = await backend.list_sessions("app", user_id, page_size, cursor, query=query)
        ids += [record.key.session_id for record in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return ids


def where(
    *conditions: Condition, order_by: OrderBy = OrderBy.UPDATE_TIME, desc: bool = False
) -> SessionQuery:
    return SessionQuery(conditions=conditions, order_by=order_by, descending=desc)


# Metadata


async def test_metadata_set_at_create_round_trips_through_every_read(backend: SqlBackend) -> None:
    metadata = Metadata("Trip to Zürich \x00 ✈", {"env": "prod", "team": "a-b_c"})
    created = await backend.create_session(KEY, ScopedState(session={"k": '"v"'}), T0, metadata=metadata)
    assert created.metadata == metadata
    await append(backend, KEY, new_event("e1"))
    for budget in (ReadBudget(), SMALL):
        read = await backend.get_session(KEY, EventWindow(), budget=budget)
        assert read is not None
        assert read.metadata == metadata
        assert read.event_count == 1
        assert read.forked_from is None
    (item,) = (await backend.list_sessions("app", "user", 10, None)).items
    assert item.metadata == metadata


async def test_a_session_without_metadata_reads_as_none(backend: SqlBackend) -> None:
    await backend.create_session(KEY, ScopedState(), T0)
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None
    assert read.metadata == Metadata()
    (item,) = (await backend.list_sessions("app", "user", 10, None)).items
    assert item.metadata == Metadata()


async def test_event_count_and_stored_bytes_count_events_and_session_state(backend: SqlBackend) -> None:
    created = await backend.create_session(KEY, ScopedState(session={"k": "1"}, user={"u": "1"}), T0)
    state_bytes = 1 + 1 + 16  # key, value, entry framing (wire.limits.state_entry_bytes)
    assert (created.event_count, created.stored_bytes) == (0, state_bytes)
    await append(backend, KEY, new_event("e1", delta=ScopedState(session={"k2": "22"})))
    await append(backend, KEY, new_event("e2"))
    expected = (2, 2 * 200 + state_bytes + (2 + 2 + 16))
    for budget in (ReadBudget(), SMALL):
        read = await backend.get_session(KEY, EventWindow(num_recent_events=0), budget=budget)
        assert read is not None
        assert (read.event_count, read.stored_bytes) == expected
    (item,) = (await backend.list_sessions("app", "user", 10, None)).items
    assert (item.event_count, item.stored_bytes) == expected


async def test_update_changes_metadata_without_moving_revision_or_update_time(backend: SqlBackend) -> None:
    await backend.create_session(KEY, ScopedState(), T0, metadata=Metadata("first", {"a": "1", "b": "2"}))
    revision = await append(backend, KEY, new_event("e1", timestamp=T0 + 5))
    updated = await backend.update_session(KEY, SessionUpdate(display_name="second", labels={"c": "3"}))
    assert updated.metadata == Metadata("second", {"c": "3"})
    assert (updated.revision, updated.last_update_time) == (revision, T0 + 5)
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None
    assert read.metadata == Metadata("second", {"c": "3"})
    assert (read.revision, read.last_update_time, len(read.events)) == (revision, T0 + 5, 1)
    # The old labels' rows are gone: a filter finds the new ones only.
    assert await listed(backend, where(Condition(Field.LABEL, Operator.HAS, None, "a"))) == []
    assert await listed(backend, where(Condition(Field.LABEL, Operator.EQ, "3", "c"))) == ["session"]


async def test_update_leaves_what_it_does_not_name_and_empties_remove(backend: SqlBackend) -> None:
    await backend.create_session(KEY, ScopedState(), T0, metadata=Metadata("name", {"a": "1"}))
    only_name = await backend.update_session(KEY, SessionUpdate(display_name="other"))
    assert only_name.metadata == Metadata("other", {"a": "1"})
    later = Expiry(backend.clock() + 3600)
    only_expiry = await backend.update_session(KEY, SessionUpdate(expiry=later))
    assert (only_expiry.metadata, only_expiry.expiry) == (Metadata("other", {"a": "1"}), later)
    emptied = await backend.update_session(KEY, SessionUpdate(display_name="", labels={}))
    assert (emptied.metadata, emptied.expiry) == (Metadata(), later)
    assert await listed(backend, where(Condition(Field.LABEL, Operator.HAS, None, "a"))) == []


async def test_update_of_a_missing_session_is_not_found(backend: SqlBackend) -> None:
    with pytest.raises(SessionNotFoundError):
        await backend.update_session(KEY, SessionUpdate(display_name="x"))


async def test_a_deleted_sessions_labels_go_with_it(backend: SqlBackend) -> None:
    await backend.create_session(KEY, ScopedState(), T0, metadata=Metadata("", {"a": "1"}))
    await backend.delete_session(KEY)
    async with backend.transaction(write=False) as connection:
        count = (
            await connection.execute(sa.select(sa.func.count()).select_from(schema.session_labels))
        ).scalar()
    assert count == 0


# Filters


async def _labelled_sessions(backend: SqlBackend) -> None:
    """s1..s4 of one user, created a second apart, with names and labels to filter by; s4 closed."""
    specs = [
        ("s1", Metadata("alpha", {"env": "prod", "team": "x"})),
        ("s2", Metadata("beta", {"env": "dev"})),
        ("s3", Metadata("", {"team": "y"})),
        ("s4", Metadata("alpha", {})),
    ]
    for n, (session_id, metadata) in enumerate(specs):
        await backend.create_session(
            SessionKey("app", "user", session_id), ScopedState(), T0 + n, metadata=metadata
        )
    # Someone else's session matches everything but is never listed for "user".
    await backend.create_session(SessionKey("app", "other", "s9"), ScopedState(), T0, metadata=specs[0][1])
    await backend.close_session(SessionKey("app", "user", "s4"), T0 + 10, None)


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ((Condition(Field.DISPLAY_NAME, Operator.EQ, "alpha"),), ["s1", "s4"]),
        ((Condition(Field.DISPLAY_NAME, Operator.NE, "alpha"),), ["s2", "s3"]),
        ((Condition(Field.DISPLAY_NAME, Operator.EQ, ""),), ["s3"]),
        ((Condition(Field.DISPLAY_NAME, Operator.NE, ""),), ["s1", "s2", "s4"]),
        ((Condition(Field.LABEL, Operator.EQ, "prod", "env"),), ["s1"]),
        ((Condition(Field.LABEL, Operator.NE, "prod", "env"),), ["s2", "s3", "s4"]),
        ((Condition(Field.LABEL, Operator.HAS, None, "team"),), ["s1", "s3"]),
        ((Condition(Field.LABEL, Operator.EQ, "", "env"),), []),
        ((Condition(Field.CREATE_TIME, Operator.EQ, T0 + 1),), ["s2"]),
        ((Condition(Field.CREATE_TIME, Operator.NE, T0 + 1),), ["s1", "s3", "s4"]),
        ((Condition(Field.CREATE_TIME, Operator.LT, T0 + 1),), ["s1"]),
        ((Condition(Field.CREATE_TIME, Operator.LE, T0 + 1),), ["s1", "s2"]),
        ((Condition(Field.CREATE_TIME, Operator.GT, T0 + 2),), ["s4"]),
        ((Condition(Field.CREATE_TIME, Operator.GE, T0 + 2),), ["s3", "s4"]),
        ((Condition(Field.UPDATE_TIME, Operator.GE, T0 + 2),), ["s3", "s4"]),
        ((Condition(Field.UPDATE_TIME, Operator.LT, T0 + 0.5),), ["s1"]),
        ((Condition(Field.CLOSED, Operator.EQ, True),), ["s4"]),
        ((Condition(Field.CLOSED, Operator.EQ, False),), ["s1", "s2", "s3"]),
        (
            (
                Condition(Field.LABEL, Operator.HAS, None, "team"),
                Condition(Field.CREATE_TIME, Operator.GT, T0),
                Condition(Field.CLOSED, Operator.EQ, False),
            ),
            ["s3"],
        ),
        (
            (
                Condition(Field.DISPLAY_NAME, Operator.EQ, "alpha"),
                Condition(Field.LABEL, Operator.EQ, "x", "team"),
            ),
            ["s1"],
        ),
    ],
    ids=repr,
)
async def test_each_filter_term_keeps_exactly_its_sessions(
    backend: SqlBackend, conditions: tuple[Condition, ...], expected: list[str]
) -> None:
    await _labelled_sessions(backend)
    assert await listed(backend, where(*conditions)) == expected
    # The same through the app's listing (every user), where "other" has s9.
    everyone = await listed(backend, where(*conditions), user_id=None)
    assert [s for s in everyone if s != "s9"] == expected


async def test_a_filter_on_every_user_lists_each_users_matches(backend: SqlBackend) -> None:
    await _labelled_sessions(backend)
    query = where(Condition(Field.LABEL, Operator.EQ, "prod", "env"), order_by=OrderBy.CREATE_TIME)
    assert await listed(backend, query, user_id=None) == ["s9", "s1"]  # same create time: "other" < "user"


# Orders and paging


@pytest.mark.parametrize("page_size", [1, 2, 100])
@pytest.mark.parametrize("user_id", ["user", None])
async def test_orders_by_create_and_update_time_each_way_with_ties_broken_by_user_then_id(
    backend: SqlBackend, page_size: int, user_id: str | None
) -> None:
    # Created in the order c, a, b (a and b at the same time); updated in the order b, a, c (a and c tie).
    for session_id, created in (("c", T0), ("a", T0 + 1), ("b", T0 + 1)):
        await backend.create_session(SessionKey("app", "user", session_id), ScopedState(), created)
    for session_id, updated in (("b", T0 + 5), ("a", T0 + 7), ("c", T0 + 7)):
        await append(backend, SessionKey("app", "user", session_id), new_event("e", timestamp=updated))
    if user_id is None:  # a tie across users: "other" sorts before "user"
        await backend.create_session(SessionKey("app", "other", "z"), ScopedState(), T0 + 1)
        await append(backend, SessionKey("app", "other", "z"), new_event("e", timestamp=T0 + 7))
    created_order = ["c", "a", "b"] if user_id else ["c", "z", "a", "b"]
    updated_order = ["b", "a", "c"] if user_id else ["b", "z", "a", "c"]
    assert await listed(
        backend, where(order_by=OrderBy.CREATE_TIME), user_id=user_id, page_size=page_size
    ) == (created_order)
    assert await listed(
        backend, where(order_by=OrderBy.CREATE_TIME, desc=True), user_id=user_id, page_size=page_size
    ) == list(reversed(created_order))
    assert await listed(backend, where(), user_id=user_id, page_size=page_size) == updated_order
    assert await listed(backend, where(desc=True), user_id=user_id, page_size=page_size) == list(
        reversed(updated_order)
    )


async def test_a_filtered_listing_pages_across_a_tie(backend: SqlBackend) -> None:
    for n in range(7):
        labels = {"env": "prod"} if n % 2 == 0 else {}
        await backend.create_session(
            SessionKey("app", "user", f"s{n}"), ScopedState(), T0, metadata=Metadata("", labels)
        )
    query = where(Condition(Field.LABEL, Operator.EQ, "prod", "env"), order_by=OrderBy.CREATE_TIME, desc=True)
    assert await listed(backend, query, page_size=1) == ["s6", "s4", "s2", "s0"]


async def test_sessions_updated_while_paging_are_listed_at_most_once_and_unchanged_ones_exactly_once(
    backend: SqlBackend,
) -> None:
    keys = [SessionKey("app", "user", f"s{n}") for n in range(6)]
    for n, key in enumerate(keys):
        await backend.create_session(key, ScopedState(), T0 + n)
    seen: list[str] = []
    page = await backend.list_sessions("app", "user", 2, None, query=where(desc=True))
    seen += [r.key.session_id for r in page.items]
    # Between pages: a listed session and an unlisted one move to the front (newest update).
    await append(backend, keys[5], new_event("e", timestamp=T0 + 100))
    await append(backend, keys[1], new_event("e", timestamp=T0 + 101))
    while page.next_cursor is not None:
        page = await backend.list_sessions("app", "user", 2, page.next_cursor, query=where(desc=True))
        seen += [r.key.session_id for r in page.items]
    assert len(seen) == len(set(seen))
    assert {"s0", "s2", "s3", "s4"} <= set(seen)


async def test_a_next_page_of_a_create_time_order_resumes_at_create_time(backend: SqlBackend) -> None:
    # Update times in the reverse order of create times: a cursor that held the update time would skip.
    for n in range(4):
        key = SessionKey("app", "user", f"s{n}")
        await backend.create_session(key, ScopedState(), T0 + n)
        await append(backend, key, new_event("e", timestamp=T0 + 100 - n))
    assert await listed(backend, where(order_by=OrderBy.CREATE_TIME), page_size=1) == ["s0", "s1", "s2", "s3"]


async def test_a_listing_returns_the_metadata_and_state_of_each_session(backend: SqlBackend) -> None:
    await backend.create_session(
        SessionKey("app", "user", "s1"),
        ScopedState(session={"k": "1"}),
        T0,
        metadata=Metadata("one", {"a": "1"}),
    )
    await backend.create_session(SessionKey("app", "user", "s2"), ScopedState(session={"k": "2"}), T0 + 1)
    page = await backend.list_sessions(
        "app", "user", 10, None, query=where(order_by=OrderBy.CREATE_TIME, desc=True)
    )
    assert [(r.key.session_id, r.state.session, r.metadata) for r in page.items] == [
        ("s2", {"k": "2"}, Metadata()),
        ("s1", {"k": "1"}, Metadata("one", {"a": "1"})),
    ]


# Forks


def _state_event(n: int, invocation: str) -> NewEvent:
    return new_event(
        f"e{n}",
        invocation,
        ScopedState(session={"count": str(n), f"k{n}": '"v"'}, user={"u": str(n)}),
        T0 + n,
    )


async def _source_with_three_invocations(backend: SqlBackend) -> list[SessionRecord]:
    """KEY with events e1..e6 (invocations i1: e1 e2, i2: e3 e4, i3: e5 e6); its state after each event."""
    await backend.create_session(KEY, ScopedState(session={"start": "true", "count": "0"}), T0)
    states = []
    for n in range(1, 7):
        await append(backend, KEY, _state_event(n, f"i{(n + 1) // 2}"))
        read = await backend.get_session(KEY, EventWindow())
        assert read is not None
        states.append(read)
    return states


async def test_a_fork_of_every_event_copies_events_and_state_and_leaves_the_source(
    backend: SqlBackend,
) -> None:
    states = await _source_with_three_invocations(backend)
    source = states[-1]
    fork = await backend.fork_session(KEY, "fork", T0 + 50, metadata=Metadata("copy", {"from": "session"}))
    assert fork.key == SessionKey("app", "user", "fork")
    assert fork.state == source.state
    assert fork.forked_from == ForkOrigin("session", 6, "", T0 + 50)
    assert (fork.create_time, fork.event_count, fork.stored_bytes) == (T0 + 50, 6, source.stored_bytes)
    assert fork.metadata == Metadata("copy", {"from": "session"})
    assert fork.close_time is None
    read = await backend.get_session(fork.key, EventWindow())
    assert read is not None
    assert [(e.id, e.sequence, e.event_json, e.wire_cache) for e in read.events] == [
        (e.id, e.sequence, e.event_json, e.wire_cache) for e in source.events
    ]
    assert read.forked_from == fork.forked_from
    after = await backend.get_session(KEY, EventWindow())
    assert after == source


@pytest.mark.parametrize(("invocation", "copied"), [("i1", 0), ("i2", 2), ("i3", 4)])
async def test_a_fork_before_an_invocation_has_the_sources_state_at_that_point(
    backend: SqlBackend, invocation: str, copied: int
) -> None:
    states = await _source_with_three_invocations(backend)
    fork = await backend.fork_session(KEY, "fork", T0 + 50, before_invocation_id=invocation)
    expected_session = states[copied - 1].state.session if copied else {"start": "true", "count": "0"}
    assert fork.state.session == expected_session
    assert fork.state.user == states[-1].state.user  # the user's state is shared, not forked
    assert fork.forked_from == ForkOrigin("session", copied, invocation, T0 + 50)
    read = await backend.get_session(fork.key, EventWindow())
    assert read is not None
    assert [e.id for e in read.events] == [f"e{n}" for n in range(1, copied + 1)]
    assert read.stored_bytes == copied * 200 + sum(len(k) + len(v) + 16 for k, v in expected_session.items())
    assert await backend.get_session(KEY, EventWindow()) == states[-1]


async def test_a_forks_appends_never_touch_the_source_and_its_event_ids_stay_unique(
    backend: SqlBackend,
) -> None:
    states = await _source_with_three_invocations(backend)
    fork = await backend.fork_session(KEY, "fork", T0 + 50, before_invocation_id="i3")
    assert fork.revision not in {s.revision for s in states}
    # (Session-scoped state only: the user's state is shared by both, as by any two sessions.)
    own_delta = ScopedState(session={"count": "500", "k5": '"fork"'})
    appended = await backend.append_event(fork.key, new_event("e5", "other", own_delta), fork.revision)
    assert not appended.already_applied
    assert appended.event.sequence == 5
    assert appended.revision != states[-1].revision
    retried = await backend.append_event(fork.key, _state_event(1, "i1"), appended.revision)
    assert retried.already_applied  # e1 is the fork's own copy: a retry of it, not a new event
    assert await backend.get_session(KEY, EventWindow()) == states[-1]
    # And the source's appends never touch the fork.
    await backend.append_event(KEY, new_event("e7"), states[-1].revision)
    fork_read = await backend.get_session(fork.key, EventWindow())
    assert fork_read is not None
    assert [e.id for e in fork_read.events] == ["e1", "e2", "e3", "e4", "e5"]


async def test_a_fork_of_a_fork_before_an_invocation_starts_from_the_first_sources_initial_state(
    backend: SqlBackend,
) -> None:
    states = await _source_with_three_invocations(backend)
    await backend.fork_session(KEY, "fork", T0 + 50)
    again = await backend.fork_session(
        SessionKey("app", "user", "fork"), "fork2", T0 + 60, before_invocation_id="i2"
    )
    assert again.state.session == states[1].state.session


async def test_a_fork_before_an_unknown_invocation_is_refused(backend: SqlBackend) -> None:
    await _source_with_three_invocations(backend)
    with pytest.raises(ForkPointNotFoundError):
        await backend.fork_session(KEY, "fork", T0 + 50, before_invocation_id="nope")
    assert await backend.get_session(SessionKey("app", "user", "fork"), EventWindow()) is None


async def test_a_fork_into_a_taken_id_is_refused_and_into_an_expired_ones_id_succeeds(
    backend: SqlBackend,
) -> None:
    await _source_with_three_invocations(backend)
    taken = SessionKey("app", "user", "taken")
    await backend.create_session(taken, ScopedState(), T0)
    with pytest.raises(SessionExistsError):
        await backend.fork_session(KEY, "taken", T0 + 50)
    await backend.update_session(taken, SessionUpdate(expiry=Expiry(backend.clock() - 1)))
    fork = await backend.fork_session(KEY, "taken", T0 + 50, expiry=Expiry(None, None))
    assert fork.event_count == 6


async def test_a_fork_of_a_missing_or_expired_source_is_not_found(backend: SqlBackend) -> None:
    with pytest.raises(SessionNotFoundError):
        await backend.fork_session(KEY, "fork", T0)
    await backend.create_session(KEY, ScopedState(), T0, expiry=Expiry(backend.clock() + 3600))
    await backend.update_session(KEY, SessionUpdate(expiry=Expiry(backend.clock() - 1)))
    with pytest.raises(SessionNotFoundError):
        await backend.fork_session(KEY, "fork", T0)


async def test_a_fork_is_given_its_expiry(backend: SqlBackend) -> None:
    await backend.create_session(KEY, ScopedState(), T0)
    expiry = Expiry(backend.clock() + 3600, 3600.0)
    fork = await backend.fork_session(KEY, "fork", T0, expiry=expiry)
    assert fork.expiry == expiry
    plain = await backend.fork_session(KEY, "fork2", T0)
    assert plain.expiry == NEVER


async def _forget_initial_state(backend: SqlBackend, key: SessionKey) -> None:
    """Makes the session's initial state unknown, as for an imported session or one created before 0003."""
    async with backend.transaction(write=True) as connection:
        await connection.execute(
            sa.update(schema.sessions)
            .where(schema.sessions.c.session_id == key.session_id)
            .values(initial_state=None)
        )


async def test_a_session_whose_initial_state_is_unknown_forks_whole_but_not_before_an_invocation(
    backend: SqlBackend,
) -> None:
    states = await _source_with_three_invocations(backend)
    await _forget_initial_state(backend, KEY)
    with pytest.raises(ForkPointUnknownError):
        await backend.fork_session(KEY, "fork", T0 + 50, before_invocation_id="i2")
    whole = await backend.fork_session(KEY, "fork", T0 + 50)
    assert whole.state == states[-1].state
    # The whole fork inherits the unknown: it cannot be forked before an invocation either.
    with pytest.raises(ForkPointUnknownError):
        await backend.fork_session(whole.key, "fork2", T0 + 60, before_invocation_id="i2")


async def test_the_initial_state_kept_is_the_session_scoped_state_given_at_create(
    backend: SqlBackend,
) -> None:
    await backend.create_session(
        KEY, ScopedState(app={"a": "1"}, user={"u": "2"}, session={"s": '{"x": [1]}'}), T0
    )
    async with backend.transaction(write=False) as connection:
        kept = (await connection.execute(sa.select(schema.sessions.c.initial_state))).scalar_one()
    assert json.loads(kept) == {"s": '{"x": [1]}'}
