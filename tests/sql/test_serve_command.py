"""``adk-grpc-sessions serve`` with the SQL backend: the embedded default, migrating at start, and not."""

from __future__ import annotations

import os
import pathlib

import pytest
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.backends.base import SessionKey
from adk_grpc_sessions.server.backends.event_json import parse_event
from adk_grpc_sessions.server.backends.sql import SqlBackend, schema_version
from tests.net import free_port
from tests.server_process import ServerProcess, wait_until_serving
from tests.sql.conftest import store_as_at_0001

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


async def test_serve_upgrades_a_database_of_an_earlier_revision_and_serves_what_it_held(
    tmp_path: pathlib.Path,
) -> None:
    database = tmp_path / "sessions.db"
    earlier = SqlBackend.from_uri(f"sqlite:///{database}")
    held = [
        Event(author="user", invocation_id="i1", timestamp=10.0, actions=EventActions(state_delta={"n": 1})),
        Event(author="agent", invocation_id="i1", timestamp=11.0),
    ]
    try:
        await schema_version.upgrade(earlier.engine, target="0001")
        events = [parse_event(e.model_dump_json(by_alias=True, exclude_none=True)) for e in held]
        await store_as_at_0001(earlier, SessionKey("app", "u", "s"), events)
    finally:
        await earlier.close()
    server, address = await _serve_in(tmp_path, "--backend", f"sqlite:///{database}")
    try:
        async with GrpcSessionService(address) as service:
            session = await service.get_session(app_name="app", user_id="u", session_id="s")
            assert session is not None and session.events == held
            added = Event(author="user", invocation_id="i2", timestamp=12.0)
            await service.append_event(session, added)
            again = await service.get_session(app_name="app", user_id="u", session_id="s")
    finally:
        assert await server.stop() == 0
    assert again is not None and again.events == [*held, added]
