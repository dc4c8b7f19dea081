"""State scopes: app (shared by the app), user (shared by one user), session, and temp."""

from __future__ import annotations

from typing import Any

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.base_session_service import BaseSessionService


def _delta(**state: Any) -> EventActions:
    return EventActions(state_delta={k.replace("__", ":"): v for k, v in state.items()})


async def test_create_splits_initial_state_by_scope(service: BaseSessionService, app_name: str) -> None:
    created = await service.create_session(
        app_name=app_name, user_id="u1", state={"app:a": 1, "user:u": 2, "s": 3, "temp:t": 4}
    )
    assert created.state == {"app:a": 1, "user:u": 2, "s": 3}
    other_user = await service.create_session(app_name=app_name, user_id="u2")
    assert other_user.state == {"app:a": 1}
    same_user = await service.create_session(app_name=app_name, user_id="u1")
    assert same_user.state == {"app:a": 1, "user:u": 2}


async def test_app_state_is_shared_by_every_user_of_the_app(
    service: BaseSessionService, app_name: str
) -> None:
    s1 = await service.create_session(app_name=app_name, user_id="u1", state={"app:k1": "v1"})
    await service.append_event(s1, Event(author="user", actions=_delta(app__k2="v2")))
    s2 = await service.create_session(app_name=app_name, user_id="u2")
    assert s2.state == {"app:k1": "v1", "app:k2": "v2"}
    await service.append_event(s2, Event(author="user", actions=_delta(app__k1="changed")))
    reread = await service.get_session(app_name=app_name, user_id="u1", session_id=s1.id)
    assert reread is not None and reread.state == {"app:k1": "changed", "app:k2": "v2"}


async def test_app_state_does_not_leak_to_other_apps(service: BaseSessionService, app_name: str) -> None:
    await service.create_session(app_name=app_name, user_id="u1", state={"app:k": 1, "user:k": 2})
    other = await service.create_session(app_name=app_name + "-other", user_id="u1")
    assert other.state == {}


async def test_user_state_is_shared_by_one_users_sessions_only(
    service: BaseSessionService, app_name: str
) -> None:
    s1 = await service.create_session(app_name=app_name, user_id="u1")
    await service.append_event(s1, Event(author="user", actions=_delta(user__name="Ada")))
    s2 = await service.create_session(app_name=app_name, user_id="u1")
    assert s2.state == {"user:name": "Ada"}
    other_user = await service.create_session(app_name=app_name, user_id="u2")
    assert other_user.state == {}


async def test_session_state_is_private_to_its_session(service: BaseSessionService, app_name: str) -> None:
    s1 = await service.create_session(app_name=app_name, user_id="u1", state={"mine": 1})
    await service.append_event(s1, Event(author="user", actions=_delta(also_mine=2)))
    s2 = await service.create_session(app_name=app_name, user_id="u1")
    assert s2.state == {}
    reread = await service.get_session(app_name=app_name, user_id="u1", session_id=s1.id)
    assert reread is not None and reread.state == {"mine": 1, "also_mine": 2}


async def test_temp_state_is_visible_during_the_invocation_but_never_stored(
    service: BaseSessionService, app_name: str
) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1")
    event = Event(author="agent", actions=_delta(temp__scratch="x", kept="y"))
    returned = await service.append_event(session, event)
    # The in-memory session the invocation holds sees the temp value ...
    assert session.state == {"temp:scratch": "x", "kept": "y"}
    # ... but the stored event and the stored state never do.
    assert returned.actions.state_delta == {"kept": "y"}
    reread = await service.get_session(app_name=app_name, user_id="u1", session_id=session.id)
    assert reread is not None
    assert reread.state == {"kept": "y"}
    assert reread.events[0].actions.state_delta == {"kept": "y"}


async def test_later_delta_overwrites_earlier_value(service: BaseSessionService, app_name: str) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1", state={"n": 1, "user:n": 1})
    await service.append_event(session, Event(author="user", actions=_delta(n=2, user__n=2)))
    await service.append_event(session, Event(author="user", actions=_delta(n=None)))
    assert session.state == {"n": None, "user:n": 2}
    reread = await service.get_session(app_name=app_name, user_id="u1", session_id=session.id)
    assert reread is not None and reread.state == {"n": None, "user:n": 2}


async def test_append_updates_the_callers_session_state(service: BaseSessionService, app_name: str) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1", state={"a": 1})
    await service.append_event(session, Event(author="user", actions=_delta(b=2, app__c=3)))
    assert session.state == {"a": 1, "b": 2, "app:c": 3}


async def test_get_user_state_returns_unprefixed_user_keys(
    service: BaseSessionService, app_name: str
) -> None:
    session = await service.create_session(
        app_name=app_name, user_id="u1", state={"user:theme": "dark", "app:x": 1, "s": 2}
    )
    await service.append_event(session, Event(author="user", actions=_delta(user__lang="fr")))
    assert await service.get_user_state(app_name=app_name, user_id="u1") == {"theme": "dark", "lang": "fr"}


async def test_get_user_state_of_unknown_user_is_empty(service: BaseSessionService, app_name: str) -> None:
    assert await service.get_user_state(app_name=app_name, user_id="nobody") == {}


async def test_state_values_keep_their_json_types(service: BaseSessionService, app_name: str) -> None:
    values = {
        "int": 1,
        "float": 1.0,
        "big": 2**63,
        "huge": -(2**100),
        "neg_zero": -0.0,
        "tiny": 5e-324,
        "bool": True,
        "none": None,
        "text": 'naïve 🐍 \u0000 \\ "quoted"',
        "list": [1, 2.5, "x", None, [True]],
        "nested": {"a": {"b": {"c": [{"d": 1}]}}},
        "empty": {},
    }
    state = {**values, "app:copy": values, "user:copy": values}
    session = await service.create_session(app_name=app_name, user_id="u1", state=state)
    await service.append_event(
        session, Event(author="user", actions=EventActions(state_delta={"delta": values}))
    )
    reread = await service.get_session(app_name=app_name, user_id="u1", session_id=session.id)
    assert reread is not None
    for key, expected in {**state, "delta": values}.items():
        assert reread.state[key] == expected
        assert repr(reread.state[key]) == repr(expected), key


async def test_unicode_keys_and_values_survive(service: BaseSessionService, app_name: str) -> None:
    # A session id every backend takes (Agent Engine's are [a-z0-9-]): this
    # case is about state; unicode ids are the next one's.
    state = {"ключ": "значение", "app:鍵": "値", "user:🔑": "🗝️", "mixed é\u0301": "é"}
    session = await service.create_session(
        app_name=app_name, user_id="用户", session_id="unicode-state", state=state
    )
    reread = await service.get_session(app_name=app_name, user_id="用户", session_id="unicode-state")
    assert reread is not None and reread.state == state
    assert session.state == state


async def test_unicode_session_id_is_accepted(service: BaseSessionService, app_name: str) -> None:
    session = await service.create_session(app_name=app_name, user_id="用户", session_id="セッション")
    assert session.id == "セッション"
    reread = await service.get_session(app_name=app_name, user_id="用户", session_id="セッション")
    assert reread is not None and reread.id == "セッション"
