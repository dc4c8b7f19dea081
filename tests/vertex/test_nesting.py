"""The agentengine:// backend's own nesting limit: Struct storage holds less than the server's limit.

Values up to the backend's limit are stored and read back; deeper ones are
INVALID_ARGUMENT ("BACKEND_INVALID_INPUT") naming the limit, never INTERNAL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from adk_grpc_sessions.server.backends.vertex.mapping import MAX_EVENT_JSON_DEPTH, MAX_STATE_VALUE_DEPTH
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.server.rpc_errors import failure_of
from tests.vertex_standin.server import serving
from tests.vertex_standin.service import SessionServiceStandIn

ENGINE = "projects/p/locations/us-central1/reasoningEngines/7"


def _nested(depth: int, shape: str) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if shape == "arrays" else {"a": value}
    return value


@pytest.fixture
async def stub() -> AsyncIterator[pb_grpc.SessionServiceAsyncStub]:
    async with serving(SessionServiceStandIn([ENGINE])) as address:
        uri = f"agentengine://{ENGINE}?endpoint={address}&plaintext=true&timeout=5"
        server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend=uri))
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.ports[0]}") as channel:
                yield pb_grpc.SessionServiceStub(channel)
        finally:
            await server.stop(grace=0)


def _refused(error: grpc.aio.AioRpcError, limit: int) -> None:
    failure = failure_of(error)
    assert (failure.code, failure.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "BACKEND_INVALID_INPUT")
    assert failure.metadata["backend_reason"] == "NESTING_TOO_DEEP"
    assert f"deeper than {limit} levels" in failure.message and "nesting depth limit" in failure.message


@pytest.mark.parametrize("shape", ["arrays", "objects"])
async def test_state_at_the_backends_limit_is_stored_and_one_level_more_refused(
    stub: pb_grpc.SessionServiceAsyncStub, shape: str
) -> None:
    deepest = json.dumps(_nested(MAX_STATE_VALUE_DEPTH, shape))
    created = await stub.CreateSession(
        pb.CreateSessionRequest(app_name="app", user_id="u", state=pb.StateDelta(user={"k": deepest}))
    )
    read = await stub.GetSession(
        pb.GetSessionRequest(app_name="app", user_id="u", session_id=created.session.session_id)
    )
    assert json.loads(read.session.state.user["k"]) == _nested(MAX_STATE_VALUE_DEPTH, shape)
    too_deep = json.dumps(_nested(MAX_STATE_VALUE_DEPTH + 1, shape))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateSession(
            pb.CreateSessionRequest(app_name="app", user_id="u", state=pb.StateDelta(session={"k": too_deep}))
        )
    _refused(caught.value, MAX_STATE_VALUE_DEPTH)


@pytest.mark.parametrize("shape", ["arrays", "objects"])
async def test_events_at_the_backends_limit_are_stored_and_one_level_more_refused(
    stub: pb_grpc.SessionServiceAsyncStub, shape: str
) -> None:
    created = await stub.CreateSession(pb.CreateSessionRequest(app_name="app", user_id="u"))
    session_id, revision = created.session.session_id, created.session.revision
    deepest_delta = _nested(MAX_STATE_VALUE_DEPTH, shape)
    deepest_metadata = _nested(MAX_EVENT_JSON_DEPTH - 2, shape)
    events = [
        {"id": "delta", "author": "user", "timestamp": 1.5, "actions": {"stateDelta": {"k": deepest_delta}}},
        {"id": "metadata", "author": "user", "timestamp": 2.5, "customMetadata": {"k": deepest_metadata}},
    ]
    for event in events:
        appended = await stub.AppendEvent(
            pb.AppendEventRequest(
                app_name="app",
                user_id="u",
                session_id=session_id,
                event_json=json.dumps(event),
                expected_revision=revision,
            )
        )
        revision = appended.revision
    read = await stub.GetSession(pb.GetSessionRequest(app_name="app", user_id="u", session_id=session_id))
    assert [json.loads(e.event_json) for e in read.session.events] == events
    assert json.loads(read.session.state.session["k"]) == deepest_delta
    too_deep = [
        {"id": "d2", "author": "user", "timestamp": 3.5, "actions": {"stateDelta": {"k": [deepest_delta]}}},
        {"id": "m2", "author": "user", "timestamp": 3.5, "customMetadata": {"k": [deepest_metadata]}},
    ]
    for event in too_deep:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.AppendEvent(
                pb.AppendEventRequest(
                    app_name="app",
                    user_id="u",
                    session_id=session_id,
                    event_json=json.dumps(event),
                    expected_revision=revision,
                )
            )
        _refused(caught.value, MAX_EVENT_JSON_DEPTH)
