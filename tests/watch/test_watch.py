"""WatchSession on every backend: the backlog, caught_up, live events, resume, and what ends a stream."""

from __future__ import annotations

import asyncio
import contextlib

import grpc
import pytest
from google.adk.errors import StaleSessionError

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.runtime.auth import grant_line
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.watch.conftest import APP, USER, Serve, created, event, reason_of, watching


async def _revision(address: str, session_id: str = "s") -> int:
    async with grpc.aio.insecure_channel(address) as channel:
        reply = await pb_grpc.SessionServiceStub(channel).GetSession(
            pb.GetSessionRequest(app_name=APP, user_id=USER, session_id=session_id)
        )
        return int(reply.session.revision)


async def test_a_watch_delivers_the_backlog_then_caught_up_then_live_events_in_order(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await created(client)
        for number in range(3):
            await client.append_event(session, event(number, n=number))
        async with watching(running.address, "s") as watch:
            await watch.wait_caught_up()
            assert watch.event_ids == ["e0", "e1", "e2"]
            assert [m.WhichOneof("kind") for m in watch.received][-1] == "caught_up"
            assert watch.caught_up == [watch.revisions[-1]] == [await _revision(running.address)]
            for number in range(3, 6):
                await client.append_event(session, event(number))
            await watch.wait_for(6)
            assert watch.event_ids == [f"e{n}" for n in range(6)]
            assert watch.revisions[-1] == await _revision(running.address)
            assert len(set(watch.revisions)) == 6
            assert watch.caught_up == [watch.revisions[2]] and watch.error is None


async def test_an_empty_session_is_caught_up_at_once_with_its_revision(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await created(client)
        async with watching(running.address, "s") as watch:
            await watch.wait_caught_up()
            assert watch.caught_up == [await _revision(running.address)]
            await client.append_event(session, event(0))
            await watch.wait_for(1)
            assert watch.event_ids == ["e0"]


async def test_resuming_from_the_last_revision_received_gives_no_gap_and_no_duplicate(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await created(client)
        for number in range(3):
            await client.append_event(session, event(number))
        async with watching(running.address, "s") as first:
            await first.wait_caught_up()
            await client.append_event(session, event(3))
            await first.wait_for(4)
        last = first.revisions[1]
        for number in range(4, 6):
            await client.append_event(session, event(number))
        async with watching(running.address, "s", last) as resumed:
            await resumed.wait_caught_up()
            assert resumed.event_ids == ["e2", "e3", "e4", "e5"]
            assert resumed.revisions[:2] == first.revisions[2:4]
        async with watching(running.address, "s", resumed.caught_up[0]) as at_head:
            await at_head.wait_caught_up()
            assert at_head.event_ids == []
            await client.append_event(session, event(6))
            await at_head.wait_for(1)
            assert at_head.event_ids == ["e6"]


async def test_a_missing_session_is_not_found(serve: Serve) -> None:
    async with serve() as running, watching(running.address, "nobody") as watch:
        await watch.finished()
        assert watch.error is not None and watch.error.code() == grpc.StatusCode.NOT_FOUND
        assert reason_of(watch.error) == "SESSION_NOT_FOUND"


async def test_a_revision_of_a_deleted_and_recreated_session_is_not_found(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await created(client)
        await client.append_event(session, event(0))
        old = await _revision(running.address)
        await client.delete_session(app_name=APP, user_id=USER, session_id="s")
        session = await created(client)
        await client.append_event(session, event(0))
        async with watching(running.address, "s", old) as watch:
            await watch.finished()
            assert watch.error is not None and watch.error.code() == grpc.StatusCode.NOT_FOUND
        async with watching(running.address, "s", 987_654_321_001) as never:
            await never.finished()
            assert never.error is not None and never.error.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"after_revision": -1}, "after_revision"),
        ({"app_name": ""}, "app_name"),
        ({"user_id": "x" * 10_000}, "user_id"),
        ({"session_id": ""}, "session_id"),
    ],
)
async def test_bad_requests_are_invalid_argument_naming_the_field(
    serve: Serve, request_fields: dict[str, object], field: str
) -> None:
    async with serve() as running, grpc.aio.insecure_channel(running.address) as channel:
        fields: dict[str, object] = {"app_name": APP, "user_id": USER, "session_id": "s", **request_fields}
        call = pb_grpc.SessionServiceStub(channel).WatchSession(pb.WatchSessionRequest(**fields))  # type: ignore[arg-type]
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            async for _ in call:
                pass
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in (raised.value.details() or "")


async def test_deleting_the_session_ends_the_stream_with_deleted_then_ok(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await created(client)
        await client.append_event(session, event(0))
        async with watching(running.address, "s") as watch:
            await watch.wait_caught_up()
            await client.delete_session(app_name=APP, user_id=USER, session_id="s")
            await watch.finished()
            assert watch.ended == [pb.WatchEnded.REASON_DELETED]
            assert watch.error is None and await watch.call.code() == grpc.StatusCode.OK


async def test_erasing_the_user_ends_the_stream_with_deleted(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await created(client)
        async with watching(running.address, "s") as watch:
            await watch.wait_caught_up()
            async with grpc.aio.insecure_channel(running.address) as channel:
                await pb_grpc.SessionServiceStub(channel).EraseUser(
                    pb.EraseUserRequest(app_name=APP, user_id=USER)
                )
            await watch.finished()
            assert watch.ended == [pb.WatchEnded.REASON_DELETED] and watch.error is None


async def test_closing_the_session_ends_the_stream_after_every_event_before_the_close(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await created(client)
        async with watching(running.address, "s") as watch:
            await watch.wait_caught_up()
            for number in range(3):
                await client.append_event(session, event(number))
            await client.close_session(session=session)
            await watch.finished()
            assert watch.event_ids == ["e0", "e1", "e2"]
            assert watch.ended == [pb.WatchEnded.REASON_CLOSED] and watch.error is None
        async with watching(running.address, "s") as later:
            await later.finished()
            assert later.event_ids == ["e0", "e1", "e2"]
            assert [m.WhichOneof("kind") for m in later.received][-2:] == ["caught_up", "ended"]


async def test_expiry_ends_the_stream_with_expired(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await client.create_session(app_name=APP, user_id=USER, session_id="s", ttl=2.0)
        await client.append_event(session, event(0))
        async with watching(running.address, "s") as watch:
            await watch.finished(wait=30)
            assert watch.event_ids == ["e0"]
            assert watch.ended == [pb.WatchEnded.REASON_EXPIRED] and watch.error is None


async def test_a_refused_stale_append_is_never_delivered(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await created(client)
        stale = await client.get_session(app_name=APP, user_id=USER, session_id="s")
        assert stale is not None
        async with watching(running.address, "s") as watch:
            await watch.wait_caught_up()
            await client.append_event(session, event(0))
            with pytest.raises(StaleSessionError):
                await client.append_event(stale, event(99))
            await client.append_event(session, event(1))
            await watch.wait_for(2)
            await asyncio.sleep(0.3)  # room for a wrongly delivered event to arrive
            assert watch.event_ids == ["e0", "e1"]


async def test_a_fork_s_copied_events_each_have_a_resume_point(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await created(client, "src")
        for number in range(3):
            await client.append_event(session, event(number))
        await client.fork_session(app_name=APP, user_id=USER, session_id="src", new_session_id="copy")
        async with watching(running.address, "copy") as watch:
            await watch.wait_caught_up()
            assert watch.event_ids == ["e0", "e1", "e2"]
            assert len(set(watch.revisions)) == 3
            fork_revision = watch.caught_up[0]
            assert fork_revision == await _revision(running.address, "copy")
        async with watching(running.address, "copy", watch.revisions[0]) as resumed:
            await resumed.wait_caught_up()
            assert resumed.event_ids == ["e1", "e2"]
        async with watching(running.address, "copy", fork_revision) as at_head:
            await at_head.wait_caught_up()
            assert at_head.event_ids == []
        async with watching(running.address, "src", watch.revisions[0]) as elsewhere:
            await elsewhere.finished()
            assert elsewhere.error is not None and elsewhere.error.code() == grpc.StatusCode.NOT_FOUND


async def test_many_events_arrive_in_order_to_several_watchers(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await created(client)
        async with watching(running.address, "s") as one, watching(running.address, "s") as two:
            await one.wait_caught_up()
            await two.wait_caught_up()
            for number in range(40):
                await client.append_event(session, event(number))
            await one.wait_for(40)
            await two.wait_for(40)
            assert one.event_ids == two.event_ids == [f"e{n}" for n in range(40)]


async def test_a_draining_server_ends_watch_streams_unavailable_server_draining(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await created(client)
        async with watching(running.address, "s") as watch:
            await watch.wait_caught_up()
            await running.server.stop(grace=5)
            await watch.finished()
            assert watch.error is not None and watch.error.code() == grpc.StatusCode.UNAVAILABLE
            assert reason_of(watch.error) == "SERVER_DRAINING"


async def test_a_watch_needs_a_token_for_the_app(serve: Serve) -> None:
    tokens = ";".join([grant_line("a", "token-a", [APP]), grant_line("b", "token-b", ["other"])])
    async with serve(tokens=tokens) as running:
        async with GrpcSessionService(
            running.address, metadata=[("authorization", "Bearer token-a")]
        ) as client:
            await created(client)
        async with watching(running.address, "s") as anonymous:
            await anonymous.finished()
            assert anonymous.error is not None
            assert anonymous.error.code() == grpc.StatusCode.UNAUTHENTICATED
        async with watching(running.address, "s", metadata=(("authorization", "Bearer token-b"),)) as other:
            await other.finished()
            assert other.error is not None and other.error.code() == grpc.StatusCode.PERMISSION_DENIED
        async with watching(running.address, "s", metadata=(("authorization", "Bearer token-a"),)) as allowed:
            await allowed.wait_caught_up()
            assert allowed.error is None and len(allowed.caught_up) == 1


async def test_watchers_joining_while_events_are_appended_get_each_event_once_in_order(serve: Serve) -> None:
    count = 60
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await created(client)
        async with contextlib.AsyncExitStack() as stack:
            watches = []
            for number in range(count):
                await client.append_event(session, event(number))
                if number % 6 == 0:
                    # Joining now: its backlog is read while the next appends arrive on the live feed.
                    watches.append(await stack.enter_async_context(watching(running.address, "s")))
            for watch in watches:
                await watch.wait_for(count)
            await asyncio.sleep(0.3)  # room for a duplicate to arrive
            for watch in watches:
                assert watch.event_ids == [f"e{n}" for n in range(count)]
