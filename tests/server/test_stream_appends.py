"""``AppendEventStream`` on the wire: each append answered exactly as ``AppendEvent`` would answer it alone."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
from google.rpc import status_pb2

from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.server.rpc_errors import failure_in
from tests.server.test_batch_appends import _append, _event, _outcome, _scenario, _stored, single_outcomes


def _result_outcome(result: pb.AppendEventResult) -> tuple[Any, ...]:
    if result.HasField("response"):
        return _outcome(result.response)
    return _outcome(None, failure_in(status_pb2.Status.FromString(result.error.SerializeToString())))


async def test_each_append_of_a_stream_is_answered_as_a_single_call(
    stub: pb_grpc.SessionServiceAsyncStub,
) -> None:
    single_app, stream_app = f"single-{uuid.uuid4().hex[:8]}", f"stream-{uuid.uuid4().hex[:8]}"
    singles = await single_outcomes(stub, single_app)
    stream = stub.AppendEventStream()
    streamed = []
    for request in await _scenario(stub, stream_app):
        await stream.write(pb.AppendEventStreamRequest(append=request))
        streamed.append(_result_outcome(await _read(stream)))
    await stream.done_writing()
    assert await stream.code() == grpc.StatusCode.OK
    assert streamed == singles
    assert await _stored(stub, stream_app) == await _stored(stub, single_app)


async def test_requests_sent_ahead_are_answered_in_order(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    created = await stub.CreateSession(
        pb.CreateSessionRequest(app_name=app_name, user_id="u1", session_id="s")
    )
    revision = created.session.revision
    stream = stub.AppendEventStream()
    # All written before any answer is read: the second is stale once the first is stored.
    for event_id in ("first", "second"):
        await stream.write(
            pb.AppendEventStreamRequest(append=_append(app_name, "s", _event(event_id), revision))
        )
    await stream.done_writing()
    first, second = [answer.result async for answer in stream]
    assert first.response.event.sequence == 1
    assert (
        failure_in(status_pb2.Status.FromString(second.error.SerializeToString())).reason == "STALE_SESSION"
    )


async def test_a_request_that_is_not_protobuf_fails_alone(
    channel: grpc.aio.Channel, stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    created = await stub.CreateSession(
        pb.CreateSessionRequest(app_name=app_name, user_id="u1", session_id="s")
    )
    raw: Any = channel.stream_stream("/adk_grpc_sessions.v1.SessionService/AppendEventStream")()
    await raw.write(b"\xff\xff\xff")  # not a valid message
    bad = pb.AppendEventStreamResponse.FromString(await raw.read()).result
    failure = failure_in(status_pb2.Status.FromString(bad.error.SerializeToString()))
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["request"])
    good = _append(app_name, "s", _event("e1"), created.session.revision)
    await raw.write(pb.AppendEventStreamRequest(append=good).SerializeToString())
    answer = pb.AppendEventStreamResponse.FromString(await raw.read())
    assert answer.result.response.event.sequence == 1
    await raw.done_writing()
    assert await raw.code() == grpc.StatusCode.OK


async def _read(stream: Any) -> pb.AppendEventResult:
    answer = await stream.read()
    assert isinstance(answer, pb.AppendEventStreamResponse)
    return answer.result
