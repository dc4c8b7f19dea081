"""Expiry: set at create (ttl, expire_time, the server's default), sliding, changed later; gone at once."""

from __future__ import annotations

import time

import pytest
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions

from adk_grpc_sessions.client import GrpcSessionService
from tests.lifecycle.conftest import Serve, eventually

APP, USER = "app", "u1"
_DAY = 24 * 3600  # Agent Engine's least ttl: a case about something else than expiring uses longer ones


async def _gone(client: GrpcSessionService, session_id: str) -> bool:
    return await client.get_session(app_name=APP, user_id=USER, session_id=session_id) is None


async def test_an_expired_session_is_gone_for_every_call_before_it_is_purged(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await client.create_session(app_name=APP, user_id=USER, session_id="s1", ttl=1)
        kept = await client.create_session(app_name=APP, user_id=USER, session_id="kept")
        info = await client.get_session_info(app_name=APP, user_id=USER, session_id="s1")
        assert info is not None and info.expire_time is not None
        assert info.expire_time == pytest.approx(time.time() + 1, abs=1.0)

        await eventually(lambda: _gone(client, "s1"))

        listed = await client.list_sessions(app_name=APP, user_id=USER)
        assert [s.id for s in listed.sessions] == [kept.id]
        assert [s.id for s in (await client.list_sessions(app_name=APP)).sessions] == [kept.id]
        with pytest.raises(SessionNotFoundError):
            await client.append_event(session, Event(author="user"))
        with pytest.raises(SessionNotFoundError):
            await client.list_events(app_name=APP, user_id=USER, session_id="s1")
        with pytest.raises(SessionNotFoundError):
            await client.close_session(session=session)
        # Not purged (the sweeper is idle): invisible is the API's doing, not storage's.
        assert running.storage.session_ids(APP, USER) == {"s1", "kept"}


async def test_a_session_created_with_expire_time_reports_it_and_expires_then(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        at = time.time() + 1.5
        await client.create_session(app_name=APP, user_id=USER, session_id="s1", expire_time=at)
        info = await client.get_session_info(app_name=APP, user_id=USER, session_id="s1")
        assert info is not None and info.expire_time == pytest.approx(at, abs=1e-6)
        await eventually(lambda: _gone(client, "s1"))
        assert time.time() >= at


async def test_a_session_created_without_expiry_never_expires_by_default(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await client.create_session(app_name=APP, user_id=USER, session_id="s1")
        info = await client.get_session_info(app_name=APP, user_id=USER, session_id="s1")
        assert info is not None and info.expire_time is None and info.close_time is None


async def test_the_server_default_ttl_applies_to_sessions_created_without_one(serve: Serve) -> None:
    async with serve(session_ttl=1.0) as running, GrpcSessionService(running.address) as client:
        await client.create_session(app_name=APP, user_id=USER, session_id="default")
        await client.create_session(app_name=APP, user_id=USER, session_id="own", ttl=3600)
        default = await client.get_session_info(app_name=APP, user_id=USER, session_id="default")
        own = await client.get_session_info(app_name=APP, user_id=USER, session_id="own")
        assert default is not None and default.expire_time is not None
        assert own is not None and own.expire_time is not None
        assert own.expire_time - default.expire_time == pytest.approx(3599, abs=5)
        await eventually(lambda: _gone(client, "default"))
        assert not await _gone(client, "own")


async def _append_for(client: GrpcSessionService, session_id: str, seconds: float) -> None:
    """Appends every 0.2 s for ``seconds``, reading the session back each time."""
    session = await client.get_session(app_name=APP, user_id=USER, session_id=session_id)
    assert session is not None
    until = time.monotonic() + seconds
    n = 0
    while time.monotonic() < until:
        n += 1
        await client.append_event(session, Event(author="user", actions=EventActions(state_delta={"n": n})))
        await eventually(lambda: _slept(0.2))


async def _slept(seconds: float, started: list[float] = []) -> bool:  # noqa: B006 - a timer shared on purpose
    """True once ``seconds`` have passed since the first call of a wait (a wait that polls, not sleeps)."""
    now = time.monotonic()
    if not started:
        started.append(now)
    if now - started[0] >= seconds:
        started.clear()
        return True
    return False


async def test_sliding_ttl_keeps_a_session_in_use_and_expires_it_once_idle(serve: Serve) -> None:
    async with (
        serve(session_ttl_refresh_on_append=True) as running,
        GrpcSessionService(running.address) as client,
    ):
        await client.create_session(app_name=APP, user_id=USER, session_id="s1", ttl=1.5)
        before = await client.get_session_info(app_name=APP, user_id=USER, session_id="s1")
        await _append_for(client, "s1", 3.0)  # twice its ttl: alive only if appends moved its expiry
        after = await client.get_session_info(app_name=APP, user_id=USER, session_id="s1")
        assert before is not None and after is not None
        assert after.expire_time is not None and before.expire_time is not None
        assert after.expire_time > before.expire_time + 1
        await eventually(lambda: _gone(client, "s1"))


async def test_without_refresh_on_append_appends_do_not_move_the_expiry(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await client.create_session(app_name=APP, user_id=USER, session_id="s1", ttl=7 * _DAY)
        before = await client.get_session_info(app_name=APP, user_id=USER, session_id="s1")
        session = await client.get_session(app_name=APP, user_id=USER, session_id="s1")
        assert session is not None
        await client.append_event(session, Event(author="user"))
        after = await client.get_session_info(app_name=APP, user_id=USER, session_id="s1")
        assert before is not None and after is not None and after.expire_time == before.expire_time


async def test_update_session_sets_an_expiry_without_changing_the_revision(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await client.create_session(app_name=APP, user_id=USER, session_id="s1")
        at = time.time() + 2 * _DAY
        info = await client.set_session_expiry(app_name=APP, user_id=USER, session_id="s1", expire_time=at)
        assert info.expire_time == pytest.approx(at, abs=1e-6)
        info = await client.set_session_expiry(app_name=APP, user_id=USER, session_id="s1", ttl=3 * _DAY)
        assert info.expire_time == pytest.approx(time.time() + 3 * _DAY, abs=5)
        # The session read before the updates is still current: appending through it works.
        await client.append_event(session, Event(author="user"))


async def test_update_session_removes_an_expiry(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await client.create_session(app_name=APP, user_id=USER, session_id="s1", ttl=2 * _DAY)
        info = await client.set_session_expiry(app_name=APP, user_id=USER, session_id="s1")
        assert info.expire_time is None


async def test_update_session_can_expire_a_session_soon(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await client.create_session(app_name=APP, user_id=USER, session_id="s1")
        await client.set_session_expiry(app_name=APP, user_id=USER, session_id="s1", ttl=0.5)
        await eventually(lambda: _gone(client, "s1"))
        with pytest.raises(SessionNotFoundError):
            await client.set_session_expiry(app_name=APP, user_id=USER, session_id="s1", ttl=60)


async def test_an_expired_session_s_id_can_be_taken_by_a_new_session_with_new_revisions(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        old = await client.create_session(
            app_name=APP, user_id=USER, session_id="s1", state={"k": "old"}, ttl=1
        )
        await client.append_event(old, Event(author="user"))
        old_revision = (await client.get_session_info(app_name=APP, user_id=USER, session_id="s1")).revision  # type: ignore[union-attr]
        await eventually(lambda: _gone(client, "s1"))
        new = await client.create_session(app_name=APP, user_id=USER, session_id="s1")
        assert new.state == {} and new.events == []
        info = await client.get_session_info(app_name=APP, user_id=USER, session_id="s1")
        assert info is not None and info.expire_time is None and info.revision != old_revision
        assert running.storage.rows_of_user(APP, USER)["events"] == 0


async def test_the_server_default_ttl_slides_too(serve: Serve) -> None:
    async with (
        serve(session_ttl=1.5, session_ttl_refresh_on_append=True) as running,
        GrpcSessionService(running.address) as client,
    ):
        await client.create_session(app_name=APP, user_id=USER, session_id="s1")
        await _append_for(client, "s1", 3.0)
        assert not await _gone(client, "s1")
        await eventually(lambda: _gone(client, "s1"))
