"""TLS, mutual TLS (with certificate rotation), and bearer tokens scoped to apps, on real sockets."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import trustme
from google.adk.events.event import Event
from google.rpc import status_pb2

from adk_grpc_sessions.client import (
    GrpcSessionService,
    SessionServicePermissionError,
    SessionServiceUnavailableError,
)
from adk_grpc_sessions.server.runtime.auth import grant_line
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.server.rpc_errors import failure_in, failure_of

NO_RETRY: Any = None


def _write_server_files(ca: trustme.CA, directory: Path) -> tuple[Path, Path]:
    issued = ca.issue_cert("localhost", "127.0.0.1")
    cert, key = directory / "server.pem", directory / "server.key"
    for blob in issued.cert_chain_pems:
        blob.write_to_path(str(cert), append=cert.exists())
    issued.private_key_pem.write_to_path(str(key))
    return cert, key


async def _serve(config: ServerConfig) -> tuple[SessionServer, str]:
    server = SessionServer(config)
    await server.start()
    return server, f"localhost:{server.ports[0]}"


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


async def test_tls_serves_clients_that_trust_the_ca(ca: trustme.CA, tmp_path: Path, app_name: str) -> None:
    cert, key = _write_server_files(ca, tmp_path)
    server, address = await _serve(
        ServerConfig(listen=["127.0.0.1:0"], backend="memory://", tls_cert=cert, tls_key=key)
    )
    try:
        credentials = grpc.ssl_channel_credentials(ca.cert_pem.bytes())
        async with GrpcSessionService(address, credentials=credentials) as client:
            session = await client.create_session(app_name=app_name, user_id="u1")
            assert session.id
        plaintext = GrpcSessionService(address, timeout=2)
        with pytest.raises(SessionServiceUnavailableError):
            await plaintext.create_session(app_name=app_name, user_id="u1")
        await plaintext.close()
        stranger = GrpcSessionService(
            address, credentials=grpc.ssl_channel_credentials(trustme.CA().cert_pem.bytes()), timeout=2
        )
        with pytest.raises(SessionServiceUnavailableError):
            await stranger.create_session(app_name=app_name, user_id="u1")
        await stranger.close()
    finally:
        await server.stop(grace=0)


async def test_mutual_tls_requires_a_client_certificate(
    ca: trustme.CA, tmp_path: Path, app_name: str
) -> None:
    cert, key = _write_server_files(ca, tmp_path)
    client_ca = tmp_path / "clients.pem"
    ca.cert_pem.write_to_path(str(client_ca))
    config = ServerConfig(
        listen=["127.0.0.1:0"], backend="memory://", tls_cert=cert, tls_key=key, tls_client_ca=client_ca
    )
    server, address = await _serve(config)
    try:
        agent = ca.issue_cert("agent@example.com")
        with_cert = grpc.ssl_channel_credentials(
            ca.cert_pem.bytes(), agent.private_key_pem.bytes(), agent.cert_chain_pems[0].bytes()
        )
        async with GrpcSessionService(address, credentials=with_cert) as client:
            assert (await client.create_session(app_name=app_name, user_id="u1")).id
        without_cert = GrpcSessionService(
            address, credentials=grpc.ssl_channel_credentials(ca.cert_pem.bytes()), timeout=2
        )
        with pytest.raises(SessionServiceUnavailableError):
            await without_cert.create_session(app_name=app_name, user_id="u1")
        await without_cert.close()
    finally:
        await server.stop(grace=0)


async def test_rotated_certificate_is_used_without_a_restart(
    ca: trustme.CA, tmp_path: Path, app_name: str
) -> None:
    cert, key = _write_server_files(ca, tmp_path)
    server, address = await _serve(
        ServerConfig(listen=["127.0.0.1:0"], backend="memory://", tls_cert=cert, tls_key=key)
    )
    try:
        new_ca = trustme.CA()
        cert.unlink()
        _write_server_files(new_ca, tmp_path)
        later = time.time() + 5  # mtimes must differ even on coarse file systems
        os.utime(cert, (later, later))
        os.utime(key, (later, later))
        async with GrpcSessionService(
            address, credentials=grpc.ssl_channel_credentials(new_ca.cert_pem.bytes())
        ) as client:
            assert (await client.create_session(app_name=app_name, user_id="u1")).id
        old = GrpcSessionService(
            address, credentials=grpc.ssl_channel_credentials(ca.cert_pem.bytes()), timeout=2
        )
        with pytest.raises(SessionServiceUnavailableError):
            await old.create_session(app_name=app_name, user_id="u1")
        await old.close()
    finally:
        await server.stop(grace=0)


@pytest.fixture
async def token_server(tmp_path: Path) -> AsyncIterator[str]:
    tokens = tmp_path / "tokens"
    tokens.write_text(
        "# name  digest  apps\n"
        + grant_line("alpha", "token-alpha", ["app-alpha"])
        + "\n"
        + grant_line("ops", "token-ops", ["*"])
        + "\n"
    )
    server, address = await _serve(
        ServerConfig(listen=["127.0.0.1:0"], backend="memory://", tokens_file=tokens)
    )
    yield address
    await server.stop(grace=0)


def _every_call(
    stub: pb_grpc.SessionServiceAsyncStub, app: str, metadata: list[tuple[str, str]]
) -> list[Any]:
    key: dict[str, Any] = {"app_name": app, "user_id": "u1", "session_id": "s1"}
    return [
        stub.CreateSession(pb.CreateSessionRequest(**key), metadata=metadata),
        stub.GetSession(pb.GetSessionRequest(**key), metadata=metadata),
        stub.ListSessions(pb.ListSessionsRequest(app_name=app), metadata=metadata),
        stub.ListSessions(pb.ListSessionsRequest(app_name=app, user_id="u1"), metadata=metadata),
        stub.DeleteSession(pb.DeleteSessionRequest(**key), metadata=metadata),
        stub.AppendEvent(
            pb.AppendEventRequest(**key, event_json='{"id":"e","timestamp":1}', expected_revision=1),
            metadata=metadata,
        ),
        stub.ListEvents(pb.ListEventsRequest(**key), metadata=metadata),
        stub.GetUserState(pb.GetUserStateRequest(app_name=app, user_id="u1"), metadata=metadata),
        stub.GetAppState(pb.GetAppStateRequest(app_name=app), metadata=metadata),
        stub.UpdateSession(pb.UpdateSessionRequest(session=pb.Session(**key)), metadata=metadata),
        stub.CloseSession(pb.CloseSessionRequest(**key), metadata=metadata),
        stub.EraseUser(pb.EraseUserRequest(app_name=app, user_id="u1"), metadata=metadata),
    ]


async def test_missing_or_wrong_token_is_unauthenticated(token_server: str) -> None:
    async with grpc.aio.insecure_channel(token_server) as channel:
        stub = pb_grpc.SessionServiceStub(channel)
        for metadata in (
            [],
            [("authorization", "Bearer nope")],
            [("authorization", "Basic dG9rZW4tYWxwaGE=")],
        ):
            for call in _every_call(stub, "app-alpha", metadata):
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    await call
                failure = failure_of(raised.value)
                assert (failure.code, failure.reason) == (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")


async def test_token_for_another_app_is_denied_on_every_call(token_server: str) -> None:
    async with grpc.aio.insecure_channel(token_server) as channel:
        stub = pb_grpc.SessionServiceStub(channel)
        for call in _every_call(stub, "app-beta", [("authorization", "Bearer token-alpha")]):
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await call
            failure = failure_of(raised.value)
            assert (failure.code, failure.reason) == (grpc.StatusCode.PERMISSION_DENIED, "APP_NOT_ALLOWED")


async def test_token_works_for_its_own_apps_and_wildcard_for_all(token_server: str) -> None:
    async with GrpcSessionService(token_server, metadata=[("authorization", "Bearer token-alpha")]) as alpha:
        session = await alpha.create_session(app_name="app-alpha", user_id="u1")
        await alpha.append_event(session, Event(author="user"))
        with pytest.raises(SessionServicePermissionError):
            await alpha.list_sessions(app_name="app-beta")
    async with GrpcSessionService(token_server, metadata=[("authorization", "bearer token-ops")]) as ops:
        assert len((await ops.list_sessions(app_name="app-alpha")).sessions) == 1
        await ops.create_session(app_name="app-beta", user_id="u1")


async def test_denied_calls_change_nothing(token_server: str) -> None:
    async with grpc.aio.insecure_channel(token_server) as channel:
        stub = pb_grpc.SessionServiceStub(channel)
        for call in _every_call(stub, "app-gamma", [("authorization", "Bearer token-alpha")]):
            with pytest.raises(grpc.aio.AioRpcError):
                await call
    async with GrpcSessionService(token_server, metadata=[("authorization", "Bearer token-ops")]) as ops:
        assert (await ops.list_sessions(app_name="app-gamma")).sessions == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alpha token-in-clear app", "expected 'NAME SHA256-HEX"),
        ("alpha " + "0" * 64 + " a\nalpha " + "1" * 64 + " b", "appears twice"),
    ],
)
def test_malformed_token_files_are_refused_without_echoing_them(
    tmp_path: Path, text: str, message: str
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(text)
    with pytest.raises(ValueError, match=message) as raised:
        SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend="memory://", tokens_file=tokens))
    assert "token-in-clear" not in str(raised.value)


async def test_a_batch_needs_a_token_and_each_append_needs_its_app(token_server: str) -> None:
    def append(app: str) -> pb.AppendEventRequest:
        return pb.AppendEventRequest(
            app_name=app,
            user_id="u1",
            session_id="s1",
            event_json='{"id":"e","timestamp":1}',
            expected_revision=1,
        )

    async with grpc.aio.insecure_channel(token_server) as channel:
        stub = pb_grpc.SessionServiceStub(channel)
        alpha = [("authorization", "Bearer token-alpha")]
        created = await stub.CreateSession(
            pb.CreateSessionRequest(app_name="app-alpha", user_id="u1", session_id="s1"), metadata=alpha
        )
        batch = pb.BatchAppendEventsRequest(requests=[append("app-beta"), append("app-alpha")])
        batch.requests[1].expected_revision = created.session.revision
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.BatchAppendEvents(batch)
        assert failure_of(raised.value).code == grpc.StatusCode.UNAUTHENTICATED
        denied, stored = (await stub.BatchAppendEvents(batch, metadata=alpha)).results
        failure = failure_in(status_pb2.Status.FromString(denied.error.SerializeToString()))
        assert (failure.code, failure.reason) == (grpc.StatusCode.PERMISSION_DENIED, "APP_NOT_ALLOWED")
        assert stored.response.event.sequence == 1
    async with GrpcSessionService(token_server, metadata=[("authorization", "Bearer token-ops")]) as ops:
        assert (await ops.list_sessions(app_name="app-beta")).sessions == []


async def test_a_batch_of_creates_needs_a_token_and_each_create_needs_its_app(token_server: str) -> None:
    def create(app: str) -> pb.CreateSessionRequest:
        return pb.CreateSessionRequest(app_name=app, user_id="u1", session_id="batch-created")

    async with grpc.aio.insecure_channel(token_server) as channel:
        stub = pb_grpc.SessionServiceStub(channel)
        alpha = [("authorization", "Bearer token-alpha")]
        batch = pb.BatchCreateSessionsRequest(requests=[create("app-beta"), create("app-alpha")])
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.BatchCreateSessions(batch)
        assert failure_of(raised.value).code == grpc.StatusCode.UNAUTHENTICATED
        denied, created = (await stub.BatchCreateSessions(batch, metadata=alpha)).results
        failure = failure_in(status_pb2.Status.FromString(denied.error.SerializeToString()))
        assert (failure.code, failure.reason) == (grpc.StatusCode.PERMISSION_DENIED, "APP_NOT_ALLOWED")
        assert created.response.session.app_name == "app-alpha"
    async with GrpcSessionService(token_server, metadata=[("authorization", "Bearer token-ops")]) as ops:
        assert (await ops.list_sessions(app_name="app-beta")).sessions == []
        assert len((await ops.list_sessions(app_name="app-alpha", user_id="u1")).sessions) == 1


async def test_a_stream_needs_a_token_and_each_append_needs_its_app(token_server: str) -> None:
    def append(app: str, revision: int = 1) -> pb.AppendEventRequest:
        return pb.AppendEventRequest(
            app_name=app,
            user_id="u1",
            session_id="s1",
            event_json='{"id":"e","timestamp":1}',
            expected_revision=revision,
        )

    async with grpc.aio.insecure_channel(token_server) as channel:
        stub = pb_grpc.SessionServiceStub(channel)
        alpha = [("authorization", "Bearer token-alpha")]
        created = await stub.CreateSession(
            pb.CreateSessionRequest(app_name="app-alpha", user_id="u1", session_id="s1"), metadata=alpha
        )
        for metadata in ([], [("authorization", "Bearer nope")]):
            anonymous = stub.AppendEventStream(metadata=metadata)
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await _exchange(anonymous, append("app-alpha", created.session.revision))
            assert failure_of(raised.value).code == grpc.StatusCode.UNAUTHENTICATED
        stream = stub.AppendEventStream(metadata=alpha)
        denied = await _exchange(stream, append("app-beta"))
        failure = failure_in(status_pb2.Status.FromString(denied.error.SerializeToString()))
        assert (failure.code, failure.reason) == (grpc.StatusCode.PERMISSION_DENIED, "APP_NOT_ALLOWED")
        stored = await _exchange(stream, append("app-alpha", created.session.revision))  # it goes on
        assert stored.response.event.sequence == 1
        await stream.done_writing()
        assert await stream.code() == grpc.StatusCode.OK
    async with GrpcSessionService(token_server, metadata=[("authorization", "Bearer token-ops")]) as ops:
        assert (await ops.list_sessions(app_name="app-beta")).sessions == []


async def test_each_create_on_a_stream_needs_its_app(token_server: str) -> None:
    async with grpc.aio.insecure_channel(token_server) as channel:
        stream = pb_grpc.SessionServiceStub(channel).AppendEventStream(
            metadata=[("authorization", "Bearer token-alpha")]
        )
        results = []
        for app in ("app-beta", "app-alpha"):
            create = pb.CreateSessionRequest(app_name=app, user_id="u1", session_id="streamed")
            await stream.write(pb.AppendEventStreamRequest(create=create))
            answer = await stream.read()
            assert isinstance(answer, pb.AppendEventStreamResponse)
            results.append(answer.create_result)
        await stream.done_writing()
        assert await stream.code() == grpc.StatusCode.OK
    denied, created = results
    failure = failure_in(status_pb2.Status.FromString(denied.error.SerializeToString()))
    assert (failure.code, failure.reason) == (grpc.StatusCode.PERMISSION_DENIED, "APP_NOT_ALLOWED")
    assert created.response.session.app_name == "app-alpha"
    async with GrpcSessionService(token_server, metadata=[("authorization", "Bearer token-ops")]) as ops:
        assert (await ops.list_sessions(app_name="app-beta")).sessions == []


async def _exchange(stream: Any, request: pb.AppendEventRequest) -> pb.AppendEventResult:
    await stream.write(pb.AppendEventStreamRequest(append=request))
    answer = await stream.read()
    assert isinstance(answer, pb.AppendEventStreamResponse)
    return answer.result
