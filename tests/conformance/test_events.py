"""Appending events, reading them back, and the rules around both."""

from __future__ import annotations

import asyncio

import pytest
from google.adk.errors import StaleSessionError
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.base_session_service import BaseSessionService, GetSessionConfig
from google.adk.sessions.session import Session
from google.genai import types

from tests.conformance.conftest import APPEND_METHODS, AppendCalls


def _text_event(text: str, timestamp: float, author: str = "user") -> Event:
    return Event(
        author=author,
        invocation_id="inv-1",
        timestamp=timestamp,
        content=types.Content(role="user" if author == "user" else "model", parts=[types.Part(text=text)]),
    )


async def _session_with_events(
    service: BaseSessionService, app_name: str, timestamps: list[float]
) -> Session:
    session = await service.create_session(app_name=app_name, user_id="u1")
    for index, timestamp in enumerate(timestamps):
        await service.append_event(session, _text_event(f"e{index}", timestamp))
    return session


def _texts(session: Session | None) -> list[str]:
    assert session is not None
    return [e.content.parts[0].text or "" for e in session.events if e.content and e.content.parts]


async def test_append_returns_the_event_and_adds_it_to_the_session(
    service: BaseSessionService, app_name: str
) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1")
    event = _text_event("hello", 1_800_000_000.25)
    returned = await service.append_event(session, event)
    assert returned == event
    assert session.events == [event]
    reread = await service.get_session(app_name=app_name, user_id="u1", session_id=session.id)
    assert reread is not None and reread.events == [event]


async def test_last_update_time_becomes_the_appended_events_timestamp(
    service: BaseSessionService, app_name: str
) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1")
    # An old timestamp too: the session's time is the event's, not the clock's.
    for timestamp in (1_700_000_000.123, 1_800_000_000.987654, 1_600_000_000.5):
        await service.append_event(session, _text_event("x", timestamp))
        assert session.last_update_time == timestamp
        reread = await service.get_session(app_name=app_name, user_id="u1", session_id=session.id)
        assert reread is not None and reread.last_update_time == timestamp


async def test_event_timestamps_survive_exactly(service: BaseSessionService, app_name: str) -> None:
    timestamps = [1_700_000_000.123, 1_763_712_345.6789012, 0.5, 1_000_000_000.000001, 253_402_300_799.0]
    session = await _session_with_events(service, app_name, timestamps)
    reread = await service.get_session(app_name=app_name, user_id="u1", session_id=session.id)
    assert reread is not None
    assert sorted(e.timestamp for e in reread.events) == sorted(timestamps)


async def test_events_come_back_in_append_order(service: BaseSessionService, app_name: str) -> None:
    session = await _session_with_events(
        service, app_name, [1_800_000_003.0, 1_800_000_001.0, 1_800_000_002.0]
    )
    reread = await service.get_session(app_name=app_name, user_id="u1", session_id=session.id)
    assert _texts(reread) == ["e0", "e1", "e2"]


async def test_partial_events_are_returned_but_not_stored(service: BaseSessionService, app_name: str) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1")
    partial = Event(author="model", partial=True, actions=EventActions(state_delta={"k": 1}))
    returned = await service.append_event(session, partial)
    assert returned is partial
    assert session.events == [] and session.state == {}
    reread = await service.get_session(app_name=app_name, user_id="u1", session_id=session.id)
    assert reread is not None and reread.events == [] and reread.state == {}


async def test_num_recent_events_zero_returns_no_events(service: BaseSessionService, app_name: str) -> None:
    session = await _session_with_events(service, app_name, [1_800_000_001.0, 1_800_000_002.0])
    reread = await service.get_session(
        app_name=app_name, user_id="u1", session_id=session.id, config=GetSessionConfig(num_recent_events=0)
    )
    assert reread is not None and reread.events == []


async def test_num_recent_events_returns_the_last_n(service: BaseSessionService, app_name: str) -> None:
    session = await _session_with_events(service, app_name, [1_800_000_000.0 + i for i in range(5)])
    for n, expected in ((1, ["e4"]), (3, ["e2", "e3", "e4"]), (5, ["e0", "e1", "e2", "e3", "e4"]), (9, None)):
        reread = await service.get_session(
            app_name=app_name,
            user_id="u1",
            session_id=session.id,
            config=GetSessionConfig(num_recent_events=n),
        )
        assert _texts(reread) == (expected or [f"e{i}" for i in range(5)])


async def test_after_timestamp_is_inclusive(service: BaseSessionService, app_name: str) -> None:
    session = await _session_with_events(
        service, app_name, [1_800_000_001.0, 1_800_000_002.5, 1_800_000_003.0]
    )
    for after, expected in (
        (1_800_000_002.5, ["e1", "e2"]),
        (1_800_000_002.4, ["e1", "e2"]),
        (1_800_000_002.6, ["e2"]),
        (1_800_000_000.0, ["e0", "e1", "e2"]),
        (1_900_000_000.0, []),
    ):
        reread = await service.get_session(
            app_name=app_name,
            user_id="u1",
            session_id=session.id,
            config=GetSessionConfig(after_timestamp=after),
        )
        assert _texts(reread) == expected, after


async def test_num_recent_events_and_after_timestamp_combine(
    service: BaseSessionService, app_name: str
) -> None:
    session = await _session_with_events(service, app_name, [1_800_000_000.0 + i for i in range(6)])
    for n, after, expected in (
        (4, 1_800_000_001.0, ["e2", "e3", "e4", "e5"]),
        (4, 1_800_000_003.0, ["e3", "e4", "e5"]),
        (2, 1_800_000_001.0, ["e4", "e5"]),
        (0, 1_800_000_001.0, []),
    ):
        reread = await service.get_session(
            app_name=app_name,
            user_id="u1",
            session_id=session.id,
            config=GetSessionConfig(num_recent_events=n, after_timestamp=after),
        )
        assert _texts(reread) == expected, (n, after)


async def test_after_timestamp_keeps_events_after_last_older_one(
    service: BaseSessionService, app_name: str
) -> None:
    # ADK's rule scans back from the newest event and stops at the first one
    # older than the bound; with timestamps out of order that is not a filter.
    session = await _session_with_events(
        service, app_name, [1_800_000_010.0, 1_800_000_005.0, 1_800_000_020.0]
    )
    reread = await service.get_session(
        app_name=app_name,
        user_id="u1",
        session_id=session.id,
        config=GetSessionConfig(after_timestamp=1_800_000_008.0),
    )
    assert _texts(reread) == ["e2"]


async def test_append_to_missing_session_raises_not_found(service: BaseSessionService, app_name: str) -> None:
    ghost = Session(id="ghost", app_name=app_name, user_id="u1")
    with pytest.raises(SessionNotFoundError):
        await service.append_event(ghost, _text_event("boo", 1_800_000_000.0))


async def test_append_to_deleted_session_raises_not_found(service: BaseSessionService, app_name: str) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1")
    await service.delete_session(app_name=app_name, user_id="u1", session_id=session.id)
    with pytest.raises(SessionNotFoundError):
        await service.append_event(session, _text_event("late", 1_800_000_000.0))


async def test_append_through_stale_session_is_rejected(service: BaseSessionService, app_name: str) -> None:
    created = await service.create_session(app_name=app_name, user_id="u1")
    writer_a = await service.get_session(app_name=app_name, user_id="u1", session_id=created.id)
    writer_b = await service.get_session(app_name=app_name, user_id="u1", session_id=created.id)
    assert writer_a is not None and writer_b is not None
    await service.append_event(writer_a, Event(author="a", actions=EventActions(state_delta={"owner": "a"})))
    with pytest.raises(StaleSessionError):
        await service.append_event(
            writer_b, Event(author="b", actions=EventActions(state_delta={"owner": "b"}))
        )
    # Nothing of the rejected append was stored; after a reload the write goes through.
    reloaded = await service.get_session(app_name=app_name, user_id="u1", session_id=created.id)
    assert reloaded is not None
    assert [e.author for e in reloaded.events] == ["a"] and reloaded.state == {"owner": "a"}
    await service.append_event(reloaded, Event(author="b", actions=EventActions(state_delta={"owner": "b"})))
    final = await service.get_session(app_name=app_name, user_id="u1", session_id=created.id)
    assert final is not None
    assert [e.author for e in final.events] == ["a", "b"] and final.state == {"owner": "b"}


async def test_writer_that_keeps_appending_through_its_own_session_is_never_stale(
    service: BaseSessionService, app_name: str
) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1")
    for index in range(5):
        await service.append_event(session, _text_event(f"e{index}", 1_800_000_000.0 + index))
    reread = await service.get_session(app_name=app_name, user_id="u1", session_id=session.id)
    assert _texts(reread) == [f"e{i}" for i in range(5)]


async def test_append_through_session_read_before_a_delete_and_recreate_is_rejected(
    service: BaseSessionService, app_name: str
) -> None:
    old = await service.create_session(app_name=app_name, user_id="u1", session_id="s1")
    await service.delete_session(app_name=app_name, user_id="u1", session_id="s1")
    recreated = await service.create_session(app_name=app_name, user_id="u1", session_id="s1")
    await service.append_event(recreated, _text_event("new life", 1_900_000_000.0))
    with pytest.raises(StaleSessionError):
        await service.append_event(old, _text_event("ghost writer", 1_900_000_001.0))


async def test_reappending_the_same_event_stores_it_once(service: BaseSessionService, app_name: str) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1")
    first = Event(author="user", timestamp=1_800_000_001.0, actions=EventActions(state_delta={"k": 1}))
    second = Event(author="user", timestamp=1_800_000_002.0, actions=EventActions(state_delta={"k": 2}))
    await service.append_event(session, first)
    await service.append_event(session, second)
    await service.append_event(session, first)
    assert [e.id for e in session.events] == [first.id, second.id]
    assert session.state == {"k": 2}
    reread = await service.get_session(app_name=app_name, user_id="u1", session_id=session.id)
    assert reread is not None
    assert [e.id for e in reread.events] == [first.id, second.id]
    assert reread.state == {"k": 2}
    assert reread.last_update_time == 1_800_000_002.0


async def _append_on_path(service: BaseSessionService, session: Session, event: Event, path: str) -> Event:
    """Appends ``event`` the way ``path`` names; for "batch", at once with appends to two other sessions.

    The other sessions' appends must succeed whatever happens to ``event``: a
    batch's appends keep their own outcomes.
    """
    if path != "batch":
        return await service.append_event(session, event)
    # The first of appends made at once goes alone; the next ones wait for it
    # and go together, so ``event`` is second.
    neighbours = [await service.create_session(app_name=session.app_name, user_id="u2") for _ in range(2)]
    first, outcome, last = await asyncio.gather(
        service.append_event(neighbours[0], _text_event("before", 1_800_000_100.0)),
        service.append_event(session, event),
        service.append_event(neighbours[1], _text_event("after", 1_800_000_101.0)),
        return_exceptions=True,
    )
    for neighbour, result in zip(neighbours, (first, last), strict=True):
        assert isinstance(result, Event), result
        stored = await service.get_session(app_name=session.app_name, user_id="u2", session_id=neighbour.id)
        assert stored is not None and [e.id for e in stored.events] == [result.id]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


async def test_a_different_event_under_a_stored_id_is_refused(
    service: BaseSessionService, app_name: str, append_path: str, append_calls: AppendCalls
) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1")
    original = Event(
        id="event-1", author="user", timestamp=1_800_000_001.0, actions=EventActions(state_delta={"k": 1})
    )
    await service.append_event(session, original)
    before = await service.get_session(app_name=app_name, user_id="u1", session_id=session.id)
    assert before is not None
    # At the same time as the stored one: every backend can find it there
    # (see the next case for another time).
    impostor = Event(
        id="event-1",
        author="model",
        timestamp=1_800_000_001.0,
        content=types.Content(role="model", parts=[types.Part(text="not the stored event")]),
        actions=EventActions(state_delta={"k": 2}),
    )
    with pytest.raises(AlreadyExistsError):
        await _append_on_path(service, session, impostor, append_path)
    # Nothing of the refused event was applied, here or in storage.
    assert session.events == [original] and session.state == {"k": 1}
    reread = await service.get_session(app_name=app_name, user_id="u1", session_id=session.id)
    assert reread is not None
    assert reread.events == [original] and reread.state == {"k": 1}
    assert reread.last_update_time == before.last_update_time
    if append_calls.grpc:  # and the path named is the one the appends took
        taken = {method for method, count in append_calls.counts.items() if count}
        assert APPEND_METHODS[append_path] in taken, append_calls.counts
        if append_path != "batch":
            assert taken == {APPEND_METHODS[append_path]}, append_calls.counts


async def test_a_different_event_under_a_stored_id_at_another_time_is_refused(
    service: BaseSessionService, app_name: str
) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1")
    original = Event(id="event-1", author="user", timestamp=1_800_000_001.0)
    await service.append_event(session, original)
    impostor = Event(id="event-1", author="model", timestamp=1_800_000_002.0)
    with pytest.raises(AlreadyExistsError):
        await service.append_event(session, impostor)
    reread = await service.get_session(app_name=app_name, user_id="u1", session_id=session.id)
    assert reread is not None and reread.events == [original]
