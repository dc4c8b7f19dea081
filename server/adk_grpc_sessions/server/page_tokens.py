"""Opaque page tokens (AIP-158) for the list calls.

A token records where the last page ended and which request it belongs to
(a digest of the filter fields), so a token is only good for the same query:
a mismatched, altered or made-up token is INVALID_ARGUMENT, never a silent
jump to unrelated results. It holds a keyset position, not an offset, so each
page costs the same however deep it is; or, for a backend that pages through
its storage's own API (``Backend.pages_by_token``), that API's page token,
wrapped and bound to the request the same way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from typing import Any, Final

import pydantic_core

from adk_grpc_sessions.server.backends.base import EventCursor, EventSpan, SessionCursor, StoragePageToken
from adk_grpc_sessions.server.errors import InvalidArgumentError

_VERSION: Final = 1
_SESSIONS: Final = "s"
_EVENTS: Final = "e"
_FIELD: Final = "page_token"
_MAX_TOKEN_LENGTH: Final = 4096


def _binding(*query: str | float | None) -> str:
    """A short digest of the request fields a token is valid for."""
    return hashlib.sha256(pydantic_core.to_json(list(query))).hexdigest()[:16]


def _encode(payload: list[Any]) -> str:
    return base64.urlsafe_b64encode(pydantic_core.to_json(payload)).rstrip(b"=").decode()


def _invalid() -> InvalidArgumentError:
    return InvalidArgumentError.single(
        _FIELD, "not a page token from a previous response to this same request"
    )


def _decode(token: str, kind: str, binding: str) -> list[Any]:
    invalid = _invalid()
    if len(token) > _MAX_TOKEN_LENGTH:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = pydantic_core.from_json(raw, allow_inf_nan=False)
    except (ValueError, binascii.Error):
        raise invalid from None
    if not isinstance(payload, list) or len(payload) < 3 or payload[:3] != [_VERSION, kind, binding]:
        raise invalid
    return payload[3:]


def _storage_token(cursor: list[Any]) -> StoragePageToken:
    match cursor:
        case [str() as storage_token] if storage_token:
            return storage_token
    raise _invalid()


def encode_sessions_token(app_name: str, user_id: str | None, cursor: SessionCursor) -> str:
    """A token resuming a session listing after ``cursor``."""
    payload = [cursor] if isinstance(cursor, str) else list(cursor)
    return _encode([_VERSION, _SESSIONS, _binding(app_name, user_id), *payload])


def decode_sessions_token(
    token: str, app_name: str, user_id: str | None, *, by_storage_token: bool = False
) -> SessionCursor:
    """The cursor in a session-listing token (a storage page token if ``by_storage_token``).

    Raises:
        InvalidArgumentError: the token is not one for this listing.
    """
    cursor = _decode(token, _SESSIONS, _binding(app_name, user_id))
    if by_storage_token:
        return _storage_token(cursor)
    match cursor:
        case [float() | int() as time, str() as user, str() as session] if not isinstance(
            time, bool
        ) and math.isfinite(time):
            return (float(time), user, session)
    raise _invalid()


def encode_events_token(
    app_name: str, user_id: str, session_id: str, after_timestamp: float | None, cursor: EventCursor
) -> str:
    """A token resuming an event listing after ``cursor``."""
    binding = _binding(app_name, user_id, session_id, after_timestamp)
    return _encode([_VERSION, _EVENTS, binding, cursor])


def decode_events_token(
    token: str,
    app_name: str,
    user_id: str,
    session_id: str,
    after_timestamp: float | None,
    *,
    by_storage_token: bool = False,
) -> EventCursor:
    """The cursor in an event-listing token (a storage page token if ``by_storage_token``).

    Raises:
        InvalidArgumentError: the token is not one for this listing.
    """
    cursor = _decode(token, _EVENTS, _binding(app_name, user_id, session_id, after_timestamp))
    if by_storage_token:
        return _storage_token(cursor)
    match cursor:
        case [int() as sequence] if not isinstance(sequence, bool) and 0 < sequence < 2**63:
            return sequence
    raise _invalid()


# A GetSession's continuation (``GetSessionResponse.next_events_page_token``):
# the rest of that read's selection, listed by ListEvents. A kind of its own,
# bound to the session alone (the selection was settled by the read), so it
# is never taken for an ordinary event-listing token, nor the other way round.
_CONTINUATION: Final = "c"
_MAX_SEQUENCE: Final = 2**63


def encode_continuation_token(app_name: str, user_id: str, session_id: str, cursor: EventCursor) -> str:
    """A token listing the rest of a session read's selection from ``cursor``.

    ``cursor`` is an ``EventSpan``, or a storage page token.
    """
    if isinstance(cursor, EventSpan):
        payload: list[Any] = [cursor.generation, cursor.after, cursor.upto]
    elif isinstance(cursor, str):
        payload = [cursor]
    else:
        raise TypeError(f"a continuation resumes from an EventSpan or a storage token, not {cursor!r}")
    return _encode([_VERSION, _CONTINUATION, _binding(app_name, user_id, session_id), *payload])


def decode_continuation_token(
    token: str, app_name: str, user_id: str, session_id: str, *, by_storage_token: bool = False
) -> EventCursor:
    """The cursor in a continuation token (a storage page token if ``by_storage_token``).

    Raises:
        InvalidArgumentError: the token is not a continuation of this session's read.
    """
    cursor = _decode(token, _CONTINUATION, _binding(app_name, user_id, session_id))
    if by_storage_token:
        return _storage_token(cursor)
    match cursor:
        case [int() as generation, int() as after, int() as upto] if (
            not any(isinstance(n, bool) for n in cursor) and 0 < generation < _MAX_SEQUENCE
        ) and 0 <= after < upto < _MAX_SEQUENCE:
            return EventSpan(generation, after, upto)
    raise _invalid()
