"""Decoded events are reused between reads, but never when the stored JSON differs, and within a budget."""

from __future__ import annotations

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.client.event_cache import EventCache
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from tests.conftest import StartServer


def _message(event: Event) -> pb.Event:
    return pb.Event(id=event.id, event_json=event.model_dump_json(by_alias=True, exclude_none=True))


def test_same_event_is_decoded_once_and_shared() -> None:
    cache = EventCache(1024 * 1024)
    event = Event(author="user", timestamp=1_800_000_000.0)
    first = cache.decode(("a", "u", "s"), [_message(event)])
    second = cache.decode(("a", "u", "s"), [_message(event)])
    assert first == [event]
    assert second[0] is first[0]


def test_different_json_under_the_same_id_is_decoded_afresh() -> None:
    cache = EventCache(1024 * 1024)
    event = Event(author="user", timestamp=1_800_000_000.0)
    cache.decode(("a", "u", "s"), [_message(event)])
    changed = event.model_copy(update={"author": "someone else"})
    (decoded,) = cache.decode(("a", "u", "s"), [_message(changed)])
    assert decoded.author == "someone else"


def test_sessions_do_not_share_entries() -> None:
    cache = EventCache(1024 * 1024)
    event = Event(author="user", timestamp=1_800_000_000.0)
    (one,) = cache.decode(("a", "u", "s1"), [_message(event)])
    (other,) = cache.decode(("a", "u", "s2"), [_message(event)])
    assert one == other
    assert one is not other


def test_budget_evicts_least_recently_used_and_zero_disables() -> None:
    events = [Event(author="user", timestamp=1_800_000_000.0 + i) for i in range(4)]
    cache = EventCache(3 * (6 * 1024 + 400))
    decoded = cache.decode(("a", "u", "s"), [_message(e) for e in events])
    again = cache.decode(("a", "u", "s"), [_message(e) for e in events])
    assert again[0] is not decoded[0], "the oldest entry was evicted"
    assert again[3] is decoded[3]
    off = EventCache(0)
    assert (
        off.decode(("a", "u", "s"), [_message(events[0])])[0]
        is not off.decode(("a", "u", "s"), [_message(events[0])])[0]
    )


async def test_reads_through_the_client_return_fresh_sessions(
    grpc_server: StartServer, app_name: str
) -> None:
    async with GrpcSessionService(await grpc_server("memory://")) as client:
        session = await client.create_session(app_name=app_name, user_id="u1")
        await client.append_event(session, Event(author="user", actions=EventActions(state_delta={"k": 1})))
        first = await client.get_session(app_name=app_name, user_id="u1", session_id=session.id)
        second = await client.get_session(app_name=app_name, user_id="u1", session_id=session.id)
        assert first is not None and second is not None
        assert first.events is not second.events
        assert first.state is not second.state
        first.events.append(Event(author="intruder"))
        first.state["k"] = 99
        third = await client.get_session(app_name=app_name, user_id="u1", session_id=session.id)
        assert third is not None
        assert len(third.events) == 1 and third.state == {"k": 1}
