"""A missing session and a taken id: ADK's own words as the status message, the session's name as metadata."""

from __future__ import annotations

import json

import grpc
import pytest
from google.rpc import status_pb2

from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.server.rpc_errors import failure_in, failure_of


async def test_a_missing_session_is_not_found_in_adks_words(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetSession(pb.GetSessionRequest(app_name=app_name, user_id="u1", session_id=" nope "))
    failure = failure_of(caught.value)
    assert (failure.code, failure.reason) == (grpc.StatusCode.NOT_FOUND, "SESSION_NOT_FOUND")
    assert failure.message == "Session nope not found."
    assert failure.metadata == {"app_name": app_name, "user_id": "u1", "session_id": "nope"}


async def test_a_taken_session_id_already_exists_in_adks_words(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    request = pb.CreateSessionRequest(app_name=app_name, user_id="u1", session_id="s1")
    await stub.CreateSession(request)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateSession(request)
    failure = failure_of(caught.value)
    assert (failure.code, failure.reason) == (grpc.StatusCode.ALREADY_EXISTS, "SESSION_ALREADY_EXISTS")
    assert failure.message == "Session with id s1 already exists."
    assert failure.metadata == {"app_name": app_name, "user_id": "u1", "session_id": "s1"}


async def test_an_append_of_a_batch_to_a_missing_session_fails_in_the_same_words(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    event = json.dumps({"id": "e1", "author": "user", "timestamp": 1_800_000_000.0})
    append = pb.AppendEventRequest(
        app_name=app_name, user_id="u1", session_id="gone", event_json=event, expected_revision=1
    )
    reply = await stub.BatchAppendEvents(pb.BatchAppendEventsRequest(requests=[append]))
    failure = failure_in(status_pb2.Status.FromString(reply.results[0].error.SerializeToString()))
    assert (failure.code, failure.reason, failure.message) == (
        grpc.StatusCode.NOT_FOUND,
        "SESSION_NOT_FOUND",
        "Session gone not found.",
    )
