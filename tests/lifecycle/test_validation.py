"""Bad lifecycle input: INVALID_ARGUMENT naming the field, never INTERNAL, and nothing stored."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.lifecycle.conftest import Serve
from tests.server.rpc_errors import failure_of

APP, USER = "app", "u1"
# Bad input is refused before storage is asked, so what these cases check does not depend on the
# SQL dialect: SQLite stands for PostgreSQL and MariaDB here (and keeps the run short). Agent
# Engine has a check of its own (its minimum ttl), so it runs them too.
BACKENDS_HERE = ("memory", "sqlite", "vertex")
_CENTURY = int(100 * 365.25 * 86_400)


def _past() -> Timestamp:
    return Timestamp(seconds=int(time.time()) - 60)


def _session(**fields: object) -> pb.Session:
    return pb.Session(app_name=APP, user_id=USER, session_id="s1", **fields)  # type: ignore[arg-type]


_BAD = {
    "negative ttl": (
        "CreateSession",
        pb.CreateSessionRequest(app_name=APP, user_id=USER, ttl=Duration(seconds=-5)),
        "ttl",
    ),
    "zero ttl": ("CreateSession", pb.CreateSessionRequest(app_name=APP, user_id=USER, ttl=Duration()), "ttl"),
    "ttl over 100 years": (
        "CreateSession",
        pb.CreateSessionRequest(app_name=APP, user_id=USER, ttl=Duration(seconds=_CENTURY + 1)),
        "ttl",
    ),
    "ttl with nanos of another sign": (
        "CreateSession",
        pb.CreateSessionRequest(app_name=APP, user_id=USER, ttl=Duration(seconds=5, nanos=-1)),
        "ttl",
    ),
    "expire_time in the past": (
        "CreateSession",
        pb.CreateSessionRequest(app_name=APP, user_id=USER, expire_time=_past()),
        "expire_time",
    ),
    "expire_time out of range": (
        "CreateSession",
        pb.CreateSessionRequest(app_name=APP, user_id=USER, expire_time=Timestamp(seconds=2**40)),
        "expire_time",
    ),
    "unknown update path": (
        "UpdateSession",
        pb.UpdateSessionRequest(session=_session(), update_mask=FieldMask(paths=["state"])),
        "update_mask",
    ),
    "both update paths": (
        "UpdateSession",
        pb.UpdateSessionRequest(session=_session(), update_mask=FieldMask(paths=["ttl", "expire_time"])),
        "update_mask",
    ),
    "negative ttl in an update": (
        "UpdateSession",
        pb.UpdateSessionRequest(
            session=_session(ttl=Duration(seconds=-1)), update_mask=FieldMask(paths=["ttl"])
        ),
        "session.ttl",
    ),
    "past expire_time in an update": (
        "UpdateSession",
        pb.UpdateSessionRequest(
            session=_session(expire_time=_past()), update_mask=FieldMask(paths=["expire_time"])
        ),
        "session.expire_time",
    ),
    "update without an app": (
        "UpdateSession",
        pb.UpdateSessionRequest(session=pb.Session(user_id=USER, session_id="s1")),
        "session.app_name",
    ),
    "close without a session id": (
        "CloseSession",
        pb.CloseSessionRequest(app_name=APP, user_id=USER),
        "session_id",
    ),
    "erase without a user": ("EraseUser", pb.EraseUserRequest(app_name=APP), "user_id"),
}


@pytest.fixture
async def stub(serve: Serve) -> AsyncIterator[pb_grpc.SessionServiceAsyncStub]:
    async with serve() as running, grpc.aio.insecure_channel(running.address) as channel:
        stub: pb_grpc.SessionServiceAsyncStub = pb_grpc.SessionServiceStub(channel)
        await stub.CreateSession(pb.CreateSessionRequest(app_name=APP, user_id=USER, session_id="s1"))
        yield stub


@pytest.mark.parametrize("case", list(_BAD))
async def test_bad_lifecycle_input_is_invalid_argument_naming_the_field(
    stub: pb_grpc.SessionServiceAsyncStub, case: str
) -> None:
    method, request, field = _BAD[case]
    before = await stub.ListSessions(pb.ListSessionsRequest(app_name=APP))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await getattr(stub, method)(request)
    failure = failure_of(raised.value)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT, failure.message
    assert failure.fields == [field]
    listed = await stub.ListSessions(pb.ListSessionsRequest(app_name=APP))
    assert [s.session_id for s in listed.sessions] == ["s1"]  # nothing created
    assert listed.sessions[0].expire_time == before.sessions[0].expire_time  # nothing updated


async def test_an_update_with_an_empty_mask_changes_what_the_session_sets(
    stub: pb_grpc.SessionServiceAsyncStub,
) -> None:
    response = await stub.UpdateSession(
        pb.UpdateSessionRequest(session=_session(ttl=Duration(seconds=2 * 86_400)))
    )
    assert response.session.expire_time.seconds == pytest.approx(time.time() + 2 * 86_400, abs=5)
    assert not response.session.HasField("ttl")  # never set in a response
    response = await stub.UpdateSession(pb.UpdateSessionRequest(session=_session()))
    assert response.session.HasField("expire_time")  # nothing named, nothing set: nothing changes
