"""Backend records to wire messages: the servicer's only conversion code.

Reads that return many events (``GetSession``, ``ListEvents``) are encoded
directly: each event's typed fields come from its wire cache (``wire_cache``:
encoded once when it was appended, kept by the backend, rebuilt from the
event's JSON when it is not of this version), so a read only joins those
bytes with the stored JSON and the sequence. Protobuf allows a message's
fields in any order and repeated fields as consecutive entries, so the result
is exactly the message protobuf would build.

A session's own fields (names, times, revision) are encoded by hand too, and
the state scopes that a page of sessions shares (the app's, each user's)
once per response: building a page as messages costs more than the
database's time for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from google.rpc import status_pb2

from adk_grpc_sessions.server.api.wire_cache import fields_of
from adk_grpc_sessions.server.api.wire_encoding import int64, text, timestamp, varint
from adk_grpc_sessions.server.backends.base import (
    AppendResult,
    ForkOrigin,
    ScopedState,
    SessionRecord,
    StoredEvent,
)
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire.timestamps import to_timestamp

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
_DISPLAY_NAME: Final = b"\x62"  # Session.display_name = 12
_LABELS: Final = b"\x6a"  # Session.labels = 13, map entries
_EVENT_COUNT: Final = b"\x70"  # Session.event_count = 14, optional varint
_STORED_BYTES: Final = b"\x78"  # Session.stored_bytes = 15, optional varint
_FORKED_FROM: Final = b"\x82\x01"  # Session.forked_from = 16, length-delimited
_ENTRY_KEY: Final = b"\x0a"  # a map entry's key = 1
_ENTRY_VALUE: Final = b"\x12"  # a map entry's value = 2
_RESULT_IN_BATCH: Final = b"\x0a"  # BatchAppendEventsResponse.results = 1, length-delimited
_RESULT_IN_STREAM: Final = b"\x0a"  # AppendEventStreamResponse.result = 1, length-delimited
_RESPONSE_IN_RESULT: Final = b"\x0a"  # AppendEventResult.response = 1, length-delimited
_ERROR_IN_RESULT: Final = b"\x12"  # AppendEventResult.error = 2, length-delimited
_APPEND_REVISION: Final = b"\x10"  # AppendEventResponse.revision = 2, varint
_APPEND_LAST_UPDATE_TIME: Final = b"\x1a"  # AppendEventResponse.last_update_time = 3
_APPEND_ALREADY_APPLIED: Final = b"\x20\x01"  # AppendEventResponse.already_applied = 4, true
_EVENTS_IN_WATCH: Final = b"\x0a"  # WatchSessionResponse.events = 1, length-delimited
_EVENT_IN_WATCHED_EVENTS: Final = b"\x0a"  # WatchedEvents.events = 1, length-delimited
_EVENT_IN_WATCHED: Final = b"\x0a"  # WatchedEvent.event = 1, length-delimited
_WATCHED_REVISION: Final = b"\x10"  # WatchedEvent.revision = 2, varint


class Encoded:
    """A response already encoded as its protobuf bytes (gRPC sends exact ``bytes`` only)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


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
        last_update_time = timestamp(session.last_update_time)
        create_time = timestamp(session.create_time)
        return b"".join(
            (
                text(_APP_NAME, key.app_name),
                text(_USER_ID, key.user_id),
                text(_SESSION_ID, key.session_id),
                _STATE,
                varint(len(state_body)),
                state_body,
                _LAST_UPDATE_TIME,
                varint(len(last_update_time)),
                last_update_time,
                _CREATE_TIME,
                varint(len(create_time)),
                create_time,
                _REVISION + int64(session.revision) if session.revision else b"",
                _time_field(_EXPIRE_TIME, session.expiry.expire_time),
                _time_field(_CLOSE_TIME, session.close_time),
                text(_DISPLAY_NAME, session.metadata.display_name),
                _labels_field(session.metadata.labels),
                b"" if session.event_count is None else _EVENT_COUNT + int64(session.event_count),
                b"" if session.stored_bytes is None else _STORED_BYTES + int64(session.stored_bytes),
                _fork_origin_field(session.forked_from),
            )
        )


def _labels_field(labels: Mapping[str, str]) -> bytes:
    """The labels map as protobuf writes it: each entry with its key and value, even empty ones."""
    parts: list[bytes] = []
    for name, value in labels.items():
        key_bytes, value_bytes = name.encode(), value.encode()
        entry = b"".join(
            (
                _ENTRY_KEY,
                varint(len(key_bytes)),
                key_bytes,
                _ENTRY_VALUE,
                varint(len(value_bytes)),
                value_bytes,
            )
        )
        parts += (_LABELS, varint(len(entry)), entry)
    return b"".join(parts)


def _fork_origin_field(origin: ForkOrigin | None) -> bytes:
    """The forked_from field, or nothing for a session that was created (rare: built as a message)."""
    if origin is None:
        return b""
    encoded = fork_origin_message(origin).SerializeToString()
    return _FORKED_FROM + varint(len(encoded)) + encoded


def fork_origin_message(origin: ForkOrigin) -> pb.ForkOrigin:
    """Where a forked session came from, as its message."""
    return pb.ForkOrigin(
        session_id=origin.session_id,
        event_count=origin.event_count,
        before_invocation_id=origin.before_invocation_id,
        fork_time=to_timestamp(origin.fork_time),
    )


def _time_field(key: bytes, seconds: float | None) -> bytes:
    """A Timestamp field, or nothing for None."""
    if seconds is None:
        return b""
    encoded = timestamp(seconds)
    return key + varint(len(encoded)) + encoded


_SCOPE_NAMES: Final = {1: "app", 2: "user", 3: "session"}


def state_message(state: ScopedState) -> pb.State:
    """A session's state by scope."""
    return pb.State(app=state.app, user=state.user, session=state.session)


APPEND_ANSWER_OVERHEAD: Final = 48
"""The most an ``AppendEventResponse`` takes beyond its event's size, inside a batch's or a stream's
result (revision, last_update_time, already_applied, and the result's framing)."""


def event_message(event: StoredEvent) -> pb.Event:
    """A stored event as its message (what ``_event_entries`` encodes, decoded)."""
    return pb.Session.FromString(b"".join(_event_entries(_EVENT_IN_SESSION, [event]))).events[0]


def _event_entries(key: bytes, events: Sequence[StoredEvent]) -> list[bytes]:
    """``events`` as consecutive entries of a repeated Event field with the given key, in parts.

    Parts, so that the response is joined once: it can run to megabytes.
    """
    parts: list[bytes] = []
    for event in events:
        fields = fields_of(event)
        # The typed fields, then event_json and sequence, each after its one-byte key.
        json_text = event.event_json.encode()
        json_length = varint(len(json_text))
        sequence = varint(event.sequence)
        size = len(fields) + 1 + len(json_length) + len(json_text) + 1 + len(sequence)
        parts += (key, varint(size), fields, _EVENT_JSON, json_length, json_text, _SEQUENCE, sequence)
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
    message.display_name = session.metadata.display_name
    message.labels.update(session.metadata.labels)
    if session.event_count is not None:
        message.event_count = session.event_count
    if session.stored_bytes is not None:
        message.stored_bytes = session.stored_bytes
    if session.forked_from is not None:
        message.forked_from.CopyFrom(fork_origin_message(session.forked_from))
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

    The event comes from the wire cache made for storage, so an append
    builds its typed fields once, not twice. The rest is a message of its
    own: joining two encodings merges them.
    """
    last_update_time = timestamp(result.last_update_time)
    return Encoded(
        b"".join(
            (
                *_event_entries(_EVENT_IN_APPEND, [result.event]),
                _APPEND_REVISION + int64(result.revision) if result.revision else b"",
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


def watched_event_entry(event: StoredEvent, revision: int) -> bytes:
    """One ``WatchedEvents.events`` entry (key and length included), encoded once for every watcher."""
    parts = _event_entries(_EVENT_IN_WATCHED, [event])
    parts += (_WATCHED_REVISION, int64(revision))
    body = b"".join(parts)
    return b"".join((_EVENT_IN_WATCHED_EVENTS, varint(len(body)), body))


def watch_events_response(entries: Sequence[bytes]) -> bytes:
    """The encoded ``WatchSessionResponse`` carrying ``WatchedEvents`` of the given entries."""
    size = sum(map(len, entries))
    return b"".join((_EVENTS_IN_WATCH, varint(size), *entries))


def watch_caught_up_response(revision: int) -> bytes:
    """The encoded ``WatchSessionResponse`` saying the backlog is delivered, as of ``revision``."""
    return pb.WatchSessionResponse(caught_up=pb.WatchCaughtUp(revision=revision)).SerializeToString()


def watch_ended_response(reason: pb.WatchEnded.Reason.ValueType) -> bytes:
    """The encoded ``WatchSessionResponse`` saying why the session ended."""
    return pb.WatchSessionResponse(ended=pb.WatchEnded(reason=reason)).SerializeToString()
