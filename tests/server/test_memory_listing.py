"""The memory backend's sorted listing indexes stay exact through creates, appends and deletes, in every order."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adk_grpc_sessions.server.backends.base import (
    Condition,
    EventWindow,
    Field,
    InvalidCursorError,
    Metadata,
    NewEvent,
    Operator,
    OrderBy,
    ScopedState,
    SessionKey,
    SessionQuery,
    SessionRecord,
)
from adk_grpc_sessions.server.backends.memory import MemoryBackend

USERS = ("u0", "u1", "u2")
SESSIONS = ("s0", "s1", "s2", "s3")
keys = st.builds(SessionKey, st.just("app"), st.sampled_from(USERS), st.sampled_from(SESSIONS))
# Few distinct times, so that ties (broken by user and session id) are common.
times = st.integers(0, 4).map(float)
operations = st.lists(st.tuples(st.sampled_from(["create", "append", "delete"]), keys, times), max_size=40)


async def _apply(backend: MemoryBackend, ops: list[tuple[str, SessionKey, float]]) -> None:
    for number, (op, key, when) in enumerate(ops):
        exists = await backend.get_session(key, EventWindow()) is not None
        if op == "create" and not exists:
            await backend.create_session(key, ScopedState(), when)
        elif op == "append" and exists:
            session = await backend.get_session(key, EventWindow())
            assert session is not None
            event = NewEvent(
                id=f"e{number}", invocation_id="", author="a", branch="", timestamp=when,
                state_delta=ScopedState(), event_json="{}",
            )  # fmt: skip
            await backend.append_event(key, event, session.revision)
        elif op == "delete":
            await backend.delete_session(key)


async def _listing(backend: MemoryBackend, user_id: str | None, page_size: int) -> list[SessionKey]:
    listed, cursor = [], None
    while True:
        page = await backend.list_sessions("app", user_id, page_size, cursor)
        listed += [s.key for s in page.items]
        if page.next_cursor is None:
            return listed
        cursor = page.next_cursor


@settings(max_examples=60, deadline=None)
@given(ops=operations, page_size=st.integers(1, 5))
def test_pages_list_the_live_sessions_in_order(
    ops: list[tuple[str, SessionKey, float]], page_size: int
) -> None:
    async def check() -> None:
        backend = MemoryBackend()
        await _apply(backend, ops)
        live = []
        for user in USERS:
            for session_id in SESSIONS:
                found = await backend.get_session(SessionKey("app", user, session_id), EventWindow())
                if found is not None:
                    live.append((found.last_update_time, user, session_id))
        expected = [SessionKey("app", user, session) for _, user, session in sorted(live)]
        assert await _listing(backend, None, page_size) == expected
        for user in USERS:
            assert await _listing(backend, user, page_size) == [k for k in expected if k.user_id == user]

    asyncio.run(check())


async def test_a_cursor_the_backend_did_not_write_is_an_invalid_cursor() -> None:
    backend = MemoryBackend()
    key = SessionKey("app", "u0", "s0")
    await backend.create_session(key, ScopedState(), 1.0)
    for cursor in ("not-a-cursor", "[]", '[1.0, "u\\u0000", "s"]', "[0]", "[1, 2, 1]", "[true]"):
        with pytest.raises(InvalidCursorError):
            await backend.list_sessions("app", None, 2, cursor)
        with pytest.raises(InvalidCursorError):
            await backend.list_events(key, None, 2, cursor)


_CONDITIONS = (
    Condition(Field.DISPLAY_NAME, Operator.EQ, "x"),
    Condition(Field.DISPLAY_NAME, Operator.NE, "x"),
    Condition(Field.LABEL, Operator.EQ, "1", "k"),
    Condition(Field.LABEL, Operator.NE, "1", "k"),
    Condition(Field.LABEL, Operator.HAS, None, "k"),
    Condition(Field.CREATE_TIME, Operator.GE, 2.0),
    Condition(Field.CREATE_TIME, Operator.LT, 3.0),
    Condition(Field.UPDATE_TIME, Operator.GT, 1.0),
    Condition(Field.UPDATE_TIME, Operator.LE, 3.0),
    Condition(Field.UPDATE_TIME, Operator.EQ, 2.0),
    Condition(Field.UPDATE_TIME, Operator.NE, 2.0),
    Condition(Field.CLOSED, Operator.EQ, True),
    Condition(Field.CLOSED, Operator.EQ, False),
)


def _meets(session: SessionRecord, condition: Condition) -> bool:
    """A condition's meaning, written out plainly for the check."""
    times = {Field.CREATE_TIME: session.create_time, Field.UPDATE_TIME: session.last_update_time}
    match condition.field:
        case Field.DISPLAY_NAME:
            same = session.metadata.display_name == condition.value
        case Field.LABEL:
            label = session.metadata.labels.get(condition.label)
            if condition.operator is Operator.HAS:
                return label is not None
            same = label == condition.value
        case Field.CLOSED:
            same = (session.close_time is not None) == condition.value
        case _:
            compare = {
                Operator.EQ: float.__eq__,
                Operator.NE: float.__ne__,
                Operator.LT: float.__lt__,
                Operator.LE: float.__le__,
                Operator.GT: float.__gt__,
                Operator.GE: float.__ge__,
            }[condition.operator]
            assert isinstance(condition.value, float)
            return bool(compare(times[condition.field], condition.value))
    return same if condition.operator is Operator.EQ else not same


sessions_with_metadata = st.lists(
    st.tuples(
        keys,
        times,  # create time
        times,  # update time (an event's timestamp)
        st.sampled_from(["", "x", "y"]),
        st.sampled_from([{}, {"k": "1"}, {"k": "2"}, {"j": "1"}]),
        st.booleans(),  # closed
    ),
    max_size=12,
)


@settings(max_examples=80, deadline=None)
@given(
    sessions=sessions_with_metadata,
    conditions=st.lists(st.sampled_from(_CONDITIONS), max_size=2),
    order_by=st.sampled_from(OrderBy),
    descending=st.booleans(),
    page_size=st.integers(1, 4),
)
def test_filtered_ordered_pages_list_exactly_the_kept_sessions_in_order(
    sessions: list[tuple[SessionKey, float, float, str, dict[str, str], bool]],
    conditions: list[Condition],
    order_by: OrderBy,
    descending: bool,
    page_size: int,
) -> None:
    async def check() -> None:
        backend = MemoryBackend()
        for number, (key, created, updated, name, labels, closed) in enumerate(sessions):
            if await backend.get_session(key, EventWindow()) is not None:
                continue
            record = await backend.create_session(
                key, ScopedState(), created, metadata=Metadata(name, labels)
            )
            event = NewEvent(
                id=f"e{number}", invocation_id="", author="a", branch="", timestamp=updated,
                state_delta=ScopedState(), event_json="{}",
            )  # fmt: skip
            await backend.append_event(key, event, record.revision)
            if closed:
                await backend.close_session(key, created, None)
        query = SessionQuery(tuple(conditions), order_by, descending)
        every = (await backend.list_sessions("app", None, 1000, None)).items
        kept = [s for s in every if all(_meets(s, c) for c in conditions)]

        def position(s: SessionRecord) -> tuple[float, str, str]:
            time = s.create_time if order_by is OrderBy.CREATE_TIME else s.last_update_time
            return (time, s.key.user_id, s.key.session_id)

        kept.sort(key=position, reverse=descending)
        listed, cursor = [], None
        while True:
            page = await backend.list_sessions("app", None, page_size, cursor, query=query)
            listed += [s.key for s in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert listed == [s.key for s in kept]
        for user in USERS:
            page = await backend.list_sessions("app", user, 1000, None, query=query)
            assert [s.key for s in page.items] == [s.key for s in kept if s.key.user_id == user]

    asyncio.run(check())
