"""The wire cache: an event's typed fields in their response form, made once at append, versioned.

Every response carries each event as an ``Event`` message: its typed fields
(id, invocation_id, author, branch, timestamp, state_delta), its JSON and its
sequence. The typed fields are what the server reads from the JSON, so they
never change once the event is stored; encoding them for every read of a
thousand events costs more than the database's time for the read. So they are
encoded once, when the event is appended, and the backend stores the bytes
(``NewEvent.wire_cache``) next to the event and returns them with it
(``StoredEvent.wire_cache``) without knowing what they are. A read joins
those bytes with the JSON and the sequence (``messages``).

The bytes are a cache, never a source of truth: they start with the version
of the wire form that wrote them (``VERSION``, one byte), and a read whose
event has no cache, or one of another version, or one this code cannot
read, rebuilds the typed fields from the stored JSON, which is authoritative.
So a change to the wire form (a field added to ``Event``, an encoding fixed)
bumps ``VERSION``, and no event stored before it is ever served with stale
bytes. Only the API layer writes and reads the format.
"""

from __future__ import annotations

from typing import Final

from adk_grpc_sessions.server.api.wire_encoding import map_entries, text, timestamp, varint
from adk_grpc_sessions.server.backends.base import NewEvent, StoredEvent
from adk_grpc_sessions.server.backends.event_json import parse_event
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError
from adk_grpc_sessions.wire.limits import text_bytes

VERSION: Final = 1
"""The wire form this code writes: bump it whenever what ``typed_fields`` encodes changes."""

_PREFIX: Final = bytes((VERSION,))

# Field keys (field number << 3 | wire type) of Event's typed fields and StateDelta's scopes.
_EVENT_ID: Final = b"\x0a"  # Event.id = 1
_EVENT_INVOCATION_ID: Final = b"\x12"  # Event.invocation_id = 2
_EVENT_AUTHOR: Final = b"\x1a"  # Event.author = 3
_EVENT_BRANCH: Final = b"\x22"  # Event.branch = 4
_EVENT_TIMESTAMP: Final = b"\x2a"  # Event.timestamp = 5
_EVENT_STATE_DELTA: Final = b"\x32"  # Event.state_delta = 6
_DELTA_APP: Final = b"\x0a"  # StateDelta.app = 1, a map
_DELTA_USER: Final = b"\x12"  # StateDelta.user = 2, a map
_DELTA_SESSION: Final = b"\x1a"  # StateDelta.session = 3, a map


def typed_fields(event: NewEvent) -> bytes:
    """The typed fields of an ``Event`` message for ``event`` (without its JSON and its sequence).

    Encoded by hand, at a third of the cost of building the message: every
    append pays for it, on the call's critical path.
    """
    stamp = timestamp(event.timestamp)
    parts = [
        text(_EVENT_ID, event.id),
        text(_EVENT_INVOCATION_ID, event.invocation_id),
        text(_EVENT_AUTHOR, event.author),
        text(_EVENT_BRANCH, event.branch),
        _EVENT_TIMESTAMP,  # always present: the message sets it, even to the epoch
        varint(len(stamp)),
        stamp,
    ]
    delta = event.state_delta
    if delta.app or delta.user or delta.session:  # an empty delta is left out, as the message leaves it
        body = b"".join(
            (
                map_entries(_DELTA_APP, delta.app),
                map_entries(_DELTA_USER, delta.user),
                map_entries(_DELTA_SESSION, delta.session),
            )
        )
        parts += (_EVENT_STATE_DELTA, varint(len(body)), body)
    return b"".join(parts)


def attach(event: NewEvent) -> None:
    """Sets ``event.wire_cache`` (this version's) and ``event.size``, before it is stored.

    ``size`` is the bytes the event will take in a response: its ``Event``
    message with field key and length prefix, counting its sequence as ten
    bytes (the most a sequence takes). It is what the event counts towards
    its session's size, and what a read budgets for it.
    """
    fields = typed_fields(event)
    event.wire_cache = _PREFIX + fields
    json_bytes = text_bytes(event.event_json)
    body = len(fields) + 1 + len(varint(json_bytes)) + json_bytes + 1 + 10
    event.size = 1 + len(varint(body)) + body


def fields_of(event: StoredEvent) -> bytes:
    """The typed fields of a stored event: from its cache if this version wrote it, else from its JSON.

    Raises:
        ValueError: the cache is unusable and the stored JSON is not an ADK event (storage is corrupt).
    """
    cache = event.wire_cache
    if cache and cache[0] == VERSION:  # (indexing, not a one-byte slice: every event of a read pays it)
        return cache[1:]
    return rebuilt_fields(event)


def rebuilt_fields(event: StoredEvent) -> bytes:
    """The typed fields of a stored event, read again from its JSON (the authoritative copy).

    Raises:
        ValueError: the stored JSON is not an ADK event (storage is corrupt).
    """
    try:
        parsed = parse_event(event.event_json)
    except InvalidArgumentError as exc:
        raise ValueError(f"stored event {event.id!r} is not an ADK event: {exc}") from None
    return typed_fields(parsed)
