"""``BatchAppendEvents`` on the wire: each append answered exactly as ``AppendEvent`` would answer it alone."""

from __future__ import annotations

import json
import uuid
from typing import Any

import grpc
import pytest
from google.rpc import status_pb2

from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.server.rpc_errors import failure_in, failure_of

_STALE_REVISION = 10**12


def _event(event_id: str, text: str = "hi", delta: dict[str, Any] | None = None) -> str:
    event: dict[str, Any] = {
        "id": event_id,
        "author": "agent",
        "timestamp": 1_800_000_000.5,
        "content": {"role": "model", "parts": [{"text": text}]},
    }
    if delta:
        event["actions"] = {"stateDelta": delta}
    return json.dumps(event)


def _append(app_name: str, session_id: str, event_json: str, revision: int) -> pb.AppendEventRequest:
    return pb.AppendEventRequest(
        app_name=app_name,
        user_id="u1",
        session_id=session_id,
        event_json=event_json,
        expected_revision=revision,
    )


async def _scenario(stub: pb_grpc.SessionServiceAsyncStub, app_name: str) -> list[pb.AppendEventRequest]:
    """Five sessions (s3 holding one event) and appends that meet every outcome an append can have."""
    revisions = {}
    for session_id in ("s1", "s2", "s3", "s4", "s5"):
        created = await stub.CreateSession(
            pb.CreateSessionRequest(app_name=app_name, user_id="u1", session_id=session_id)
        )
        revisions[session_id] = created.session.revision
    stored = _event("e3", "first")
    revisions["s3"] = (await stub.AppendEvent(_append(app_name, "s3", stored, revisions["s3"]))).revision
    return [
        _append(
            app_name, "s1", _event("a1", delta={"k": 1, "user:seen": True, "temp:x": 1}), revisions["s1"]
        ),
        _append(app_name, "s2", _event("a2"), _STALE_REVISION),
        _append(app_name, "nope", _event("a3"), revisions["s1"]),
        _append(app_name, "s4", "{}", revisions["s4"]),
        _append(app_name, "s3", stored, revisions["s3"]),  # a retry of the stored event
        _append(app_name, "s3", _event("e3", "different"), revisions["s3"]),
        _append(app_name, "s4", _event("a4"), 0),
        _append(app_name, "s5", _event("a5", delta={"app:n": 2}), revisions["s5"]),
    ]


def _outcome(response: pb.AppendEventResponse | None, failure: Any = None) -> tuple[Any, ...]:
    """What may be compared across two apps (revisions are numbered storage-wide, so only their presence)."""
    if response is not None:
        event = response.event
        return ("ok", response.already_applied, event.event_json, event.sequence, response.revision > 0)
    return (failure.code, failure.reason, sorted(failure.metadata), failure.fields)


async def _stored(stub: pb_grpc.SessionServiceAsyncStub, app_name: str) -> list[tuple[Any, ...]]:
    sessions = []
    for session_id in ("s1", "s2", "s3", "s4", "s5"):
        got = (
            await stub.GetSession(
                pb.GetSessionRequest(app_name=app_name, user_id="u1", session_id=session_id)
            )
        ).session
        state = (dict(got.state.app), dict(got.state.user), dict(got.state.session))
        sessions.append((session_id, [e.event_json for e in got.events], state))
    return sessions


async def single_outcomes(stub: pb_grpc.SessionServiceAsyncStub, app_name: str) -> list[tuple[Any, ...]]:
    """The outcomes of the scenario's appends made in ``app_name`` as calls of their own."""
    singles = []
    for request in await _scenario(stub, app_name):
        try:
            singles.append(_outcome(await stub.AppendEvent(request)))
        except grpc.aio.AioRpcError as error:
            singles.append(_outcome(None, failure_of(error)))
    return singles


async def check_batch_answers_as_single_calls(stub: pb_grpc.SessionServiceAsyncStub) -> None:
    """Runs one scenario as single calls in one app and as a batch in another; both must agree."""
    single_app, batch_app = f"single-{uuid.uuid4().hex[:8]}", f"batch-{uuid.uuid4().hex[:8]}"
    singles = await single_outcomes(stub, single_app)
    batch = await stub.BatchAppendEvents(
        pb.BatchAppendEventsRequest(requests=await _scenario(stub, batch_app))
    )
    batched = [
        _outcome(result.response)
        if result.HasField("response")
        else _outcome(None, failure_in(status_pb2.Status.FromString(result.error.SerializeToString())))
        for result in batch.results
    ]
    assert batched == singles
    assert [o[:2] for o in batched] == [
        ("ok", False),
        (grpc.StatusCode.ABORTED, "STALE_SESSION"),
        (grpc.StatusCode.NOT_FOUND, "SESSION_NOT_FOUND"),
        (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("ok", True),
        (grpc.StatusCode.ALREADY_EXISTS, "EVENT_ID_CONFLICT"),
        (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("ok", False),
    ]
    assert await _stored(stub, batch_app) == await _stored(stub, single_app)


async def test_each_append_of_a_batch_is_answered_as_a_single_call(
    stub: pb_grpc.SessionServiceAsyncStub,
) -> None:
    await check_batch_answers_as_single_calls(stub)


async def test_appends_to_one_session_are_applied_in_request_order(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    created = await stub.CreateSession(
        pb.CreateSessionRequest(app_name=app_name, user_id="u1", session_id="s")
    )
    revision = created.session.revision
    requests = [
        _append(app_name, "s", _event("first", delta={"n": 1}), revision),
        _append(app_name, "s", _event("second", delta={"n": 2}), revision),  # stale once "first" is stored
        _append(app_name, "s", _event("first", delta={"n": 1}), revision),  # a retry of "first"
    ]
    results = (await stub.BatchAppendEvents(pb.BatchAppendEventsRequest(requests=requests))).results
    assert results[0].response.event.sequence == 1 and not results[0].response.already_applied
    assert failure_in(status_pb2.Status.FromString(results[1].error.SerializeToString())).reason == (
        "STALE_SESSION"
    )
    assert results[2].response.already_applied
    assert results[2].response.revision == results[0].response.revision
    got = await stub.GetSession(pb.GetSessionRequest(app_name=app_name, user_id="u1", session_id="s"))
    assert [json.loads(e.event_json)["id"] for e in got.session.events] == ["first"]
    assert dict(got.session.state.session) == {"n": "1"}


@pytest.mark.parametrize(("count", "description"), [(0, "at least one"), (1001, "at most 1000")])
async def test_an_empty_or_oversized_batch_is_invalid(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str, count: int, description: str
) -> None:
    requests = [_append(app_name, "s", _event(f"e{i}"), 1) for i in range(count)]
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.BatchAppendEvents(pb.BatchAppendEventsRequest(requests=requests))
    failure = failure_of(raised.value)
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["requests"])
    assert description in failure.message


async def test_a_batch_of_a_thousand_appends_is_served(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    revisions = {}
    for index in range(100):
        created = await stub.CreateSession(
            pb.CreateSessionRequest(app_name=app_name, user_id="u1", session_id=f"s{index}")
        )
        revisions[f"s{index}"] = created.session.revision
    # Ten appends to each session, all but the first of each stale: 100 stored, 900 refused.
    requests = [
        _append(app_name, f"s{index}", _event(f"e{round_}"), revisions[f"s{index}"])
        for round_ in range(10)
        for index in range(100)
    ]
    results = (await stub.BatchAppendEvents(pb.BatchAppendEventsRequest(requests=requests))).results
    assert len(results) == 1000
    assert sum(r.HasField("response") for r in results) == 100
    assert all(r.HasField("response") for r in results[:100])
    assert {r.error.code for r in results[100:]} == {grpc.StatusCode.ABORTED.value[0]}
