"""Creates on ``AppendEventStream``: each answered exactly as ``CreateSession`` would answer it alone."""

from __future__ import annotations

import uuid

import grpc

from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.server.test_batch_appends import _append, _event
from tests.server.test_batch_creates import result_outcome, scenario, single_outcomes


async def test_each_create_of_a_stream_is_answered_as_a_single_call(
    stub: pb_grpc.SessionServiceAsyncStub,
) -> None:
    single_app, stream_app = f"single-{uuid.uuid4().hex[:8]}", f"stream-{uuid.uuid4().hex[:8]}"
    singles = await single_outcomes(stub, single_app)
    stream = stub.AppendEventStream()
    streamed = []
    for request in await scenario(stub, stream_app):
        await stream.write(pb.AppendEventStreamRequest(create=request))
        answer = await stream.read()
        assert isinstance(answer, pb.AppendEventStreamResponse)
        assert answer.WhichOneof("answer") == "create_result"
        streamed.append(result_outcome(answer.create_result))
    await stream.done_writing()
    assert await stream.code() == grpc.StatusCode.OK
    assert streamed == singles


async def test_creates_and_appends_on_one_stream_are_answered_in_order(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    create = pb.CreateSessionRequest(app_name=app_name, user_id="u1", session_id="s")
    stream = stub.AppendEventStream()
    # All written before any answer is read: the second create finds the id the first took, and
    # the append (at no revision the session can have) finds the session the first made.
    await stream.write(pb.AppendEventStreamRequest(create=create))
    await stream.write(pb.AppendEventStreamRequest(create=create))
    await stream.write(pb.AppendEventStreamRequest(append=_append(app_name, "s", _event("e1"), 10**12)))
    await stream.done_writing()
    created, again, appended = [answer async for answer in stream]
    assert created.create_result.response.session.session_id == "s"
    assert again.create_result.error.code == grpc.StatusCode.ALREADY_EXISTS.value[0]
    assert appended.result.error.code == grpc.StatusCode.ABORTED.value[0]  # stale, not NOT_FOUND
