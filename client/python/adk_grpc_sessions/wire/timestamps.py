"""Exact conversion between ADK's float seconds and ``google.protobuf.Timestamp``.

ADK keeps time as a Python float of seconds since the Unix epoch; the wire
carries ``Timestamp`` (whole seconds and nanoseconds). The conversion goes
through the float's shortest decimal form (``repr``), so a value such as
``1700000000.123`` becomes exactly 1700000000 s + 123000000 ns (what a Go or
TypeScript reader expects), and converts back to the very same float.

``seconds_from_parts(*parts_from_seconds(t)) == t`` holds for every finite ``t``
in ``Timestamp``'s range whose shortest decimal form has at most nine
fractional digits, and for every such ``t`` with ``abs(t) >= 2**23`` (from
1970-04-08 on, floats are spaced more than a nanosecond apart). A float with
finer precision than a nanosecond (only possible below 2**23 seconds) is
rounded to the nearest nanosecond.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from google.protobuf.timestamp_pb2 import Timestamp

NANOS_PER_SECOND: Final = 1_000_000_000
# google.protobuf.Timestamp's documented range: 0001-01-01T00:00:00Z to
# 9999-12-31T23:59:59.999999999Z.
MIN_SECONDS: Final = -62_135_596_800
MAX_SECONDS: Final = 253_402_300_799
_ONE_NANO: Final = Decimal("1e-9")


class TimestampRangeError(ValueError):
    """A time is not finite or lies outside ``google.protobuf.Timestamp``'s range."""


# The last conversion, as one tuple (replaced whole, so safe across threads):
# an append converts its event's time three times in a row (checking it,
# encoding the event, encoding the response's update time).
_last_parts: tuple[float, tuple[int, int]] = (math.nan, (0, 0))  # NaN: equal to nothing


def parts_from_seconds(seconds: float) -> tuple[int, int]:
    """Splits float seconds into (whole seconds, nanoseconds in [0, 1e9)).

    Raises:
        TimestampRangeError: ``seconds`` is NaN, infinite or out of range.
    """
    global _last_parts
    last = _last_parts
    if last[0] == seconds:
        return last[1]
    parts = _parts_from_seconds(seconds)
    _last_parts = (seconds, parts)
    return parts


def _parts_from_seconds(seconds: float) -> tuple[int, int]:
    seconds = float(seconds)
    text = repr(seconds)
    whole_text, dot, fraction = text.partition(".")
    if dot and "e" not in text and len(fraction) <= 9 and whole_text not in ("nan", "inf", "-inf"):
        # Fast path: the shortest decimal form names the nanoseconds exactly.
        whole = int(whole_text)
        nanos = int(fraction.ljust(9, "0"))
        if whole_text.startswith("-") and nanos:
            whole, nanos = whole - 1, NANOS_PER_SECOND - nanos
    else:
        whole, nanos = _parts_from_exact_value(seconds)
    if not MIN_SECONDS <= whole <= MAX_SECONDS:
        raise TimestampRangeError(
            f"{text} seconds is outside the range of google.protobuf.Timestamp (0001-01-01 to 9999-12-31)"
        )
    return whole, nanos


def _parts_from_exact_value(seconds: float) -> tuple[int, int]:
    """Slow path of ``parts_from_seconds``: exponent forms and sub-nanosecond digits.

    Rounds the float's exact binary value (not its shortest decimal form,
    which would round twice) to the nearest nanosecond.
    """
    if not math.isfinite(seconds):
        raise TimestampRangeError(f"{seconds} is not a finite number of seconds")
    if not MIN_SECONDS - 1 <= seconds <= MAX_SECONDS + 1:
        raise TimestampRangeError(
            f"{seconds!r} seconds is outside the range of google.protobuf.Timestamp "
            "(0001-01-01 to 9999-12-31)"
        )
    total_nanos = int((Decimal(seconds) / _ONE_NANO).to_integral_value(ROUND_HALF_EVEN))
    whole, nanos = divmod(total_nanos, NANOS_PER_SECOND)
    return whole, nanos


def seconds_from_parts(whole: int, nanos: int) -> float:
    """Joins (whole seconds, nanoseconds) into the float nearest to their sum.

    Raises:
        TimestampRangeError: ``nanos`` is outside [0, 1e9) or ``whole`` is out of range.
    """
    if not 0 <= nanos < NANOS_PER_SECOND:
        raise TimestampRangeError(f"nanos must be in [0, 999999999], got {nanos}")
    if not MIN_SECONDS <= whole <= MAX_SECONDS:
        raise TimestampRangeError(f"{whole} seconds is outside the range of google.protobuf.Timestamp")
    if whole >= 0 or nanos == 0:
        # float() of a decimal string is correctly rounded, hence exact here.
        return float(f"{whole}.{nanos:09d}")
    # Timestamp keeps nanos positive even before the epoch: -1.5 s is
    # (-2 s, 500000000 ns). Write the same instant as a negative decimal.
    return float(f"-{-whole - 1}.{NANOS_PER_SECOND - nanos:09d}")


def to_timestamp(seconds: float) -> Timestamp:
    """Returns ADK float seconds as a ``Timestamp`` (see the module docstring)."""
    whole, nanos = parts_from_seconds(seconds)
    return Timestamp(seconds=whole, nanos=nanos)


def from_timestamp(timestamp: Timestamp) -> float:
    """Returns a ``Timestamp`` as ADK float seconds (see the module docstring)."""
    return seconds_from_parts(timestamp.seconds, timestamp.nanos)
