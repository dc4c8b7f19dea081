"""Erasing a user: nothing of the user remains in storage, nobody else is touched, and repeating is harmless."""

from __future__ import annotations

import asyncio

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.backends.base import PurgeBatch
from adk_grpc_sessions.server.backends.memory import MemoryBackend
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from tests.lifecycle.conftest import MemoryStorage, Serve
from tests.waiting import until

APP = "app"


def _session_id(app_name: str, user_id: str, n: int) -> str:
    """Unique in the whole store (Agent Engine's ids are per engine, not per user: difference 2)."""
    return f"{app_name}-{user_id}-{n}"


async def _populate(client: GrpcSessionService, app_name: str, user_id: str, sessions: int) -> None:
    for n in range(sessions):
        session = await client.create_session(
            app_name=app_name,
            user_id=user_id,
            session_id=_session_id(app_name, user_id, n),
            state={"own": n, f"user:{user_id}": n, "app:x": 1},
        )
        for k in range(3):
            await client.append_event(
                session, Event(author="user", actions=EventActions(state_delta={"k": k}))
            )


async def test_erase_user_leaves_nothing_of_the_user_and_touches_nobody_else(serve: Serve) -> None:
    async with serve(purge_batch_size=2) as running, GrpcSessionService(running.address) as client:
        await _populate(client, APP, "gone", 5)
        await _populate(client, APP, "other", 2)
        await _populate(client, "other-app", "gone", 2)
        others = {
            (APP, "other"): running.storage.rows_of_user(APP, "other"),
            ("other-app", "gone"): running.storage.rows_of_user("other-app", "gone"),
        }
        assert others[(APP, "other")] == {"sessions": 2, "events": 6, "session_state": 4, "user_state": 1}

        deleted = await client.erase_user(app_name=APP, user_id="gone")

        assert deleted == 5
        assert running.storage.rows_of_user(APP, "gone") == {
            "sessions": 0,
            "events": 0,
            "session_state": 0,
            "user_state": 0,
        }
        for (app_name, user_id), rows in others.items():
            assert running.storage.rows_of_user(app_name, user_id) == rows
        assert running.storage.app_state_count(APP) == 1
        assert (await client.list_sessions(app_name=APP, user_id="gone")).sessions == []
        assert await client.get_user_state(app_name=APP, user_id="gone") == {}
        assert len((await client.list_sessions(app_name=APP)).sessions) == 2


async def test_erasing_a_user_again_or_one_with_nothing_stored_is_harmless(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await _populate(client, APP, "gone", 1)
        assert await client.erase_user(app_name=APP, user_id="gone") == 1
        assert await client.erase_user(app_name=APP, user_id="gone") == 0
        assert await client.erase_user(app_name=APP, user_id="never-seen") == 0


async def test_a_user_s_sessions_created_after_the_erase_are_new(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await _populate(client, APP, "gone", 1)
        await client.erase_user(app_name=APP, user_id="gone")
        session = await client.create_session(
            app_name=APP, user_id="gone", session_id=_session_id(APP, "gone", 0)
        )
        assert session.state == {"app:x": 1} and session.events == []  # the app's state is not the user's
        await client.append_event(session, Event(author="user"))
        assert running.storage.rows_of_user(APP, "gone")["events"] == 1


class _SlowPurges(MemoryBackend):
    """Memory storage whose purges each take ``seconds``: a user with more sessions than a call has time for."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    async def purge_expired(
        self, limit: int, *, app_name: str | None = None, user_id: str | None = None
    ) -> PurgeBatch:
        await asyncio.sleep(self.seconds)
        return await super().purge_expired(limit, app_name=app_name, user_id=user_id)


async def test_an_erase_longer_than_its_call_is_invisible_at_once_and_finished_by_the_sweeper() -> None:
    backend = _SlowPurges(0.3)
    config = ServerConfig(
        listen=["127.0.0.1:0"],
        backend="memory://",
        max_call_seconds=1.0,
        purge_batch_size=1,
        purge_interval=0.2,
    )
    server = SessionServer(config, backend=backend)
    await server.start()
    storage = MemoryStorage(backend)
    try:
        async with GrpcSessionService(f"127.0.0.1:{server.ports[0]}") as client:
            await _populate(client, APP, "gone", 6)
            deleted = await client.erase_user(app_name=APP, user_id="gone")
            assert 1 <= deleted < 6  # the call stopped at half its time, with sessions left
            assert (await client.list_sessions(app_name=APP, user_id="gone")).sessions == []
            assert (
                await client.get_session(app_name=APP, user_id="gone", session_id=_session_id(APP, "gone", 5))
                is None
            )
            assert await client.get_user_state(app_name=APP, user_id="gone") == {}
            await until(lambda: storage.rows_of_user(APP, "gone")["sessions"] == 0, wait=30)
            assert storage.rows_of_user(APP, "gone") == {
                "sessions": 0,
                "events": 0,
                "session_state": 0,
                "user_state": 0,
            }
    finally:
        await server.stop(0)
