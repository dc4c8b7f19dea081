"""Property-based: any JSON state value, any key, comes back identical in value and type."""

from __future__ import annotations

import uuid
from typing import Any

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.base_session_service import BaseSessionService
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)
state_keys = st.text(min_size=0, max_size=20).filter(lambda k: not k.startswith(("app:", "user:", "temp:")))
_DOUBLES_LOSE = [1.0, 2**60 + 1]
"""A value every example run tries first: a float with an integer's value and an integer past a
double's precision, which storage keeping numbers as doubles (Agent Engine) cannot give back."""
_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    # One failure, raised as itself: a service's expected failure names its exception.
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _fresh_ids() -> tuple[str, str]:
    """A user and a session id no other example uses.

    The session id is fresh too, and of Agent Engine's form (a letter, then
    [a-z0-9]), whose ids are unique per engine, not per user: every example
    then reaches the value check on every backend.
    """
    return uuid.uuid4().hex, f"s{uuid.uuid4().hex}"


def _same(a: Any, b: Any) -> bool:
    """Equal in value *and* type, all the way down (1 is not 1.0, True is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return repr(a) == repr(b)  # tells -0.0 from 0.0
    return bool(a == b)


@_SETTINGS
@given(key=state_keys, value=json_values)
@example(key="k", value=_DOUBLES_LOSE)
async def test_created_state_comes_back_identical(
    service: BaseSessionService, app_name: str, key: str, value: Any
) -> None:
    user_id, session_id = _fresh_ids()
    state = {key: value, f"app:{key}": value, f"user:{key}": value}
    await service.create_session(app_name=app_name, user_id=user_id, session_id=session_id, state=state)
    reread = await service.get_session(app_name=app_name, user_id=user_id, session_id=session_id)
    assert reread is not None
    for scoped_key in state:
        assert _same(reread.state[scoped_key], value), scoped_key


@_SETTINGS
@given(key=state_keys, value=json_values)
@example(key="k", value=_DOUBLES_LOSE)
async def test_state_delta_comes_back_identical(
    service: BaseSessionService, app_name: str, key: str, value: Any
) -> None:
    user_id, session_id = _fresh_ids()
    session = await service.create_session(app_name=app_name, user_id=user_id, session_id=session_id)
    delta = {key: value, f"user:{key}": value}
    await service.append_event(session, Event(author="user", actions=EventActions(state_delta=delta)))
    reread = await service.get_session(app_name=app_name, user_id=user_id, session_id=session_id)
    assert reread is not None
    for scoped_key in delta:
        assert _same(reread.state[scoped_key], value), scoped_key
    assert _same(reread.events[0].actions.state_delta, delta)
