"""What storage must hold for the sessions of one app, kept in step with each call a test makes.

``StorageModel`` is the fuzz tests' oracle for writes that reach storage.
It is first read from the server; then each accepted write is applied to it
from the request alone (never from what the server says it stored), each
refused write leaves it as it was, and after every call the whole app is read
back (every session with all its events, the app's state, every user's
state) and must equal it. So an accepted append must be stored exactly as
its request and its acknowledgement say, and a refused call, or a read,
must change nothing anywhere in the app.

Values are compared as the JSON they hold (``1.0`` and ``1.00`` are one
number); everything else, events included, field for field.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Any, Final

from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from adk_grpc_sessions.wire.timestamps import to_timestamp

Key = tuple[str, str]
"""A session of the model's app: (user id, session id)."""
SCOPES: Final = (("app:", "app"), ("user:", "user"), ("", "session"))
TEMP_PREFIX: Final = "temp:"


def decoded(values: Mapping[str, str]) -> dict[str, Any]:
    """A state map's values parsed from their JSON text."""
    return {key: json.loads(text) for key, text in values.items()}


def split_delta(delta: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """An ADK state delta (prefixed keys) by scope, prefixes removed and ``temp:`` keys dropped."""
    scopes: dict[str, dict[str, Any]] = {"app": {}, "user": {}, "session": {}}
    for key, value in delta.items():
        if key.startswith(TEMP_PREFIX):
            continue
        prefix, scope = next((p, s) for p, s in SCOPES if key.startswith(p))
        scopes[scope][key.removeprefix(prefix)] = value
    return scopes


@dataclass
class SessionView:
    """One session as storage must hold it: its own state and every event."""

    revision: int
    create_time: tuple[int, int]
    last_update_time: tuple[int, int]
    state: dict[str, Any]
    events: list[pb.Event] = field(default_factory=list)


def _time(timestamp: Any) -> tuple[int, int]:
    return (timestamp.seconds, timestamp.nanos)


@dataclass
class StorageModel:
    """The sessions of ``app``, with its app state and its users' state (see the module's docstring)."""

    app: str
    sessions: dict[Key, SessionView] = field(default_factory=dict)
    app_state: dict[str, Any] = field(default_factory=dict)
    user_state: dict[str, dict[str, Any]] = field(default_factory=dict)
    uncertain: dict[tuple[str, str, str], list[Any]] = field(default_factory=dict)
    """Shared keys that appends of several sessions in one batch set: (scope, user, key) -> the
    values any of them may have left (a batch stores different sessions' appends concurrently)."""

    @classmethod
    async def read(
        cls,
        stub: pb_grpc.SessionServiceAsyncStub,
        app: str,
        users: Set[str] = frozenset(),
    ) -> StorageModel:
        """The app as storage holds it now, read through ``stub``; ``users`` have their state read too."""
        found = cls(app)
        token = ""
        keys = []
        while True:
            page = await stub.ListSessions(
                pb.ListSessionsRequest(app_name=app, page_size=1000, page_token=token), timeout=30
            )
            keys += [(s.user_id, s.session_id) for s in page.sessions]
            token = page.next_page_token
            if not token:
                break
        found.app_state = decoded(
            (await stub.GetAppState(pb.GetAppStateRequest(app_name=app), timeout=30)).state
        )
        for user in sorted(users | {user for user, _ in keys}):
            reply = await stub.GetUserState(pb.GetUserStateRequest(app_name=app, user_id=user), timeout=30)
            found.user_state[user] = decoded(reply.state)
        for user, session_id in keys:
            request = pb.GetSessionRequest(app_name=app, user_id=user, session_id=session_id)
            session = (await stub.GetSession(request, timeout=30)).session
            assert decoded(session.state.app) == found.app_state, "a session read shows the app's state"
            assert decoded(session.state.user) == found.user_state[user], (
                "a session read shows its user's state"
            )
            found.sessions[(user, session_id)] = SessionView(
                revision=session.revision,
                create_time=_time(session.create_time),
                last_update_time=_time(session.last_update_time),
                state=decoded(session.state.session),
                events=list(session.events),
            )
        return found

    def copy(self) -> StorageModel:
        """A copy to apply the next call's writes to."""
        return StorageModel(
            self.app,
            copy.deepcopy(self.sessions),
            copy.deepcopy(self.app_state),
            copy.deepcopy(self.user_state),
        )

    def users(self) -> set[str]:
        """Every user whose state the model knows."""
        return set(self.user_state) | {user for user, _ in self.sessions}

    # --- writes -----------------------------------------------------------------------------------

    def apply_create(self, request: pb.CreateSessionRequest, response: pb.CreateSessionResponse) -> None:
        """An accepted CreateSession: a new session with the request's state; app and user state merged."""
        session = response.session
        if request.app_name != self.app:
            return
        key = (request.user_id, session.session_id)
        assert key not in self.sessions, f"CreateSession accepted for a session that exists: {key}"
        wanted_id = request.session_id.strip()
        assert session.session_id == wanted_id or (not wanted_id and session.session_id), "the id asked for"
        assert session.user_id == request.user_id and session.app_name == request.app_name
        self.app_state |= decoded(request.state.app)
        self.user_state.setdefault(request.user_id, {}).update(decoded(request.state.user))
        self.sessions[key] = SessionView(
            revision=session.revision,
            create_time=_time(session.create_time),
            last_update_time=_time(session.last_update_time),
            state=decoded(request.state.session),
        )
        assert not session.events
        self._assert_merged(key, session.state)

    def apply_delete(self, request: pb.DeleteSessionRequest) -> None:
        """An accepted DeleteSession: the session (if any) goes; app and user state stay."""
        if request.app_name == self.app:
            self.sessions.pop((request.user_id, request.session_id.strip()), None)

    def apply_append(
        self,
        request: pb.AppendEventRequest,
        response: pb.AppendEventResponse,
        batch: dict[tuple[str, str, str], dict[Key, Any]] | None = None,
    ) -> None:
        """An accepted append: checked against its request, then applied (a retry changes nothing).

        Appends of one batch pass the same ``batch``: it collects the shared
        keys each session's appends set, for ``end_batch``.
        """
        key = (request.user_id, request.session_id.strip())
        assert request.app_name == self.app and key in self.sessions, (
            f"append accepted for no live session: {key}"
        )
        session = self.sessions[key]
        event = json.loads(request.event_json)
        if response.already_applied:
            stored = next((e for e in session.events if e.id == event["id"]), None)
            assert stored is not None, "already_applied for an event the session does not hold"
            assert response.event == stored, "a retry answers the original append"
            _check_acknowledged(request.event_json, event, stored)  # the same event, or it would conflict
            return
        assert event["id"] not in {e.id for e in session.events}, "an event id stored twice"
        _check_acknowledged(request.event_json, event, response.event)
        assert response.event.sequence == len(session.events) + 1
        assert request.expected_revision == session.revision, (
            "accepted at a revision that is not the stored one"
        )
        assert response.revision != session.revision, "a stored event changes the revision"
        assert response.last_update_time == response.event.timestamp
        session.events.append(response.event)
        session.revision = response.revision
        session.last_update_time = _time(response.last_update_time)
        delta = split_delta(((event.get("actions") or {}).get("stateDelta")) or {})
        session.state |= delta["session"]
        self.app_state |= delta["app"]
        self.user_state.setdefault(request.user_id, {}).update(delta["user"])
        if batch is not None:
            for scope, user in (("app", ""), ("user", request.user_id)):
                for name, value in delta[scope].items():
                    batch.setdefault((scope, user, name), {})[key] = value

    def end_batch(self, batch: dict[tuple[str, str, str], dict[Key, Any]]) -> None:
        """After a batch: a shared key that appends of several sessions set may hold the last value of any."""
        for shared, by_session in batch.items():
            if len(by_session) > 1:
                self.uncertain[shared] = list(by_session.values())

    # --- reads ------------------------------------------------------------------------------------

    def check_read(self, method: str, request: Any, response: Any) -> None:
        """A read of the model's app answers what the model holds."""
        if getattr(request, "app_name", None) != self.app:
            return
        if method == "GetAppState":
            assert decoded(response.state) == self.app_state
        elif method == "GetUserState":
            assert decoded(response.state) == self.user_state.get(request.user_id, {})
        elif method in ("GetSession", "ListEvents"):
            key = (request.user_id, request.session_id.strip())
            assert key in self.sessions, f"{method} found a session the model does not hold: {key}"
            stored = self.sessions[key].events
            events = list(response.session.events if method == "GetSession" else response.events)
            for event in events:
                assert 1 <= event.sequence <= len(stored) and event == stored[event.sequence - 1], method
            assert [e.sequence for e in events] == sorted({e.sequence for e in events}), "in append order"
            if method == "GetSession":
                # A window keeps the latest events: the selection is a suffix.
                assert not events or events[-1].sequence == len(stored)
                self._assert_merged(key, response.session.state)
        elif method == "ListSessions":
            for session in response.sessions:
                key = (session.user_id, session.session_id)
                assert key in self.sessions, f"ListSessions found a session the model does not hold: {key}"
                assert session.revision == self.sessions[key].revision and not session.events
                self._assert_merged(key, session.state)

    def _assert_merged(self, key: Key, state: pb.State) -> None:
        assert decoded(state.session) == self.sessions[key].state
        assert decoded(state.app) == self.app_state
        assert decoded(state.user) == self.user_state.get(key[0], {})

    # --- comparison -------------------------------------------------------------------------------

    def assert_stored(self, stored: StorageModel) -> None:
        """Storage (``stored``, as read) holds exactly what the model says; uncertain keys hold one of theirs."""
        for (scope, user, name), candidates in self.uncertain.items():
            held = stored.app_state if scope == "app" else stored.user_state.get(user, {})
            assert name in held and held[name] in candidates, (scope, user, name, candidates)
            (self.app_state if scope == "app" else self.user_state.setdefault(user, {}))[name] = held[name]
        self.uncertain.clear()
        assert set(stored.sessions) == set(self.sessions), "sessions appeared or vanished"
        for key, session in self.sessions.items():
            found = stored.sessions[key]
            assert found.events == session.events, f"{key}: stored events differ from the acknowledged ones"
            assert found == session, f"{key}: {found} != {session}"
        assert stored.app_state == self.app_state, "app state"
        for user in self.users() | stored.users():
            assert stored.user_state.get(user, {}) == self.user_state.get(user, {}), f"user {user!r} state"


def _check_acknowledged(event_json: str, event: dict[str, Any], stored: pb.Event) -> None:
    """The acknowledged event is the request's: JSON kept (temp: keys only removed), typed fields from it."""
    delta = (event.get("actions") or {}).get("stateDelta") or {}
    if any(k.startswith(TEMP_PREFIX) for k in delta):
        kept = copy.deepcopy(event)
        kept["actions"]["stateDelta"] = {k: v for k, v in delta.items() if not k.startswith(TEMP_PREFIX)}
        assert json.loads(stored.event_json) == kept, "temp: keys removed, nothing else changed"
    else:
        assert stored.event_json == event_json, "the event JSON is stored byte for byte"
    assert stored.id == event["id"]
    assert stored.author == (event.get("author") or "")
    assert stored.invocation_id == (event.get("invocationId") or "")
    assert stored.branch == (event.get("branch") or "")
    assert stored.timestamp == to_timestamp(float(event["timestamp"]))
    scopes = split_delta(delta)
    assert decoded(stored.state_delta.app) == scopes["app"]
    assert decoded(stored.state_delta.user) == scopes["user"]
    assert decoded(stored.state_delta.session) == scopes["session"]
