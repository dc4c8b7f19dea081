"""Differential: random sequences of operations give the same results on ADK and on our client.

Hypothesis drives ADK's ``InMemorySessionService`` (the reference) and
``GrpcSessionService`` (against a real server on a real socket) with the same
operations and compares every answer, so cases no one thought to write still
have to agree.
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import pytest
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.base_session_service import BaseSessionService, GetSessionConfig
from google.adk.sessions.in_memory_session_service import InMemorySessionService
from google.adk.sessions.session import Session
from google.genai import types
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer

APP = "differential"
users = st.sampled_from(["alice", "bob", "carol"])
session_ids = st.sampled_from(["s1", "s2", " s3 ", "s4"])
keys = st.sampled_from(["a", "b", "app:a", "app:b", "user:a", "user:b", "temp:a"])
values = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.text(max_size=5)
    | st.lists(st.integers(), max_size=3)
)
states = st.dictionaries(keys, values, max_size=4)
# Few distinct timestamps, so ties and out-of-order appends happen often.
timestamps = st.sampled_from(
    [1_800_000_000.0, 1_800_000_000.5, 1_800_000_001.0, 1_700_000_000.123, 1_900_000_000.0]
)
configs = st.none() | st.builds(
    GetSessionConfig,
    num_recent_events=st.none() | st.integers(0, 4),
    after_timestamp=st.none() | timestamps,
)


def _view(session: Session | None, ids: dict[str, str]) -> Any:
    """What a caller can observe of a session, with our generated ids mapped to the reference's."""
    if session is None:
        return None
    return {
        "id": ids.get(session.id, session.id),
        "user_id": session.user_id,
        "state": session.state,
        "events": [e.model_dump(mode="json") for e in session.events],
        # A session's creation time is each service's own clock; after an
        # append it is the event's timestamp, which must agree.
        "last_update_time": session.last_update_time if session.events else None,
    }


def _canonical(view: Any) -> str:
    """A view as text, independent of dict key order (state key order is not part of the contract)."""
    return json.dumps(view, sort_keys=True, default=repr)


class SessionServiceComparison(RuleBasedStateMachine):
    """Applies each operation to both services and requires the same outcome."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.reference: BaseSessionService = InMemorySessionService()
        self.server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend="memory://"))
        self.run(self.server.start())
        self.ours = GrpcSessionService(f"127.0.0.1:{self.server.ports[0]}")
        self.ids: dict[str, str] = {}  # our generated session id -> the reference's
        self.known: list[tuple[str, str, str]] = []  # (user, reference id, our id)

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def both(self, operation: str, **kwargs: Any) -> tuple[Any, Any]:
        """Runs one method on both services; returns (reference outcome, our outcome)."""
        outcomes = []
        for service in (self.reference, self.ours):
            try:
                outcomes.append(("ok", self.run(getattr(service, operation)(**kwargs))))
            except (AlreadyExistsError, SessionNotFoundError, ValueError) as error:
                outcomes.append(("error", type(error).__name__))
        reference, ours = outcomes
        assert reference[0] == ours[0], (operation, kwargs, reference, ours)
        if reference[0] == "error":
            assert reference[1] == ours[1]
        return reference[1], ours[1]

    @initialize(first=states, second=states)
    def start(self, first: dict[str, Any], second: dict[str, Any]) -> None:
        # Two sessions from the start, so every rule has something to work on.
        self.create("alice", "s1", first)
        self.create("bob", None, second)

    @rule(user=users, session_id=st.none() | session_ids, state=states)
    def create(self, user: str, session_id: str | None, state: dict[str, Any]) -> None:
        reference, ours = self.both(
            "create_session", app_name=APP, user_id=user, session_id=session_id, state=copy.deepcopy(state)
        )
        if isinstance(reference, Session):
            self.ids[ours.id] = reference.id
            self.known.append((user, reference.id, ours.id))
            assert _view(ours, self.ids) == _view(reference, self.ids)

    @precondition(lambda self: bool(self.known))
    @rule(data=st.data(), delta=states, timestamp=timestamps, text=st.text(max_size=10))
    def append(self, data: st.DataObject, delta: dict[str, Any], timestamp: float, text: str) -> None:
        user, reference_id, our_id = data.draw(st.sampled_from(self.known))
        reference_session = self.run(
            self.reference.get_session(app_name=APP, user_id=user, session_id=reference_id)
        )
        our_session = self.run(self.ours.get_session(app_name=APP, user_id=user, session_id=our_id))
        assert (reference_session is None) == (our_session is None)
        if reference_session is None:
            return
        event = Event(
            author="user",
            invocation_id="inv",
            timestamp=timestamp,
            content=types.Content(role="user", parts=[types.Part(text=text)]),
            actions=EventActions(state_delta=delta),
        )
        reference_event = self.run(
            self.reference.append_event(reference_session, event.model_copy(deep=True))
        )
        our_event = self.run(self.ours.append_event(our_session, event.model_copy(deep=True)))
        assert our_event == reference_event
        assert our_session.state == reference_session.state

    @precondition(lambda self: bool(self.known))
    @rule(data=st.data(), config=configs)
    def get(self, data: st.DataObject, config: GetSessionConfig | None) -> None:
        user, reference_id, our_id = data.draw(st.sampled_from(self.known))
        reference = self.run(
            self.reference.get_session(app_name=APP, user_id=user, session_id=reference_id, config=config)
        )
        ours = self.run(self.ours.get_session(app_name=APP, user_id=user, session_id=our_id, config=config))
        assert _view(ours, self.ids) == _view(reference, self.ids)

    @rule(user=st.none() | users)
    def list_sessions(self, user: str | None) -> None:
        reference, ours = self.both("list_sessions", app_name=APP, user_id=user)
        # Sessions listed in the same instant may tie on creation time (each
        # service's own clock), so compare the listings as multisets.
        assert sorted(_canonical(_view(s, self.ids)) for s in ours.sessions) == sorted(
            _canonical(_view(s, self.ids)) for s in reference.sessions
        )

    @precondition(lambda self: bool(self.known))
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        user, reference_id, our_id = data.draw(st.sampled_from(self.known))
        self.run(self.reference.delete_session(app_name=APP, user_id=user, session_id=reference_id))
        self.run(self.ours.delete_session(app_name=APP, user_id=user, session_id=our_id))

    @rule(user=users)
    def user_state(self, user: str) -> None:
        reference, ours = self.both("get_user_state", app_name=APP, user_id=user)
        assert ours == reference

    def teardown(self) -> None:
        self.run(self.ours.close())
        self.run(self.server.stop(grace=0))
        self.loop.close()


SessionServiceComparison.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.slow
class TestDifferentialAgainstAdk(SessionServiceComparison.TestCase):  # type: ignore[valid-type,misc]
    """Runs the comparison machine under pytest."""
