"""``adk-grpc-sessions serve`` with the SQL backend: the embedded default, and the migration opt-out."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from adk_grpc_sessions.client import GrpcSessionService
from tests.sql.serve_process import serve_process

pytestmark = pytest.mark.slow


async def test_serve_without_a_backend_keeps_sessions_in_data_sessions_db_across_restarts(
    tmp_path: pathlib.Path,
) -> None:
    with serve_process(cwd=tmp_path) as address:
        async with GrpcSessionService(address) as service:
            created = await service.create_session(app_name="app", user_id="u", state={"user:n": 1})
    assert (tmp_path / "data" / "sessions.db").is_file()
    with serve_process(cwd=tmp_path) as address:
        async with GrpcSessionService(address) as service:
            again = await service.get_session(app_name="app", user_id="u", session_id=created.id)
    assert again is not None
    assert again.state == {"user:n": 1}


def test_serve_with_no_migrate_refuses_an_empty_database(tmp_path: pathlib.Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADK_GRPC_SESSIONS_")}
    env["ADK_GRPC_SESSIONS_NO_MIGRATE"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "adk_grpc_sessions.server.cli", "serve", "--listen", "127.0.0.1:0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "db upgrade" in done.stderr
