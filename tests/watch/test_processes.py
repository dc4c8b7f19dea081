"""WatchSession across real server processes: a restart after kill -9, and replicas on one database.

Each server is ``adk-grpc-sessions serve`` as users run it (``tests/server_process.py``).
A watcher resumes with the last revision it received, on the restarted
server or on another replica, and gets exactly the events it had not seen.
Replicas learn of each other's appends through the database: PostgreSQL's
notifications, MariaDB's polling (``--watch-poll-interval``).
"""

from __future__ import annotations

import contextlib
import pathlib
import signal
from collections.abc import AsyncIterator

import pytest

from adk_grpc_sessions.client import GrpcSessionService
from tests.server_process import ServerProcess, wait_until_serving
from tests.sql.conftest import new_database_uri
from tests.watch.conftest import APP, USER, created, event, watching

pytestmark = pytest.mark.timeout(240)


@contextlib.asynccontextmanager
async def server(backend_uri: str, *extra: str) -> AsyncIterator[ServerProcess]:
    """A server process on ``backend_uri``, stopped (if still running) at the end."""
    process = await ServerProcess(
        ["serve", "--listen", "127.0.0.1:0", "--backend", backend_uri, "--log-format", "json", *extra]
    ).start()
    try:
        await wait_until_serving(await process.address())
        yield process
    finally:
        assert process.process is not None
        if process.process.returncode is None:
            await process.stop(signal.SIGKILL)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_watcher_resumes_after_its_server_is_killed_without_gap_or_duplicate(
    kind: str, tmp_path: pathlib.Path
) -> None:
    uri = await new_database_uri(kind, tmp_path)
    async with server(uri) as first:
        address = await first.address()
        async with GrpcSessionService(address) as client:
            session = await created(client)
            for number in range(3):
                await client.append_event(session, event(number))
        async with watching(address, "s") as watch:
            await watch.wait_caught_up()
            await first.stop(signal.SIGKILL)
            await watch.finished()
            assert watch.error is not None  # the server is gone mid-stream
    last = watch.revisions[-1]
    async with server(uri) as second:
        address = await second.address()
        async with GrpcSessionService(address) as client:
            reread = await client.get_session(app_name=APP, user_id=USER, session_id="s")
            assert reread is not None
            await client.append_event(reread, event(3))
            async with watching(address, "s", last) as resumed:
                await resumed.wait_caught_up()
                await client.append_event(reread, event(4))
                await resumed.wait_for(2)
    assert watch.event_ids + resumed.event_ids == [f"e{n}" for n in range(5)]


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
async def test_replicas_deliver_each_other_s_appends_and_a_watcher_resumes_on_either(
    kind: str, tmp_path: pathlib.Path
) -> None:
    uri = await new_database_uri(kind, tmp_path)
    poll = ("--watch-poll-interval", "0.1")
    async with server(uri, *poll) as one, server(uri, *poll) as two:
        a, b = await one.address(), await two.address()
        async with GrpcSessionService(a) as on_a, GrpcSessionService(b) as on_b:
            session = await created(on_a)
            async with watching(a, "s") as watch_a:
                await watch_a.wait_caught_up()
                session = await on_b.get_session(app_name=APP, user_id=USER, session_id="s") or session
                for number in range(3):
                    await on_b.append_event(session, event(number))
                await watch_a.wait_for(3)
                assert watch_a.event_ids == ["e0", "e1", "e2"]
            for number in range(3, 5):
                await on_b.append_event(session, event(number))
            async with watching(b, "s", watch_a.revisions[-1]) as watch_b:
                await watch_b.wait_caught_up()
                session_a = await on_a.get_session(app_name=APP, user_id=USER, session_id="s")
                assert session_a is not None
                await on_a.append_event(session_a, event(5))
                await watch_b.wait_for(3)
                assert watch_b.event_ids == ["e3", "e4", "e5"]
            async with watching(a, "s") as ending:
                await ending.wait_caught_up()
                await on_b.delete_session(app_name=APP, user_id=USER, session_id="s")
                await ending.finished()
                assert len(ending.ended) == 1 and ending.error is None
