"""Close: a closed session reads as before and refuses every append, by every path."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import pytest
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions

from adk_grpc_sessions.client import GrpcSessionService, SessionClosedError
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.lifecycle.conftest import Serve, eventually
from tests.ops.gated_backend import GatedBackend
from tests.server.rpc_errors import failure_in

APP, USER = "app", "u1"

# Each way an append reaches the server from the client: a unary call, a batch, the stream.
_APPEND_PATHS: dict[str, dict[str, Any]] = {
    "unary": {"stream_appends": False, "max_appends_in_flight": 0},
    "batch": {"stream_appends": False, "max_appends_in_flight": 1},
    "stream": {"stream_appends": True},
}


@pytest.mark.parametrize("path", list(_APPEND_PATHS))
async def test_a_closed_session_refuses_appends_and_keeps_reads(serve: Serve, path: str) -> None:
    async with serve() as running, GrpcSessionService(running.address, **_APPEND_PATHS[path]) as client:
        session = await client.create_session(app_name=APP, user_id=USER, session_id="s1", state={"k": 1})
        await client.append_event(session, Event(author="user", actions=EventActions(state_delta={"k": 2})))
        info = await client.close_session(session=session)
        assert info.close_time is not None and info.close_time == pytest.approx(time.time(), abs=5)

        # Several at once: with one call in flight the client sends the later ones in a batch.
        appends = [
            client.append_event(session, Event(author="user")) for _ in range(3 if path == "batch" else 1)
        ]
        outcomes = await asyncio.gather(*appends, return_exceptions=True)
        assert all(isinstance(o, SessionClosedError) for o in outcomes), outcomes
        assert all(isinstance(o, ValueError) for o in outcomes)  # ADK's manner of session errors

        read = await client.get_session(app_name=APP, user_id=USER, session_id="s1")
        assert read is not None and read.state == {"k": 2} and len(read.events) == 1
        assert [s.id for s in (await client.list_sessions(app_name=APP, user_id=USER)).sessions] == ["s1"]
        page = await client.list_events(app_name=APP, user_id=USER, session_id="s1")
        assert len(page.events) == 1


async def test_a_closed_session_answers_failed_precondition_session_closed_in_a_batch(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await client.create_session(app_name=APP, user_id=USER, session_id="s1")
        await client.close_session(session=session)
        info = await client.get_session_info(app_name=APP, user_id=USER, session_id="s1")
        assert info is not None
        async with grpc.aio.insecure_channel(running.address) as channel:
            stub = pb_grpc.SessionServiceStub(channel)
            one = pb.AppendEventRequest(
                app_name=APP,
                user_id=USER,
                session_id="s1",
                expected_revision=info.revision,
                event_json='{"id": "e1", "author": "user", "invocationId": "", "timestamp": 1.0}',
            )
            response = await stub.BatchAppendEvents(pb.BatchAppendEventsRequest(requests=[one]))
        failure = failure_in(response.results[0].error)
        assert (failure.code, failure.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "SESSION_CLOSED")
        assert failure.metadata["session_id"] == "s1"


async def test_closing_twice_keeps_the_first_close_time_and_changes_no_revision(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await client.create_session(app_name=APP, user_id=USER, session_id="s1")
        before = await client.get_session_info(app_name=APP, user_id=USER, session_id="s1")
        first = await client.close_session(session=session)
        second = await client.close_session(session=session)
        assert first.close_time is not None and second.close_time == first.close_time
        assert before is not None and second.revision == before.revision
        assert second.last_update_time == before.last_update_time


async def test_a_retry_of_an_append_stored_before_the_close_is_answered_as_applied(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await client.create_session(app_name=APP, user_id=USER, session_id="s1")
        event = Event(author="user")
        await client.append_event(session, event)
        await client.close_session(session=session)
        stale = await client.get_session(app_name=APP, user_id=USER, session_id="s1")
        assert stale is not None
        stale.events.clear()  # as if the first delivery's answer had been lost
        await client.append_event(stale, event)  # already applied: no error
        assert len((await client.get_session(app_name=APP, user_id=USER, session_id="s1")).events) == 1  # type: ignore[union-attr]


async def test_closed_session_ttl_bounds_a_closed_session_s_life(serve: Serve) -> None:
    async with serve(closed_session_ttl=1.0) as running, GrpcSessionService(running.address) as client:
        session = await client.create_session(app_name=APP, user_id=USER, session_id="s1", ttl=30 * 86_400)
        open_session = await client.create_session(app_name=APP, user_id=USER, session_id="open")
        info = await client.close_session(session=session)
        assert info.close_time is not None and info.expire_time == pytest.approx(
            info.close_time + 1.0, abs=1e-3
        )

        async def gone() -> bool:
            return await client.get_session(app_name=APP, user_id=USER, session_id="s1") is None

        await eventually(gone)
        assert await client.get_session(app_name=APP, user_id=USER, session_id=open_session.id) is not None


async def test_close_session_waits_for_the_appends_to_that_session_under_way() -> None:
    """The client's flush: an append already made reaches the session before the close does."""
    backend = GatedBackend()
    server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend="memory://"), backend=backend)
    await server.start()
    try:
        async with GrpcSessionService(f"127.0.0.1:{server.ports[0]}") as client:
            session = await client.create_session(app_name=APP, user_id=USER, session_id="s1")
            append = asyncio.create_task(client.append_event(session, Event(author="user")))
            await backend.until_waiting(1)  # the append is at the server, held at the gate
            close = asyncio.create_task(client.close_session(session=session))
            done, _ = await asyncio.wait([close], timeout=0.5)
            assert not done, "close_session did not wait for the append under way"
            backend.gate.set()
            await append
            info = await close
            assert info.close_time is not None
            read = await client.get_session(app_name=APP, user_id=USER, session_id="s1")
            assert read is not None and len(read.events) == 1
    finally:
        await server.stop(0)
