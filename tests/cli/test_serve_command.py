"""The documented command starts a server that ADK clients can use, and stops cleanly on SIGTERM."""

from __future__ import annotations

from adk_grpc_sessions.client import GrpcSessionService
from tests.net import free_port
from tests.server_process import ServerProcess, wait_until_serving


async def test_serve_command_from_the_readme(app_name: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    server = await ServerProcess(["serve", "--listen", address, "--backend", "memory://"]).start()
    try:
        await wait_until_serving(address)
        async with GrpcSessionService(address) as client:
            session = await client.create_session(app_name=app_name, user_id="u1", state={"k": 1})
            assert (
                await client.get_session(app_name=app_name, user_id="u1", session_id=session.id)
            ) == session
    finally:
        status = await server.stop()
    assert status == 0, server.stderr
    assert f"serving on {address}" in server.stderr


async def test_unknown_backend_scheme_exits_nonzero_with_a_clear_message() -> None:
    server = await ServerProcess(
        ["serve", "--listen", f"127.0.0.1:{free_port()}", "--backend", "nosuch://x"]
    ).start()
    assert await server.wait() == 2
    assert "unknown backend URI scheme 'nosuch'" in server.stderr


async def test_a_watch_delivery_share_out_of_range_exits_2_naming_the_flag() -> None:
    server = await ServerProcess(
        [
            "serve",
            "--listen",
            f"127.0.0.1:{free_port()}",
            "--backend",
            "memory://",
            "--watch-delivery-share",
            "2",
        ]
    ).start()
    assert await server.wait() == 2
    assert "--watch-delivery-share must be more than 0 and at most 1" in server.stderr
