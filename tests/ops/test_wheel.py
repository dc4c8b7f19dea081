"""The wheel users install: built from the sources, installed with the server extra into an empty venv, it serves.

Everything here runs from the wheel alone (no source tree on the path): the
schema migrations it applies to a new SQLite file, the generated stubs both
sides use, and the ``py.typed`` markers that make its type hints visible to
users' type checkers. Dependencies are the pinned ones (constraints.txt),
installed by uv (see ``wheels``).
"""

from __future__ import annotations

import sqlite3
import textwrap
import zipfile
from pathlib import Path

import pytest

from adk_grpc_sessions.server.backends.sql.schema import VERSION_TABLE
from adk_grpc_sessions.server.backends.sql.schema_version import head_revision
from tests.ops.wheels import run, venv_with
from tests.server_process import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TYPED_PACKAGES = ["client", "wire", "v1", "server"]
"""The packages under ``adk_grpc_sessions`` whose type hints users' checkers read."""

ROUND_TRIP = textwrap.dedent(
    """
    import asyncio, sys
    import adk_grpc_sessions.client
    from adk_grpc_sessions.client import GrpcSessionService
    from google.adk.events.event import Event
    from google.adk.events.event_actions import EventActions

    async def main() -> None:
        async with GrpcSessionService(sys.argv[1]) as client:
            session = await client.create_session(app_name="wheel", user_id="u1", state={"n": 1})
            await client.append_event(session, Event(author="user", actions=EventActions(state_delta={"n": 2})))
            read = await client.get_session(app_name="wheel", user_id="u1", session_id=session.id)
            assert read is not None and read.state == {"n": 2} and len(read.events) == 1, read
        print(adk_grpc_sessions.client.__file__)

    asyncio.run(main())
    """
)


def test_the_wheel_holds_the_migrations_the_stubs_and_the_type_markers(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    migrations = "adk_grpc_sessions/server/backends/sql/migrations"
    assert f"{migrations}/env.py" in names
    assert f"{migrations}/script.py.mako" in names
    assert any(n.startswith(f"{migrations}/versions/r0001_") for n in names)
    assert "adk_grpc_sessions/v1/session_service_pb2.py" in names
    assert "adk_grpc_sessions/v1/session_service_pb2_grpc.py" in names
    for package in TYPED_PACKAGES:
        assert f"adk_grpc_sessions/{package}/py.typed" in names, package
    # A namespace package: no __init__.py at the top, or it would shadow the other half.
    assert "adk_grpc_sessions/__init__.py" not in names


async def test_the_wheel_installed_with_the_server_extra_serves_and_migrates(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    python = venv_with(wheel, venv, extras="server") / "python"
    database = tmp_path / "sessions.db"
    server = ServerProcess(
        ["serve", "--listen", "127.0.0.1:0", "--backend", f"sqlite:///{database}"], cwd=tmp_path
    )
    server.args[0] = str(venv / "bin" / "adk-grpc-sessions")  # the wheel's entry point, not the checkout's
    await server.start()
    try:
        address = await server.address()
        script = tmp_path / "round_trip.py"
        script.write_text(ROUND_TRIP)
        # From tmp_path, with no source tree on the path: the client imported is the installed one.
        imported = run([python, "-I", script, address], cwd=tmp_path, timeout=120)
        assert imported.strip().startswith(str(venv)), imported
    finally:
        assert await server.stop() == 0, server.stderr
    # The schema came from the wheel's migrations: the database is at the newest revision.
    with sqlite3.connect(database) as connection:
        stored = connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()
    assert stored == [(head_revision(),)]
