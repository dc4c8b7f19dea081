"""A database that goes away: calls fail as UNAVAILABLE, the server stays up, service resumes by itself.

Each test starts a database server of its own (it is stopped mid-test).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from adk_grpc_sessions.server.backends.base import (
    BackendUnavailableError,
    EventWindow,
    ScopedState,
    SessionKey,
)
from adk_grpc_sessions.server.backends.sql import SqlBackend
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests import databases

pytestmark = pytest.mark.slow


@pytest.fixture(params=["postgresql", "mariadb"])
def own_server(
    request: pytest.FixtureRequest,
) -> Iterator[databases.PostgresServer | databases.MariaDBServer]:
    """A throwaway server only this test uses, so it can be halted and resumed."""
    given = databases.ENV_POSTGRES_URL if request.param == "postgresql" else databases.ENV_MYSQL_URL
    if os.environ.get(given):
        pytest.skip(f"needs a server of its own to halt; {given} names a shared one")
    try:
        server = databases.start_postgres() if request.param == "postgresql" else databases.start_mariadb()
    except databases.ServerUnavailableError as exc:
        if databases.databases_required():
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    yield server
    server.stop()


async def test_backend_reports_the_outage_and_recovers(
    own_server: databases.PostgresServer | databases.MariaDBServer,
) -> None:
    backend = SqlBackend.from_uri(await own_server.create_database())
    key = SessionKey("app", "user", "s")
    try:
        await backend.upgrade_schema()
        await backend.start()
        await backend.create_session(key, ScopedState(), 1.0)
        own_server.halt()
        with pytest.raises(BackendUnavailableError, match="database is not answering"):
            await backend.check()
        with pytest.raises(BackendUnavailableError):
            await backend.get_session(key, EventWindow())
        own_server.resume()
        await backend.check()
        assert await backend.get_session(key, EventWindow()) is not None
    finally:
        await backend.close()


async def test_server_answers_unavailable_then_serves_again(
    own_server: databases.PostgresServer | databases.MariaDBServer,
) -> None:
    server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend=await own_server.create_database()))
    await server.start()
    request = pb.GetSessionRequest(app_name="app", user_id="user", session_id="s")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.ports[0]}") as channel:
            stub = pb_grpc.SessionServiceStub(channel)
            await stub.CreateSession(pb.CreateSessionRequest(app_name="app", user_id="user", session_id="s"))
            own_server.halt()
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await stub.GetSession(request, timeout=30)
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "database is not answering" in (raised.value.details() or "")
            status = rpc_status.from_call(raised.value)
            assert status is not None
            info = error_details_pb2.ErrorInfo()
            assert any(detail.Unpack(info) for detail in status.details)
            assert info.reason == "BACKEND_UNAVAILABLE"
            own_server.resume()
            response = await stub.GetSession(request, timeout=30)
            assert response.session.session_id == "s"
    finally:
        await server.stop(grace=1.0)
