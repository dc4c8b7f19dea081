"""Erasing a user: nothing of the user remains in storage, nobody else is touched, and repeating is harmless."""

from __future__ import annotations

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions

from adk_grpc_sessions.client import GrpcSessionService
from tests.lifecycle.conftest import Serve

APP = "app"


async def _populate(client: GrpcSessionService, app_name: str, user_id: str, sessions: int) -> None:
    for n in range(sessions):
        session = await client.create_session(
            app_name=app_name,
            user_id=user_id,
            session_id=f"s{n}",
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
        session = await client.create_session(app_name=APP, user_id="gone", session_id="s0")
        assert session.state == {"app:x": 1} and session.events == []  # the app's state is not the user's
        await client.append_event(session, Event(author="user"))
        assert running.storage.rows_of_user(APP, "gone")["events"] == 1
