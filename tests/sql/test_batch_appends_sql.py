"""``BatchAppendEvents`` served from each SQL database: the appends of one call share transactions
(group commit), yet each is answered exactly as ``AppendEvent`` alone would answer it."""

from __future__ import annotations

import asyncio

import grpc
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.conftest import StartServer
from tests.server.test_batch_appends import check_batch_answers_as_single_calls


async def test_each_append_of_a_batch_is_answered_as_a_single_call(
    database_uri: str, grpc_server: StartServer
) -> None:
    async with grpc.aio.insecure_channel(await grpc_server(database_uri)) as channel:
        await check_batch_answers_as_single_calls(pb_grpc.SessionServiceStub(channel))


async def test_many_sessions_appending_at_once_through_the_client_all_land(
    database_uri: str, grpc_server: StartServer, app_name: str
) -> None:
    async with GrpcSessionService(await grpc_server(database_uri)) as client:
        sessions = [await client.create_session(app_name=app_name, user_id=f"u{i % 4}") for i in range(40)]
        for round_ in range(5):
            await asyncio.gather(
                *(
                    client.append_event(
                        s,
                        Event(
                            author="agent",
                            timestamp=1_800_000_000.0 + round_,
                            actions=EventActions(state_delta={"n": round_, f"user:last{i}": round_}),
                        ),
                    )
                    for i, s in enumerate(sessions)
                )
            )
        for i, session in enumerate(sessions):
            stored = await client.get_session(
                app_name=app_name, user_id=session.user_id, session_id=session.id
            )
            assert stored is not None
            assert [e.id for e in stored.events] == [e.id for e in session.events]
            assert stored.state["n"] == 4 and stored.state[f"user:last{i}"] == 4
            assert stored._storage_update_marker == session._storage_update_marker
