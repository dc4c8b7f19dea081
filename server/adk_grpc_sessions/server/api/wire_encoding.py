"""Protobuf's wire format, written by hand: varints, strings, timestamps and string maps.

What the hand-encoded responses (``messages``) and the wire cache
(``wire_cache``) are built of: each produces exactly the bytes protobuf's own
serializer would for the same field (tests/server/test_messages.py holds
them to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from adk_grpc_sessions.wire.timestamps import parts_from_seconds

_TIMESTAMP_SECONDS: Final = b"\x08"  # Timestamp.seconds = 1, varint
_TIMESTAMP_NANOS: Final = b"\x10"  # Timestamp.nanos = 2, varint
_ENTRY_KEY: Final = b"\x0a"  # a map entry's key = 1
_ENTRY_VALUE: Final = b"\x12"  # a map entry's value = 2
_INT64_MASK: Final = (1 << 64) - 1
SMALL_VARINTS: Final = tuple(bytes((n,)) for n in range(128))
"""The varint of each number below 128: one byte, looked up rather than computed."""


def varint(value: int) -> bytes:
    """Protobuf's base-128 encoding of a non-negative integer.

    Unrolled up to five bytes: that covers event sizes, sequences, Unix
    seconds (until the year 3058) and nanoseconds, and a loop costs three
    times as much.
    """
    if value < 0x80:
        return SMALL_VARINTS[value]
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


def int64(value: int) -> bytes:
    """An int64 field's varint: a negative value as its 64-bit two's complement (ten bytes)."""
    return varint(value & _INT64_MASK)


def timestamp(seconds: float) -> bytes:
    """The body of ``to_timestamp(seconds)`` (zero fields left out, as protobuf does)."""
    whole, nanos = parts_from_seconds(seconds)
    encoded = _TIMESTAMP_SECONDS + int64(whole) if whole else b""
    return encoded + _TIMESTAMP_NANOS + varint(nanos) if nanos else encoded


def text(key: bytes, value: str) -> bytes:
    """A string field with the given key (left out when empty, as protobuf does)."""
    if not value:
        return b""
    data = value.encode()
    size = len(data)
    # Most strings are short: their one-byte size is looked up, not computed.
    return key + (SMALL_VARINTS[size] if size < 0x80 else varint(size)) + data


def map_entries(key: bytes, values: Mapping[str, str]) -> bytes:
    """A ``map<string, string>`` field: one length-delimited entry (key 1, value 2) per item."""
    parts: list[bytes] = []
    for name, value in values.items():
        entry = text(_ENTRY_KEY, name) + text(_ENTRY_VALUE, value)
        parts += (key, varint(len(entry)), entry)
    return b"".join(parts)
