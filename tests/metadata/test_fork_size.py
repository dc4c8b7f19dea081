"""A fork of a 10,000-event session through the API: the server holds none of the events it copies.

On the memory backend and on SQLite (the embedded default), through a real
server over gRPC. PostgreSQL and MariaDB run the same fork code as SQLite
(one backend call, one ``INSERT ... SELECT``): their 10,000-event forks are
measured at the backend boundary in ``tests/sql/test_fork_memory.py``, whose
sessions are filled in bulk, where ten thousand appends through the API
would add minutes of filling to the suite for nothing the fork does. Agent
Engine cannot fork: there a small fork is refused first (a strict xfail).
"""

from __future__ import annotations

import tracemalloc

import pytest
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions

from adk_grpc_sessions.client import GrpcSessionService
from tests.metadata.conftest import Serve

BACKENDS_HERE = ("memory", "sqlite", "vertex")
APP, USER = "app", "u1"
_BIG_EVENTS = 10_000
_PAYLOAD = "x" * 2_000


# Ten thousand appends through the API, one transaction each, take a while on a shared CPU.
@pytest.mark.timeout(1200)
async def test_a_fork_of_a_10000_event_session_costs_the_server_no_memory_for_the_events(
    serve: Serve,
) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        # A backend that cannot fork says so before ten thousand appends are made for it.
        small = await client.create_session(app_name=APP, user_id=USER, session_id="small")
        await client.append_event(small, Event(id="only", invocation_id="inv", author="user"))
        await client.fork_session(app_name=APP, user_id=USER, session_id="small", new_session_id="small-copy")
        session = await client.create_session(app_name=APP, user_id=USER, session_id="big")
        for number in range(_BIG_EVENTS):
            invocation = f"inv{number // 10}"
            event = Event(
                id=f"e{number}",
                invocation_id=invocation,
                author="user",
                custom_metadata={"payload": _PAYLOAD},
                actions=EventActions(state_delta={"n": number}),
            )
            await client.append_event(session, event)
        # The events take about 20 MB: a fork must not hold them (the server runs in this process).
        tracemalloc.start()
        try:
            info = await client.fork_session(
                app_name=APP,
                user_id=USER,
                session_id="big",
                new_session_id="copy",
                before_invocation_id="inv999",
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert info.event_count == _BIG_EVENTS - 10
        assert peak < 4_000_000, f"the fork took {peak} bytes of memory at its peak"
        fork = await client.get_session(app_name=APP, user_id=USER, session_id="copy", config=None)
        assert fork is not None
        assert len(fork.events) == _BIG_EVENTS - 10
        assert fork.state["n"] == _BIG_EVENTS - 11
        assert [e.id for e in fork.events[-2:]] == [f"e{_BIG_EVENTS - 12}", f"e{_BIG_EVENTS - 11}"]
