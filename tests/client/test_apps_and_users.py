"""ListApps and ListUsers through a real server: the Python client's lists, paging, tokens' scopes, bad input."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator

import grpc
import pytest

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.runtime.auth import grant_line
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc


def _bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture(params=["memory://", "sqlite"])
async def address(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> AsyncIterator[str]:
    """A server asking for tokens: "all" covers every app, "alpha" the apps alpha and gamma."""
    tokens = tmp_path / "tokens"
    tokens.write_text(
        grant_line("all", "token-all", ["*"])
        + "\n"
        + grant_line("alpha", "token-alpha", ["alpha", "gamma"])
        + "\n"
    )
    backend = request.param if request.param == "memory://" else f"sqlite:///{tmp_path / 'db.sqlite'}"
    server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend=backend, tokens_file=tokens))
    await server.start()
    try:
        address = f"127.0.0.1:{server.ports[0]}"
        async with GrpcSessionService(address, metadata=_bearer("token-all")) as client:
            for app in ("alpha", "beta", "gamma", "delta"):
                for user in ("u2", "u1", "u3"):
                    await client.create_session(app_name=app, user_id=user, session_id="s")
        yield address
    finally:
        await server.stop(grace=1.0)


async def test_the_client_lists_every_app_and_user_in_order(address: str) -> None:
    async with GrpcSessionService(address, metadata=_bearer("token-all")) as client:
        assert await client.list_apps() == ["alpha", "beta", "delta", "gamma"]
        assert await client.list_users(app_name="beta") == ["u1", "u2", "u3"]
        assert await client.list_users(app_name="nobody") == []


async def test_a_token_for_some_apps_lists_only_those(address: str) -> None:
    async with GrpcSessionService(address, metadata=_bearer("token-alpha")) as client:
        assert await client.list_apps() == ["alpha", "gamma"]
        assert await client.list_users(app_name="gamma") == ["u1", "u2", "u3"]
        with pytest.raises(PermissionError):
            await client.list_users(app_name="beta")
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.SessionServiceStub(channel)
        # Paged one at a time: no empty page while a covered app remains.
        first = await stub.ListApps(pb.ListAppsRequest(page_size=1), metadata=_bearer("token-alpha"))
        assert list(first.app_names) == ["alpha"] and first.next_page_token
        second = await stub.ListApps(
            pb.ListAppsRequest(page_size=1, page_token=first.next_page_token), metadata=_bearer("token-alpha")
        )
        assert list(second.app_names) == ["gamma"]
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stub.ListUsers(pb.ListUsersRequest(app_name="beta"), metadata=_bearer("token-alpha"))
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as anonymous:
            await stub.ListApps(pb.ListAppsRequest())
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_pages_follow_signed_tokens_bound_to_their_listing(address: str) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.SessionServiceStub(channel)
        token = _bearer("token-all")
        apps: list[str] = []
        request = pb.ListAppsRequest(page_size=3)
        while True:
            page = await stub.ListApps(request, metadata=token)
            assert 0 < len(page.app_names) <= 3
            apps += page.app_names
            if not page.next_page_token:
                break
            request.page_token = page.next_page_token
        assert apps == ["alpha", "beta", "delta", "gamma"]
        users = await stub.ListUsers(pb.ListUsersRequest(app_name="beta", page_size=2), metadata=token)
        assert list(users.user_ids) == ["u1", "u2"]
        rest = await stub.ListUsers(
            pb.ListUsersRequest(app_name="beta", page_size=2, page_token=users.next_page_token),
            metadata=token,
        )
        assert list(rest.user_ids) == ["u3"] and rest.next_page_token == ""
        apps_page = await stub.ListApps(pb.ListAppsRequest(page_size=1), metadata=token)
        for bad in (
            pb.ListUsersRequest(app_name="alpha", page_token=users.next_page_token),  # another app's
            pb.ListUsersRequest(app_name="beta", page_token=apps_page.next_page_token),  # an app listing's
            pb.ListUsersRequest(app_name="beta", page_token=users.next_page_token[:-2] + "AA"),  # altered
            pb.ListUsersRequest(app_name="beta", page_size=-1),
            pb.ListUsersRequest(app_name=""),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.ListUsers(bad, metadata=token)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, bad
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ListApps(pb.ListAppsRequest(page_token=users.next_page_token), metadata=token)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "page_token" in (refused.value.details() or "")
