"""WatchSessions across replicas on one database: each learns of the other's changes through storage.

Two ``adk-grpc-sessions serve`` processes on one database: a watcher of a
user on one of them is told of every session the other creates, forks,
appends to, closes and deletes (PostgreSQL's notifications, MariaDB's
polling of the watched users). On PostgreSQL, a server whose LISTEN
connection was lost cannot tell what it missed: its watchers get
``relisting`` and a new listing once it listens again.
"""

from __future__ import annotations

import asyncio
import pathlib

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from adk_grpc_sessions.client import GrpcSessionService
from tests.sql.conftest import new_database_uri
from tests.watch.conftest import APP, CLOSED, CREATED, DELETED, UPDATED, USER, Serve, event, watching_sessions
from tests.watch.test_postgresql import _dsn, _listener, replica
from tests.watch.test_processes import server

pytestmark = pytest.mark.timeout(240)

BACKENDS_HERE = ("postgresql",)

WAIT = 30.0


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
async def test_a_watcher_on_one_replica_is_told_of_every_change_made_on_another(
    kind: str, tmp_path: pathlib.Path
) -> None:
    uri = await new_database_uri(kind, tmp_path)
    async with (
        server(uri) as watched,
        server(uri) as writing,
        GrpcSessionService(await writing.address()) as client,
        watching_sessions(await watched.address()) as watch,
    ):
        await watch.wait_caught_up()
        session = await client.create_session(app_name=APP, user_id=USER, session_id="a")
        await watch.wait_live(1, WAIT)
        await client.append_event(session, event(0))
        await watch.wait_live(2, WAIT)
        await client.fork_session(app_name=APP, user_id=USER, session_id="a", new_session_id="b")
        await watch.wait_live(3, WAIT)
        await client.close_session(session=session)
        await watch.wait_live(4, WAIT)
        await client.delete_session(app_name=APP, user_id=USER, session_id="b")
        await watch.wait_live(5, WAIT)
        await asyncio.sleep(0.5)  # room for a notice told twice to arrive
        assert watch.live == [(CREATED, "a"), (UPDATED, "a"), (CREATED, "b"), (CLOSED, "a"), (DELETED, "b")]
        assert watch.error is None


async def test_a_lost_listen_connection_sends_relisting_then_a_listing_with_what_was_missed(
    serve: Serve,
) -> None:
    async with serve() as running, replica(running) as other, GrpcSessionService(other) as client:
        await client.create_session(app_name=APP, user_id=USER, session_id="kept")
        await client.create_session(app_name=APP, user_id=USER, session_id="gone")
        async with watching_sessions(running.address) as watch:
            await watch.wait_caught_up()
            listener = _listener(running)  # listening since the first watch
            await asyncio.wait_for(listener.connected.wait(), 20)
            dsn, pid = listener._dsn, listener.connection.get_server_pid()
            # Kept from listening again until the changes below are committed: no notification of
            # them can reach this server, which must list the user again.
            listener._dsn = make_url(dsn).set(port=1).render_as_string(False)
            admin = await asyncpg.connect(_dsn(running))
            try:
                assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            finally:
                await admin.close()
            async with asyncio.timeout(20):
                while listener.connected.is_set():  # noqa: ASYNC110 - the termination arrives by itself
                    await asyncio.sleep(0.02)
            await client.delete_session(app_name=APP, user_id=USER, session_id="gone")
            await client.create_session(app_name=APP, user_id=USER, session_id="new")
            await asyncio.sleep(0.5)
            assert watch.live == []
            listener._dsn = dsn
            await watch.wait_caught_up(2)
            kinds = [m.WhichOneof("kind") for m in watch.received]
            assert kinds == ["notices", "caught_up", "relisting", "notices", "caught_up"]
            assert sorted(n.session_id for n in watch.received[3].notices.notices) == ["kept", "new"]
