"""Creating, reading, listing and deleting sessions."""

from __future__ import annotations

import uuid

import pytest
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.events.event import Event
from google.adk.sessions.base_session_service import BaseSessionService


async def test_create_with_id_uses_that_id(service: BaseSessionService, app_name: str) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1", session_id="s1")
    assert (session.app_name, session.user_id, session.id) == (app_name, "u1", "s1")
    assert session.events == []
    assert session.state == {}


async def test_create_without_id_generates_a_uuid(service: BaseSessionService, app_name: str) -> None:
    first = await service.create_session(app_name=app_name, user_id="u1")
    second = await service.create_session(app_name=app_name, user_id="u1")
    assert str(uuid.UUID(first.id)) == first.id
    assert first.id != second.id


async def test_create_strips_whitespace_from_session_id(service: BaseSessionService, app_name: str) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1", session_id="  padded\t")
    assert session.id == "padded"
    fetched = await service.get_session(app_name=app_name, user_id="u1", session_id="padded")
    assert fetched is not None and fetched.id == "padded"


async def test_get_session_strips_whitespace_from_session_id(
    service: BaseSessionService, app_name: str
) -> None:
    await service.create_session(app_name=app_name, user_id="u1", session_id="s1")
    fetched = await service.get_session(app_name=app_name, user_id="u1", session_id=" s1 ")
    assert fetched is not None and fetched.id == "s1"
    await service.delete_session(app_name=app_name, user_id="u1", session_id=" s1 ")
    assert await service.get_session(app_name=app_name, user_id="u1", session_id="s1") is None


async def test_create_with_taken_id_raises_already_exists(service: BaseSessionService, app_name: str) -> None:
    await service.create_session(app_name=app_name, user_id="u1", session_id="s1", state={"k": 1})
    with pytest.raises(AlreadyExistsError):
        await service.create_session(app_name=app_name, user_id="u1", session_id="s1", state={"k": 2})
    kept = await service.get_session(app_name=app_name, user_id="u1", session_id="s1")
    assert kept is not None and kept.state == {"k": 1}


async def test_get_missing_session_returns_none(service: BaseSessionService, app_name: str) -> None:
    assert await service.get_session(app_name=app_name, user_id="u1", session_id="nope") is None


async def test_get_returns_what_create_returned(service: BaseSessionService, app_name: str) -> None:
    created = await service.create_session(app_name=app_name, user_id="u1", state={"k": "v"})
    fetched = await service.get_session(app_name=app_name, user_id="u1", session_id=created.id)
    assert fetched == created


async def test_same_session_id_under_another_user_is_another_session(
    service: BaseSessionService, app_name: str
) -> None:
    await service.create_session(app_name=app_name, user_id="alice", session_id="s1", state={"who": "alice"})
    assert await service.get_session(app_name=app_name, user_id="bob", session_id="s1") is None
    await service.create_session(app_name=app_name, user_id="bob", session_id="s1", state={"who": "bob"})
    alice = await service.get_session(app_name=app_name, user_id="alice", session_id="s1")
    bob = await service.get_session(app_name=app_name, user_id="bob", session_id="s1")
    assert alice is not None and alice.state == {"who": "alice"}
    assert bob is not None and bob.state == {"who": "bob"}


async def test_same_session_id_in_another_app_is_another_session(
    service: BaseSessionService, app_name: str
) -> None:
    await service.create_session(app_name=app_name, user_id="u1", session_id="s1")
    assert await service.get_session(app_name=app_name + "-other", user_id="u1", session_id="s1") is None


async def test_list_for_one_user_returns_only_that_users_sessions(
    service: BaseSessionService, app_name: str
) -> None:
    for session_id in ("a", "b", "c"):
        await service.create_session(app_name=app_name, user_id="u1", session_id=session_id)
    await service.create_session(app_name=app_name, user_id="u2", session_id="d")
    listed = await service.list_sessions(app_name=app_name, user_id="u1")
    assert sorted(s.id for s in listed.sessions) == ["a", "b", "c"]
    assert {s.user_id for s in listed.sessions} == {"u1"}


async def test_list_without_user_returns_every_users_sessions(
    service: BaseSessionService, app_name: str
) -> None:
    await service.create_session(app_name=app_name, user_id="u1", session_id="a")
    await service.create_session(app_name=app_name, user_id="u2", session_id="b")
    await service.create_session(app_name=app_name + "-other", user_id="u1", session_id="c")
    listed = await service.list_sessions(app_name=app_name)
    assert sorted((s.user_id, s.id) for s in listed.sessions) == [("u1", "a"), ("u2", "b")]


async def test_list_of_unknown_app_or_user_is_empty(service: BaseSessionService, app_name: str) -> None:
    assert (await service.list_sessions(app_name=app_name)).sessions == []
    await service.create_session(app_name=app_name, user_id="u1")
    assert (await service.list_sessions(app_name=app_name, user_id="nobody")).sessions == []


async def test_list_is_ordered_by_last_update_time_oldest_first(
    service: BaseSessionService, app_name: str
) -> None:
    sessions = {}
    for session_id in ("first", "second", "third"):
        sessions[session_id] = await service.create_session(
            app_name=app_name, user_id="u1", session_id=session_id
        )
    # Appending moves a session's last_update_time to the event's timestamp.
    await service.append_event(sessions["second"], Event(author="user", timestamp=4_000_000_000.0))
    await service.append_event(sessions["first"], Event(author="user", timestamp=4_000_000_001.5))
    listed = await service.list_sessions(app_name=app_name, user_id="u1")
    assert [s.id for s in listed.sessions] == ["third", "second", "first"]
    assert [s.last_update_time for s in listed.sessions][1:] == [4_000_000_000.0, 4_000_000_001.5]


async def test_list_orders_equal_update_times_by_user_then_id(
    service: BaseSessionService, app_name: str
) -> None:
    # Ids unique across users (Agent Engine's rule), so that every service reaches the order.
    for user_id, session_id in (("u2", "a"), ("u1", "c"), ("u1", "b")):
        session = await service.create_session(app_name=app_name, user_id=user_id, session_id=session_id)
        await service.append_event(session, Event(author="user", timestamp=1_800_000_000.0))
    listed = await service.list_sessions(app_name=app_name)
    assert [(s.user_id, s.id) for s in listed.sessions] == [("u1", "b"), ("u1", "c"), ("u2", "a")]


async def test_listed_sessions_have_no_events_but_merged_state(
    service: BaseSessionService, app_name: str
) -> None:
    session = await service.create_session(
        app_name=app_name, user_id="u1", state={"app:a": 1, "user:u": 2, "s": 3}
    )
    await service.append_event(session, Event(author="user"))
    listed = await service.list_sessions(app_name=app_name, user_id="u1")
    assert len(listed.sessions) == 1
    assert listed.sessions[0].events == []
    assert listed.sessions[0].state == {"app:a": 1, "user:u": 2, "s": 3}


async def test_delete_removes_the_session(service: BaseSessionService, app_name: str) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1")
    await service.append_event(session, Event(author="user"))
    await service.delete_session(app_name=app_name, user_id="u1", session_id=session.id)
    assert await service.get_session(app_name=app_name, user_id="u1", session_id=session.id) is None
    assert (await service.list_sessions(app_name=app_name)).sessions == []


async def test_delete_of_missing_session_is_not_an_error(service: BaseSessionService, app_name: str) -> None:
    await service.delete_session(app_name=app_name, user_id="u1", session_id="never-created")


async def test_delete_keeps_app_and_user_state(service: BaseSessionService, app_name: str) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1", state={"app:a": 1, "user:u": 2})
    await service.delete_session(app_name=app_name, user_id="u1", session_id=session.id)
    after = await service.create_session(app_name=app_name, user_id="u1")
    assert after.state == {"app:a": 1, "user:u": 2}


async def test_deleted_session_id_can_be_created_again_empty(
    service: BaseSessionService, app_name: str
) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1", session_id="s1", state={"k": 1})
    await service.append_event(session, Event(author="user"))
    await service.delete_session(app_name=app_name, user_id="u1", session_id="s1")
    again = await service.create_session(app_name=app_name, user_id="u1", session_id="s1")
    fetched = await service.get_session(app_name=app_name, user_id="u1", session_id="s1")
    assert again.state == {} and fetched is not None
    assert fetched.events == [] and fetched.state == {}
