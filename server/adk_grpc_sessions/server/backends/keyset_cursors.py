"""The cursors of the backends that page by keyset (memory and SQL): positions in their own order.

A session listing resumes after a ``SessionPosition``; an event listing after
a sequence number, or (the rest of a session read) within an ``EventSpan``; a
listing of apps or users after the last name it returned.
Each is written as compact JSON text, the ``Cursor`` the API layer carries
unread inside a signed page token. Parsing is as strict as a request field's
checks: a signature proves who wrote a token, not that every writer was
bug-free, and a value storage chokes on (a NUL in an id, a time past a float)
must be refused here, not fail in storage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import pydantic_core

from adk_grpc_sessions.server.backends.errors import InvalidCursorError
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError, check_key
from adk_grpc_sessions.server.backends.records import Cursor
from adk_grpc_sessions.wire.timestamps import TimestampRangeError, parts_from_seconds

SessionPosition = tuple[float, str, str]
"""Position in a session listing: (last_update_time, user_id, session_id) of the last item."""

_MAX_SEQUENCE: Final = 2**63 - 1


@dataclass(frozen=True, slots=True)
class EventSpan:
    """The rest of a session read's selection, as it stood at that read.

    A session read returns what fits in one response; the events after
    ``after`` up to ``upto`` (sequence numbers, both as of the read) are the
    rest. ``generation`` names the session that was read, not just its name:
    a session deleted and created again under that name has another, so its
    events are never mixed into the rest of the first one's read.
    """

    generation: int
    after: int
    upto: int


def session_cursor(position: SessionPosition) -> Cursor:
    """The cursor resuming a session listing after ``position``."""
    return pydantic_core.to_json(list(position)).decode()


def event_cursor(after: int | EventSpan) -> Cursor:
    """The cursor resuming an event listing after sequence ``after``, or within a span."""
    if isinstance(after, EventSpan):
        return pydantic_core.to_json([after.generation, after.after, after.upto]).decode()
    return pydantic_core.to_json([after]).decode()


def name_cursor(name: str) -> Cursor:
    """The cursor resuming a listing of app or user names after ``name``."""
    return pydantic_core.to_json([name]).decode()


def parse_name_cursor(cursor: Cursor) -> str:
    """The name ``name_cursor`` wrote.

    Raises:
        InvalidCursorError: anything else.
    """
    match _parsed(cursor):
        case [str() as name]:
            return _key(name)
    raise InvalidCursorError("not a name listing's position")


def parse_session_cursor(cursor: Cursor) -> SessionPosition:
    """The position ``session_cursor`` wrote.

    Raises:
        InvalidCursorError: anything else.
    """
    match _parsed(cursor):
        case [float() | int() as time, str() as user_id, str() as session_id] if not isinstance(time, bool):
            return (_time(time), _key(user_id), _key(session_id))
    raise InvalidCursorError("not a session listing's position")


def parse_event_cursor(cursor: Cursor) -> int | EventSpan:
    """The sequence or span ``event_cursor`` wrote.

    Raises:
        InvalidCursorError: anything else.
    """
    values = _parsed(cursor)
    if isinstance(values, list) and any(isinstance(n, bool) or not isinstance(n, int) for n in values):
        raise InvalidCursorError("not an event listing's position")
    match values:
        case [int() as sequence] if 0 < sequence <= _MAX_SEQUENCE:
            return sequence
        case [int() as generation, int() as after, int() as upto] if (
            0 < generation <= _MAX_SEQUENCE and 0 <= after < upto <= _MAX_SEQUENCE
        ):
            return EventSpan(generation, after, upto)
    raise InvalidCursorError("not an event listing's position")


def _parsed(cursor: Cursor) -> Any:
    try:
        return pydantic_core.from_json(cursor, allow_inf_nan=False)
    except ValueError:
        raise InvalidCursorError("not JSON") from None


def _time(time: float) -> float:
    """A position's time: a finite number of seconds within Timestamp's range, as storage holds it."""
    try:
        seconds = float(time)
        if not math.isfinite(seconds):
            raise InvalidCursorError("a time that is not finite")
        parts_from_seconds(seconds)
    except (OverflowError, TimestampRangeError):
        raise InvalidCursorError("a time out of range") from None
    return seconds


def _key(value: str) -> str:
    """An app, user or session id in a position: what ``check_key`` accepts in a request."""
    try:
        return check_key("page_token", value)
    except InvalidArgumentError:
        raise InvalidCursorError("an id no request could name") from None
