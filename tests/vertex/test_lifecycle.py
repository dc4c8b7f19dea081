"""The session lifecycle on Agent Engine: expiry mapped to its ttl/expire_time, hidden once past, the rest refused.

The backend's clock is moved past a session's expiry while the stand-in (like
Agent Engine, which deletes expired sessions in its own time) still holds it:
that is the window where only the backend's own check keeps the session gone.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.backends.base import (
    NEVER,
    BackendRefusedError,
    EventWindow,
    Expiry,
    NewEvent,
    Refusal,
    ScopedState,
    SessionExistsError,
    SessionKey,
    SessionNotFoundError,
    SessionUpdate,
)
from adk_grpc_sessions.server.backends.event_json import parse_event
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError
from adk_grpc_sessions.server.backends.vertex import VertexBackend, mapping
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.server.rpc_errors import failure_of
from tests.vertex_standin.server import serving
from tests.vertex_standin.service import SessionServiceStandIn

ENGINE = "projects/p/locations/us-central1/reasoningEngines/7"
DAY = 24 * 3600.0
KEY = SessionKey("app", "u1", "s1")


@pytest.fixture
def standin() -> SessionServiceStandIn:
    return SessionServiceStandIn([ENGINE], operation_polls=0)


@pytest.fixture
async def uri(standin: SessionServiceStandIn) -> AsyncIterator[str]:
    async with serving(standin) as address:
        yield f"agentengine://{ENGINE}?endpoint={address}&plaintext=true&timeout=5&operation_timeout=5"


@pytest.fixture
async def backend(uri: str) -> AsyncIterator[VertexBackend]:
    backend = VertexBackend.from_uri(uri)
    await backend.start()
    yield backend
    await backend.close()


def _stored(standin: SessionServiceStandIn, session_id: str = "s1") -> Any:
    return standin.sessions[f"{ENGINE}/sessions/{session_id}"].session


def _events(standin: SessionServiceStandIn, session_id: str = "s1") -> list[Any]:
    return standin.sessions[f"{ENGINE}/sessions/{session_id}"].events


def _event(event_id: str) -> NewEvent:
    return parse_event(f'{{"id": "{event_id}", "author": "user", "invocationId": "i", "timestamp": 1.0}}')


def _later(backend: VertexBackend, seconds: float) -> None:
    """Moves the backend's clock ``seconds`` ahead (the stand-in's stays: it deletes nothing meanwhile)."""
    backend.clock = lambda: time.time() + seconds  # type: ignore[method-assign]


async def test_a_ttl_is_agent_engine_s_ttl_and_the_expiry_is_read_back(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    now = time.time()
    record = await backend.create_session(KEY, ScopedState(), now, expiry=Expiry(now + 2 * DAY, 2 * DAY))
    stored = _stored(standin)
    assert stored.expire_time.ToNanoseconds() - stored.create_time.ToNanoseconds() == int(2 * DAY * 1e9)
    assert stored.labels[mapping.TTL_LABEL] == "172800"
    assert record.expiry.ttl == 2 * DAY
    assert record.expiry.expire_time == pytest.approx(now + 2 * DAY, abs=5)
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None and read.expiry == record.expiry
    (listed,) = (await backend.list_sessions("app", "u1", 10, None)).items
    assert listed.expiry == record.expiry


async def test_an_expire_time_is_agent_engine_s_expire_time(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    at = round(time.time() + 3 * DAY, 6)
    record = await backend.create_session(KEY, ScopedState(), 0.0, expiry=Expiry(at, None))
    assert _stored(standin).expire_time.ToMicroseconds() == round(at * 1e6)
    assert mapping.TTL_LABEL not in _stored(standin).labels
    assert record.expiry == Expiry(at, None)


async def test_a_session_created_without_expiry_reports_agent_engine_s_default(
    backend: VertexBackend,
) -> None:
    record = await backend.create_session(KEY, ScopedState(), 0.0, expiry=NEVER)
    assert record.expiry.expire_time is not None and record.expiry.ttl is None


@pytest.mark.parametrize(
    ("expiry", "field"),
    [(Expiry(time.time() + DAY - 1, DAY - 1), "ttl"), (Expiry(time.time() + 3600, None), "expire_time")],
    ids=["ttl", "expire_time"],
)
async def test_an_expiry_under_agent_engine_s_minimum_is_refused_naming_the_field(
    backend: VertexBackend, standin: SessionServiceStandIn, expiry: Expiry, field: str
) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        await backend.create_session(KEY, ScopedState(), 0.0, expiry=expiry)
    assert [v.field for v in raised.value.violations] == [field]
    assert "24 hours" in raised.value.violations[0].description
    assert standin.sessions == {}


async def test_a_session_past_its_expire_time_is_gone_before_agent_engine_deletes_it(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    record = await backend.create_session(KEY, ScopedState(), 0.0, expiry=Expiry(time.time() + DAY, DAY))
    kept = SessionKey("app", "u1", "kept")
    await backend.create_session(kept, ScopedState(), 0.0, expiry=Expiry(time.time() + 2 * DAY, 2 * DAY))
    _later(backend, DAY + 1)

    assert await backend.get_session(KEY, EventWindow()) is None
    assert [s.key for s in (await backend.list_sessions("app", "u1", 10, None)).items] == [kept]
    assert [s.key for s in (await backend.list_sessions("app", None, 10, None)).items] == [kept]
    with pytest.raises(SessionNotFoundError):
        await backend.append_event(KEY, _event("e1"), record.revision)
    with pytest.raises(SessionNotFoundError):
        await backend.list_events(KEY, None, 10, None)
    with pytest.raises(SessionNotFoundError):
        await backend.update_session(KEY, SessionUpdate(expiry=Expiry(None, 3 * DAY)))
    assert f"{ENGINE}/sessions/s1" in standin.sessions  # not deleted: hidden by the backend alone
    assert _events(standin) == []
    await backend.delete_session(KEY)  # deleting a gone session succeeds (and clears it)
    assert f"{ENGINE}/sessions/s1" not in standin.sessions


async def test_an_expired_session_s_name_is_taken_by_a_new_session(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    old = await backend.create_session(
        KEY, ScopedState(session={"k": '"old"'}), 0.0, expiry=Expiry(None, DAY)
    )
    await backend.append_event(KEY, _event("e1"), old.revision)
    with pytest.raises(SessionExistsError):
        await backend.create_session(KEY, ScopedState(), 0.0)  # not expired yet: the name is held
    _later(backend, DAY + 1)
    new = await backend.create_session(KEY, ScopedState(), 0.0)
    assert new.state.session == {} and new.revision != old.revision
    assert _events(standin) == []
    assert (await backend.get_session(KEY, EventWindow())) is not None


async def test_an_expiry_update_is_agent_engine_s_update_session_and_moves_the_revision(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    created = await backend.create_session(KEY, ScopedState(), 0.0)
    with_ttl = await backend.update_session(KEY, SessionUpdate(expiry=Expiry(time.time() + 5 * DAY, 5 * DAY)))
    assert with_ttl.expiry.ttl == 5 * DAY
    assert with_ttl.expiry.expire_time == pytest.approx(time.time() + 5 * DAY, abs=5)
    assert with_ttl.revision > created.revision  # Agent Engine moves update_time (difference 9)
    at = round(time.time() + 4 * DAY, 6)
    absolute = await backend.update_session(KEY, SessionUpdate(expiry=Expiry(at, None)))
    assert absolute.expiry == Expiry(at, None)
    assert mapping.TTL_LABEL not in _stored(standin).labels
    assert _stored(standin).labels[mapping.APP_LABEL] == "app"  # the other labels kept
    with pytest.raises(InvalidArgumentError) as raised:
        await backend.update_session(KEY, SessionUpdate(expiry=Expiry(None, 60)))
    assert [v.field for v in raised.value.violations] == ["session.ttl"]
    with pytest.raises(BackendRefusedError) as refused:
        await backend.update_session(KEY, SessionUpdate(expiry=NEVER))
    assert (refused.value.refusal, refused.value.reason) == (Refusal.UNSUPPORTED, "NO_NEVER_EXPIRY")


async def test_an_append_that_refreshes_expiry_gives_the_session_its_ttl_again(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    created = await backend.create_session(KEY, ScopedState(), 0.0, expiry=Expiry(None, DAY))
    before = _stored(standin).expire_time.ToNanoseconds()
    plain = await backend.append_event(KEY, _event("e1"), created.revision)
    assert _stored(standin).expire_time.ToNanoseconds() == before  # no refresh asked: unchanged
    refreshed = await backend.append_event(KEY, _event("e2"), plain.revision, refresh_expiry=True)
    assert _stored(standin).expire_time.ToNanoseconds() > before
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None and read.revision == refreshed.revision  # the answer's revision is current
    assert len(_events(standin)) == 2


async def test_an_append_refreshing_a_session_without_a_ttl_changes_no_expiry(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    at = round(time.time() + 3 * DAY, 6)
    created = await backend.create_session(KEY, ScopedState(), 0.0, expiry=Expiry(at, None))
    await backend.append_event(KEY, _event("e1"), created.revision, refresh_expiry=True)
    assert _stored(standin).expire_time.ToMicroseconds() == round(at * 1e6)
    assert standin.calls.count("UpdateSession") == 0


async def test_close_erase_and_purge_are_refused_as_not_supported_and_change_nothing(
    backend: VertexBackend,
) -> None:
    await backend.create_session(KEY, ScopedState(), 0.0)
    refused = {
        "NO_CLOSE": backend.close_session(KEY, 0.0, None),
        "NO_ERASE_USER": backend.erase_user("app", "u1"),
        "NO_PURGE": backend.purge_expired(10),
    }
    for reason, call in refused.items():
        with pytest.raises(BackendRefusedError) as raised:
            await call
        assert (raised.value.refusal, raised.value.reason) == (Refusal.UNSUPPORTED, reason)
    for other in (backend.count_expired(), backend.list_expired(10)):
        with pytest.raises(BackendRefusedError):
            await other
    assert await backend.get_session(KEY, EventWindow()) is not None


async def test_through_the_server_a_ttl_under_the_minimum_is_invalid_argument_naming_ttl(uri: str) -> None:
    server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend=uri))
    await server.start()
    try:
        address = f"127.0.0.1:{server.ports[0]}"
        async with grpc.aio.insecure_channel(address) as channel:
            stub: pb_grpc.SessionServiceAsyncStub = pb_grpc.SessionServiceStub(channel)
            request = pb.CreateSessionRequest(app_name="app", user_id="u1", session_id="s1")
            request.ttl.FromSeconds(3600)
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await stub.CreateSession(request)
        failure = failure_of(raised.value)
        assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["ttl"])
        async with GrpcSessionService(address) as client:
            session = await client.create_session(app_name="app", user_id="u1", session_id="s2", ttl=2 * DAY)
            info = await client.get_session_info(app_name="app", user_id="u1", session_id=session.id)
            assert info is not None and info.expire_time == pytest.approx(time.time() + 2 * DAY, abs=5)
    finally:
        await server.stop(0)


async def test_apps_users_and_shared_state_restores_are_refused_as_not_supported(
    backend: VertexBackend,
) -> None:
    await backend.create_session(KEY, ScopedState(), 0.0)
    refused = {
        "NO_LIST_APPS": backend.list_apps(10, None),
        "NO_LIST_USERS": backend.list_users("app", 10, None),
        "NO_RESTORE": backend.restore_shared_state("app", None, {"k": "1"}),
    }
    for reason, call in refused.items():
        with pytest.raises(BackendRefusedError) as raised:
            await call
        assert (raised.value.refusal, raised.value.reason) == (Refusal.UNSUPPORTED, reason)
