"""The measures the limits are kept on bound what the wire carries, and the limits must hold together."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adk_grpc_sessions.server.api import messages
from adk_grpc_sessions.server.backends.base import NewEvent, ScopedState
from adk_grpc_sessions.server.backends.vertex import mapping as vertex_mapping
from adk_grpc_sessions.server.runtime.config import config_from
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire import limits

texts = st.text(max_size=40) | st.text(alphabet="é😀\x00", max_size=5) | st.just("x" * 300)
scopes = st.dictionaries(texts, texts.map(lambda t: f'"{t}"'), max_size=30)


@settings(max_examples=200, deadline=None)
@given(app=scopes, user=scopes, session=scopes)
def test_what_state_counts_bounds_what_it_takes_in_a_response(
    app: dict[str, str], user: dict[str, str], session: dict[str, str]
) -> None:
    encoded = pb.State(app=app, user=user, session=session).ByteSize()
    # The State message's own tag and length (six bytes at most) are the envelope's.
    assert encoded <= sum(map(limits.state_bytes, (app, user, session))) + 6


def test_what_a_state_key_counts_is_its_text_its_value_and_sixteen() -> None:
    assert limits.state_entry_bytes("k", '"é"') == 1 + 4 + 16
    assert limits.state_bytes({"a": "1", "😀": "[]"}) == (1 + 1 + 16) + (4 + 2 + 16)


@settings(max_examples=200, deadline=None)
@given(
    text=texts,
    ids=st.tuples(texts, texts, texts),
    delta=st.builds(ScopedState, app=scopes, user=scopes, session=scopes),
    sequence=st.integers(min_value=1, max_value=2**63 - 1),
)
def test_an_events_size_bounds_what_it_takes_in_a_response_at_any_sequence(
    text: str, ids: tuple[str, str, str], delta: ScopedState, sequence: int
) -> None:
    event = NewEvent(
        id="e1",
        invocation_id=ids[0],
        author=ids[1],
        branch=ids[2],
        timestamp=1_800_000_000.25,
        state_delta=delta,
        event_json=f'{{"id": "e1", "text": "{text}"}}',
    )
    event.encoded_fields = messages.encode_event_fields(event)
    event.size = messages.event_size(event)
    in_response = messages.list_events_response([event.stored_at(sequence)], "").data
    # At most the bytes the sequence does not need of the ten it is counted as, more, and
    # one more byte of the event's length prefix that those nine may have lengthened.
    assert 0 <= event.size - len(in_response) <= 10
    # The Agent Engine backend's bound, from the parts alone, is never less.
    assert vertex_mapping.event_size(event) >= event.size


def test_the_defaults_hold_together_and_the_state_limit_must_fit_the_message_limit() -> None:
    limits.check_limits(
        max_message_bytes=limits.DEFAULT_MAX_MESSAGE_BYTES,
        max_state_bytes=limits.DEFAULT_MAX_STATE_BYTES,
        max_session_bytes=limits.DEFAULT_MAX_SESSION_BYTES,
    )
    with pytest.raises(ValueError, match=r"--max-state-bytes may be at most 1376256"):
        config_from({"max_message_bytes": 4 * 1024 * 1024}, {})
    with pytest.raises(ValueError, match=r"--max-session-bytes must be positive"):
        config_from({}, {"ADK_GRPC_SESSIONS_MAX_SESSION_BYTES": "0"})


def test_the_limits_come_from_flags_and_environment_variables() -> None:
    config = config_from(
        {"max_state_bytes": 1024},
        {"ADK_GRPC_SESSIONS_MAX_STATE_BYTES": "2048", "ADK_GRPC_SESSIONS_MAX_SESSION_BYTES": "4096"},
    )
    assert (config.max_state_bytes, config.max_session_bytes) == (1024, 4096)
