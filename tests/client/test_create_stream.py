"""Lone creates travel on the append stream the client keeps open, as lone appends do."""

from __future__ import annotations

import pytest
from google.adk.errors.already_exists_error import AlreadyExistsError

from adk_grpc_sessions.client import GrpcSessionService
from tests.client.fake_servers import LossyServer
from tests.client.test_append_pipeline import FAST_RETRIES, _event


async def test_lone_creates_and_appends_share_one_stream() -> None:
    server = LossyServer(set())
    async with server.running() as address, GrpcSessionService(address) as client:
        for index in range(3):
            session = await client.create_session(app_name="app", user_id="u", state={"n": index})
            assert session.state == {"n": index}
            await client.append_event(session, _event(index))
            stored = await client.get_session(app_name="app", user_id="u", session_id=session.id)
            assert stored is not None
            assert stored._storage_update_marker == session._storage_update_marker
            assert [e.id for e in stored.events] == [e.id for e in session.events]
    assert server.calls.get("AppendEventStream") == 1
    assert "CreateSession" not in server.calls
    assert "AppendEvent" not in server.calls


async def test_a_create_failing_on_the_stream_raises_as_a_call_would_and_the_stream_goes_on() -> None:
    server = LossyServer(set())
    async with server.running() as address, GrpcSessionService(address) as client:
        await client.create_session(app_name="app", user_id="u", session_id="taken")
        with pytest.raises(AlreadyExistsError):
            await client.create_session(app_name="app", user_id="u", session_id="taken")
        with pytest.raises(ValueError, match="labels"):
            await client.create_session(app_name="app", user_id="u", labels={"Bad Key": "v"})
        later = await client.create_session(app_name="app", user_id="u")
        assert await client.get_session(app_name="app", user_id="u", session_id=later.id) is not None
    assert server.calls.get("AppendEventStream") == 1
    assert "CreateSession" not in server.calls


async def test_a_create_whose_answer_the_stream_lost_returns_the_session_it_made() -> None:
    # The create lands, the stream fails before its answer; the retry meets ALREADY_EXISTS for an
    # id the client chose itself, which means the first attempt made it.
    server = LossyServer({"AppendEventStream"})
    async with (
        server.running() as address,
        GrpcSessionService(address, retry_policy=FAST_RETRIES) as client,
    ):
        session = await client.create_session(app_name="app", user_id="u", state={"k": 1})
        assert session.state == {"k": 1}
        listed = await client.list_sessions(app_name="app", user_id="u")
        assert [s.id for s in listed.sessions] == [session.id]
    assert server.calls["AppendEventStream"] == 2  # the lost one, and the one the retry opened


async def test_without_the_stream_a_lone_create_is_a_call() -> None:
    server = LossyServer(set())
    async with server.running() as address, GrpcSessionService(address, stream_appends=False) as client:
        await client.create_session(app_name="app", user_id="u")
    assert server.calls == {"CreateSession": 1}
