"""Connections cut mid-call: the client retries, and idempotent appends make the outcome exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions

from adk_grpc_sessions.client import GrpcSessionService, RetryPolicy
from tests.conftest import StartServer
from tests.reliability.faulty_proxy import FaultyProxy

RETRIES = RetryPolicy(initial_backoff=0.01, max_backoff=0.1)


@pytest.fixture
async def proxy(grpc_server: StartServer, backend_uri: str) -> AsyncIterator[FaultyProxy]:
    host, port = (await grpc_server(backend_uri)).rsplit(":", 1)
    faulty = FaultyProxy(host, int(port))
    await faulty.start()
    yield faulty
    await faulty.stop()


async def test_appends_whose_answers_are_lost_land_exactly_once(
    proxy: FaultyProxy, grpc_server: StartServer, backend_uri: str, app_name: str
) -> None:
    direct = GrpcSessionService(await grpc_server(backend_uri))
    through_proxy = GrpcSessionService(f"127.0.0.1:{proxy.port}", retry_policy=RETRIES, timeout=30)
    session = await through_proxy.create_session(app_name=app_name, user_id="u1")
    events = []
    for number in range(1, 41):
        if number % 3 == 0:
            proxy.cut_responses = 1  # this append's answer will be lost after the server stored it
        event = Event(author="user", actions=EventActions(state_delta={"app:count": number, "last": number}))
        events.append(event)
        await through_proxy.append_event(session, event)
    assert proxy.cuts >= 10, "the proxy really cut connections"

    stored = await direct.get_session(app_name=app_name, user_id="u1", session_id=session.id)
    assert stored is not None
    assert [e.id for e in stored.events] == [e.id for e in events], "every event once, in order"
    assert stored.state == {"app:count": 40, "last": 40}
    assert session.state == stored.state
    await through_proxy.close()
    await direct.close()


async def test_creates_whose_answers_are_lost_make_one_session(
    proxy: FaultyProxy, grpc_server: StartServer, backend_uri: str, app_name: str
) -> None:
    through_proxy = GrpcSessionService(f"127.0.0.1:{proxy.port}", retry_policy=RETRIES, timeout=30)
    notes = "n" * 600  # makes each request larger than the connection's opening bytes
    for _ in range(10):
        proxy.cut_responses = 1
        await through_proxy.create_session(app_name=app_name, user_id="u1", state={"notes": notes})
    assert proxy.cuts == 10
    async with GrpcSessionService(await grpc_server(backend_uri)) as direct:
        assert len((await direct.list_sessions(app_name=app_name)).sessions) == 10
    await through_proxy.close()
