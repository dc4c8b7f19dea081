"""The database password in ``--backend`` never reaches the logs: not at start, not per call, not in an outage.

A real server process on a real PostgreSQL, logging at DEBUG (every call):
its whole stderr is searched for the password, in the
form it was given (percent-encoded) and decoded, through a normal start, the
calls, an outage of the database (health flips, calls fail), the recovery,
the drain, and a start that fails because the database cannot be reached.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.adk.events.event import Event
from sqlalchemy.engine import make_url

from adk_grpc_sessions.client import GrpcSessionService, SessionServiceError
from tests import databases
from tests.server_process import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.database]

PASSWORD = "pw-Zq81%2Fnever-logged"
"""The password as written in the URI; the server's drivers see it decoded."""
DECODED = "pw-Zq81/never-logged"
USER = "sessions_owner"


@pytest.fixture
def own_postgres() -> Iterator[databases.PostgresServer]:
    """A PostgreSQL server only this test uses, so that it can be stopped and started."""
    if os.environ.get(databases.ENV_POSTGRES_URL):
        pytest.skip(f"needs a server of its own to stop; {databases.ENV_POSTGRES_URL} names a shared one")
    try:
        server = databases.start_postgres()
    except databases.ServerUnavailableError as exc:
        if databases.databases_required():
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    yield server
    server.stop()


async def _uri_with_password(server: databases.PostgresServer) -> str:
    """A fresh database owned by a role with a password, as ``postgresql://user:password@...``."""
    import asyncpg

    plain = make_url(await server.create_database())
    connection = await asyncpg.connect(plain.set(drivername="postgresql").render_as_string(False))
    try:
        await connection.execute(f"CREATE ROLE {USER} LOGIN PASSWORD '{DECODED}'")
        await connection.execute(f'ALTER DATABASE "{plain.database}" OWNER TO {USER}')
    finally:
        await connection.close()
    return f"postgresql://{USER}:{PASSWORD}@{plain.host}:{plain.port}/{plain.database}"


def _assert_no_password(stderr: str) -> None:
    assert stderr, "the server logged nothing: nothing was checked"
    for secret in (PASSWORD, DECODED, "Zq81"):
        assert secret not in stderr, f"the password ({secret!r}) is in the logs:\n{stderr}"


async def test_the_database_password_is_in_no_log_line(
    own_postgres: databases.PostgresServer, app_name: str, tmp_path: Path
) -> None:
    uri = await _uri_with_password(own_postgres)
    common = ["--backend", uri, "--log-level", "DEBUG"]
    server = await ServerProcess(
        ["serve", "--listen", "127.0.0.1:0", *common, "--health-interval", "0.2"], cwd=tmp_path
    ).start()
    try:
        address = await server.address()
        # A call rides out an outage until its budget is spent: a short one ends it soon.
        async with GrpcSessionService(address, timeout=3) as client:
            session = await client.create_session(app_name=app_name, user_id="u1")
            await client.append_event(session, Event(author="user"))
            own_postgres.halt()  # an outage: calls fail, health turns NOT_SERVING, both logged
            with pytest.raises(SessionServiceError):
                await client.get_session(app_name=app_name, user_id="u1", session_id=session.id)
            own_postgres.resume()
            await _until_answering(client, app_name)
    finally:
        assert await server.stop() == 0, server.stderr
    assert "backend unavailable" in server.stderr  # the outage was logged, and is part of what was searched
    _assert_no_password(server.stderr)

    # A start that fails: the database is not there.
    own_postgres.halt()
    refused = await ServerProcess(["serve", "--listen", "127.0.0.1:0", *common], cwd=tmp_path).start()
    assert await refused.wait() != 0
    assert "not answering" in refused.stderr
    _assert_no_password(refused.stderr)


async def _until_answering(client: GrpcSessionService, app_name: str, wait: float = 60.0) -> None:
    """Returns once a read succeeds again (the server reconnects to the database without a restart)."""
    async with asyncio.timeout(wait):
        while True:
            try:
                await client.list_sessions(app_name=app_name)
                return
            except SessionServiceError:
                await asyncio.sleep(0.1)
