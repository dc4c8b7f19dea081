"""An event whose stored wire cache is absent, of another version or garbage is served exactly as a fresh one.

A real server on a real SQLite file: events are appended through it, their
stored caches are then rewritten in the file behind its back, and every read
must still answer what it answered before, rebuilt from each event's JSON.
"""

from __future__ import annotations

import json
import pathlib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from adk_grpc_sessions.server.api import wire_cache
from adk_grpc_sessions.server.backends.base import NewEvent, ScopedState
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc

NAME: dict[str, Any] = {"app_name": "app", "user_id": "u", "session_id": "s"}


@dataclass
class Served:
    stub: pb_grpc.SessionServiceAsyncStub
    database: pathlib.Path


@pytest.fixture
async def served(tmp_path: pathlib.Path) -> AsyncIterator[Served]:
    database = tmp_path / "sessions.db"
    server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend=f"sqlite:///{database}"))
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.ports[0]}") as channel:
            yield Served(pb_grpc.SessionServiceStub(channel), database)
    finally:
        await server.stop(grace=0)


async def _append_events(stub: pb_grpc.SessionServiceAsyncStub, count: int) -> None:
    revision = (await stub.CreateSession(pb.CreateSessionRequest(**NAME))).session.revision
    for number in range(count):
        event = {
            "id": f"e{number}",
            "invocationId": f"inv-{number}",
            "author": "agent",
            "branch": "root.agent",
            "timestamp": 1_800_000_000.125 + number,
            "content": {"parts": [{"text": f"event {number}"}]},
            "actions": {"stateDelta": {"app:a": number, "user:u": [number], "s": {"n": number}}},
        }
        appended = await stub.AppendEvent(
            pb.AppendEventRequest(**NAME, event_json=json.dumps(event), expected_revision=revision)
        )
        revision = appended.revision


def _stale_cache(event_id: str) -> bytes:
    """What an older wire form might have cached: a valid encoding of other fields, under version 0."""
    other = NewEvent(
        id=event_id,
        invocation_id="stale",
        author="stale",
        branch="stale",
        timestamp=1.0,
        state_delta=ScopedState(session={"stale": "1"}),
        event_json="{}",
    )
    return b"\x00" + wire_cache.typed_fields(other)


def _set_caches(database: pathlib.Path, caches: dict[str, bytes | None]) -> None:
    with sqlite3.connect(database) as connection:
        for event_id, cache in caches.items():
            changed = connection.execute(
                "UPDATE ags_events SET wire_cache = ? WHERE event_id = ?", (cache, event_id)
            ).rowcount
            assert changed == 1


async def _reads(stub: pb_grpc.SessionServiceAsyncStub) -> tuple[pb.Session, list[pb.Event]]:
    session = (await stub.GetSession(pb.GetSessionRequest(**NAME))).session
    listed: list[pb.Event] = []
    token = ""
    while True:
        page = await stub.ListEvents(pb.ListEventsRequest(**NAME, page_size=2, page_token=token))
        listed += page.events
        token = page.next_page_token
        if not token:
            return session, listed


async def test_events_with_an_absent_stale_or_garbage_cache_are_served_as_fresh_ones(served: Served) -> None:
    await _append_events(served.stub, 5)
    fresh_session, fresh_events = await _reads(served.stub)
    assert [e.author for e in fresh_session.events] == ["agent"] * 5
    _set_caches(
        served.database,
        {
            "e0": None,
            "e1": b"",
            "e2": _stale_cache("e2"),
            "e3": b"\xff\xfe not a cache at all",
            # e4 keeps the cache its append made.
        },
    )
    session, events = await _reads(served.stub)
    assert session == fresh_session
    assert events == fresh_events == list(fresh_session.events)


async def test_a_retried_append_of_an_event_with_a_stale_cache_answers_the_fresh_event(
    served: Served,
) -> None:
    await _append_events(served.stub, 1)
    fresh = (await served.stub.GetSession(pb.GetSessionRequest(**NAME))).session
    _set_caches(served.database, {"e0": _stale_cache("e0")})
    retried = await served.stub.AppendEvent(
        pb.AppendEventRequest(**NAME, event_json=fresh.events[0].event_json, expected_revision=1)
    )
    assert retried.already_applied
    assert retried.event == fresh.events[0]
