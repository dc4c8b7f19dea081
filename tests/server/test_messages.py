"""Responses encoded by hand decode to exactly the messages the ordinary path builds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adk_grpc_sessions.server import messages
from adk_grpc_sessions.server.backends.base import (
    EventRecord,
    NewEvent,
    ScopedState,
    SessionKey,
    SessionRecord,
)
from adk_grpc_sessions.v1 import session_service_pb2 as pb

texts = st.text(max_size=30)
state_maps = st.dictionaries(texts, st.sampled_from(["1", '"x"', "null", "[1,2]", '{"a":{}}']), max_size=3)
deltas = st.builds(ScopedState, app=state_maps, user=state_maps, session=state_maps)


@st.composite
def event_records(draw: st.DrawFn) -> EventRecord:
    new = NewEvent(
        id=draw(texts.filter(bool)),
        invocation_id=draw(texts),
        author=draw(texts),
        branch=draw(texts),
        timestamp=draw(st.floats(min_value=0, max_value=4e9, allow_nan=False)),
        state_delta=draw(deltas),
        event_json=draw(st.text(max_size=3000)),
    )
    encoded = messages.encode_event_fields(new) if draw(st.booleans()) else b""
    return EventRecord(
        id=new.id,
        invocation_id=new.invocation_id,
        author=new.author,
        branch=new.branch,
        timestamp=new.timestamp,
        state_delta=new.state_delta,
        event_json=new.event_json,
        sequence=draw(st.integers(min_value=1, max_value=2**62)),
        encoded_fields=encoded,
    )


@given(events=st.lists(event_records(), max_size=8), state=deltas, revision=st.integers(1, 2**62))
def test_get_session_response_decodes_to_the_ordinary_message(
    events: list[EventRecord], state: ScopedState, revision: int
) -> None:
    record = SessionRecord(
        key=SessionKey("app", "user", "s"),
        state=state,
        events=events,
        create_time=1_700_000_000.5,
        last_update_time=1_800_000_000.25,
        revision=revision,
    )
    decoded = pb.GetSessionResponse.FromString(messages.get_session_response(record).data)
    assert decoded == pb.GetSessionResponse(session=messages.session_message(record))
    assert record.events is events


@given(events=st.lists(event_records(), max_size=8), token=st.text(max_size=200))
def test_list_events_response_decodes_to_the_ordinary_message(events: list[EventRecord], token: str) -> None:
    decoded = pb.ListEventsResponse.FromString(messages.list_events_response(events, token).data)
    assert decoded == pb.ListEventsResponse(
        events=[messages.event_message(e) for e in events], next_page_token=token
    )


@given(value=st.integers(min_value=1, max_value=2**63 - 1))
def test_varint_matches_protobuf(value: int) -> None:
    # Event.sequence (field 7, int64) encodes as its one-byte key, then the varint.
    assert messages.varint(value) == pb.Event(sequence=value).SerializeToString()[1:]
