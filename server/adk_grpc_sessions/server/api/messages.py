"""Backend records to wire messages: the servicer's only conversion code.

Reads that return many events (``GetSession``, ``ListEvents``) are encoded
directly: each event's typed fields were encoded once when it was appended
(``encode_event_fields``) and kept by the backend, so a read only joins those
bytes with the stored JSON and the sequence. Protobuf allows a message's
fields in any order and repeated fields as consecutive entries, so the result
is exactly the message the slow path would build; for an event stored
without the encoding, the read builds its message.

A session's own fields (names, times, revision) are encoded by hand too, and
the state scopes that a page of sessions shares (the app's, each user's)
once per response: building a page as messages costs more than the
database's time for it.

A little over 400 lines because it is one job written once: every response
the server encodes by hand, with the one table of field keys they share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from google.rpc import status_pb2

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
from adk_grpc_sessions.wire.limits import text_bytes
from adk_grpc_sessions.wire.timestamps import parts_from_seconds, to_timestamp

# Field keys (field number << 3 | wire type) of the fields encoded by hand.
_SESSION_IN_RESPONSE: Final = b"\x0a"  # GetSessionResponse.session = 1, length-delimited
_EVENT_IN_SESSION: Final = b"\x2a"  # Session.events = 5, length-delimited
_REST_IN_GET: Final = b"\x12"  # GetSessionResponse.next_events_page_token = 2, length-delimited
_EVENT_IN_LIST: Final = b"\x0a"  # ListEventsResponse.events = 1, length-delimited
_EVENT_IN_APPEND: Final = b"\x0a"  # AppendEventResponse.event = 1, length-delimited
_TOKEN_IN_LIST: Final = b"\x12"  # ListEventsResponse.next_page_token = 2, length-delimited
_EVENT_JSON: Final = b"\x7a"  # Event.event_json = 15, length-delimited
_SEQUENCE: Final = b"\x38"  # Event.sequence = 7, varint
_SESSION_IN_LIST: Final = b"\x0a"  # ListSessionsResponse.sessions = 1, length-delimited
_TOKEN_IN_SESSIONS: Final = b"\x12"  # ListSessionsResponse.next_page_token = 2, length-delimited
_APP_NAME: Final = b"\x0a"  # Session.app_name = 1
_USER_ID: Final = b"\x12"  # Session.user_id = 2
_SESSION_ID: Final = b"\x1a"  # Session.session_id = 3
_STATE: Final = b"\x22"  # Session.state = 4
_LAST_UPDATE_TIME: Final = b"\x32"  # Session.last_update_time = 6
_CREATE_TIME: Final = b"\x3a"  # Session.create_time = 7
_REVISION: Final = b"\x40"  # Session.revision = 8, varint
_EXPIRE_TIME: Final = b"\x4a"  # Session.expire_time = 9
_CLOSE_TIME: Final = b"\x5a"  # Session.close_time = 11
_RESULT_IN_BATCH: Final = b"\x0a"  # BatchAppendEventsResponse.results = 1, length-delimited
_RESULT_IN_STREAM: Final = b"\x0a"  # AppendEventStreamResponse.result = 1, length-delimited
_RESPONSE_IN_RESULT: Final = b"\x0a"  # AppendEventResult.response = 1, length-delimited
_ERROR_IN_RESULT: Final = b"\x12"  # AppendEventResult.error = 2, length-delimited
_EVENT_ID: Final = b"\x0a"  # Event.id = 1
_EVENT_INVOCATION_ID: Final = b"\x12"  # Event.invocation_id = 2
_EVENT_AUTHOR: Final = b"\x1a"  # Event.author = 3
_EVENT_BRANCH: Final = b"\x22"  # Event.branch = 4
_EVENT_TIMESTAMP: Final = b"\x2a"  # Event.timestamp = 5
_EVENT_STATE_DELTA: Final = b"\x32"  # Event.state_delta = 6
_DELTA_APP: Final = b"\x0a"  # StateDelta.app = 1, a map
_DELTA_USER: Final = b"\x12"  # StateDelta.user = 2, a map
_DELTA_SESSION: Final = b"\x1a"  # StateDelta.session = 3, a map
_ENTRY_KEY: Final = b"\x0a"  # a map entry's key = 1
_ENTRY_VALUE: Final = b"\x12"  # a map entry's value = 2
_APPEND_REVISION: Final = b"\x10"  # AppendEventResponse.revision = 2, varint
_APPEND_LAST_UPDATE_TIME: Final = b"\x1a"  # AppendEventResponse.last_update_time = 3
_APPEND_ALREADY_APPLIED: Final = b"\x20\x01"  # AppendEventResponse.already_applied = 4, true
_TIMESTAMP_SECONDS: Final = b"\x08"  # Timestamp.seconds = 1, varint
_TIMESTAMP_NANOS: Final = b"\x10"  # Timestamp.nanos = 2, varint
_INT64_MASK: Final = (1 << 64) - 1
_SMALL_VARINTS: Final = tuple(bytes((n,)) for n in range(128))


class Encoded:
    """A response already encoded as its protobuf bytes (gRPC sends exact ``bytes`` only)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def varint(value: int) -> bytes:
    """Protobuf's base-128 encoding of a non-negative integer.

    Unrolled up to five bytes: that covers event sizes, sequences, Unix
    seconds (until the year 3058) and nanoseconds, and a loop costs three
    times as much.
    """
    if value < 0x80:
        return _SMALL_VARINTS[value]
    if value < 0x4000:  # two bytes: the size of most events, their JSON and sequence
        return bytes(((value & 0x7F) | 0x80, value >> 7))
    if value < 0x20_0000:
        return bytes(((value & 0x7F) | 0x80, ((value >> 7) & 0x7F) | 0x80, value >> 14))
    if value < 0x1000_0000:
        return bytes(
            ((value & 0x7F) | 0x80, ((value >> 7) & 0x7F) | 0x80, ((value >> 14) & 0x7F) | 0x80, value >> 21)
        )
    if value < 0x8_0000_0000:
        return bytes(
            (
                (value & 0x7F) | 0x80,
                ((value >> 7) & 0x7F) | 0x80,
                ((value >> 14) & 0x7F) | 0x80,
                ((value >> 21) & 0x7F) | 0x80,
                value >> 28,
            )
        )
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _int64(value: int) -> bytes:
    """An int64 field's varint: a negative value as its 64-bit two's complement (ten bytes)."""
    return varint(value & _INT64_MASK)


def _timestamp(seconds: float) -> bytes:
    """The encoding of ``to_timestamp(seconds)`` (zero fields left out, as protobuf does)."""
    whole, nanos = parts_from_seconds(seconds)
    encoded = _TIMESTAMP_SECONDS + _int64(whole) if whole else b""
    return encoded + _TIMESTAMP_NANOS + varint(nanos) if nanos else encoded


def _text(key: bytes, text: str) -> bytes:
    """A string field (left out when empty, as protobuf does)."""
    if not text:
        return b""
    data = text.encode()
    size = len(data)
    # Most strings are short: their one-byte size is looked up, not computed.
    return key + (_SMALL_VARINTS[size] if size < 0x80 else varint(size)) + data


class _SessionEncoder:
    """Encodes sessions for one response, each shared state scope once.

    The scopes of a page are shared dictionaries (the SQL backend gives every
    session of a page the same app state and every session of a user the
    same user state), so they are recognised by identity. Identity is safe
    here: the records, and so the dictionaries, live as long as the encoder.
    """

    __slots__ = ("_scopes",)

    def __init__(self) -> None:
        self._scopes: dict[tuple[int, int], bytes] = {}

    def _scope(self, field: int, values: Mapping[str, str]) -> bytes:
        if not values:
            return b""
        key = (field, id(values))
        encoded = self._scopes.get(key)
        if encoded is None:
            state = pb.State()
            getattr(state, _SCOPE_NAMES[field]).update(values)
            encoded = self._scopes[key] = state.SerializeToString()
        return encoded

    def head(self, session: SessionRecord) -> bytes:
        """The session's fields but its events: the encoding of ``_session_head(session)``."""
        key, state = session.key, session.state
        # State's fields in number order: the app's (1), the user's (2), the session's own (3).
        state_body = self._scope(1, state.app) + self._scope(2, state.user) + self._scope(3, state.session)
        last_update_time = _timestamp(session.last_update_time)
        create_time = _timestamp(session.create_time)
        return b"".join(
            (
                _text(_APP_NAME, key.app_name),
                _text(_USER_ID, key.user_id),
                _text(_SESSION_ID, key.session_id),
                _STATE,
                varint(len(state_body)),
                state_body,
                _LAST_UPDATE_TIME,
                varint(len(last_update_time)),
                last_update_time,
                _CREATE_TIME,
                varint(len(create_time)),
                create_time,
                _REVISION + _int64(session.revision) if session.revision else b"",
                _time_field(_EXPIRE_TIME, session.expiry.expire_time),
                _time_field(_CLOSE_TIME, session.close_time),
            )
        )


def _time_field(key: bytes, seconds: float | None) -> bytes:
    """A Timestamp field, or nothing for None."""
    if seconds is None:
        return b""
    encoded = _timestamp(seconds)
    return key + varint(len(encoded)) + encoded


_SCOPE_NAMES: Final = {1: "app", 2: "user", 3: "session"}


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
    """The typed fields of an event to append, encoded once (without its JSON and its sequence).

    Encoded by hand: the bytes of ``_typed_fields(event)``, at a third of the
    cost of building that message (every append pays for it, on the call's
    critical path).
    """
    timestamp = _timestamp(event.timestamp)
    parts = [
        _text(_EVENT_ID, event.id),
        _text(_EVENT_INVOCATION_ID, event.invocation_id),
        _text(_EVENT_AUTHOR, event.author),
        _text(_EVENT_BRANCH, event.branch),
        _EVENT_TIMESTAMP,  # always present: the message sets it, even to the epoch
        varint(len(timestamp)),
        timestamp,
    ]
    delta = event.state_delta
    if delta.app or delta.user or delta.session:  # an empty delta is left out, as in _typed_fields
        body = b"".join(
            (
                _map_entries(_DELTA_APP, delta.app),
                _map_entries(_DELTA_USER, delta.user),
                _map_entries(_DELTA_SESSION, delta.session),
            )
        )
        parts += (_EVENT_STATE_DELTA, varint(len(body)), body)
    return b"".join(parts)


def event_size(event: NewEvent) -> int:
    """The bytes ``event`` will take in a response: its Event message, field tag and length prefix included.

    From its ``encoded_fields`` (which must be set) and its JSON, counting
    its sequence as ten bytes (the most a sequence takes): what it counts
    towards its session's size, and what a read budgets for it.
    """
    text = text_bytes(event.event_json)
    body = len(event.encoded_fields) + 1 + len(varint(text)) + text + 1 + 10
    return 1 + len(varint(body)) + body


APPEND_ANSWER_OVERHEAD: Final = 48
"""The most an ``AppendEventResponse`` takes beyond its event's size, inside a batch's or a stream's
result (revision, last_update_time, already_applied, and the result's framing)."""


def _map_entries(key: bytes, values: Mapping[str, str]) -> bytes:
    """A ``map<string, string>`` field: one length-delimited entry (key 1, value 2) per item."""
    parts: list[bytes] = []
    for name, value in values.items():
        entry = _text(_ENTRY_KEY, name) + _text(_ENTRY_VALUE, value)
        parts += (key, varint(len(entry)), entry)
    return b"".join(parts)


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
    message = pb.Session(
        app_name=key.app_name,
        user_id=key.user_id,
        session_id=key.session_id,
        state=state_message(session.state),
        last_update_time=to_timestamp(session.last_update_time),
        create_time=to_timestamp(session.create_time),
        revision=session.revision,
    )
    if session.expiry.expire_time is not None:
        message.expire_time.CopyFrom(to_timestamp(session.expiry.expire_time))
    if session.close_time is not None:
        message.close_time.CopyFrom(to_timestamp(session.close_time))
    return message


def get_session_response(session: SessionRecord, next_events_page_token: str = "") -> Encoded:
    """``GetSessionResponse`` for ``session`` and its events (and where the rest follow), encoded."""
    body = [_SessionEncoder().head(session), *_event_entries(_EVENT_IN_SESSION, session.events)]
    size = sum(map(len, body))
    parts = [_SESSION_IN_RESPONSE, varint(size), *body]
    token = next_events_page_token.encode()
    if token:
        parts += (_REST_IN_GET, varint(len(token)), token)
    return Encoded(b"".join(parts))


def list_sessions_response(sessions: Sequence[SessionRecord], next_page_token: str) -> Encoded:
    """``ListSessionsResponse`` for a page of sessions (their events are not listed), encoded."""
    encoder = _SessionEncoder()
    parts: list[bytes] = []
    for session in sessions:
        head = encoder.head(session)
        parts += (_SESSION_IN_LIST, varint(len(head)), head)
    token = next_page_token.encode()
    if token:
        parts += (_TOKEN_IN_SESSIONS, varint(len(token)), token)
    return Encoded(b"".join(parts))


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
    last_update_time = _timestamp(result.last_update_time)
    return Encoded(
        b"".join(
            (
                *_event_entries(_EVENT_IN_APPEND, [result.event]),
                _APPEND_REVISION + _int64(result.revision) if result.revision else b"",
                _APPEND_LAST_UPDATE_TIME,  # always present, as when built as a message
                varint(len(last_update_time)),
                last_update_time,
                _APPEND_ALREADY_APPLIED if result.already_applied else b"",
            )
        )
    )


def batch_append_response(outcomes: Sequence[Encoded | status_pb2.Status]) -> Encoded:
    """``BatchAppendEventsResponse`` for the outcomes of a batch's appends, in order, encoded.

    An outcome is an append's encoded ``AppendEventResponse`` or the
    ``google.rpc.Status`` it failed with: the contract's ``Status`` is the
    same message on the wire, so its bytes are used as they are.
    """
    parts: list[bytes] = []
    for outcome in outcomes:
        result = append_result(outcome)
        parts += (_RESULT_IN_BATCH, varint(len(result)), result)
    return Encoded(b"".join(parts))


def stream_response(outcome: Encoded | status_pb2.Status) -> bytes:
    """The encoded ``AppendEventStreamResponse`` of an append's encoded response or failure status."""
    result = append_result(outcome)
    return b"".join((_RESULT_IN_STREAM, varint(len(result)), result))


def append_result(outcome: Encoded | status_pb2.Status) -> bytes:
    """The encoded ``AppendEventResult`` of an append's encoded response or failure status."""
    if isinstance(outcome, Encoded):
        body = outcome.data
        return b"".join((_RESPONSE_IN_RESULT, varint(len(body)), body))
    body = outcome.SerializeToString()
    return b"".join((_ERROR_IN_RESULT, varint(len(body)), body))
