"""Strict JSON for state values and events: exact numbers, nothing that is not JSON.

Parsing uses pydantic-core's JSON reader, which keeps integers of any size
exact (a float would not) and rejects NaN and Infinity. Numbers too large for
a float (``1e400``) parse as infinity and are rejected here, since no JSON
reader elsewhere could read them back as they were meant.
"""

from __future__ import annotations

import math
from typing import Any

import pydantic_core

from adk_grpc_sessions.server.errors import InvalidArgumentError


def parse_json(text: str, field: str) -> Any:
    """Parses JSON text, naming ``field`` in the error if it is not valid JSON.

    Raises:
        InvalidArgumentError: not JSON, nested more than 200 levels, or NaN/Infinity.
    """
    try:
        return pydantic_core.from_json(text, allow_inf_nan=False)
    except ValueError as exc:
        raise InvalidArgumentError.single(field, f"not valid JSON: {exc}") from None


def dump_json(value: Any) -> str:
    """Compact JSON text for a value produced by ``parse_json``."""
    return pydantic_core.to_json(value).decode()


def require_finite(value: Any, field: str) -> None:
    """Rejects a parsed JSON value that holds a non-finite number anywhere inside.

    Raises:
        InvalidArgumentError: a number overflowed to infinity.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidArgumentError.single(field, "holds a number too large to represent")
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def check_json_value(text: str, field: str) -> None:
    """Validates one state value given as JSON text.

    Raises:
        InvalidArgumentError: not a finite JSON value.
    """
    require_finite(parse_json(text, field), field)
