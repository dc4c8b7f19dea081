"""Checks of request fields that need no storage to decide.

Each check raises ``InvalidArgumentError`` naming the field, so a caller
learns exactly what to fix; nothing malformed ever reaches a backend.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from adk_grpc_sessions.server.backends.base import NEVER, Expiry, Metadata, SessionKey
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError, check_key
from adk_grpc_sessions.server.backends.json_values import check_json_value
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire.limits import (
    DEFAULT_PAGE_SIZE,
    LABEL_KEY_PATTERN,
    LABEL_VALUE_PATTERN,
    MAX_DISPLAY_NAME_LENGTH,
    MAX_LABEL_LENGTH,
    MAX_LABELS,
    MAX_PAGE_SIZE,
    MAX_TTL_SECONDS,
    RESERVED_LABEL_PREFIX,
)
from adk_grpc_sessions.wire.timestamps import TimestampRangeError, seconds_from_parts

_RESERVED_SESSION_PREFIXES: Final = ("app:", "user:", "temp:")
_LABEL_KEY: Final = re.compile(LABEL_KEY_PATTERN)
_LABEL_VALUE: Final = re.compile(LABEL_VALUE_PATTERN)


def session_id(field: str, value: str) -> str:
    """Trims a session id as ADK does, then checks it as a key."""
    return check_key(field, value.strip())


def session_key(
    request: pb.GetSessionRequest
    | pb.DeleteSessionRequest
    | pb.AppendEventRequest
    | pb.ListEventsRequest
    | pb.CloseSessionRequest
    | pb.WatchSessionRequest
    | pb.Session,
    prefix: str = "",
) -> SessionKey:
    """The session a request names, each part checked (named ``prefix`` + the field's name)."""
    return SessionKey(
        check_key(prefix + "app_name", request.app_name),
        check_key(prefix + "user_id", request.user_id),
        session_id(prefix + "session_id", request.session_id),
    )


def page_size(field: str, value: int, maximum: int = MAX_PAGE_SIZE) -> int:
    """Resolves a page size: 0 is the default (or ``maximum`` if smaller), larger values are capped.

    Raises:
        InvalidArgumentError: negative.
    """
    if value < 0:
        raise InvalidArgumentError.single(field, f"must not be negative, got {value}")
    return min(value or DEFAULT_PAGE_SIZE, maximum)


def batch_size(count: int, maximum: int, what: str) -> int:
    """A batch call's count of ``what`` (say, "appends"), checked against ``maximum``.

    Raises:
        InvalidArgumentError: the batch is empty or holds more than ``maximum``.
    """
    if count == 0:
        raise InvalidArgumentError.single("requests", f"required: at least one (1 to {maximum} {what})")
    if count > maximum:
        raise InvalidArgumentError.single("requests", f"at most {maximum} {what}, got {count}")
    return count


def timestamp(field: str, value: Timestamp) -> float:
    """Converts a request timestamp to float seconds.

    Raises:
        InvalidArgumentError: outside Timestamp's range or with invalid nanos.
    """
    try:
        return seconds_from_parts(value.seconds, value.nanos)
    except TimestampRangeError as exc:
        raise InvalidArgumentError.single(field, str(exc)) from None


def state_map(field: str, values: Mapping[str, str], *, session_scope: bool = False) -> dict[str, str]:
    """Checks one scope of state: every value must be JSON text of a finite value.

    Session-scope keys must not carry a scope prefix: such a key belongs in
    another scope (or, for ``temp:``, is never stored).

    Raises:
        InvalidArgumentError: naming the first bad entry as ``field["key"]``.
    """
    for key, text in values.items():
        entry = f"{field}[{key!r}]"
        if session_scope and key.startswith(_RESERVED_SESSION_PREFIXES):
            raise InvalidArgumentError.single(
                entry, "a session-scope key must not start with 'app:', 'user:' or 'temp:'"
            )
        if not text:
            raise InvalidArgumentError.single(entry, "must be JSON text (use 'null' for None)")
        check_json_value(text, entry)
    return dict(values)


def ttl(field: str, value: Duration) -> float:
    """A ttl in seconds: positive and at most ``MAX_TTL_SECONDS``.

    Raises:
        InvalidArgumentError: not a valid Duration, not positive, or too long.
    """
    if not -999_999_999 <= value.nanos <= 999_999_999 or (value.seconds * value.nanos < 0):
        raise InvalidArgumentError.single(
            field, "not a valid Duration: nanos out of range or of another sign"
        )
    seconds = value.seconds + value.nanos / 1e9
    if seconds <= 0:
        raise InvalidArgumentError.single(field, f"must be positive, got {seconds:g} s")
    if seconds > MAX_TTL_SECONDS:
        raise InvalidArgumentError.single(
            field, f"must be at most 100 years ({MAX_TTL_SECONDS:.0f} s), got {seconds:g} s"
        )
    return seconds


def expire_time(field: str, value: Timestamp, now: float) -> float:
    """An expiry instant in float seconds: after ``now``.

    Raises:
        InvalidArgumentError: outside Timestamp's range, or not after ``now`` (the server's clock).
    """
    instant = timestamp(field, value)
    if instant <= now:
        raise InvalidArgumentError.single(
            field, f"must be in the future: it is {now - instant:.3f} s before the server's clock"
        )
    return instant


def expiry(
    holder: pb.CreateSessionRequest | pb.ForkSessionRequest | pb.Session,
    prefix: str,
    now: float,
    default_ttl: float | None,
) -> Expiry:
    """The expiry ``holder``'s ``expiration`` oneof sets (field names start with ``prefix``).

    Neither field set: ``default_ttl`` from ``now`` (None: ``NEVER``).

    Raises:
        InvalidArgumentError: naming ``expire_time`` or ``ttl``.
    """
    which = holder.WhichOneof("expiration")
    if which == "expire_time":
        return Expiry(expire_time(prefix + "expire_time", holder.expire_time, now), None)
    if which == "ttl":
        seconds = ttl(prefix + "ttl", holder.ttl)
        return Expiry(now + seconds, seconds)
    return NEVER if default_ttl is None else Expiry(now + default_ttl, default_ttl)


def display_name(field: str, value: str) -> str:
    """A display name: at most ``MAX_DISPLAY_NAME_LENGTH`` code points, empty = none.

    Raises:
        InvalidArgumentError: too long, or holding NUL (which SQL text columns cannot store).
    """
    if len(value) > MAX_DISPLAY_NAME_LENGTH:
        raise InvalidArgumentError.single(
            field, f"at most {MAX_DISPLAY_NAME_LENGTH} characters, got {len(value)}"
        )
    if "\x00" in value:
        raise InvalidArgumentError.single(field, "must not contain NUL")
    return value


def label_key(field: str, key: str) -> str:
    """A label's key: Google Cloud's label rules, and not in the server's reserved prefix.

    Raises:
        InvalidArgumentError: naming ``field``.
    """
    if not _LABEL_KEY.fullmatch(key):
        raise InvalidArgumentError.single(
            field,
            f"a label key is 1 to {MAX_LABEL_LENGTH} lowercase letters, digits, '_' and '-', "
            f"starting with a letter; got {key!r}",
        )
    if key.startswith(RESERVED_LABEL_PREFIX):
        raise InvalidArgumentError.single(
            field, f"label keys starting with {RESERVED_LABEL_PREFIX!r} are reserved for the server"
        )
    return key


def labels(field: str, values: Mapping[str, str]) -> dict[str, str]:
    """A session's labels: at most ``MAX_LABELS``, each key and value by the label rules.

    Raises:
        InvalidArgumentError: naming ``field`` (too many) or the first bad entry as ``field["key"]``.
    """
    if len(values) > MAX_LABELS:
        raise InvalidArgumentError.single(field, f"at most {MAX_LABELS} labels, got {len(values)}")
    for key, value in values.items():
        entry = f"{field}[{key!r}]"
        label_key(entry, key)
        if not _LABEL_VALUE.fullmatch(value):
            raise InvalidArgumentError.single(
                entry,
                f"a label value is 0 to {MAX_LABEL_LENGTH} lowercase letters, digits, '_' and '-'; "
                f"got {value!r}",
            )
    return dict(values)


def metadata(
    holder: pb.CreateSessionRequest | pb.ForkSessionRequest | pb.Session, prefix: str = ""
) -> Metadata:
    """The display name and labels a request sets (field names start with ``prefix``).

    Raises:
        InvalidArgumentError: naming the field.
    """
    return Metadata(
        display_name(prefix + "display_name", holder.display_name),
        labels(prefix + "labels", holder.labels),
    )
