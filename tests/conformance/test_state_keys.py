"""State keys named like built-in members (JavaScript's and Python's) are keys like any other."""

from __future__ import annotations

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.base_session_service import BaseSessionService

MEMBER_NAMES = [
    "__proto__",
    "constructor",
    "hasOwnProperty",
    "toString",
    "valueOf",
    "prototype",
    "__class__",
    "__dict__",
    "__init__",
    "get",
    "keys",
    "update",
]


def _state(suffix: str, offset: int) -> dict[str, object]:
    return {
        prefix + name + suffix: {name: number + offset}
        for number, name in enumerate(MEMBER_NAMES)
        for prefix in ("", "app:", "user:")
    }


async def test_state_keys_named_like_built_in_members_survive_in_every_scope(
    service: BaseSessionService, app_name: str
) -> None:
    initial, delta = _state("", 0), _state("-later", 100)
    created = await service.create_session(app_name=app_name, user_id="u1", state=initial)
    assert created.state == initial
    await service.append_event(created, Event(author="user", actions=EventActions(state_delta=delta)))
    read = await service.get_session(app_name=app_name, user_id="u1", session_id=created.id)
    assert read is not None
    assert read.state == initial | delta
    assert read.events[-1].actions.state_delta == delta
