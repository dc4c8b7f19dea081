"""Backend records to wire messages: the servicer's only conversion code.

Reads that return many events (``GetSession``, ``ListEvents``) are encoded
directly: each event's typed fields were encoded once when it was appended
(``encode_event_fields``) and kept by the backend, so a read only joins those
bytes with the stored JSON and the sequence. Protobuf allows a message's
fields in any order and repeated fields as consecutive entries, so the result
is exactly the message the slow path would build; for an event stored
without the encoding, the read builds its message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from adk_grpc_sessions.server.backends.base import (
    AppendResult,
    EncodedEvent,
    EventRecord,
    NewEvent,
    ScopedState,
    SessionRecord,
    StoredEvent,
)
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire.timestamps import to_timestamp

# Field keys (field number << 3 | wire type) of the fields encoded by hand.
_SESSION_IN_RESPONSE: Final = b"\x0a"  # GetSessionResponse.session = 1, length-delimited
_EVENT_IN_SESSION: Final = b"\x2a"  # Session.events = 5, length-delimited
_EVENT_IN_LIST: Final = b"\x0a"  # ListEventsResponse.events = 1, length-delimited
_EVENT_IN_APPEND: Final = b"\x0a"  # AppendEventResponse.event = 1, length-delimited
_TOKEN_IN_LIST: Final = b"\x12"  # ListEventsResponse.next_page_token = 2, length-delimited
_EVENT_JSON: Final = b"\x7a"  # Event.event_json = 15, length-delimited
_SEQUENCE: Final = b"\x38"  # Event.sequence = 7, varint
_SMALL_VARINTS: Final = tuple(bytes((n,)) for n in range(128))


class Encoded:
    """A response already encoded as its protobuf bytes (gRPC sends exact ``bytes`` only)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def varint(value: int) -> bytes:
    """Protobuf's base-128 encoding of a non-negative integer."""
    if value < 0x80:
        return _SMALL_VARINTS[value]
    if value < 0x4000:  # two bytes: the size of most events, their JSON and sequence
        return bytes(((value & 0x7F) | 0x80, value >> 7))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def state_message(state: ScopedState) -> pb.State:
    """A session's state by scope."""
    return pb.State(app=state.app, user=state.user, session=state.session)


def _delta_message(delta: ScopedState) -> pb.StateDelta | None:
    if delta.is_empty():
        return None
    return pb.StateDelta(app=delta.app, user=delta.user, session=delta.session)


def _typed_fields(event: NewEvent | EventRecord) -> pb.Event:
    """An event's typed fields, without its JSON and its sequence."""
    return pb.Event(
        id=event.id,
        invocation_id=event.invocation_id,
        author=event.author,
        branch=event.branch,
        timestamp=to_timestamp(event.timestamp),
        state_delta=_delta_message(event.state_delta),
    )


def encode_event_fields(event: NewEvent) -> bytes:
    """The typed fields of an event to append, encoded once (without its JSON and its sequence)."""
    return _typed_fields(event).SerializeToString()


def event_message(event: StoredEvent) -> pb.Event:
    """A stored event with its typed fields."""
    if isinstance(event, EncodedEvent):
        if not event.encoded_fields:
            raise ValueError(f"event {event.id!r} is an EncodedEvent without an encoding")
        return pb.Session.FromString(b"".join(_event_entries(_EVENT_IN_SESSION, [event]))).events[0]
    message = _typed_fields(event)
    message.sequence = event.sequence
    message.event_json = event.event_json
    return message


def _event_entries(key: bytes, events: Sequence[StoredEvent]) -> list[bytes]:
    """``events`` as consecutive entries of a repeated Event field with the given key, in parts.

    Parts, so that the response is joined once: it can run to megabytes.
    """
    parts: list[bytes] = []
    for event in events:
        encoded = event.encoded_fields
        if not encoded:
            body = event_message(event).SerializeToString()
            parts += (key, varint(len(body)), body)
            continue
        # The encoded fields, then event_json and sequence, each after its one-byte key.
        text = event.event_json.encode()
        text_length = varint(len(text))
        sequence = varint(event.sequence)
        size = len(encoded) + 1 + len(text_length) + len(text) + 1 + len(sequence)
        parts += (key, varint(size), encoded, _EVENT_JSON, text_length, text, _SEQUENCE, sequence)
    return parts


def session_message(session: SessionRecord) -> pb.Session:
    """A session with its state and whatever events the record holds."""
    message = _session_head(session)
    message.events.extend(event_message(e) for e in session.events)
    return message


def _session_head(session: SessionRecord) -> pb.Session:
    """The session's message without its events."""
    key = session.key
    return pb.Session(
        app_name=key.app_name,
        user_id=key.user_id,
        session_id=key.session_id,
        state=state_message(session.state),
        last_update_time=to_timestamp(session.last_update_time),
        create_time=to_timestamp(session.create_time),
        revision=session.revision,
    )


def get_session_response(session: SessionRecord) -> Encoded:
    """``GetSessionResponse`` for ``session`` and its events, encoded."""
    body = [_session_head(session).SerializeToString(), *_event_entries(_EVENT_IN_SESSION, session.events)]
    size = sum(map(len, body))
    return Encoded(b"".join((_SESSION_IN_RESPONSE, varint(size), *body)))


def list_events_response(events: Sequence[StoredEvent], next_page_token: str) -> Encoded:
    """``ListEventsResponse`` for a page of events, encoded."""
    parts = _event_entries(_EVENT_IN_LIST, events)
    token = next_page_token.encode()
    if token:
        parts += (_TOKEN_IN_LIST, varint(len(token)), token)
    return Encoded(b"".join(parts))


def append_event_response(result: AppendResult) -> Encoded:
    """``AppendEventResponse`` for a stored event, encoded.

    The event comes from the encoding made for storage when the backend kept
    it, so an append builds its typed fields once, not twice. The rest is a
    message of its own: joining two encodings merges them.
    """
    tail = pb.AppendEventResponse(
        revision=result.revision,
        last_update_time=to_timestamp(result.last_update_time),
        already_applied=result.already_applied,
    ).SerializeToString()
    return Encoded(b"".join((*_event_entries(_EVENT_IN_APPEND, [result.event]), tail)))
