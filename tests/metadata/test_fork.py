"""ForkSession: a copy up to the end or to just before an invocation, with the state the source had there."""

from __future__ import annotations

import time
from typing import Any

import grpc
import pytest
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.session import Session

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.metadata.conftest import Serve

APP, USER = "app", "u1"
_DAY = 24 * 3600


async def _conversation(client: GrpcSessionService) -> Session:
    """A session created with state, then three invocations (two events each) changing it."""
    session = await client.create_session(
        app_name=APP, user_id=USER, session_id="src", state={"topic": "trains", "n": 0, "kept": [1, 2]}
    )
    deltas: list[dict[str, Any]] = [
        {"n": 1, "user:seen": 1},
        {"topic": "boats", "late": None},
        {"n": 2, "app:hits": 1},
        {"extra": {"deep": True}},
        {"n": 3, "topic": "planes"},
        {"n": 4},
    ]
    for number, delta in enumerate(deltas):
        event = Event(
            id=f"e{number}",
            invocation_id=f"inv{number // 2}",
            author="user" if number % 2 == 0 else "agent",
            actions=EventActions(state_delta=delta),
        )
        await client.append_event(session, event)
    return session


def _session_state(session: Session) -> dict[str, Any]:
    return {k: v for k, v in session.state.items() if not k.startswith(("app:", "user:"))}


async def _read(client: GrpcSessionService, session_id: str) -> Session:
    session = await client.get_session(app_name=APP, user_id=USER, session_id=session_id)
    assert session is not None
    return session


async def test_a_fork_at_the_end_copies_every_event_and_the_state(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await _conversation(client)
        source = await _read(client, "src")
        before = time.time()
        info = await client.fork_session(
            app_name=APP,
            user_id=USER,
            session_id="src",
            new_session_id="copy",
            display_name="Copy",
            labels={"f": "1"},
        )
        fork = await _read(client, "copy")
        assert [e.model_dump() for e in fork.events] == [e.model_dump() for e in source.events]
        assert fork.state == source.state
        assert (info.display_name, dict(info.labels), info.event_count, info.close_time) == (
            "Copy",
            {"f": "1"},
            6,
            None,
        )
        assert info.forked_from is not None
        assert (info.forked_from.session_id, info.forked_from.event_count) == ("src", 6)
        assert info.forked_from.before_invocation_id is None
        assert before - 1 <= info.forked_from.fork_time <= time.time() + 1
        source_info = await client.get_session_info(app_name=APP, user_id=USER, session_id="src")
        assert source_info is not None and info.revision != source_info.revision


async def test_a_fork_before_an_invocation_has_the_state_the_source_had_then(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await _conversation(client)
        source = await _read(client, "src")
        info = await client.fork_session(
            app_name=APP, user_id=USER, session_id="src", new_session_id="copy", before_invocation_id="inv1"
        )
        fork = await _read(client, "copy")
        assert [e.id for e in fork.events] == ["e0", "e1"]
        assert [e.model_dump() for e in fork.events] == [e.model_dump() for e in source.events[:2]]
        # The state after inv0: created with, then e0's and e1's deltas; keys set later are absent.
        assert _session_state(fork) == {"topic": "boats", "n": 1, "kept": [1, 2], "late": None}
        # App and user state are shared, as ever: as they are now.
        assert (fork.state["user:seen"], fork.state["app:hits"]) == (1, 1)
        assert info.event_count == 2
        assert info.forked_from is not None
        assert (info.forked_from.event_count, info.forked_from.before_invocation_id) == (2, "inv1")

        first = await client.fork_session(
            app_name=APP, user_id=USER, session_id="src", new_session_id="none", before_invocation_id="inv0"
        )
        assert first.event_count == 0
        assert _session_state(await _read(client, "none")) == {"topic": "trains", "n": 0, "kept": [1, 2]}


async def test_forking_leaves_the_source_unchanged_and_each_side_appends_alone(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await _conversation(client)
        source = await _read(client, "src")
        source_info = await client.get_session_info(app_name=APP, user_id=USER, session_id="src")
        await client.fork_session(
            app_name=APP, user_id=USER, session_id="src", new_session_id="copy", before_invocation_id="inv2"
        )
        assert await _read(client, "src") == source
        assert await client.get_session_info(app_name=APP, user_id=USER, session_id="src") == source_info

        fork = await _read(client, "copy")
        await client.append_event(
            fork, Event(id="f0", author="user", actions=EventActions(state_delta={"n": 9}))
        )
        # The fork holds e0..e3; an id the source has after the fork point is free in the fork.
        await client.append_event(
            fork, Event(id="e5", author="user", actions=EventActions(state_delta={"x": 1}))
        )
        assert await _read(client, "src") == source
        await client.append_event(
            source, Event(id="s6", author="user", actions=EventActions(state_delta={"n": 7}))
        )

        fork = await _read(client, "copy")
        assert [e.id for e in fork.events] == ["e0", "e1", "e2", "e3", "f0", "e5"]
        assert (fork.state["n"], fork.state["x"]) == (9, 1)
        source = await _read(client, "src")
        assert [e.id for e in source.events] == ["e0", "e1", "e2", "e3", "e4", "e5", "s6"]
        assert source.state["n"] == 7 and "x" not in source.state


async def test_a_fork_of_a_fork_keeps_the_state_at_each_point(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await _conversation(client)
        await client.fork_session(app_name=APP, user_id=USER, session_id="src", new_session_id="one")
        again = await client.fork_session(
            app_name=APP, user_id=USER, session_id="one", new_session_id="two", before_invocation_id="inv1"
        )
        assert again.forked_from is not None and again.forked_from.session_id == "one"
        assert _session_state(await _read(client, "two")) == {
            "topic": "boats",
            "n": 1,
            "kept": [1, 2],
            "late": None,
        }


async def test_a_fork_of_a_closed_session_is_open(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        source = await _conversation(client)
        await client.close_session(session=source)
        info = await client.fork_session(app_name=APP, user_id=USER, session_id="src", new_session_id="copy")
        assert info.close_time is None
        await client.append_event(await _read(client, "copy"), Event(author="user"))


async def test_fork_errors_name_what_is_wrong(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await _conversation(client)
        await client.create_session(app_name=APP, user_id=USER, session_id="taken")
        with pytest.raises(SessionNotFoundError):
            await client.fork_session(app_name=APP, user_id=USER, session_id="missing")
        with pytest.raises(SessionNotFoundError):
            await client.fork_session(app_name=APP, user_id="someone-else", session_id="src")
        with pytest.raises(AlreadyExistsError):
            await client.fork_session(app_name=APP, user_id=USER, session_id="src", new_session_id="taken")
        with pytest.raises(ValueError, match=r"^before_invocation_id: "):
            await client.fork_session(
                app_name=APP, user_id=USER, session_id="src", new_session_id="x", before_invocation_id="nope"
            )
        with pytest.raises(ValueError, match=r"^labels\['adk_x'\]: "):
            await client.fork_session(app_name=APP, user_id=USER, session_id="src", labels={"adk_x": "1"})
        ids = {s.id for s in (await client.list_sessions(app_name=APP, user_id=USER)).sessions}
        assert ids == {"src", "taken"}


async def test_a_fork_without_an_id_gets_one_and_the_server_default_ttl(serve: Serve) -> None:
    async with serve(session_ttl=3.0 * _DAY) as running, GrpcSessionService(running.address) as client:
        await _conversation(client)
        async with grpc.aio.insecure_channel(running.address) as channel:
            response = await pb_grpc.SessionServiceStub(channel).ForkSession(
                pb.ForkSessionRequest(app_name=APP, user_id=USER, session_id="src")
            )
        new_id = response.session.session_id
        assert new_id and new_id != "src"
        assert response.session.forked_from.session_id == "src"
        info = await client.get_session_info(app_name=APP, user_id=USER, session_id=new_id)
        assert info is not None and info.expire_time is not None
        assert info.expire_time == pytest.approx(time.time() + 3 * _DAY, abs=60)
        generated = await client.fork_session(app_name=APP, user_id=USER, session_id="src", ttl=5 * _DAY)
        assert generated.session_id not in ("src", new_id)
        assert generated.expire_time == pytest.approx(time.time() + 5 * _DAY, abs=60)
