"""WatchSession on PostgreSQL: nothing is seen before its commit, and a lost LISTEN connection loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.backends.sql import SqlBackend
from adk_grpc_sessions.server.backends.sql.change_feeds import NotificationListener
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from tests.watch.conftest import APP, USER, Running, Serve, created, event, watching

BACKENDS_HERE = ("postgresql",)

_COPY_COLUMNS = "session_pk, invocation_id, author, branch, timestamp, state_delta, size_bytes"


def _dsn(running: Running) -> str:
    return make_url(running.server.config.backend).set(drivername="postgresql").render_as_string(False)


def _listener(running: Running) -> NotificationListener:
    backend: Any = running.server._backend
    inner = getattr(backend, "_inner", backend)
    assert isinstance(inner, SqlBackend) and isinstance(inner.change_feed, NotificationListener)
    return inner.change_feed


@contextlib.asynccontextmanager
async def replica(running: Running) -> AsyncIterator[str]:
    """A second server on the same database, in this process: its address."""
    server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend=running.server.config.backend))
    await server.start()
    try:
        yield f"127.0.0.1:{server.ports[0]}"
    finally:
        await server.stop(0)


async def test_an_append_held_open_in_its_transaction_is_seen_only_once_committed(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await created(client)
        await client.append_event(session, event(0))
        async with watching(running.address, "s") as watch:
            await watch.wait_caught_up()
            connection = await asyncpg.connect(_dsn(running))
            try:
                transaction = connection.transaction()
                await transaction.start()
                # What an append writes, notification included, held uncommitted.
                session_pk, sequence = await connection.fetchrow(
                    "SELECT session_pk, last_sequence + 1 FROM ags_sessions WHERE session_id = 's'"
                )
                await connection.execute(
                    f"INSERT INTO ags_events (sequence, event_id, event_json, {_COPY_COLUMNS}) "
                    f"SELECT $2, 'held', replace(event_json, '\"e0\"', '\"held\"'), {_COPY_COLUMNS} "
                    "FROM ags_events WHERE session_pk = $1 AND sequence = 1",
                    session_pk,
                    sequence,
                )
                revision = await connection.fetchval(
                    "UPDATE ags_sessions SET last_sequence = $2, "
                    "revision = 2 * currval(pg_get_serial_sequence('ags_events', 'event_pk')) "
                    "WHERE session_pk = $1 RETURNING revision",
                    session_pk,
                    sequence,
                )
                await connection.execute(
                    "SELECT pg_notify('ags_watch', json_build_array($1::text, $2::text, 's', $3::bigint)::text)",
                    APP,
                    USER,
                    revision,
                )
                async with watching(running.address, "s") as joining:
                    await joining.wait_caught_up()
                    await asyncio.sleep(1.0)  # room for an uncommitted event to be (wrongly) seen
                    assert joining.event_ids == ["e0"] and watch.event_ids == ["e0"]
                    await transaction.commit()
                    await watch.wait_for(2)
                    await joining.wait_for(2)
                    assert watch.event_ids == joining.event_ids == ["e0", "held"]
                    assert watch.revisions[-1] == revision
            finally:
                await connection.close()


async def test_a_lost_listen_connection_is_reopened_and_its_watchers_catch_up(serve: Serve) -> None:
    async with serve() as running, replica(running) as other, GrpcSessionService(other) as client:
        session = await created(client)
        async with watching(running.address, "s") as watch:
            await watch.wait_caught_up()
            listener = _listener(running)  # listening since the first watch
            await asyncio.wait_for(listener.connected.wait(), 20)
            dsn, pid = listener._dsn, listener.connection.get_server_pid()
            # Kept from listening again until the appends below are committed: no notification of them
            # can reach this server, which must find them by reading.
            listener._dsn = make_url(dsn).set(port=1).render_as_string(False)
            admin = await asyncpg.connect(_dsn(running))
            try:
                assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            finally:
                await admin.close()
            async with asyncio.timeout(20):
                while listener.connected.is_set():  # noqa: ASYNC110 - the termination arrives by itself
                    await asyncio.sleep(0.02)
            for number in range(2):
                await client.append_event(session, event(number))
            await asyncio.sleep(0.5)
            assert watch.event_ids == []
            listener._dsn = dsn
            await watch.wait_for(2)
            assert watch.event_ids == ["e0", "e1"]
