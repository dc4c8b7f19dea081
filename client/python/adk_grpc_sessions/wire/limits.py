"""The contract's limits, defined once for the server and every client (the proto's "Limits" paragraph).

A limit is a promise in both directions: the server refuses what breaks it
(INVALID_ARGUMENT naming the field, or RESOURCE_EXHAUSTED with an
``ErrorInfo`` reason), and a client may rely on what it bounds (no response
is larger than the message limit; a session's merged state always fits in
one). The ``DEFAULT_*`` values are the server's defaults; its flags change
them (``--max-message-bytes``, ``--max-state-bytes``, ``--max-session-bytes``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

_KIB: Final = 1024
_MIB: Final = 1024 * _KIB

MAX_KEY_LENGTH: Final = 128
"""Longest app name, user id, session id or event id, in code points (ADK's own limit)."""
DEFAULT_PAGE_SIZE: Final = 100
"""Items in a list page when the request's ``page_size`` is 0."""
MAX_PAGE_SIZE: Final = 1000
"""Most items in one list page (larger ``page_size`` values are treated as this)."""
MAX_BATCH_APPENDS: Final = 1000
"""Most appends in one ``BatchAppendEvents`` call."""
MAX_BATCH_CREATES: Final = 1000
"""Most creates in one ``BatchCreateSessions`` call."""
MAX_EVENTS_PER_SESSION_READ: Final = 10_000
"""Most events one ``GetSessionResponse`` holds; the rest of its selection follows through ListEvents."""

MAX_JSON_DEPTH: Final = 254
"""Deepest nesting of arrays and objects in a state value, counted from the value itself.

``1`` and ``"x"`` are 0 levels deep, ``[]`` and ``{"a": 1}`` 1, ``[[1]]`` 2.
It applies wherever a state value enters: CreateSession's state and each
value of an event's ``actions.stateDelta``, on every append path. Why 254: it
is the deepest value ADK Python can write at all (pydantic's JSON writer
refuses anything deeper), so every value ADK's own services store fits (the
proto's "Nesting" paragraph).
"""
EVENT_JSON_DEPTH_ALLOWANCE: Final = 16
"""Levels an event's JSON may nest beyond ``MAX_JSON_DEPTH``: ADK's own structure around a value.

The deepest free-form value in ADK's event schema, function-call arguments
inside a compaction (``actions.compaction.compactedContent.parts[].
functionCall.args``), is 8 levels in; twice that leaves room for new fields.
"""
MAX_EVENT_JSON_DEPTH: Final = MAX_JSON_DEPTH + EVENT_JSON_DEPTH_ALLOWANCE
"""Deepest nesting of an event's JSON as a whole."""

MAX_TTL_SECONDS: Final = 100 * 365.25 * 86_400
"""Longest ttl a session may be given: 100 years (Julian), in seconds; longer is surely a mistake of units."""
DEFAULT_MAX_CALL_SECONDS: Final = 60.0
"""The server's default longest call, whatever the client's deadline (``--max-call-seconds``).

Each append of a batch or of the append stream may take as long as a call of its own.
"""

DEFAULT_MAX_MESSAGE_BYTES: Final = 32 * _MIB
"""The server's default largest request and response: room for events with inline images."""
DEFAULT_MAX_STATE_BYTES: Final = 8 * _MIB
"""The server's default most bytes one state scope (an app's, a user's, a session's) may hold."""
DEFAULT_MAX_SESSION_BYTES: Final = 1024 * _MIB
"""The server's default most bytes of events one session may hold."""

RESPONSE_ENVELOPE_BYTES: Final = 64 * _KIB
"""Room every response keeps for what is neither state nor events: names, times, revision, page token.

(The names are at most 128 code points each, four bytes each at most; a
page token is a few hundred bytes.) An event fits in a response on its own
when its size plus this is at most the message limit.
"""
MAX_DISPLAY_NAME_LENGTH: Final = 128
"""Longest display name, in code points (Agent Engine's own bound); empty = none."""
MAX_LABELS: Final = 64
"""Most labels one session may carry (Google Cloud's bound on labels)."""
MAX_LABEL_LENGTH: Final = 63
"""Longest label key or value, in characters (keys are at least one; values may be empty)."""
LABEL_KEY_PATTERN: Final = r"[a-z][a-z0-9_-]{0,62}"
"""A label key, whole (Google Cloud's rules, in ASCII): a lowercase letter, then letters, digits, _ and -."""
LABEL_VALUE_PATTERN: Final = r"[a-z0-9_-]{0,63}"
"""A label value, whole: lowercase letters, digits, _ and -; may be empty."""
RESERVED_LABEL_PREFIX: Final = "adk_"
"""Label keys the server keeps for itself (a backend may store its own labels under it)."""

SESSION_HEAD_BYTES: Final = 12 * _KIB
"""The most a session's fields other than its state and events take in a response (with its framing).

(Three names of at most 512 bytes each; a display name of at most 512;
``MAX_LABELS`` labels of at most ``MAX_LABEL_LENGTH`` bytes a side with their
entry framing; the fork origin's name and invocation id; five times (update,
create, expire, close, fork), a revision, two counts and the tags and length
prefixes around them.) A page of sessions counts this for each.
"""
STATE_ENTRY_OVERHEAD_BYTES: Final = 16
"""Bytes a state key counts beyond its key and value text: the most a map entry's framing takes on the wire.

(Two one-byte field tags and three length prefixes of up to four bytes
each, for values under 256 MiB, rounded up.) Counting it makes the state
limit bound what the state takes in a response, however many keys it has.
"""


def text_bytes(text: str) -> int:
    """The UTF-8 size of ``text``."""
    return len(text) if text.isascii() else len(text.encode())


def state_entry_bytes(key: str, value: str) -> int:
    """What one state key counts towards its scope's limit: key (no prefix), JSON value, framing."""
    return text_bytes(key) + text_bytes(value) + STATE_ENTRY_OVERHEAD_BYTES


def state_bytes(scope: Mapping[str, str]) -> int:
    """What a scope of state (keys without their prefix, values as JSON text) counts towards its limit."""
    return sum(state_entry_bytes(key, value) for key, value in scope.items())


def event_size_bound(event_json: str, short_fields: int, state_delta: int) -> int:
    """An upper bound of an event's size in a response, from its parts.

    ``short_fields`` is the UTF-8 bytes of its id, invocation id, author and
    branch together; ``state_delta`` is what its delta's keys count as state
    (``state_bytes`` of each scope). Each field may take a one-byte tag, a
    length prefix of up to five bytes, and (the timestamp, the sequence)
    up to ten bytes of value: 96 bytes covers them all.
    """
    return text_bytes(event_json) + short_fields + state_delta + 96


def check_limits(*, max_message_bytes: int, max_state_bytes: int, max_session_bytes: int) -> None:
    """Rejects limits that cannot hold together: a session's merged state must fit in any response.

    Raises:
        ValueError: naming the setting to change.
    """
    for name, value in (
        ("max-message-bytes", max_message_bytes),
        ("max-state-bytes", max_state_bytes),
        ("max-session-bytes", max_session_bytes),
    ):
        if value <= 0:
            raise ValueError(f"--{name} must be positive, got {value}")
    most_state = (max_message_bytes - RESPONSE_ENVELOPE_BYTES) // 3
    if max_state_bytes > most_state:
        raise ValueError(
            f"--max-state-bytes {max_state_bytes} does not fit --max-message-bytes {max_message_bytes}: "
            f"a session's three scopes of state and {RESPONSE_ENVELOPE_BYTES} bytes of the rest must fit "
            f"in one response, so --max-state-bytes may be at most {max(most_state, 0)}"
        )
