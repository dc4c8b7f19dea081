"""WatchSessions: one user's sessions listed, then a notice of each committed change, on each backend."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator

import grpc
import pytest
from google.adk.errors import StaleSessionError
from google.adk.errors.already_exists_error import AlreadyExistsError

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.api import session_notices
from adk_grpc_sessions.server.api.errors import SessionsWatcherTooSlowError
from adk_grpc_sessions.server.api.session_notices import SessionNotices
from adk_grpc_sessions.server.backends.base import NEVER, Expiry, ScopedState, SessionKey, SessionUpdate
from adk_grpc_sessions.server.backends.memory import MemoryBackend
from adk_grpc_sessions.server.runtime.auth import grant_line
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.watch.conftest import (
    APP,
    CLOSED,
    CREATED,
    DELETED,
    EXPIRED,
    LISTED,
    UPDATED,
    USER,
    Serve,
    event,
    reason_of,
    watching_sessions,
)

BACKENDS_HERE = ("memory", "sqlite", "postgresql", "mariadb")


async def test_a_watch_lists_the_user_s_sessions_in_pages_then_caught_up(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        for number in range(130):
            await client.create_session(app_name=APP, user_id=USER, session_id=f"s{number:03}")
        await client.create_session(app_name=APP, user_id="someone else", session_id="other")
        async with watching_sessions(running.address) as watch:
            await watch.wait_caught_up()
            assert watch.caught_up == [130]
            kinds = [m.WhichOneof("kind") for m in watch.received]
            assert kinds == ["notices", "notices", "caught_up"]
            assert [len(m.notices.notices) for m in watch.received[:2]] == [100, 30]
            assert {n.kind for n in watch.notices} == {LISTED}
            assert sorted(n.session_id for n in watch.notices) == [f"s{n:03}" for n in range(130)]
            assert all(n.session.session_id == n.session_id and not n.session.events for n in watch.notices)


async def test_a_user_without_sessions_is_caught_up_at_once(serve: Serve) -> None:
    async with serve() as running, watching_sessions(running.address) as watch:
        await watch.wait_caught_up()
        assert [m.WhichOneof("kind") for m in watch.received] == ["caught_up"]
        assert watch.caught_up == [0]


async def test_creates_appends_closes_and_deletes_each_give_their_notice_in_order(serve: Serve) -> None:
    async with (
        serve() as running,
        GrpcSessionService(running.address) as client,
        watching_sessions(running.address) as watch,
    ):
        await watch.wait_caught_up()
        session = await client.create_session(app_name=APP, user_id=USER, session_id="a", state={"k": 1})
        await watch.wait_live(1)
        await client.append_event(session, event(0, n=2))
        await watch.wait_live(2)
        await client.close_session(session=session)
        await watch.wait_live(3)
        await client.delete_session(app_name=APP, user_id=USER, session_id="a")
        await watch.wait_live(4)
        assert watch.live == [(CREATED, "a"), (UPDATED, "a"), (CLOSED, "a"), (DELETED, "a")]
        created, updated, closed, deleted = watch.notices
        assert created.session.state.session == {"k": "1"}
        assert updated.session.state.session == {"k": "1", "n": "2"}
        assert updated.session.revision != created.session.revision and not updated.session.events
        assert closed.session.HasField("close_time")
        assert not deleted.HasField("session")
        assert watch.error is None


async def test_a_fork_gives_created_with_its_origin(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await client.create_session(app_name=APP, user_id=USER, session_id="src")
        async with watching_sessions(running.address) as watch:
            await watch.wait_caught_up()
            await client.fork_session(app_name=APP, user_id=USER, session_id="src", new_session_id="copy")
            await watch.wait_live(1)
            assert watch.live == [(CREATED, "copy")]
            assert watch.notices[-1].session.forked_from.session_id == "src"


async def test_an_expired_session_gives_expired(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await client.create_session(app_name=APP, user_id=USER, session_id="listed", ttl=1.5)
        async with watching_sessions(running.address) as watch:
            await watch.wait_caught_up()
            await client.create_session(app_name=APP, user_id=USER, session_id="later", ttl=1.0)
            await watch.wait(lambda w: sum(kind == EXPIRED for kind, _ in w.live) == 2, wait=30)
            assert sorted(watch.live) == sorted([(CREATED, "later"), (EXPIRED, "later"), (EXPIRED, "listed")])


async def test_other_users_changes_give_no_notice(serve: Serve) -> None:
    async with (
        serve() as running,
        GrpcSessionService(running.address) as client,
        watching_sessions(running.address) as watch,
    ):
        await watch.wait_caught_up()
        await client.create_session(app_name=APP, user_id="someone else", session_id="x")
        await client.create_session(app_name="other app", user_id=USER, session_id="y")
        await client.create_session(app_name=APP, user_id=USER, session_id="mine")
        await watch.wait_live(1)
        await asyncio.sleep(0.3)  # room for a wrong notice to arrive
        assert watch.live == [(CREATED, "mine")]


async def test_a_refused_change_gives_no_notice(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await client.create_session(app_name=APP, user_id=USER, session_id="a")
        stale = await client.get_session(app_name=APP, user_id=USER, session_id="a")
        assert stale is not None
        await client.append_event(session, event(0))
        async with watching_sessions(running.address) as watch:
            await watch.wait_caught_up()
            with pytest.raises(StaleSessionError):
                await client.append_event(stale, event(99))
            with pytest.raises(AlreadyExistsError):
                await client.create_session(app_name=APP, user_id=USER, session_id="a")
            await client.create_session(app_name=APP, user_id=USER, session_id="marker")
            await watch.wait_live(1)
            await asyncio.sleep(0.3)  # room for a wrong notice to arrive
            assert watch.live == [(CREATED, "marker")]


async def test_erasing_the_user_sends_relisting_and_a_new_listing(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await client.create_session(app_name=APP, user_id=USER, session_id="a")
        async with watching_sessions(running.address) as watch:
            await watch.wait_caught_up()
            async with grpc.aio.insecure_channel(running.address) as channel:
                await pb_grpc.SessionServiceStub(channel).EraseUser(
                    pb.EraseUserRequest(app_name=APP, user_id=USER)
                )
            await watch.wait_caught_up(2)
            # The erased sessions' purge may tell of them as expired too: nothing for a watcher to drop.
            kinds = [
                m.WhichOneof("kind")
                for m in watch.received
                if not m.HasField("notices") or {n.kind for n in m.notices.notices} != {EXPIRED}
            ]
            assert kinds == ["notices", "caught_up", "relisting", "caught_up"]
            assert watch.caught_up == [1, 0]
            await client.create_session(app_name=APP, user_id=USER, session_id="after")
            await watch.wait(lambda w: (CREATED, "after") in w.live)
            assert [notice for notice in watch.live if notice[0] != EXPIRED] == [(CREATED, "after")]


async def test_several_watchers_of_one_user_get_the_same_notices(serve: Serve) -> None:
    async with (
        serve() as running,
        GrpcSessionService(running.address) as client,
        watching_sessions(running.address) as one,
        watching_sessions(running.address) as two,
    ):
        await one.wait_caught_up()
        await two.wait_caught_up()
        for number in range(5):
            await client.create_session(app_name=APP, user_id=USER, session_id=f"s{number}")
        await one.wait_live(5)
        await two.wait_live(5)
        assert one.live == two.live == [(CREATED, f"s{n}") for n in range(5)]


async def test_a_watch_needs_a_token_for_the_app(serve: Serve) -> None:
    tokens = ";".join([grant_line("a", "token-a", [APP]), grant_line("b", "token-b", ["other"])])
    async with serve(tokens=tokens) as running:
        async with watching_sessions(running.address) as anonymous:
            await anonymous.wait(lambda w: False)
            assert anonymous.error is not None
            assert anonymous.error.code() == grpc.StatusCode.UNAUTHENTICATED
        other_token = (("authorization", "Bearer token-b"),)
        async with watching_sessions(running.address, metadata=other_token) as other:
            await other.wait(lambda w: False)
            assert other.error is not None and other.error.code() == grpc.StatusCode.PERMISSION_DENIED
        async with watching_sessions(
            running.address, metadata=(("authorization", "Bearer token-a"),)
        ) as allowed:
            await allowed.wait_caught_up()
            assert allowed.error is None and allowed.caught_up == [0]


async def test_a_draining_server_ends_the_stream_unavailable_server_draining(serve: Serve) -> None:
    async with serve() as running, watching_sessions(running.address) as watch:
        await watch.wait_caught_up()
        await running.server.stop(grace=5)
        await watch.wait(lambda w: False)
        assert watch.error is not None and watch.error.code() == grpc.StatusCode.UNAVAILABLE
        assert reason_of(watch.error) == "SERVER_DRAINING"


async def test_a_watcher_that_does_not_read_is_cut_off_watcher_too_slow(serve: Serve) -> None:
    pad = "x" * 30_000  # heads large enough to fill the stream's flow-control window
    async with (
        serve(watch_sessions_pending=5) as running,
        GrpcSessionService(running.address) as client,
        # No BDP probing: the flow-control window stays small, so unread notices stay on the server.
        grpc.aio.insecure_channel(running.address, options=[("grpc.http2.bdp_probe", 0)]) as channel,
    ):
        slow = pb_grpc.SessionServiceStub(channel).WatchSessions(
            pb.WatchSessionsRequest(app_name=APP, user_id=USER)
        )  # not read until the creates end
        async with watching_sessions(running.address) as fast:
            await fast.wait_caught_up()
            for number in range(200):
                await client.create_session(
                    app_name=APP, user_id=USER, session_id=f"s{number:03}", state={"pad": pad}
                )
            await fast.wait_live(200, wait=60)
            assert fast.error is None
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            async for _ in slow:
                pass
        assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert reason_of(raised.value) == "WATCHER_TOO_SLOW"


# The bound and the folding of notices, on the watch layer itself: a stream not pulled is a watcher not reading.


async def _first_listing(stream: AsyncIterator[bytes]) -> list[pb.WatchSessionsResponse]:
    received = []
    while True:
        message = pb.WatchSessionsResponse.FromString(await anext(stream))
        received.append(message)
        if message.HasField("caught_up"):
            return received


async def _create(backend: MemoryBackend, session_id: str) -> None:
    await backend.create_session(SessionKey(APP, USER, session_id), ScopedState(), 1.0, expiry=NEVER)


async def test_changes_of_one_session_fold_into_one_notice_while_the_watcher_does_not_read() -> None:
    backend = MemoryBackend()
    notices = SessionNotices(backend, response_bytes=1 << 20, pending_sessions=10)
    stream = notices.stream(APP, USER)
    await _first_listing(stream)
    await _create(backend, "a")
    for number in range(5):
        await backend.update_session(SessionKey(APP, USER, "a"), SessionUpdate(labels={"n": str(number)}))
    await _create(backend, "gone")
    await backend.delete_session(SessionKey(APP, USER, "gone"))
    await asyncio.sleep(0.05)  # the hub's reads
    message = pb.WatchSessionsResponse.FromString(await anext(stream))
    assert [(n.kind, n.session_id) for n in message.notices.notices] == [(CREATED, "a")]
    assert message.notices.notices[0].session.labels == {"n": "4"}
    assert inspect.isasyncgen(stream)
    await stream.aclose()


async def test_more_sessions_waiting_than_the_bound_ends_the_stream_too_slow() -> None:
    backend = MemoryBackend()
    notices = SessionNotices(backend, response_bytes=1 << 20, pending_sessions=3)
    stream = notices.stream(APP, USER)
    await _first_listing(stream)
    for number in range(4):
        await _create(backend, f"s{number}")
    await asyncio.sleep(0.05)  # the hub's reads
    with pytest.raises(SessionsWatcherTooSlowError):
        await anext(stream)


async def test_expiries_past_the_timers_kept_are_found_by_listing_the_user_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_notices, "_EXPIRY_TIMERS", 2)
    backend = MemoryBackend()
    now = time.time()
    for number in range(5):
        expiry = Expiry(now + 0.5 + 0.2 * number)
        await backend.create_session(SessionKey(APP, USER, f"s{number}"), ScopedState(), now, expiry=expiry)
    notices = SessionNotices(backend, response_bytes=1 << 20, pending_sessions=10)
    stream = notices.stream(APP, USER)
    await _first_listing(stream)
    expired: list[str] = []
    async with asyncio.timeout(20):
        while len(expired) < 5:
            message = pb.WatchSessionsResponse.FromString(await anext(stream))
            expired += [n.session_id for n in message.notices.notices if n.kind == EXPIRED]
    assert sorted(expired) == [f"s{n}" for n in range(5)]
    assert inspect.isasyncgen(stream)
    await stream.aclose()
