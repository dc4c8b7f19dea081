"""The wire contract beyond ADK's Python API: revisions, idempotency, typed fields, paging."""

from __future__ import annotations

import json
import uuid
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.server.rpc_errors import failure_of


def _event(event_id: str = "", **fields: Any) -> str:
    event = {"id": event_id or uuid.uuid4().hex, "author": "user", "timestamp": 1_800_000_000.0}
    event.update(fields)
    return json.dumps(event)


async def _create(stub: pb_grpc.SessionServiceAsyncStub, app_name: str, session_id: str = "s1") -> pb.Session:
    request = pb.CreateSessionRequest(app_name=app_name, user_id="u1", session_id=session_id)
    return (await stub.CreateSession(request)).session


async def _append(
    stub: pb_grpc.SessionServiceAsyncStub,
    app_name: str,
    event_json: str,
    revision: int,
    session_id: str = "s1",
) -> pb.AppendEventResponse:
    request = pb.AppendEventRequest(
        app_name=app_name,
        user_id="u1",
        session_id=session_id,
        event_json=event_json,
        expected_revision=revision,
    )
    return await stub.AppendEvent(request)


async def _failure(call: Any) -> Any:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return failure_of(raised.value)


async def test_each_append_changes_the_revision(stub: pb_grpc.SessionServiceAsyncStub, app_name: str) -> None:
    session = await _create(stub, app_name)
    revisions = [session.revision]
    for _ in range(3):
        revisions.append((await _append(stub, app_name, _event(), revisions[-1])).revision)
    assert len(set(revisions)) == 4
    fetched = await stub.GetSession(pb.GetSessionRequest(app_name=app_name, user_id="u1", session_id="s1"))
    assert fetched.session.revision == revisions[-1]


async def test_stale_revision_is_aborted_with_both_revisions(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    session = await _create(stub, app_name)
    current = (await _append(stub, app_name, _event(), session.revision)).revision
    failure = await _failure(_append(stub, app_name, _event(), session.revision))
    assert failure.code == grpc.StatusCode.ABORTED
    assert failure.reason == "STALE_SESSION"
    assert failure.metadata == {"expected_revision": str(session.revision), "current_revision": str(current)}


async def test_revision_is_never_reused_after_delete_and_recreate(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    seen = set()
    for _ in range(3):
        session = await _create(stub, app_name)
        seen.add(session.revision)
        seen.add((await _append(stub, app_name, _event(), session.revision)).revision)
        await stub.DeleteSession(pb.DeleteSessionRequest(app_name=app_name, user_id="u1", session_id="s1"))
    assert len(seen) == 6


async def test_retried_append_returns_the_original_result(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    session = await _create(stub, app_name)
    event = _event("e1", actions={"stateDelta": {"user:count": 1}})
    first = await _append(stub, app_name, event, session.revision)
    await _append(stub, app_name, _event("e2"), first.revision)
    # The retry still carries the revision from before its first attempt.
    retry = await _append(stub, app_name, event, session.revision)
    assert retry.already_applied
    assert not first.already_applied
    assert (retry.revision, retry.event.sequence, retry.event.event_json) == (
        first.revision,
        first.event.sequence,
        first.event.event_json,
    )
    events = await stub.ListEvents(pb.ListEventsRequest(app_name=app_name, user_id="u1", session_id="s1"))
    assert [e.id for e in events.events] == ["e1", "e2"]


async def test_different_event_under_a_stored_id_is_a_conflict(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    session = await _create(stub, app_name)
    first = await _append(stub, app_name, _event("e1", author="a"), session.revision)
    failure = await _failure(_append(stub, app_name, _event("e1", author="b"), first.revision))
    assert failure.code == grpc.StatusCode.ALREADY_EXISTS
    assert failure.reason == "EVENT_ID_CONFLICT"
    assert failure.metadata == {"event_id": "e1"}


async def test_missing_session_is_not_found(stub: pb_grpc.SessionServiceAsyncStub, app_name: str) -> None:
    key: dict[str, Any] = {"app_name": app_name, "user_id": "u1", "session_id": "missing"}
    for call in (
        stub.GetSession(pb.GetSessionRequest(**key)),
        stub.AppendEvent(pb.AppendEventRequest(**key, event_json=_event(), expected_revision=1)),
        stub.ListEvents(pb.ListEventsRequest(**key)),
    ):
        failure = await _failure(call)
        assert (failure.code, failure.reason) == (grpc.StatusCode.NOT_FOUND, "SESSION_NOT_FOUND")


async def test_taken_session_id_is_already_exists(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    await _create(stub, app_name)
    failure = await _failure(_create(stub, app_name))
    assert (failure.code, failure.reason) == (grpc.StatusCode.ALREADY_EXISTS, "SESSION_ALREADY_EXISTS")


async def test_empty_session_id_gets_a_generated_uuid(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    for requested in ("", "   "):
        session = await _create(stub, app_name, session_id=requested)
        assert str(uuid.UUID(session.session_id)) == session.session_id


async def test_event_json_comes_back_byte_for_byte(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    session = await _create(stub, app_name)
    # Odd spacing, escapes and a field no ADK version has yet: all kept verbatim.
    text = '{ "id":"e1",  "timestamp" : 1800000000.5,"author":"user","futureField":{"x":[1,2.50,"\\u00e9"]} }'
    appended = await _append(stub, app_name, text, session.revision)
    assert appended.event.event_json == text
    fetched = await stub.GetSession(pb.GetSessionRequest(app_name=app_name, user_id="u1", session_id="s1"))
    assert fetched.session.events[0].event_json == text


async def test_typed_fields_are_filled_from_the_json(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    session = await _create(stub, app_name)
    text = _event(
        "e1",
        author="planner",
        invocationId="inv-7",
        branch="root.planner",
        timestamp=1_700_000_000.123,
        actions={"stateDelta": {"app:a": 1, "user:u": [2], "s": {"x": None}, "temp:t": 4}},
    )
    appended = await _append(stub, app_name, text, session.revision)
    event = appended.event
    assert (event.id, event.author, event.invocation_id, event.branch, event.sequence) == (
        "e1",
        "planner",
        "inv-7",
        "root.planner",
        1,
    )
    assert (event.timestamp.seconds, event.timestamp.nanos) == (1_700_000_000, 123_000_000)
    assert dict(event.state_delta.app) == {"a": "1"}
    assert dict(event.state_delta.user) == {"u": "[2]"}
    assert dict(event.state_delta.session) == {"s": '{"x":null}'}
    assert (appended.last_update_time.seconds, appended.last_update_time.nanos) == (
        1_700_000_000,
        123_000_000,
    )


async def test_temp_keys_are_removed_from_the_stored_json(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    session = await _create(stub, app_name)
    text = _event("e1", actions={"stateDelta": {"temp:scratch": 1, "kept": 2}, "escalate": True})
    appended = await _append(stub, app_name, text, session.revision)
    stored = json.loads(appended.event.event_json)
    assert stored["actions"] == {"stateDelta": {"kept": 2}, "escalate": True}
    assert stored["id"] == "e1"


async def test_state_in_responses_is_split_by_scope(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    state = pb.StateDelta(app={"a": "1"}, user={"u": '"x"'}, session={"s": "true"})
    created = await stub.CreateSession(pb.CreateSessionRequest(app_name=app_name, user_id="u1", state=state))
    assert dict(created.session.state.app) == {"a": "1"}
    assert dict(created.session.state.user) == {"u": '"x"'}
    assert dict(created.session.state.session) == {"s": "true"}
    app_state = await stub.GetAppState(pb.GetAppStateRequest(app_name=app_name))
    user_state = await stub.GetUserState(pb.GetUserStateRequest(app_name=app_name, user_id="u1"))
    assert (dict(app_state.state), dict(user_state.state)) == ({"a": "1"}, {"u": '"x"'})


async def test_list_sessions_pages_through_everything_in_order(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    expected: list[str] = []
    for index in range(7):
        session = await _create(stub, app_name, session_id=f"s{index}")
        # Later sessions get earlier update times, so list order is the reverse of creation.
        await _append(
            stub, app_name, _event(timestamp=1_800_000_100.0 - index), session.revision, f"s{index}"
        )
        expected.insert(0, f"s{index}")
    seen: list[str] = []
    token, pages = "", 0
    while True:
        page = await stub.ListSessions(
            pb.ListSessionsRequest(app_name=app_name, page_size=3, page_token=token)
        )
        assert len(page.sessions) <= 3
        assert all(not s.events for s in page.sessions)
        seen.extend(s.session_id for s in page.sessions)
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert seen == expected
    assert pages == 3


async def test_list_events_pages_through_a_session(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    session = await _create(stub, app_name)
    revision = session.revision
    for index in range(5):
        revision = (
            await _append(stub, app_name, _event(f"e{index}", timestamp=1_800_000_000.0 + index), revision)
        ).revision
    after = Timestamp(seconds=1_800_000_001)
    seen: list[tuple[str, int]] = []
    token = ""
    while True:
        request = pb.ListEventsRequest(
            app_name=app_name,
            user_id="u1",
            session_id="s1",
            page_size=2,
            page_token=token,
            after_timestamp=after,
        )
        page = await stub.ListEvents(request)
        seen.extend((e.id, e.sequence) for e in page.events)
        token = page.next_page_token
        if not token:
            break
    assert seen == [("e1", 2), ("e2", 3), ("e3", 4), ("e4", 5)]


async def test_page_size_zero_means_100_and_large_sizes_are_capped(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    session = await _create(stub, app_name)
    revision = session.revision
    for index in range(101):
        revision = (await _append(stub, app_name, _event(f"e{index}"), revision)).revision
    key: dict[str, Any] = {"app_name": app_name, "user_id": "u1", "session_id": "s1"}
    default_page = await stub.ListEvents(pb.ListEventsRequest(**key))
    assert len(default_page.events) == 100
    assert default_page.next_page_token
    huge_page = await stub.ListEvents(pb.ListEventsRequest(**key, page_size=2**31 - 1))
    assert len(huge_page.events) == 101
    assert not huge_page.next_page_token
