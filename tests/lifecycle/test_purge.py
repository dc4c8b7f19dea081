"""Purge: the sweeper deletes expired sessions from storage, in batches, and keeps app and user state."""

from __future__ import annotations

import urllib.request

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions

from adk_grpc_sessions.client import GrpcSessionService
from tests.lifecycle.conftest import Running, Serve, eventually

APP, USER = "app", "u1"


def _metric(running: Running, name: str) -> float:
    """A sample of the server's /metrics (0 if it has none yet)."""
    url = f"http://127.0.0.1:{running.server.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


async def test_the_sweeper_purges_expired_sessions_in_batches_and_keeps_user_and_app_state(
    serve: Serve,
) -> None:
    async with (
        serve(purge_interval=0.2, purge_batch_size=2) as running,
        GrpcSessionService(running.address) as client,
    ):
        for n in range(5):
            session = await client.create_session(
                app_name=APP,
                user_id=USER,
                session_id=f"s{n}",
                state={"own": n, "user:u": 1, "app:a": 2},
                ttl=1,
            )
            await client.append_event(
                session, Event(author="user", actions=EventActions(state_delta={"own": -n}))
            )
        await client.create_session(app_name=APP, user_id=USER, session_id="kept")
        assert running.storage.rows_of_user(APP, USER)["events"] == 5

        async def purged() -> bool:
            return running.storage.session_ids(APP, USER) == {"kept"}

        await eventually(purged)
        rows = running.storage.rows_of_user(APP, USER)
        assert rows == {"sessions": 1, "events": 0, "session_state": 0, "user_state": 1}
        assert running.storage.app_state_count(APP) == 1
        assert await client.get_user_state(app_name=APP, user_id=USER) == {"u": 1}
        assert await client.get_app_state(app_name=APP) == {"a": 2}
        assert _metric(running, "adk_grpc_sessions_sessions_purged_total") == 5
        assert _metric(running, "adk_grpc_sessions_events_purged_total") == 5
        assert _metric(running, "adk_grpc_sessions_purge_backlog") == 0
        assert _metric(running, "adk_grpc_sessions_purge_last_run_timestamp_seconds") > 0


async def test_an_idle_sweeper_leaves_expired_sessions_in_storage(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await client.create_session(app_name=APP, user_id=USER, session_id="s1", ttl=0.2)

        async def invisible() -> bool:
            return await client.get_session(app_name=APP, user_id=USER, session_id="s1") is None

        await eventually(invisible)
        assert running.storage.session_ids(APP, USER) == {"s1"}
