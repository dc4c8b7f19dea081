"""A session larger than a response is served in parts, every response within the message limit, and
the Python client reads it whole, byte for byte: on every backend.

The raw stubs here keep gRPC's default receive limit of 4 MiB, the server's
message limit in these tests: a response over it fails the call.
"""

from __future__ import annotations

import json

import grpc
import pytest
from google.adk.events.event import Event
from google.adk.sessions.base_session_service import GetSessionConfig
from google.genai import types

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.client.conversions import event_json
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire.timestamps import to_timestamp
from tests.limits.conftest import BACKEND_KINDS, MESSAGE_LIMIT, LimitedServer, StartLimited

EVENT_TEXT = 700_000
"""Bytes of text per event: eight events take about 5.6 MB, more than one 4 MiB response."""
EVENTS = 8
APP = "app"
USER = "u"

VERTEX_ORDERED_READS = pytest.mark.xfail(
    strict=True,
    reason="on Vertex AI Agent Engine the rest of a read is listed by timestamp from where the read "
    "stopped: events appended since, with later timestamps, are included (backends/vertex, 8)",
)


def big_event(number: int) -> Event:
    return Event(
        id=f"e{number:02d}",
        invocation_id=f"inv-{number}",
        author="agent",
        timestamp=1_800_000_000.0 + number,
        content=types.Content(role="model", parts=[types.Part(text=f"{number % 10}" * EVENT_TEXT)]),
    )


async def grown_session(server: LimitedServer, count: int = EVENTS) -> tuple[str, list[Event]]:
    """A session of ``count`` big events, appended through the client; its id and the events."""
    async with GrpcSessionService(server.address) as client:
        session = await client.create_session(app_name=APP, user_id=USER)
        appended = [big_event(n) for n in range(count)]
        for event in appended:
            await client.append_event(session, event)
    return session.id, appended


async def all_parts(server: LimitedServer, first: pb.GetSessionResponse, session_id: str) -> list[pb.Event]:
    """The events of a GetSession and of every ListEvents page its token leads to, each within the limit."""
    events = list(first.session.events)
    token = first.next_events_page_token
    while token:
        page = await server.stub.ListEvents(
            pb.ListEventsRequest(app_name=APP, user_id=USER, session_id=session_id, page_token=token)
        )
        assert 0 < page.ByteSize() <= MESSAGE_LIMIT
        assert page.events, "a page holds at least one event while any remain"
        events.extend(page.events)
        token = page.next_page_token
    return events


@pytest.mark.parametrize("kind", BACKEND_KINDS)
async def test_get_session_of_a_session_larger_than_a_response_is_served_in_parts(
    kind: str, start_limited: StartLimited
) -> None:
    server = await start_limited(kind)
    session_id, appended = await grown_session(server)

    first = await server.stub.GetSession(
        pb.GetSessionRequest(app_name=APP, user_id=USER, session_id=session_id)
    )

    assert first.ByteSize() <= MESSAGE_LIMIT
    assert 0 < len(first.session.events) < EVENTS
    assert first.next_events_page_token
    events = await all_parts(server, first, session_id)
    assert [e.event_json for e in events] == [event_json(e) for e in appended], "every event, byte for byte"
    assert [e.sequence for e in events] == list(range(1, EVENTS + 1))


@pytest.mark.parametrize("kind", BACKEND_KINDS)
async def test_the_python_client_reads_a_session_larger_than_a_response_whole(
    kind: str, start_limited: StartLimited
) -> None:
    server = await start_limited(kind)
    session_id, appended = await grown_session(server)
    async with GrpcSessionService(server.address) as client:
        read = await client.get_session(app_name=APP, user_id=USER, session_id=session_id)
        assert read is not None
        assert read.events == appended
        assert [event_json(e) for e in read.events] == [event_json(e) for e in appended]
        # Read whole, it is current: an append through it is not stale.
        await client.append_event(read, Event(id="last", author="user", timestamp=1_900_000_000.0))
        again = await client.get_session(app_name=APP, user_id=USER, session_id=session_id)
        assert again is not None and [e.id for e in again.events] == [*(e.id for e in appended), "last"]


@pytest.mark.parametrize("kind", BACKEND_KINDS)
async def test_a_default_list_events_page_stays_within_the_message_limit(
    kind: str, start_limited: StartLimited
) -> None:
    server = await start_limited(kind)
    session_id, appended = await grown_session(server)
    listed: list[pb.Event] = []
    token = ""
    while True:
        page = await server.stub.ListEvents(
            pb.ListEventsRequest(app_name=APP, user_id=USER, session_id=session_id, page_token=token)
        )
        assert page.ByteSize() <= MESSAGE_LIMIT
        assert page.events
        listed.extend(page.events)
        token = page.next_page_token
        if not token:
            break
    assert len(listed) == EVENTS, "pages of fewer than page_size events, as many as it takes"
    assert [e.event_json for e in listed] == [event_json(e) for e in appended]


@pytest.mark.parametrize("kind", BACKEND_KINDS)
async def test_the_last_events_and_those_after_a_time_are_read_whole_in_parts(
    kind: str, start_limited: StartLimited
) -> None:
    server = await start_limited(kind)
    session_id, appended = await grown_session(server)
    async with GrpcSessionService(server.address) as client:
        recent = await client.get_session(
            app_name=APP, user_id=USER, session_id=session_id, config=GetSessionConfig(num_recent_events=7)
        )
        after = await client.get_session(
            app_name=APP,
            user_id=USER,
            session_id=session_id,
            config=GetSessionConfig(after_timestamp=appended[2].timestamp),
        )
    assert recent is not None and recent.events == appended[-7:]
    assert after is not None and after.events == appended[2:]


@pytest.mark.parametrize("kind", BACKEND_KINDS)
async def test_list_sessions_pages_of_sessions_with_large_state_stay_within_the_message_limit(
    kind: str, start_limited: StartLimited
) -> None:
    server = await start_limited(kind)
    big = "x" * 900_000  # with the user's, a session's state takes 1.8 MB: two fit in a response
    async with GrpcSessionService(server.address) as client:
        created = [
            await client.create_session(
                app_name=APP, user_id=USER, state={"own": f"{n}{big}", "user:shared": big}
            )
            for n in range(6)
        ]
        pages = 0
        token = ""
        while True:
            page = await server.stub.ListSessions(pb.ListSessionsRequest(app_name=APP, page_token=token))
            assert page.ByteSize() <= MESSAGE_LIMIT
            assert 0 < len(page.sessions) < len(created)
            pages += 1
            token = page.next_page_token
            if not token:
                break
        listed = (await client.list_sessions(app_name=APP, user_id=USER)).sessions
    assert pages > 1
    assert sorted(s.id for s in listed) == sorted(s.id for s in created)
    assert all(s.state["own"][1:] == big and s.state["user:shared"] == big for s in listed)


@pytest.mark.parametrize(
    "kind",
    [*(k for k in BACKEND_KINDS if k != "vertex"), pytest.param("vertex", marks=VERTEX_ORDERED_READS)],
)
async def test_the_rest_of_a_read_is_that_reads_selection_not_what_was_appended_since(
    kind: str, start_limited: StartLimited
) -> None:
    server = await start_limited(kind)
    session_id, appended = await grown_session(server)
    first = await server.stub.GetSession(
        pb.GetSessionRequest(app_name=APP, user_id=USER, session_id=session_id)
    )
    async with GrpcSessionService(server.address) as client:
        current = await client.get_session(app_name=APP, user_id=USER, session_id=session_id)
        assert current is not None
        await client.append_event(current, big_event(EVENTS))
    events = await all_parts(server, first, session_id)
    assert [e.event_json for e in events] == [event_json(e) for e in appended]


@pytest.mark.parametrize("kind", BACKEND_KINDS)
async def test_the_rest_of_a_read_of_a_session_since_deleted_and_created_again_is_not_found(
    kind: str, start_limited: StartLimited
) -> None:
    server = await start_limited(kind)
    session_id, _ = await grown_session(server)
    first = await server.stub.GetSession(
        pb.GetSessionRequest(app_name=APP, user_id=USER, session_id=session_id)
    )
    async with GrpcSessionService(server.address) as client:
        await client.delete_session(app_name=APP, user_id=USER, session_id=session_id)
        await client.create_session(app_name=APP, user_id=USER, session_id=session_id)
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await all_parts(server, first, session_id)
    assert failed.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_the_rest_of_a_read_is_listed_only_for_its_own_session_and_selection(
    kind: str, start_limited: StartLimited
) -> None:
    server = await start_limited(kind)
    session_id, _ = await grown_session(server)
    first = await server.stub.GetSession(
        pb.GetSessionRequest(app_name=APP, user_id=USER, session_id=session_id)
    )
    token = first.next_events_page_token
    wrong = [
        pb.ListEventsRequest(app_name=APP, user_id=USER, session_id="other", page_token=token),
        pb.ListEventsRequest(
            app_name=APP,
            user_id=USER,
            session_id=session_id,
            page_token=token,
            after_timestamp=to_timestamp(1_800_000_000.0),
        ),
        pb.ListEventsRequest(app_name=APP, user_id=USER, session_id=session_id, page_token=token[:-2]),
    ]
    for request in wrong:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await server.stub.ListEvents(request)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, json.dumps(str(request)[:200])
