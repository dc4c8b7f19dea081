"""``adk-grpc-sessions serve`` with the SQL backend: the embedded default, migrating at start, and not."""

from __future__ import annotations

import os
import pathlib

import pytest

from adk_grpc_sessions.client import GrpcSessionService
from tests.net import free_port
from tests.server_process import ServerProcess, wait_until_serving

pytestmark = pytest.mark.slow

# No ADK_GRPC_SESSIONS_* of the test environment leaks in: the defaults are the real defaults.
_CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("ADK_GRPC_SESSIONS_")}


async def _serve_in(cwd: pathlib.Path, *args: str) -> tuple[ServerProcess, str]:
    address = f"127.0.0.1:{free_port()}"
    server = ServerProcess(["serve", "--listen", address, *args], cwd=cwd)
    server.env = dict(_CLEAN_ENV)
    await server.start()
    await wait_until_serving(address, wait=60)
    return server, address


async def test_serve_without_a_backend_keeps_sessions_in_data_sessions_db_across_restarts(
    tmp_path: pathlib.Path,
) -> None:
    server, address = await _serve_in(tmp_path)
    try:
        async with GrpcSessionService(address) as service:
            created = await service.create_session(app_name="app", user_id="u", state={"user:n": 1})
    finally:
        assert await server.stop() == 0
    assert (tmp_path / "data" / "sessions.db").is_file()
    server, address = await _serve_in(tmp_path)
    try:
        async with GrpcSessionService(address) as service:
            again = await service.get_session(app_name="app", user_id="u", session_id=created.id)
    finally:
        await server.stop()
    assert again is not None
    assert again.state == {"user:n": 1}


async def test_serve_with_no_migrate_refuses_an_empty_database(tmp_path: pathlib.Path) -> None:
    server = ServerProcess(["serve", "--listen", f"127.0.0.1:{free_port()}"], cwd=tmp_path)
    server.env = {**_CLEAN_ENV, "ADK_GRPC_SESSIONS_NO_MIGRATE": "1"}
    await server.start()
    assert await server.wait(60) == 2
    assert "db upgrade" in server.stderr
