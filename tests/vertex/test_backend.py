"""The agentengine:// backend against the Vertex AI Sessions stand-in: mapping, operations, paging, errors."""

from __future__ import annotations

import datetime
import json
import types
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.vertex_ai_session_service import _from_api_event
from google.genai import types as genai
from google.protobuf import json_format
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from adk_grpc_sessions.client import GrpcSessionService, SessionServiceError, SessionServicePermissionError
from adk_grpc_sessions.server.backends.base import (
    BackendRefusedError,
    BackendUnavailableError,
    EventIdConflictError,
    EventWindow,
    InvalidCursorError,
    NewEvent,
    Refusal,
    ScopedState,
    SessionExistsError,
    SessionKey,
    SessionNotFoundError,
    StaleRevisionError,
)
from adk_grpc_sessions.server.backends.event_json import parse_event
from adk_grpc_sessions.server.backends.vertex import VertexBackend, mapping
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.vertex_standin.server import serving
from tests.vertex_standin.service import SessionServiceStandIn

ENGINE = "projects/p/locations/us-central1/reasoningEngines/7"


@pytest.fixture
def standin() -> SessionServiceStandIn:
    return SessionServiceStandIn([ENGINE])


@pytest.fixture
async def uri(standin: SessionServiceStandIn) -> AsyncIterator[str]:
    async with serving(standin) as address:
        yield f"agentengine://{ENGINE}?endpoint={address}&plaintext=true&timeout=2&operation_timeout=2"


@pytest.fixture
async def backend(uri: str) -> AsyncIterator[VertexBackend]:
    backend = VertexBackend.from_uri(uri)
    await backend.start()
    yield backend
    await backend.close()


def _event(timestamp: float = 1_800_000_000.5, **fields: Any) -> NewEvent:
    event = Event(author="user", invocation_id="inv", timestamp=timestamp, **fields)
    return parse_event(event.model_dump_json(by_alias=True, exclude_none=True))


async def _create(backend: VertexBackend, app: str = "app", user: str = "u1", session_id: str = "") -> Any:
    return await backend.create_session(SessionKey(app, user, session_id), ScopedState(), 0.0)


# --- sessions and operations ------------------------------------------------------------------------


async def test_create_waits_for_the_operation_and_returns_the_assigned_id(
    uri: str, standin: SessionServiceStandIn
) -> None:
    standin.operation_polls = 3
    backend = VertexBackend.from_uri(uri)
    await backend.start()
    record = await _create(backend)
    await backend.close()
    assert record.key.session_id.isdigit()
    assert standin.calls.count("GetOperation") == 3
    assert f"{ENGINE}/sessions/{record.key.session_id}" in standin.sessions


async def test_an_operation_that_never_finishes_is_bounded(uri: str, standin: SessionServiceStandIn) -> None:
    standin.operation_polls = 1_000_000
    backend = VertexBackend.from_uri(uri.replace("operation_timeout=2", "operation_timeout=0.3"))
    await backend.start()
    with pytest.raises(BackendUnavailableError, match="did not answer in time"):
        await _create(backend)
    await backend.close()


async def test_chosen_session_id_is_kept_and_a_taken_one_is_refused(backend: VertexBackend) -> None:
    record = await _create(backend, session_id="my-session")
    assert record.key == SessionKey("app", "u1", "my-session")
    with pytest.raises(SessionExistsError):
        await _create(backend, user="someone-else", session_id="my-session")


async def test_session_ids_agent_engine_refuses_are_refused_up_front(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    with pytest.raises(BackendRefusedError) as refused:
        await _create(backend, session_id="Not_Valid")
    assert refused.value.refusal is Refusal.INVALID_INPUT
    assert "CreateSession" not in standin.calls
    # Such an id can name no session: reads find none, without a call.
    assert await backend.get_session(SessionKey("app", "u1", "a/../b"), EventWindow()) is None


async def test_initial_state_is_the_merged_view_in_session_state(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    record = await backend.create_session(
        SessionKey("app", "u1", ""),
        ScopedState(app={"a": "1"}, user={"u": '"x"'}, session={"s": "[1.5]"}),
        0.0,
    )
    stored = standin.sessions[f"{ENGINE}/sessions/{record.key.session_id}"].session
    assert json_format.MessageToDict(stored.session_state) == {"app:a": 1.0, "user:u": "x", "s": [1.5]}
    assert record.state == ScopedState(app={"a": "1"}, user={"u": '"x"'}, session={"s": "[1.5]"})


async def test_apps_sharing_an_engine_are_kept_apart_by_label(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    mine = await _create(backend, app="My App!")
    await _create(backend, app="other_app")
    stored = standin.sessions[f"{ENGINE}/sessions/{mine.key.session_id}"].session
    assert stored.labels["adk_app"] == mapping.app_label("My App!")
    assert stored.labels["adk_app"].startswith("sha256-")
    listed = await backend.list_sessions("My App!", None, 10, None)
    assert [r.key for r in listed.items] == [mine.key]
    assert (
        await backend.get_session(SessionKey("other_app", "u1", mine.key.session_id), EventWindow()) is None
    )


async def test_another_users_session_is_neither_read_nor_deleted(backend: VertexBackend) -> None:
    record = await _create(backend, user="alice")
    as_bob = SessionKey("app", "bob", record.key.session_id)
    assert await backend.get_session(as_bob, EventWindow()) is None
    await backend.delete_session(as_bob)
    assert await backend.get_session(record.key, EventWindow()) is not None
    with pytest.raises(SessionNotFoundError):
        await backend.append_event(as_bob, _event(), record.revision)


async def test_delete_waits_for_the_operation(backend: VertexBackend, standin: SessionServiceStandIn) -> None:
    record = await _create(backend)
    await backend.delete_session(record.key)
    assert standin.sessions == {}
    await backend.delete_session(record.key)  # already gone: not an error


async def test_list_filters_on_user_and_orders_by_update_time(backend: VertexBackend) -> None:
    first = await _create(backend, user="u1")
    second = await _create(backend, user="u1")
    await _create(backend, user="u2")
    await backend.append_event(first.key, _event(), first.revision)
    listed = await backend.list_sessions("app", "u1", 10, None)
    assert [r.key for r in listed.items] == [second.key, first.key]
    assert listed.next_cursor is None


async def test_list_pages_are_the_apis_pages(backend: VertexBackend, standin: SessionServiceStandIn) -> None:
    keys = [(await _create(backend)).key for _ in range(5)]
    seen: list[SessionKey] = []
    cursor, pages = None, 0
    while True:
        page = await backend.list_sessions("app", None, 2, cursor)
        seen.extend(r.key for r in page.items)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3 and seen == keys
    assert standin.calls.count("ListSessions") == 3


# --- events -------------------------------------------------------------------------------------------


async def test_event_round_trips_exactly_and_fills_the_typed_fields(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    record = await _create(backend)
    event = _event(
        content=genai.Content(role="model", parts=[genai.Part(text="hi")]),
        actions=EventActions(state_delta={"n": 1, "user:big": 2**70}, transfer_to_agent="helper"),
        branch="root.child",
        custom_metadata={"trace": "t1"},
    )
    await backend.append_event(record.key, event, record.revision)
    stored = standin.sessions[f"{ENGINE}/sessions/{record.key.session_id}"].events[0]
    assert stored.content.parts[0].text == "hi"
    assert stored.actions.transfer_agent == "helper"
    assert stored.event_metadata.branch == "root.child"
    assert json_format.MessageToDict(stored.event_metadata.custom_metadata) == {"trace": "t1"}
    assert stored.raw_event.fields["id"].string_value == event.id
    read = await backend.get_session(record.key, EventWindow())
    assert read is not None and read.events[0].event_json == event.event_json
    assert read.state.session == {"n": "1"} and read.state.user == {"big": str(float(2**70))}


async def test_raw_event_holds_the_event_and_its_exact_json(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    record = await _create(backend)
    event = _event(actions=EventActions(state_delta={"n": 1, "f": 0.5}))
    await backend.append_event(record.key, event, record.revision)
    (stored,) = standin.sessions[f"{ENGINE}/sessions/{record.key.session_id}"].events
    raw = json_format.MessageToDict(stored.raw_event)
    assert raw.pop(mapping.EXACT_JSON_KEY) == event.event_json
    # Beside it, the event itself as ADK writes it (numbers as doubles).
    assert raw == json.loads(event.event_json)
    assert isinstance(raw["actions"]["stateDelta"]["n"], float)


async def test_adk_reads_the_events_this_backend_writes(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    record = await _create(backend)
    original = Event(
        author="agent",
        invocation_id="inv-1",
        timestamp=1_800_000_000.25,
        content=genai.Content(role="model", parts=[genai.Part(text="hello")]),
        actions=EventActions(state_delta={"k": 1}, artifact_delta={"f.txt": 2}),
        usage_metadata=genai.GenerateContentResponseUsageMetadata(prompt_token_count=3),
    )
    new_event = parse_event(original.model_dump_json(by_alias=True, exclude_none=True))
    await backend.append_event(record.key, new_event, record.revision)
    stored = standin.sessions[f"{ENGINE}/sessions/{record.key.session_id}"].events[0]
    # ADK's VertexAiSessionService reads the REST form, where raw_event is a JSON object.
    rest = json_format.MessageToDict(stored, preserving_proto_field_name=True)
    as_adk_sees_it = types.SimpleNamespace(
        name=stored.name,
        author=stored.author,
        invocation_id=stored.invocation_id,
        raw_event=rest["raw_event"],
        timestamp=stored.timestamp.ToDatetime(tzinfo=datetime.UTC),
    )
    assert _from_api_event(as_adk_sees_it) == original


async def test_events_without_raw_event_are_read_from_the_typed_fields(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    record = await _create(backend)
    await backend.append_event(record.key, _event(), record.revision)
    stored = standin.sessions[f"{ENGINE}/sessions/{record.key.session_id}"].events[0]
    # As ADK's field-by-field writer (no raw_event) stores an event.
    stored.ClearField("raw_event")
    stored.content.parts.add(text="legacy")
    stored.actions.state_delta.update({"k": "v"})
    stored.event_metadata.branch = "b"
    read = await backend.get_session(record.key, EventWindow())
    assert read is not None
    event = json.loads(read.events[0].event_json)
    assert event["id"] == stored.name.rsplit("/", 1)[1]
    assert event["content"] == {"parts": [{"text": "legacy"}]}
    assert event["actions"]["stateDelta"] == {"k": "v"}
    assert (event["author"], event["invocationId"], event["branch"]) == ("user", "inv", "b")
    assert event["timestamp"] == 1_800_000_000.5


async def test_event_without_invocation_id_is_filed_under_its_own_id_and_read_back_exactly(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    record = await _create(backend)
    event = parse_event(Event(author="user", timestamp=1_800_000_000.0).model_dump_json(by_alias=True))
    await backend.append_event(record.key, event, record.revision)
    stored = standin.sessions[f"{ENGINE}/sessions/{record.key.session_id}"].events[0]
    assert stored.invocation_id == event.id
    read = await backend.get_session(record.key, EventWindow())
    assert read is not None and read.events[0].event_json == event.event_json


async def test_event_windows_are_applied_after_the_timestamp_filter(backend: VertexBackend) -> None:
    record = await _create(backend)
    revision = record.revision
    for second in range(5):
        revision = (
            await backend.append_event(record.key, _event(1_800_000_000.0 + second), revision)
        ).revision
    window = EventWindow(num_recent_events=2, after_timestamp=1_800_000_001.0)
    read = await backend.get_session(record.key, window)
    assert read is not None
    assert [json.loads(e.event_json)["timestamp"] for e in read.events] == [
        1_800_000_003.0,
        1_800_000_004.0,
    ]
    only_session = await backend.get_session(record.key, EventWindow(num_recent_events=0))
    assert only_session is not None and only_session.events == []


async def test_event_pages_are_the_apis_pages_numbered_across_pages(backend: VertexBackend) -> None:
    record = await _create(backend)
    revision = record.revision
    for second in range(5):
        revision = (
            await backend.append_event(record.key, _event(1_800_000_000.0 + second), revision)
        ).revision
    sequences: list[int] = []
    cursor = None
    while True:
        page = await backend.list_events(record.key, None, 2, cursor)
        sequences.extend(e.sequence for e in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sequences == [1, 2, 3, 4, 5]
    with pytest.raises(InvalidCursorError):
        await backend.list_events(record.key, None, 2, "not-a-cursor")
    with pytest.raises(InvalidCursorError):
        await backend.list_sessions(record.key.app_name, None, 2, "not-a-cursor")


async def test_stale_writer_is_rejected(backend: VertexBackend) -> None:
    record = await _create(backend)
    await backend.append_event(record.key, _event(1_800_000_000.0), record.revision)
    with pytest.raises(StaleRevisionError):
        await backend.append_event(record.key, _event(1_800_000_001.0), record.revision)


async def test_redelivered_event_is_stored_once_and_a_different_one_under_its_id_refused(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    record = await _create(backend)
    event = _event(actions=EventActions(state_delta={"k": 1}))
    first = await backend.append_event(record.key, event, record.revision)
    again = await backend.append_event(record.key, event, record.revision)
    assert not first.already_applied and again.already_applied
    assert again.revision == first.revision
    assert len(standin.sessions[f"{ENGINE}/sessions/{record.key.session_id}"].events) == 1
    different = parse_event(event.event_json.replace('"author":"user"', '"author":"someone"'))
    with pytest.raises(EventIdConflictError):
        await backend.append_event(record.key, different, first.revision)


async def test_an_append_whose_answer_was_lost_is_recognised_when_retried(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    record = await _create(backend)
    event = _event()
    standin.fail_next("AppendEvent", grpc.StatusCode.UNAVAILABLE, "connection reset", after_applying=True)
    with pytest.raises(BackendUnavailableError):
        await backend.append_event(record.key, event, record.revision)
    retried = await backend.append_event(record.key, event, record.revision)
    assert retried.already_applied
    assert len(standin.sessions[f"{ENGINE}/sessions/{record.key.session_id}"].events) == 1


async def test_append_to_a_missing_session_is_not_found(backend: VertexBackend) -> None:
    with pytest.raises(SessionNotFoundError):
        await backend.append_event(SessionKey("app", "u1", "gone"), _event(), 1)
    with pytest.raises(SessionNotFoundError):
        await backend.list_events(SessionKey("app", "u1", "gone"), None, 10, None)


# --- errors -------------------------------------------------------------------------------------------


async def test_reads_are_retried_while_unavailable(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    record = await _create(backend)
    standin.fail_next("GetSession", grpc.StatusCode.UNAVAILABLE, "restarting")
    standin.fail_next("GetSession", grpc.StatusCode.UNAVAILABLE, "restarting")
    assert await backend.get_session(record.key, EventWindow(num_recent_events=0)) is not None


async def test_quota_refusals_are_retried_then_reported_with_their_reason(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    record = await _create(backend)
    standin.fail_next(
        "GetSession", grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", reason="RATE_LIMIT_EXCEEDED"
    )
    assert await backend.get_session(record.key, EventWindow(num_recent_events=0)) is not None
    for _ in range(200):
        standin.fail_next(
            "GetSession", grpc.StatusCode.RESOURCE_EXHAUSTED, "quota", reason="RATE_LIMIT_EXCEEDED"
        )
    with pytest.raises(BackendRefusedError) as refused:
        await backend.get_session(record.key, EventWindow(num_recent_events=0))
    assert refused.value.refusal is Refusal.QUOTA_EXCEEDED
    assert refused.value.reason == "RATE_LIMIT_EXCEEDED"
    assert refused.value.domain == "aiplatform.googleapis.com"


async def test_a_write_is_not_retried_blindly_when_unavailable(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    record = await _create(backend)
    standin.fail_next("AppendEvent", grpc.StatusCode.UNAVAILABLE, "gone")
    with pytest.raises(BackendUnavailableError, match="UNAVAILABLE while appending an event"):
        await backend.append_event(record.key, _event(), record.revision)
    assert standin.calls.count("AppendEvent") == 1


async def test_missing_reasoning_engine_is_a_failed_precondition_and_fails_the_check(uri: str) -> None:
    backend = VertexBackend.from_uri(uri.replace("reasoningEngines/7", "reasoningEngines/8"))
    await backend.start()
    with pytest.raises(BackendRefusedError) as refused:
        await backend.list_sessions("app", None, 10, None)
    with pytest.raises(BackendUnavailableError, match="NOT_FOUND"):
        await backend.check()
    await backend.close()
    assert refused.value.refusal is Refusal.FAILED_PRECONDITION


async def test_check_passes_when_the_engine_answers(backend: VertexBackend) -> None:
    await backend.check()


async def test_without_application_default_credentials_start_fails_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", f"/nonexistent/{uuid.uuid4()}.json")
    backend = VertexBackend.from_uri(f"agentengine://{ENGINE}")
    with pytest.raises(BackendRefusedError) as refused:
        await backend.start()
    assert refused.value.refusal is Refusal.FAILED_PRECONDITION
    assert refused.value.reason == "NO_CREDENTIALS"


# --- through the server -------------------------------------------------------------------------------


@pytest.fixture
async def server_address(uri: str) -> AsyncIterator[str]:
    server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend=uri))
    await server.start()
    yield f"127.0.0.1:{server.ports[0]}"
    await server.stop(grace=0)


async def test_permission_problems_reach_the_client_with_their_reason(
    server_address: str, standin: SessionServiceStandIn
) -> None:
    standin.fail_next(
        "ListSessions", grpc.StatusCode.PERMISSION_DENIED, "denied", reason="IAM_PERMISSION_DENIED"
    )
    async with grpc.aio.insecure_channel(server_address) as channel:
        stub = pb_grpc.SessionServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await stub.ListSessions(pb.ListSessionsRequest(app_name="app"))
    assert failed.value.code() == grpc.StatusCode.PERMISSION_DENIED
    status = rpc_status.from_call(failed.value)
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert info.reason == "BACKEND_PERMISSION_DENIED"
    assert dict(info.metadata) == {
        "backend_reason": "IAM_PERMISSION_DENIED",
        "backend_domain": "aiplatform.googleapis.com",
    }
    async with GrpcSessionService(server_address) as client:
        standin.fail_next(
            "ListSessions", grpc.StatusCode.PERMISSION_DENIED, "denied", reason="IAM_PERMISSION_DENIED"
        )
        with pytest.raises(SessionServicePermissionError):
            await client.list_sessions(app_name="app")


async def test_user_state_is_unimplemented_through_the_server(server_address: str) -> None:
    async with GrpcSessionService(server_address) as client:
        with pytest.raises(SessionServiceError) as failed:
            await client.get_user_state(app_name="app", user_id="u1")
    assert failed.value.code == grpc.StatusCode.UNIMPLEMENTED
    assert failed.value.reason == "NOT_SUPPORTED_BY_BACKEND"


async def test_session_and_event_pages_pass_through_the_server(server_address: str) -> None:
    async with GrpcSessionService(server_address) as client:
        created = [await client.create_session(app_name="app", user_id="u1") for _ in range(3)]
        first = await client.list_sessions_page(app_name="app", page_size=2)
        assert len(first.sessions) == 2 and first.next_page_token
        rest = await client.list_sessions_page(app_name="app", page_size=2, page_token=first.next_page_token)
        assert [s.id for s in first.sessions + rest.sessions] == [s.id for s in created]
        assert rest.next_page_token is None
        with pytest.raises(ValueError, match="page_token"):
            await client.list_sessions_page(app_name="app", user_id="u2", page_token=first.next_page_token)
        session = created[0]
        for second in range(3):
            await client.append_event(session, Event(author="user", timestamp=1_800_000_000.0 + second))
        timestamps, token, pages = [], None, 0
        while True:
            page = await client.list_events(
                app_name="app", user_id="u1", session_id=session.id, page_size=2, page_token=token
            )
            timestamps += [e.timestamp for e in page.events]
            pages, token = pages + 1, page.next_page_token
            if token is None:
                break
        assert pages == 2
        assert timestamps == [1_800_000_000.0, 1_800_000_001.0, 1_800_000_002.0]


async def test_sessions_are_created_without_an_id_through_a_server_with_metrics(uri: str) -> None:
    # The metrics wrapper must pass on how the servicer talks to this backend.
    server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend=uri, metrics_listen="127.0.0.1:0"))
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.ports[0]}") as channel:
            stub = pb_grpc.SessionServiceStub(channel)
            created = await stub.CreateSession(pb.CreateSessionRequest(app_name="app", user_id="u1"))
    finally:
        await server.stop(grace=0)
    assert created.session.session_id.isdigit()
