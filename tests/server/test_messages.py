"""Responses encoded by hand decode to exactly the messages protobuf builds.

Each event's typed fields come from its wire cache when the cache is of this
version, else from its JSON: either way the response must be the message
built from the event's JSON, so a cache that is absent, of another version
or garbage is never what a client sees.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adk_grpc_sessions.server.api import messages, wire_cache
from adk_grpc_sessions.server.api.wire_encoding import varint
from adk_grpc_sessions.server.backends.base import (
    AppendResult,
    ForkOrigin,
    Metadata,
    NewEvent,
    ScopedState,
    SessionKey,
    SessionRecord,
    StoredEvent,
)
from adk_grpc_sessions.server.backends.event_json import parse_event
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire.timestamps import to_timestamp

texts = st.text(max_size=30)
state_maps = st.dictionaries(texts, st.sampled_from(["1", '"x"', "null", "[1,2]", '{"a":{}}']), max_size=3)
deltas = st.builds(ScopedState, app=state_maps, user=state_maps, session=state_maps)
ids = st.text(st.characters(categories=("L", "N")), min_size=1, max_size=20)
json_values: st.SearchStrategy[object] = st.sampled_from([1, "x", None, [1, 2], {"a": {}}, 2**63, 0.5])


def ordinary_event(event: NewEvent, sequence: int) -> pb.Event:
    """The ``Event`` message for ``event`` at ``sequence``, built by protobuf from its typed fields."""
    delta = event.state_delta
    return pb.Event(
        id=event.id,
        invocation_id=event.invocation_id,
        author=event.author,
        branch=event.branch,
        timestamp=to_timestamp(event.timestamp),
        state_delta=None
        if delta.is_empty()
        else pb.StateDelta(app=delta.app, user=delta.user, session=delta.session),
        sequence=sequence,
        event_json=event.event_json,
    )


@st.composite
def adk_events(draw: st.DrawFn) -> NewEvent:
    """An event as an append parses it from ADK's JSON (typed fields, state delta, free content)."""
    keys = st.text(st.characters(min_codepoint=0x61, max_codepoint=0x7A), min_size=1, max_size=8)
    prefixed = st.tuples(st.sampled_from(["", "app:", "user:"]), keys).map("".join)
    event = {
        "id": draw(ids),
        "invocationId": draw(texts),
        "author": draw(texts),
        "branch": draw(texts),
        "timestamp": draw(st.floats(min_value=0, max_value=4e9, allow_nan=False)),
        "content": {"parts": [{"text": draw(st.text(max_size=3000))}]},
        "actions": {"stateDelta": draw(st.dictionaries(prefixed, json_values, max_size=4))},
    }
    return parse_event(json.dumps(event))


def _stale(event: NewEvent) -> bytes:
    """A cache of another version whose bytes decode as a valid, but different, event."""
    other = NewEvent(
        id=event.id,
        invocation_id="stale",
        author="stale",
        branch="stale",
        timestamp=1.0,
        state_delta=ScopedState(),
        event_json=event.event_json,
    )
    return bytes((wire_cache.VERSION + 1,)) + wire_cache.typed_fields(other)


CACHES = ["this-version", "none", "older-version", "newer-version", "garbage"]


def stored_as(event: NewEvent, sequence: int, cache: str) -> StoredEvent:
    """``event`` as a backend returns it, its wire cache as ``cache`` names it."""
    wire_cache.attach(event)
    stored = event.stored_at(sequence)
    match cache:
        case "none":
            stored.wire_cache = b""
        case "older-version":
            stored.wire_cache = b"\x00" + _stale(event)[1:]
        case "newer-version":
            stored.wire_cache = _stale(event)
        case "garbage":
            stored.wire_cache = b"\xff\xfe not a cache at all"
    return stored


@st.composite
def stored_events(draw: st.DrawFn) -> tuple[StoredEvent, pb.Event]:
    """An event as a backend may return it (any state of its cache), and its ordinary message."""
    event = draw(adk_events())
    sequence = draw(st.integers(min_value=1, max_value=2**62))
    return stored_as(event, sequence, draw(st.sampled_from(CACHES))), ordinary_event(event, sequence)


def _session(events: list[StoredEvent], state: ScopedState, revision: int) -> SessionRecord:
    return SessionRecord(
        key=SessionKey("app", "user", "s"),
        state=state,
        events=events,
        create_time=1_700_000_000.5,
        last_update_time=1_800_000_000.25,
        revision=revision,
    )


@given(
    new=st.builds(
        NewEvent,
        id=texts,
        invocation_id=texts,
        author=texts,
        branch=texts,
        timestamp=st.floats(min_value=-62_135_596_800, max_value=253_402_300_799, allow_nan=False),
        state_delta=deltas,
        event_json=st.just("{}"),
    )
)
def test_event_fields_encoded_by_hand_decode_to_the_ordinary_message(new: NewEvent) -> None:
    ordinary = ordinary_event(new, 1)
    ordinary.ClearField("sequence")
    ordinary.ClearField("event_json")
    assert pb.Event.FromString(wire_cache.typed_fields(new)) == ordinary


@pytest.mark.parametrize("cache", CACHES)
def test_an_event_is_served_from_its_json_whatever_its_cache_holds(cache: str) -> None:
    event = parse_event(
        json.dumps(
            {
                "id": "e1",
                "invocationId": "i1",
                "author": "agent",
                "branch": "root.agent",
                "timestamp": 1_800_000_000.125,
                "actions": {"stateDelta": {"app:a": 1, "user:u": [1, 2], "s": {"x": None}}},
            }
        )
    )
    served = messages.event_message(stored_as(event, 7, cache))
    assert served == ordinary_event(event, 7)
    assert served.author == "agent"  # never the stale cache's "stale"


def test_a_cache_of_this_version_is_used_as_it_is_without_reading_the_json() -> None:
    # Reads must not rebuild what the cache holds (it exists for read speed):
    # a cache of this version is trusted, even over JSON it disagrees with.
    event = parse_event(json.dumps({"id": "e1", "author": "agent", "timestamp": 1.0}))
    stored = stored_as(event, 1, "this-version")
    stored.event_json = "not JSON: never parsed when the cache is of this version"
    assert messages.event_message(stored).author == "agent"


def test_a_stored_event_that_is_not_adk_json_and_has_no_usable_cache_is_an_error() -> None:
    stored = StoredEvent(id="e1", sequence=1, event_json="[]", wire_cache=b"")
    with pytest.raises(ValueError, match="stored event 'e1' is not an ADK event"):
        messages.event_message(stored)


@given(events=st.lists(stored_events(), max_size=8), state=deltas, revision=st.integers(1, 2**62))
def test_get_session_response_decodes_to_the_ordinary_message(
    events: list[tuple[StoredEvent, pb.Event]], state: ScopedState, revision: int
) -> None:
    returned = _session([e for e, _ in events], state, revision)
    decoded = pb.GetSessionResponse.FromString(messages.get_session_response(returned).data)
    ordinary = messages.session_message(_session([], state, revision))
    ordinary.events.extend(message for _, message in events)
    assert decoded == pb.GetSessionResponse(session=ordinary)
    assert messages.session_message(returned) == ordinary


@given(events=st.lists(stored_events(), max_size=8), token=st.text(max_size=200))
def test_list_events_response_decodes_to_the_ordinary_message(
    events: list[tuple[StoredEvent, pb.Event]], token: str
) -> None:
    decoded = pb.ListEventsResponse.FromString(
        messages.list_events_response([e for e, _ in events], token).data
    )
    assert decoded == pb.ListEventsResponse(events=[message for _, message in events], next_page_token=token)


@given(
    event=stored_events(),
    revision=st.integers(1, 2**62),
    updated=st.floats(min_value=0, max_value=4e9, allow_nan=False),
    already_applied=st.booleans(),
)
def test_append_event_response_decodes_to_the_ordinary_message(
    event: tuple[StoredEvent, pb.Event], revision: int, updated: float, already_applied: bool
) -> None:
    returned, ordinary = event
    result = AppendResult(
        event=returned, revision=revision, last_update_time=updated, already_applied=already_applied
    )
    decoded = pb.AppendEventResponse.FromString(messages.append_event_response(result).data)
    assert decoded == pb.AppendEventResponse(
        event=ordinary,
        revision=revision,
        last_update_time=to_timestamp(updated),
        already_applied=already_applied,
    )


@given(event=adk_events())
def test_an_events_size_bounds_what_its_message_takes_with_any_sequence(event: NewEvent) -> None:
    # Counted with a sequence of ten bytes; the largest sequence takes nine.
    wire_cache.attach(event)
    largest = len(pb.ListEventsResponse(events=[ordinary_event(event, 2**63 - 1)]).SerializeToString())
    assert largest <= event.size <= largest + 2


@given(value=st.integers(min_value=1, max_value=2**63 - 1))
def test_varint_matches_protobuf(value: int) -> None:
    # Event.sequence (field 7, int64) encodes as its one-byte key, then the varint.
    assert varint(value) == pb.Event(sequence=value).SerializeToString()[1:]


@pytest.mark.parametrize("bits", range(1, 64))
def test_varint_matches_protobuf_on_each_side_of_a_length_change(bits: int) -> None:
    # varint is unrolled by length; every boundary between two lengths is checked.
    for value in (2**bits - 1, 2**bits):
        if value < 2**63:
            assert varint(value) == pb.Event(sequence=value).SerializeToString()[1:]


names = st.text(max_size=12)
times = st.floats(min_value=-62_135_596_800, max_value=253_402_300_799, allow_nan=False)


@st.composite
def session_pages(draw: st.DrawFn, state_maps: st.SearchStrategy[dict[str, str]]) -> list[SessionRecord]:
    """A page of sessions whose app state (and each user's state) is one shared dictionary, as a backend gives it."""
    app_state = draw(state_maps)
    users = draw(st.dictionaries(names, state_maps, min_size=1, max_size=3))
    return [
        SessionRecord(
            key=SessionKey(draw(names), user_id, draw(names)),
            state=ScopedState(app=app_state, user=users[user_id], session=draw(state_maps)),
            events=(),
            create_time=draw(times),
            last_update_time=draw(times),
            revision=draw(st.integers(-(2**63), 2**63 - 1)),
            # At most one label: protobuf's own encoding of a map has no set order beyond that.
            metadata=Metadata(draw(names), draw(st.dictionaries(names, names, max_size=1))),
            event_count=draw(st.none() | st.integers(0, 2**63 - 1)),
            stored_bytes=draw(st.none() | st.integers(0, 2**63 - 1)),
            forked_from=draw(
                st.none() | st.builds(ForkOrigin, names, st.integers(0, 2**63 - 1), names, times)
            ),
        )
        for user_id in draw(st.lists(st.sampled_from(sorted(users)), max_size=6))
    ]


@given(page=session_pages(state_maps), token=st.text(max_size=200))
def test_list_sessions_response_decodes_to_the_ordinary_message(
    page: list[SessionRecord], token: str
) -> None:
    decoded = pb.ListSessionsResponse.FromString(messages.list_sessions_response(page, token).data)
    assert decoded == pb.ListSessionsResponse(
        sessions=[messages.session_message(s) for s in page], next_page_token=token
    )


@given(page=session_pages(st.dictionaries(texts, st.just("1"), max_size=1)), token=st.text(max_size=20))
def test_list_sessions_response_is_byte_for_byte_the_ordinary_encoding(
    page: list[SessionRecord], token: str
) -> None:
    # With at most one entry per map, protobuf's own encoding has a single
    # order of fields, so the two must agree byte for byte: empty states,
    # zero times and revisions, negative times all encoded as protobuf does.
    ordinary = pb.ListSessionsResponse(
        sessions=[messages.session_message(s) for s in page], next_page_token=token
    )
    assert messages.list_sessions_response(page, token).data == ordinary.SerializeToString()
