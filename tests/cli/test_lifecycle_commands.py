"""``purge`` (against a database, like ``db upgrade``) and ``erase-user`` (through a running server)."""

from __future__ import annotations

import json
import pathlib

from adk_grpc_sessions.client import GrpcSessionService
from tests.lifecycle.conftest import eventually
from tests.server_process import ServerProcess

APP = "app"


async def test_purge_dry_run_lists_the_expired_sessions_and_purge_deletes_them(
    tmp_path: pathlib.Path,
) -> None:
    backend = f"sqlite:///{tmp_path / 'sessions.db'}"
    server = await ServerProcess(["serve", "--listen", "127.0.0.1:0", "--backend", backend]).start()
    try:
        async with GrpcSessionService(await server.address()) as client:
            for n in range(3):
                await client.create_session(app_name=APP, user_id="u1", session_id=f"old{n}", ttl=0.5)
            await client.create_session(app_name=APP, user_id="u1", session_id="kept")

            async def expired() -> bool:
                listed = await client.list_sessions(app_name=APP)
                return [s.id for s in listed.sessions] == ["kept"]

            await eventually(expired)
    finally:
        assert await server.stop() == 0, server.stderr

    dry_run = await ServerProcess(["purge", "--backend", backend, "--dry-run", "--json"]).start()
    assert await dry_run.wait() == 0, dry_run.stderr
    report = json.loads(dry_run.stdout)
    assert report["dry_run"] is True and report["sessions"] == 3
    assert sorted(s["session_id"] for s in report["listed"]) == ["old0", "old1", "old2"]

    purge = await ServerProcess(["purge", "--backend", backend]).start()
    assert await purge.wait() == 0, purge.stderr
    assert purge.stdout.startswith("purged 3 expired sessions")

    again = await ServerProcess(["purge", "--backend", backend, "--dry-run"]).start()
    assert await again.wait() == 0, again.stderr
    assert again.stdout.startswith("would purge 0 expired sessions")


async def test_erase_user_command_erases_one_user_through_the_server() -> None:
    server = await ServerProcess(["serve", "--listen", "127.0.0.1:0", "--backend", "memory://"]).start()
    try:
        address = await server.address()
        async with GrpcSessionService(address) as client:
            for user in ("gone", "stays"):
                await client.create_session(app_name=APP, user_id=user, state={"user:k": 1})
            erase = await ServerProcess(
                ["erase-user", "--address", address, "--app", APP, "--user", "gone"]
            ).start()
            assert await erase.wait() == 0, erase.stderr
            assert "1 sessions deleted" in erase.stdout
            assert (await client.list_sessions(app_name=APP, user_id="gone")).sessions == []
            assert await client.get_user_state(app_name=APP, user_id="gone") == {}
            assert len((await client.list_sessions(app_name=APP, user_id="stays")).sessions) == 1
    finally:
        assert await server.stop() == 0
    assert "erased user 'gone' of app 'app': 1 sessions deleted" in server.stderr
