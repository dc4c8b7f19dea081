"""The memory backend's sorted listing indexes stay exact through creates, appends and deletes."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adk_grpc_sessions.server.backends.base import (
    EventWindow,
    InvalidCursorError,
    NewEvent,
    ScopedState,
    SessionKey,
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
