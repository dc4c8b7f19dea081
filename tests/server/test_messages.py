"""Responses encoded by hand decode to exactly the messages the ordinary path builds."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adk_grpc_sessions.server.api import messages
from adk_grpc_sessions.server.backends.base import (
    AppendResult,
    EncodedEvent,
    EventRecord,
    NewEvent,
    ScopedState,
    SessionKey,
    SessionRecord,
    StoredEvent,
)
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire.timestamps import to_timestamp

texts = st.text(max_size=30)
state_maps = st.dictionaries(texts, st.sampled_from(["1", '"x"', "null", "[1,2]", '{"a":{}}']), max_size=3)
deltas = st.builds(ScopedState, app=state_maps, user=state_maps, session=state_maps)


@st.composite
def stored_events(draw: st.DrawFn) -> tuple[StoredEvent, EventRecord]:
    """An event as a backend may return it (whole, whole with its encoding, or encoded only), and in full."""
    new = NewEvent(
        id=draw(texts.filter(bool)),
        invocation_id=draw(texts),
        author=draw(texts),
        branch=draw(texts),
        timestamp=draw(st.floats(min_value=0, max_value=4e9, allow_nan=False)),
        state_delta=draw(deltas),
        event_json=draw(st.text(max_size=3000)),
    )
    full = new.stored_at(draw(st.integers(min_value=1, max_value=2**62)))
    encoded = messages.encode_event_fields(new)
    forms: list[StoredEvent] = [
        full,
        dataclasses.replace(full, encoded_fields=encoded),
        EncodedEvent(id=new.id, sequence=full.sequence, event_json=new.event_json, encoded_fields=encoded),
    ]
    returned = draw(st.sampled_from(forms))
    return returned, full


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
    ordinary = messages.event_message(new.stored_at(1))
    ordinary.ClearField("sequence")
    ordinary.ClearField("event_json")
    assert pb.Event.FromString(messages.encode_event_fields(new)) == ordinary


@given(events=st.lists(stored_events(), max_size=8), state=deltas, revision=st.integers(1, 2**62))
def test_get_session_response_decodes_to_the_ordinary_message(
    events: list[tuple[StoredEvent, EventRecord]], state: ScopedState, revision: int
) -> None:
    returned = _session([e for e, _ in events], state, revision)
    decoded = pb.GetSessionResponse.FromString(messages.get_session_response(returned).data)
    ordinary = messages.session_message(_session([full for _, full in events], state, revision))
    assert decoded == pb.GetSessionResponse(session=ordinary)
    assert messages.session_message(returned) == ordinary


@given(events=st.lists(stored_events(), max_size=8), token=st.text(max_size=200))
def test_list_events_response_decodes_to_the_ordinary_message(
    events: list[tuple[StoredEvent, EventRecord]], token: str
) -> None:
    decoded = pb.ListEventsResponse.FromString(
        messages.list_events_response([e for e, _ in events], token).data
    )
    assert decoded == pb.ListEventsResponse(
        events=[messages.event_message(full) for _, full in events], next_page_token=token
    )


@given(
    event=stored_events().filter(lambda pair: isinstance(pair[0], EventRecord)),
    revision=st.integers(1, 2**62),
    updated=st.floats(min_value=0, max_value=4e9, allow_nan=False),
    already_applied=st.booleans(),
)
def test_append_event_response_decodes_to_the_ordinary_message(
    event: tuple[EventRecord, EventRecord], revision: int, updated: float, already_applied: bool
) -> None:
    returned, full = event
    result = AppendResult(
        event=returned, revision=revision, last_update_time=updated, already_applied=already_applied
    )
    decoded = pb.AppendEventResponse.FromString(messages.append_event_response(result).data)
    assert decoded == pb.AppendEventResponse(
        event=messages.event_message(full),
        revision=revision,
        last_update_time=to_timestamp(updated),
        already_applied=already_applied,
    )


@given(value=st.integers(min_value=1, max_value=2**63 - 1))
def test_varint_matches_protobuf(value: int) -> None:
    # Event.sequence (field 7, int64) encodes as its one-byte key, then the varint.
    assert messages.varint(value) == pb.Event(sequence=value).SerializeToString()[1:]


@pytest.mark.parametrize("bits", range(1, 64))
def test_varint_matches_protobuf_on_each_side_of_a_length_change(bits: int) -> None:
    # varint is unrolled by length; every boundary between two lengths is checked.
    for value in (2**bits - 1, 2**bits):
        if value < 2**63:
            assert messages.varint(value) == pb.Event(sequence=value).SerializeToString()[1:]


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
