"""One nesting limit wherever state or events enter: the limit is accepted, one level more is refused.

Every entry point (CreateSession's state in each scope, stateDelta values and
the event as a whole in AppendEvent, BatchAppendEvents and AppendEventStream),
through raw gRPC and through the Python client; the refusal is INVALID_ARGUMENT
naming the field and the limit, never "not valid JSON".
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions, EventCompaction
from google.genai import types
from google.rpc import status_pb2

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.backends.json_values import MAX_EVENT_JSON_DEPTH, MAX_JSON_DEPTH
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.conftest import StartServer
from tests.server.rpc_errors import RpcFailure, failure_in, failure_of

SHAPES = ["arrays", "objects"]


def nested(depth: int, shape: str) -> Any:
    """A value ``depth`` levels deep: arrays (``[[1]]``) or objects (``{"a": {"a": 1}}``)."""
    value: Any = 1
    for _ in range(depth):
        value = [value] if shape == "arrays" else {"a": value}
    return value


def _text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _refused_for_depth(failure: RpcFailure, field: str, limit: int) -> None:
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT, failure
    assert failure.fields == [field], failure
    assert f"deeper than {limit} levels" in failure.message, failure
    assert "nesting depth limit" in failure.message, failure
    assert "not valid JSON" not in failure.message, failure


def test_the_limits_are_what_the_proto_says() -> None:
    assert (MAX_JSON_DEPTH, MAX_EVENT_JSON_DEPTH) == (254, 270)


# --- raw gRPC -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scope", ["app", "user", "session"])
async def test_create_accepts_state_at_the_limit_and_refuses_one_level_more(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str, scope: str, shape: str
) -> None:
    deepest = _text(nested(MAX_JSON_DEPTH, shape))
    created = await stub.CreateSession(
        pb.CreateSessionRequest(
            app_name=app_name, user_id="u", state=pb.StateDelta(**{scope: {"k": deepest}})
        )
    )
    assert json.loads(getattr(created.session.state, scope)["k"]) == nested(MAX_JSON_DEPTH, shape)
    too_deep = _text(nested(MAX_JSON_DEPTH + 1, shape))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateSession(
            pb.CreateSessionRequest(
                app_name=app_name, user_id="u", state=pb.StateDelta(**{scope: {"k2": too_deep}})
            )
        )
    _refused_for_depth(failure_of(caught.value), f"state.{scope}['k2']", MAX_JSON_DEPTH)


def _delta_event(event_id: str, key: str, value: Any) -> str:
    return _text(
        {"id": event_id, "author": "user", "timestamp": 1.5, "actions": {"stateDelta": {key: value}}}
    )


def _whole_event(event_id: str, depth: int, shape: str) -> str:
    """An event nested ``depth`` levels as a whole: its customMetadata holds the depth less two."""
    return _text(
        {
            "id": event_id,
            "author": "user",
            "timestamp": 1.5,
            "customMetadata": {"k": nested(depth - 2, shape)},
        }
    )


# Each way an append reaches the server: (name, send) where send returns the failure or None.
Send = Callable[["pb_grpc.SessionServiceAsyncStub", pb.AppendEventRequest], Awaitable[RpcFailure | None]]


async def _unary(stub: pb_grpc.SessionServiceAsyncStub, request: pb.AppendEventRequest) -> RpcFailure | None:
    try:
        await stub.AppendEvent(request)
    except grpc.aio.AioRpcError as error:
        return failure_of(error)
    return None


def _result_failure(result: pb.AppendEventResult) -> RpcFailure | None:
    if result.HasField("response"):
        return None
    return failure_in(status_pb2.Status.FromString(result.error.SerializeToString()))


async def _batch(stub: pb_grpc.SessionServiceAsyncStub, request: pb.AppendEventRequest) -> RpcFailure | None:
    reply = await stub.BatchAppendEvents(pb.BatchAppendEventsRequest(requests=[request]))
    return _result_failure(reply.results[0])


async def _stream(stub: pb_grpc.SessionServiceAsyncStub, request: pb.AppendEventRequest) -> RpcFailure | None:
    stream = stub.AppendEventStream()
    await stream.write(pb.AppendEventStreamRequest(append=request))
    await stream.done_writing()
    answers = [answer.result async for answer in stream]
    assert await stream.code() == grpc.StatusCode.OK
    return _result_failure(answers[0])


SENDERS = {"AppendEvent": _unary, "BatchAppendEvents": _batch, "AppendEventStream": _stream}


class Session:
    """A session to append to, keeping its revision."""

    def __init__(self, stub: pb_grpc.SessionServiceAsyncStub, app_name: str, send: Send) -> None:
        self.stub, self.app_name, self.send = stub, app_name, send
        self.revision = 0

    async def create(self) -> Session:
        created = await self.stub.CreateSession(
            pb.CreateSessionRequest(app_name=self.app_name, user_id="u", session_id="s")
        )
        self.revision = created.session.revision
        return self

    async def append(self, event_json: str) -> RpcFailure | None:
        failure = await self.send(
            self.stub,
            pb.AppendEventRequest(
                app_name=self.app_name,
                user_id="u",
                session_id="s",
                event_json=event_json,
                expected_revision=self.revision,
            ),
        )
        if failure is None:
            read = await self.stub.GetSession(
                pb.GetSessionRequest(app_name=self.app_name, user_id="u", session_id="s")
            )
            self.revision = read.session.revision
        return failure

    async def read(self) -> pb.Session:
        reply = await self.stub.GetSession(
            pb.GetSessionRequest(app_name=self.app_name, user_id="u", session_id="s")
        )
        return reply.session


@pytest.fixture(params=list(SENDERS))
async def session(
    request: pytest.FixtureRequest, stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> Session:
    """A new session, appended to by one of the three append RPCs."""
    return await Session(stub, app_name, SENDERS[request.param]).create()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("key", "scope"), [("k", "session"), ("app:k", "app"), ("user:k", "user")])
async def test_appends_accept_a_state_delta_value_at_the_limit_and_refuse_one_level_more(
    session: Session, key: str, scope: str, shape: str
) -> None:
    assert await session.append(_delta_event("deepest", key, nested(MAX_JSON_DEPTH, shape))) is None
    stored = await session.read()
    bare_key = key.split(":")[-1]
    assert json.loads(getattr(stored.state, scope)[bare_key]) == nested(MAX_JSON_DEPTH, shape)
    assert json.loads(stored.events[0].event_json)["actions"]["stateDelta"][key] == nested(
        MAX_JSON_DEPTH, shape
    )
    failure = await session.append(_delta_event("too-deep", key, nested(MAX_JSON_DEPTH + 1, shape)))
    assert failure is not None
    _refused_for_depth(failure, f"event_json.actions.stateDelta[{key!r}]", MAX_JSON_DEPTH)
    assert len((await session.read()).events) == 1, "nothing of the refused event is stored"


@pytest.mark.parametrize("shape", SHAPES)
async def test_appends_accept_an_event_at_the_limit_and_refuse_one_level_more(
    session: Session, shape: str
) -> None:
    deepest = _whole_event("deepest", MAX_EVENT_JSON_DEPTH, shape)
    assert await session.append(deepest) is None
    assert json.loads((await session.read()).events[0].event_json) == json.loads(deepest)
    failure = await session.append(_whole_event("too-deep", MAX_EVENT_JSON_DEPTH + 1, shape))
    assert failure is not None
    _refused_for_depth(failure, "event_json", MAX_EVENT_JSON_DEPTH)


@pytest.mark.parametrize("depth", [MAX_EVENT_JSON_DEPTH + 2, 10_000, 1_000_000])
async def test_hostile_nesting_is_refused_naming_the_limit(session: Session, depth: int) -> None:
    failure = await session.append("[" * depth + "]" * depth)
    assert failure is not None
    _refused_for_depth(failure, "event_json", MAX_EVENT_JSON_DEPTH)
    objects = '{"a":' * depth + "1" + "}" * depth
    failure = await session.append(_delta_event("e", "k", "X").replace('"X"', objects))
    assert failure is not None
    _refused_for_depth(failure, "event_json", MAX_EVENT_JSON_DEPTH)
    unclosed = "[" * depth
    failure = await session.append(unclosed)
    assert failure is not None
    _refused_for_depth(failure, "event_json", MAX_EVENT_JSON_DEPTH)


async def test_a_deep_event_with_temp_keys_is_stored_without_them(session: Session) -> None:
    deepest = nested(MAX_JSON_DEPTH, "objects")
    event = {
        "id": "e",
        "author": "user",
        "timestamp": 1.5,
        "actions": {"stateDelta": {"temp:t": 1, "k": deepest}},
    }
    assert await session.append(_text(event)) is None
    stored = json.loads((await session.read()).events[0].event_json)
    assert stored["actions"]["stateDelta"] == {"k": deepest}


# --- through the Python client --------------------------------------------------------------------------


@pytest.fixture
async def client(grpc_server: StartServer) -> AsyncIterator[GrpcSessionService]:
    async with GrpcSessionService(await grpc_server("memory://")) as opened:
        yield opened


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("key", ["k", "app:k", "user:k"])
async def test_the_client_stores_and_reads_back_state_at_the_limit(
    client: GrpcSessionService, app_name: str, key: str, shape: str
) -> None:
    deepest = nested(MAX_JSON_DEPTH, shape)
    created = await client.create_session(app_name=app_name, user_id="u", state={key: deepest})
    assert created.state[key] == deepest
    read = await client.get_session(app_name=app_name, user_id="u", session_id=created.id)
    assert read is not None and read.state[key] == deepest


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("key", ["k", "app:k", "user:k"])
async def test_the_client_gets_the_limit_named_for_state_one_level_deeper(
    client: GrpcSessionService, app_name: str, key: str, shape: str
) -> None:
    with pytest.raises(
        ValueError, match=f"deeper than {MAX_JSON_DEPTH} levels.*nesting depth limit"
    ) as caught:
        await client.create_session(
            app_name=app_name, user_id="u", state={key: nested(MAX_JSON_DEPTH + 1, shape)}
        )
    assert "not valid JSON" not in str(caught.value)
    assert (await client.list_sessions(app_name=app_name, user_id="u")).sessions == []


@pytest.mark.parametrize("shape", SHAPES)
async def test_the_client_appends_and_reads_back_a_state_delta_at_the_limit(
    client: GrpcSessionService, app_name: str, shape: str
) -> None:
    deepest = nested(MAX_JSON_DEPTH, shape)
    session = await client.create_session(app_name=app_name, user_id="u")
    event = Event(id="e1", author="user", actions=EventActions(state_delta={"k": deepest, "user:k": deepest}))
    await client.append_event(session, event)
    read = await client.get_session(app_name=app_name, user_id="u", session_id=session.id)
    assert read is not None
    assert read.state["k"] == deepest and read.state["user:k"] == deepest
    assert read.events == [event]
    listed = await client.list_events(app_name=app_name, user_id="u", session_id=session.id)
    assert listed.events == [event]


async def test_the_client_appends_and_reads_back_the_deepest_event_adk_writes(
    client: GrpcSessionService, app_name: str
) -> None:
    # Function-call arguments inside a compaction: the deepest place ADK's event holds a free value.
    arguments = {"x": nested(MAX_JSON_DEPTH, "objects")}
    compacted = types.Content(
        role="model", parts=[types.Part(function_call=types.FunctionCall(name="f", args=arguments))]
    )
    event = Event(
        id="e1",
        author="agent",
        actions=EventActions(
            compaction=EventCompaction(start_timestamp=1.0, end_timestamp=2.0, compacted_content=compacted)
        ),
    )
    session = await client.create_session(app_name=app_name, user_id="u")
    await client.append_event(session, event)
    read = await client.get_session(app_name=app_name, user_id="u", session_id=session.id)
    assert read is not None and read.events == [event]
