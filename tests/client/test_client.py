"""GrpcSessionService as a client: addresses, retries, time limits, errors, paging, ADK's registry."""

from __future__ import annotations

import asyncio
import pathlib
import time
import uuid

import grpc
import pytest
from google.adk.errors import StaleSessionError
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.session import Session

from adk_grpc_sessions.client import (
    GrpcSessionService,
    RetryPolicy,
    SessionServiceError,
    SessionServicePermissionError,
    SessionServiceTimeoutError,
    SessionServiceUnavailableError,
)
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from tests.client.fake_servers import LossyServer, failing, serve_methods, slow
from tests.conftest import StartServer
from tests.net import free_port

FAST_RETRIES = RetryPolicy(initial_backoff=0.05, max_backoff=0.2)


async def test_uri_form_works_as_adk_services_yaml_builds_it(grpc_server: StartServer, app_name: str) -> None:
    address = await grpc_server("memory://")
    async with GrpcSessionService(uri=f"grpc://{address}", agents_dir="/agents") as client:
        created = await client.create_session(app_name=app_name, user_id="u1")
        assert await client.get_session(app_name=app_name, user_id="u1", session_id=created.id) == created


async def test_adk_service_registry_builds_the_client_from_services_yaml(
    grpc_server: StartServer, app_name: str, tmp_path: pathlib.Path
) -> None:
    from google.adk.cli.service_registry import ServiceRegistry, _register_services_from_yaml_config

    registry = ServiceRegistry()
    config = {
        "services": [
            {"scheme": "grpc", "type": "session", "class": "adk_grpc_sessions.client.GrpcSessionService"}
        ]
    }
    _register_services_from_yaml_config(config, registry)
    address = await grpc_server("memory://")
    service = registry.create_session_service(f"grpc://{address}", agents_dir=str(tmp_path))
    assert isinstance(service, GrpcSessionService)
    created = await service.create_session(app_name=app_name, user_id="u1", state={"k": 1})
    assert created.state == {"k": 1}
    await service.close()


async def test_unix_socket_targets(tmp_path: pathlib.Path, app_name: str) -> None:
    path = tmp_path / "sessions.sock"
    server = SessionServer(ServerConfig(listen=[f"unix:{path}"], backend="memory://"))
    await server.start()
    try:
        for client in (GrpcSessionService(f"unix:{path}"), GrpcSessionService(uri=f"unix://{path}")):
            async with client:
                session = await client.create_session(app_name=app_name, user_id="u1")
                assert (
                    await client.get_session(app_name=app_name, user_id="u1", session_id=session.id)
                    is not None
                )
    finally:
        await server.stop(grace=0)


async def test_calls_are_retried_until_the_server_comes_up(app_name: str) -> None:
    port = free_port()
    client = GrpcSessionService(f"127.0.0.1:{port}", retry_policy=FAST_RETRIES, timeout=10)
    server = SessionServer(ServerConfig(listen=[f"127.0.0.1:{port}"], backend="memory://"))

    async def start_late() -> None:
        await asyncio.sleep(0.5)
        await server.start()

    starter = asyncio.create_task(start_late())
    try:
        session = await client.create_session(app_name=app_name, user_id="u1")
        assert session.app_name == app_name
    finally:
        await starter
        await client.close()
        await server.stop(grace=0)


async def test_unreachable_server_raises_connection_error_when_the_budget_is_spent(app_name: str) -> None:
    client = GrpcSessionService(f"127.0.0.1:{free_port()}", timeout=1)
    started = time.monotonic()
    with pytest.raises(SessionServiceUnavailableError) as raised:
        await client.get_session(app_name=app_name, user_id="u1", session_id="s1")
    elapsed = time.monotonic() - started
    assert isinstance(raised.value, ConnectionError)
    assert raised.value.code == grpc.StatusCode.UNAVAILABLE
    assert "connect" in str(raised.value).lower(), "gRPC's reason is kept"
    assert 0.9 <= elapsed < 3, f"retried for {elapsed:.2f} s with a 1 s budget"
    await client.close()


async def test_a_call_without_a_budget_keeps_trying_until_cancelled(app_name: str) -> None:
    client = GrpcSessionService(f"127.0.0.1:{free_port()}", timeout=None)
    reading = asyncio.create_task(client.get_session(app_name=app_name, user_id="u1", session_id="s1"))
    done, _ = await asyncio.wait([reading], timeout=3)
    assert not done, "a call without a budget gave up"
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading
    await client.close()


@pytest.mark.parametrize(
    "policy",
    [{"initial_backoff": 0}, {"initial_backoff": 2, "max_backoff": 1}, {"multiplier": 0.5}],
)
def test_a_retry_policy_that_would_spin_is_refused(policy: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**policy)


async def test_timeout_bounds_the_whole_call(app_name: str) -> None:
    async with serve_methods({"GetSession": slow(5)}) as address:
        client = GrpcSessionService(address, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(SessionServiceTimeoutError) as raised:
            await client.get_session(app_name=app_name, user_id="u1", session_id="s1")
        assert isinstance(raised.value, TimeoutError)
        assert time.monotonic() - started < 2
        await client.close()


@pytest.mark.parametrize(
    ("code", "error_type", "builtin"),
    [
        (grpc.StatusCode.PERMISSION_DENIED, SessionServicePermissionError, PermissionError),
        (grpc.StatusCode.UNAUTHENTICATED, SessionServicePermissionError, PermissionError),
        (grpc.StatusCode.INTERNAL, SessionServiceError, Exception),
        (grpc.StatusCode.CANCELLED, SessionServiceUnavailableError, ConnectionError),
        (grpc.StatusCode.INVALID_ARGUMENT, ValueError, ValueError),
    ],
)
async def test_status_codes_map_to_exceptions(
    code: grpc.StatusCode, error_type: type[Exception], builtin: type[Exception]
) -> None:
    failing_server = serve_methods({"GetUserState": failing(code, "nope")})
    # CANCELLED is retried until the call's budget is spent: a short one keeps the wait short.
    async with failing_server as address, GrpcSessionService(address, timeout=2) as client:
        with pytest.raises(error_type, match="nope") as raised:
            await client.get_user_state(app_name="a", user_id="u")
        assert isinstance(raised.value, builtin)


async def test_invalid_argument_names_the_field(grpc_server: StartServer, app_name: str) -> None:
    async with GrpcSessionService(await grpc_server("memory://")) as client:
        with pytest.raises(ValueError, match=r"^app_name: at most 128 characters"):
            await client.create_session(app_name="x" * 300, user_id="u1")


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED])
async def test_lost_append_response_is_retried_exactly_once(app_name: str, code: grpc.StatusCode) -> None:
    # CANCELLED: what a server shutting down answers a call it had not started.
    lossy = LossyServer(lose_first={"AppendEvent"}, code=code)
    async with (
        lossy.running() as address,
        GrpcSessionService(address, retry_policy=FAST_RETRIES, stream_appends=False) as client,
    ):
        session = await client.create_session(app_name=app_name, user_id="u1")
        event = Event(author="user", actions=EventActions(state_delta={"user:n": 1}))
        await client.append_event(session, event)
        assert lossy.calls["AppendEvent"] == 2
        assert [e.id for e in session.events] == [event.id]
        reread = await client.get_session(app_name=app_name, user_id="u1", session_id=session.id)
        assert reread is not None
        assert [e.id for e in reread.events] == [event.id]
        # The session object is current: the next append is not stale.
        await client.append_event(session, Event(author="user"))


async def test_lost_create_response_is_recognised_on_retry(app_name: str) -> None:
    lossy = LossyServer(lose_first={"CreateSession"})
    async with lossy.running() as address, GrpcSessionService(address, retry_policy=FAST_RETRIES) as client:
        session = await client.create_session(app_name=app_name, user_id="u1", state={"k": 1})
        assert session.state == {"k": 1}
        listed = await client.list_sessions(app_name=app_name)
        assert [s.id for s in listed.sessions] == [session.id]


async def test_session_built_by_hand_can_append_while_current(
    grpc_server: StartServer, app_name: str
) -> None:
    async with GrpcSessionService(await grpc_server("memory://")) as client:
        created = await client.create_session(app_name=app_name, user_id="u1", session_id="s1")
        first = Event(author="user", timestamp=1_800_000_000.0)
        await client.append_event(created, first)
        by_hand = Session(
            id="s1", app_name=app_name, user_id="u1", events=[first], last_update_time=1_800_000_000.0
        )
        await client.append_event(by_hand, Event(author="user", timestamp=1_800_000_001.0))
        outdated = Session(
            id="s1", app_name=app_name, user_id="u1", events=[first], last_update_time=1_800_000_000.0
        )
        with pytest.raises(StaleSessionError):
            await client.append_event(outdated, Event(author="user", timestamp=1_800_000_002.0))


async def test_list_sessions_walks_every_page(grpc_server: StartServer, app_name: str) -> None:
    async with GrpcSessionService(await grpc_server("memory://")) as client:
        created = await asyncio.gather(
            *(client.create_session(app_name=app_name, user_id=f"u{i % 3}") for i in range(1203))
        )
        listed = await client.list_sessions(app_name=app_name)
        assert sorted(s.id for s in listed.sessions) == sorted(s.id for s in created)
        times = [s.last_update_time for s in listed.sessions]
        assert times == sorted(times)
        page = await client.list_sessions_page(app_name=app_name, user_id="u1", page_size=50)
        assert len(page.sessions) == 50
        assert page.next_page_token is not None
        following = await client.list_sessions_page(
            app_name=app_name, user_id="u1", page_size=50, page_token=page.next_page_token
        )
        assert {s.id for s in page.sessions}.isdisjoint(s.id for s in following.sessions)


async def test_list_events_pages_and_iterates(grpc_server: StartServer, app_name: str) -> None:
    async with GrpcSessionService(await grpc_server("memory://")) as client:
        session = await client.create_session(app_name=app_name, user_id="u1")
        events = [Event(author="user", timestamp=1_800_000_000.0 + i) for i in range(1234)]
        for event in events:
            await client.append_event(session, event)
        page = await client.list_events(app_name=app_name, user_id="u1", session_id=session.id, page_size=10)
        assert page.events == events[:10]
        assert page.next_page_token is not None
        everything = [
            e async for e in client.iter_events(app_name=app_name, user_id="u1", session_id=session.id)
        ]
        assert everything == events
        recent = [
            e
            async for e in client.iter_events(
                app_name=app_name, user_id="u1", session_id=session.id, after_timestamp=1_800_001_200.0
            )
        ]
        assert recent == events[1200:]


async def test_app_state_can_be_read_directly(grpc_server: StartServer, app_name: str) -> None:
    async with GrpcSessionService(await grpc_server("memory://")) as client:
        await client.create_session(app_name=app_name, user_id="u1", state={"app:flag": True, "user:x": 1})
        assert await client.get_app_state(app_name=app_name) == {"flag": True}


async def test_client_follows_its_caller_to_a_new_event_loop(grpc_server: StartServer, app_name: str) -> None:
    client = GrpcSessionService(await grpc_server("memory://"))

    async def use() -> str:
        return (await client.create_session(app_name=app_name, user_id="u1")).id

    first = await asyncio.to_thread(asyncio.run, use())
    second = await asyncio.to_thread(asyncio.run, use())
    third = await use()
    assert len({first, second, third}) == 3
    assert len((await client.list_sessions(app_name=app_name)).sessions) == 3
    await client.close()


async def test_generated_session_ids_are_uuids_that_start_with_a_letter(
    grpc_server: StartServer, app_name: str
) -> None:
    # A letter first makes the id valid on every backend, Agent Engine included.
    async with GrpcSessionService(await grpc_server("memory://")) as client:
        for _ in range(40):
            session = await client.create_session(app_name=app_name, user_id="u1")
            assert str(uuid.UUID(session.id)) == session.id
            assert session.id[0] in "abcdef"
