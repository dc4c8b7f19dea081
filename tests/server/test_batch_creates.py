"""``BatchCreateSessions`` on the wire: each create answered exactly as ``CreateSession`` would answer it alone."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
from google.rpc import status_pb2

from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.server.rpc_errors import failure_in, failure_of


def _create(app_name: str, session_id: str = "", **fields: Any) -> pb.CreateSessionRequest:
    return pb.CreateSessionRequest(app_name=app_name, user_id="u1", session_id=session_id, **fields)


async def scenario(stub: pb_grpc.SessionServiceAsyncStub, app_name: str) -> list[pb.CreateSessionRequest]:
    """One session stored already, and creates that meet every outcome a create can have."""
    await stub.CreateSession(_create(app_name, "taken"))
    return [
        _create(app_name, " s1 ", state=pb.StateDelta(app={"a": "1"}, user={"u": "2"}, session={"k": "3"})),
        _create(app_name, "taken"),
        _create(app_name, "", display_name="generated id"),
        _create(app_name, "s2", labels={"Bad Key": "v"}),
        _create("", "s3"),
        _create(app_name, "s4", state=pb.StateDelta(session={"k": "not json"})),
        _create(app_name, "s5", ttl={"seconds": 3600}),
    ]


def outcome(response: pb.CreateSessionResponse | None, failure: Any = None) -> tuple[Any, ...]:
    """What may be compared across two apps (ids generated and times differ, so only their presence)."""
    if response is not None:
        session = response.session
        state = (dict(session.state.app), dict(session.state.user), dict(session.state.session))
        name = "<generated>" if len(session.session_id) == 36 else session.session_id  # a UUID4
        return (
            "ok",
            name,
            state,
            session.display_name,
            session.HasField("expire_time"),
            session.revision > 0,
        )
    return (failure.code, failure.reason, sorted(failure.metadata), failure.fields)


def result_outcome(result: pb.CreateSessionResult) -> tuple[Any, ...]:
    if result.HasField("response"):
        return outcome(result.response)
    return outcome(None, failure_in(status_pb2.Status.FromString(result.error.SerializeToString())))


async def single_outcomes(stub: pb_grpc.SessionServiceAsyncStub, app_name: str) -> list[tuple[Any, ...]]:
    """The outcomes of the scenario's creates made in ``app_name`` as calls of their own."""
    singles = []
    for request in await scenario(stub, app_name):
        try:
            singles.append(outcome(await stub.CreateSession(request)))
        except grpc.aio.AioRpcError as error:
            singles.append(outcome(None, failure_of(error)))
    return singles


async def test_each_create_of_a_batch_is_answered_as_a_single_call(
    stub: pb_grpc.SessionServiceAsyncStub,
) -> None:
    single_app, batch_app = f"single-{uuid.uuid4().hex[:8]}", f"batch-{uuid.uuid4().hex[:8]}"
    singles = await single_outcomes(stub, single_app)
    requests = await scenario(stub, batch_app)

    batch = await stub.BatchCreateSessions(pb.BatchCreateSessionsRequest(requests=requests))

    batched = [result_outcome(result) for result in batch.results]
    assert batched == singles
    assert [o[:2] for o in batched] == [
        ("ok", "s1"),
        (grpc.StatusCode.ALREADY_EXISTS, "SESSION_ALREADY_EXISTS"),
        ("ok", "<generated>"),
        (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("ok", "s5"),
    ]
    listed = await stub.ListSessions(pb.ListSessionsRequest(app_name=batch_app, user_id="u1"))
    assert len(listed.sessions) == 4  # "taken", s1, the generated one and s5: the failures stored nothing


async def test_a_batch_naming_one_id_twice_creates_it_once(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    requests = [_create(app_name, "twice", display_name=name) for name in ("first", "second")]

    results = (await stub.BatchCreateSessions(pb.BatchCreateSessionsRequest(requests=requests))).results

    assert sorted(str(r.WhichOneof("outcome")) for r in results) == ["error", "response"]
    winner = next(r.response.session for r in results if r.HasField("response"))
    loser = next(r.error for r in results if r.HasField("error"))
    failure = failure_in(status_pb2.Status.FromString(loser.SerializeToString()))
    assert (failure.code, failure.reason) == (grpc.StatusCode.ALREADY_EXISTS, "SESSION_ALREADY_EXISTS")
    got = await stub.GetSession(pb.GetSessionRequest(app_name=app_name, user_id="u1", session_id="twice"))
    assert got.session.display_name == winner.display_name


async def test_a_whole_batch_sent_again_answers_each_create_that_landed_already_exists(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    # What a client retrying a batch whose answer was lost (UNAVAILABLE) meets: its ids, chosen by
    # itself, answer ALREADY_EXISTS, which tells it that its earlier attempt created them.
    batch = pb.BatchCreateSessionsRequest(requests=[_create(app_name, f"s{i}") for i in range(3)])
    first = await stub.BatchCreateSessions(batch)
    again = await stub.BatchCreateSessions(batch)

    assert [r.WhichOneof("outcome") for r in first.results] == ["response"] * 3
    codes = [
        failure_in(status_pb2.Status.FromString(r.error.SerializeToString())).code for r in again.results
    ]
    assert codes == [grpc.StatusCode.ALREADY_EXISTS] * 3


@pytest.mark.parametrize(("count", "description"), [(0, "at least one"), (1001, "at most 1000")])
async def test_an_empty_or_oversized_batch_of_creates_is_invalid(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str, count: int, description: str
) -> None:
    requests = [_create(app_name, f"s{i}") for i in range(count)]
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.BatchCreateSessions(pb.BatchCreateSessionsRequest(requests=requests))
    failure = failure_of(raised.value)
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["requests"])
    assert description in failure.message
    listed = await stub.ListSessions(pb.ListSessionsRequest(app_name=app_name))
    assert not listed.sessions


async def test_a_batch_of_a_thousand_creates_is_served(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    requests = [_create(app_name, f"s{i % 500}") for i in range(1000)]  # each id twice: 500 stored

    results = (await stub.BatchCreateSessions(pb.BatchCreateSessionsRequest(requests=requests))).results

    assert len(results) == 1000
    assert sum(r.HasField("response") for r in results) == 500
    assert {r.error.code for r in results if r.HasField("error")} == {grpc.StatusCode.ALREADY_EXISTS.value[0]}
