"""Deeply nested state: whatever ADK's own services store comes back intact."""

from __future__ import annotations

from typing import Any

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.base_session_service import BaseSessionService

ADK_DATABASE_DEPTH = 252
"""The deepest state value ADK's DatabaseSessionService round-trips (pydantic's JSON writer stops soon after)."""


def _nested(depth: int, shape: str) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value] if shape == "arrays" else {"a": value}
    return value


async def test_state_nested_as_deep_as_adks_database_service_stores_round_trips(
    service: BaseSessionService, app_name: str
) -> None:
    arrays, objects = _nested(ADK_DATABASE_DEPTH, "arrays"), _nested(ADK_DATABASE_DEPTH, "objects")
    created = await service.create_session(
        app_name=app_name, user_id="u1", state={"k": arrays, "user:k": objects}
    )
    delta = {"d": objects, "app:d": arrays}
    await service.append_event(created, Event(author="user", actions=EventActions(state_delta=delta)))
    read = await service.get_session(app_name=app_name, user_id="u1", session_id=created.id)
    assert read is not None
    assert read.state == {"k": arrays, "user:k": objects, "d": objects, "app:d": arrays}
    assert read.events[-1].actions.state_delta == delta
