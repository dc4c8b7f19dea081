"""Exactness of float seconds <-> google.protobuf.Timestamp."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adk_grpc_sessions.wire.timestamps import (
    MAX_SECONDS,
    MIN_SECONDS,
    TimestampRangeError,
    from_timestamp,
    parts_from_seconds,
    seconds_from_parts,
    to_timestamp,
)

# From 2**23 s on (1970-04-08), floats are more than a nanosecond apart, so
# every float in the range converts exactly.
coarse_floats = st.floats(
    min_value=2.0**23, max_value=float(MAX_SECONDS), allow_nan=False, allow_infinity=False
)
negative_coarse_floats = st.floats(
    min_value=float(MIN_SECONDS), max_value=-(2.0**23), allow_nan=False, allow_infinity=False
)


@st.composite
def nanosecond_decimals(draw: st.DrawFn) -> float:
    """Any float whose shortest decimal form has at most nine fractional digits."""
    whole = draw(st.integers(min_value=MIN_SECONDS + 1, max_value=MAX_SECONDS - 1))
    digits = draw(st.integers(min_value=0, max_value=9))
    fraction = draw(st.integers(min_value=0, max_value=10**digits - 1)) if digits else 0
    value = float(Decimal(whole) + Decimal(fraction).scaleb(-digits))
    return value


@given(coarse_floats | negative_coarse_floats)
def test_every_float_from_1970_04_08_on_round_trips(seconds: float) -> None:
    assert from_timestamp(to_timestamp(seconds)) == seconds


@given(nanosecond_decimals())
def test_every_float_with_at_most_nine_decimals_round_trips(seconds: float) -> None:
    assert from_timestamp(to_timestamp(seconds)) == seconds


@given(st.floats(min_value=0.0, max_value=2.0**23, allow_nan=False))
def test_sub_nanosecond_floats_round_to_the_nearest_nanosecond(seconds: float) -> None:
    whole, nanos = parts_from_seconds(seconds)
    assert abs(Decimal(whole) + Decimal(nanos).scaleb(-9) - Decimal(seconds)) <= Decimal("0.5e-9")


@given(coarse_floats, coarse_floats)
def test_conversion_preserves_order(a: float, b: float) -> None:
    assert (a < b) == (parts_from_seconds(a) < parts_from_seconds(b))


@pytest.mark.parametrize(
    ("seconds", "parts"),
    [
        (1_700_000_000.123, (1_700_000_000, 123_000_000)),
        (0.0, (0, 0)),
        (-1.5, (-2, 500_000_000)),
        (-0.25, (-1, 750_000_000)),
        (1e-05, (0, 10_000)),
        (253_402_300_799.99997, (253_402_300_799, 999_970_000)),
        (float(MIN_SECONDS), (MIN_SECONDS, 0)),
    ],
)
def test_known_values_give_the_decimal_nanoseconds(seconds: float, parts: tuple[int, int]) -> None:
    assert parts_from_seconds(seconds) == parts
    assert seconds_from_parts(*parts) == seconds


@pytest.mark.parametrize(
    "seconds", [math.nan, math.inf, -math.inf, MAX_SECONDS + 1.0, MIN_SECONDS - 1.0, 1e300]
)
def test_times_outside_timestamp_range_are_rejected(seconds: float) -> None:
    with pytest.raises(TimestampRangeError):
        parts_from_seconds(seconds)


@pytest.mark.parametrize("parts", [(0, -1), (0, 1_000_000_000), (MAX_SECONDS + 1, 0), (MIN_SECONDS - 1, 0)])
def test_invalid_timestamps_are_rejected(parts: tuple[int, int]) -> None:
    with pytest.raises(TimestampRangeError):
        seconds_from_parts(*parts)
