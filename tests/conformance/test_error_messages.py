"""Errors read as ADK's own services word them, so code and tests written against ADK keep working."""

from __future__ import annotations

import pytest
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.adk.sessions.base_session_service import BaseSessionService
from google.adk.sessions.session import Session


def _event() -> Event:
    return Event(author="user", invocation_id="inv", timestamp=1_800_000_000.0)


async def test_a_taken_session_id_is_refused_in_adks_words(
    service: BaseSessionService, app_name: str
) -> None:
    await service.create_session(app_name=app_name, user_id="u1", session_id="s1")
    with pytest.raises(AlreadyExistsError) as caught:
        await service.create_session(app_name=app_name, user_id="u1", session_id="s1")
    assert str(caught.value) == "Session with id s1 already exists."


async def test_appending_to_a_session_that_never_existed_is_refused_in_adks_words(
    service: BaseSessionService, app_name: str
) -> None:
    ghost = Session(id="ghost", app_name=app_name, user_id="u1")
    with pytest.raises(SessionNotFoundError) as caught:
        await service.append_event(ghost, _event())
    assert str(caught.value) == "Session ghost not found."


async def test_appending_to_a_deleted_session_is_refused_in_adks_words(
    service: BaseSessionService, app_name: str
) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1", session_id="s1")
    await service.delete_session(app_name=app_name, user_id="u1", session_id="s1")
    with pytest.raises(SessionNotFoundError) as caught:
        await service.append_event(session, _event())
    assert str(caught.value) == "Session s1 not found."
