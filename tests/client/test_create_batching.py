"""The client's creates share calls as its appends do: creates made together go in one call, each its own outcome.

These count calls, so their clients send lone creates as calls of their own
(``stream_appends=False``); ``test_create_stream`` covers the stream.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.sessions.session import Session

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.backends.base import SessionRecord
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from tests.client.fake_servers import LossyServer
from tests.client.test_append_pipeline import FAST_RETRIES
from tests.ops.gated_backend import GatedBackend

MIB = 1024 * 1024


class _GatedCreates(GatedBackend):
    """Creates (not appends) wait at the gate the test opens."""

    async def create_session(self, *args: Any, **kwargs: Any) -> SessionRecord:
        await self._count(+1)
        try:
            await self.gate.wait()
        finally:
            await asyncio.shield(self._count(-1))
        return await super().create_session(*args, **kwargs)


async def _create_together(client: GrpcSessionService, count: int, **fields: Any) -> list[Session]:
    creating = (
        client.create_session(app_name="app", user_id=f"u{i}", state={"n": i}, **fields) for i in range(count)
    )
    return list(await asyncio.gather(*creating))


async def test_creates_made_together_go_together_and_each_lands() -> None:
    server = LossyServer(set())
    async with server.running() as address, GrpcSessionService(address, stream_appends=False) as client:
        sessions = await _create_together(client, 32)
        for index, session in enumerate(sessions):
            assert session.state == {"n": index}
            stored = await client.get_session(app_name="app", user_id=session.user_id, session_id=session.id)
            assert stored is not None and stored.state == {"n": index}
            assert stored._storage_update_marker == session._storage_update_marker
    assert len({s.id for s in sessions}) == 32
    # 32 creates: the first alone, the rest in batches of at most 16.
    assert server.calls["CreateSession"] == 1
    assert server.calls["BatchCreateSessions"] == 2


async def test_a_lone_create_is_a_call_of_its_own() -> None:
    server = LossyServer(set())
    async with server.running() as address, GrpcSessionService(address, stream_appends=False) as client:
        for index in range(3):
            await client.create_session(app_name="app", user_id=f"u{index}")
    assert server.calls["CreateSession"] == 3
    assert "BatchCreateSessions" not in server.calls


async def test_creates_in_flight_and_per_call_are_bounded() -> None:
    backend = _GatedCreates()
    server = LossyServer(set(), backend=backend)
    async with (
        server.running() as address,
        GrpcSessionService(
            address, stream_appends=False, max_appends_in_flight=2, max_appends_per_call=3
        ) as client,
    ):
        creating = asyncio.gather(
            *(client.create_session(app_name="app", user_id=f"u{i}") for i in range(10))
        )
        # The first create opens a call alone; one batch of three may open besides: four reach storage.
        await backend.until_waiting(4)
        await asyncio.sleep(0.1)
        assert backend.waiting == 4
        backend.gate.set()
        sessions = await creating
        assert len({s.id for s in sessions}) == 10
    assert server.calls["CreateSession"] == 1
    assert server.calls["BatchCreateSessions"] == 3  # 3 + 3 + 3


async def test_each_create_of_a_batch_keeps_its_own_outcome() -> None:
    server = LossyServer(set())
    async with server.running() as address, GrpcSessionService(address, stream_appends=False) as client:
        await client.create_session(app_name="app", user_id="u", session_id="taken")
        outcomes = await asyncio.gather(
            client.create_session(app_name="app", user_id="u", session_id="first"),
            client.create_session(app_name="app", user_id="u", session_id="taken"),
            client.create_session(app_name="app", user_id="u", labels={"Bad Key": "v"}),
            client.create_session(app_name="app", user_id="u", session_id="fine", state={"k": 1}),
            client.create_session(app_name="app", user_id="u"),
            return_exceptions=True,
        )
        assert isinstance(outcomes[1], AlreadyExistsError)
        assert isinstance(outcomes[2], ValueError)
        for index in (0, 3, 4):
            created = outcomes[index]
            assert isinstance(created, Session)
            assert await client.get_session(app_name="app", user_id="u", session_id=created.id) is not None
        assert isinstance(outcomes[3], Session) and outcomes[3].state == {"k": 1}
        listed = await client.list_sessions(app_name="app", user_id="u")
        assert sorted(s.id for s in listed.sessions) == sorted(
            ["taken", "first", "fine", outcomes[4].id]  # type: ignore[union-attr]
        )
    assert server.calls["BatchCreateSessions"] == 1


async def test_a_lost_batch_answer_is_retried_whole_and_each_create_returns_its_session() -> None:
    # The batch lands, its answer is lost (UNAVAILABLE), and the retry meets ALREADY_EXISTS for
    # each create: the ids were chosen by the client, so that means the first attempt made them.
    server = LossyServer({"BatchCreateSessions"})
    async with (
        server.running() as address,
        GrpcSessionService(address, stream_appends=False, retry_policy=FAST_RETRIES) as client,
    ):
        sessions = await _create_together(client, 8)
        for index, session in enumerate(sessions):
            assert session.state == {"n": index}
        listed = await client.list_sessions(app_name="app")
        assert len(listed.sessions) == 8
    assert server.calls["BatchCreateSessions"] == 2  # the lost one and its retry


async def test_a_lost_batch_answer_with_ids_of_the_callers_is_as_a_lost_lone_answer() -> None:
    # A caller's own id may be another caller's too: ALREADY_EXISTS on a retry is then theirs to
    # judge, as a lone create's is. Both ways of travelling agree.
    outcomes = {}
    for method in ("CreateSession", "BatchCreateSessions"):
        server = LossyServer({method})
        async with (
            server.running() as address,
            GrpcSessionService(address, stream_appends=False, retry_policy=FAST_RETRIES) as client,
        ):
            creating = [
                client.create_session(app_name="app", user_id="u", session_id=f"own-{i}") for i in range(3)
            ]
            results = await asyncio.gather(*creating, return_exceptions=True)
        outcomes[method] = [type(result).__name__ for result in results]
    assert outcomes["CreateSession"][0] == "AlreadyExistsError"  # the lone first create lost its answer
    assert outcomes["BatchCreateSessions"][1:] == ["AlreadyExistsError"] * 2


async def test_a_create_whose_answer_did_not_fit_its_batch_is_read_back() -> None:
    config = ServerConfig(
        listen=["127.0.0.1:0"], backend="memory://", max_message_bytes=16 * MIB, max_state_bytes=5 * MIB
    )
    server = SessionServer(config)
    await server.start()
    try:
        async with GrpcSessionService(f"127.0.0.1:{server.ports[0]}") as client:
            big = "v" * 4_500_000
            await client.create_session(app_name="app", user_id="setup", state={"app:big": big})
            # Every answer repeats the app's state: the first create goes alone, and of the four
            # batched after it only three answers fit in one response.
            sessions = await _create_together(client, 5)
            for index, session in enumerate(sessions):
                assert session.state == {"n": index, "app:big": big}
                assert session._storage_update_marker is not None
    finally:
        await server.stop(grace=1.0)


@pytest.mark.parametrize("count", [2, 5])
async def test_created_sessions_are_those_a_lone_create_returns(count: int) -> None:
    server = LossyServer(set())
    async with server.running() as address, GrpcSessionService(address, stream_appends=False) as client:
        sessions = await _create_together(client, count, display_name="named")
        for session in sessions:
            alone = await client.get_session(app_name="app", user_id=session.user_id, session_id=session.id)
            assert alone is not None
            assert json.loads(session.model_dump_json()) == json.loads(alone.model_dump_json())
        infos = [
            await client.get_session_info(app_name="app", user_id=s.user_id, session_id=s.id)
            for s in sessions
        ]
        assert {info.display_name for info in infos if info is not None} == {"named"}
