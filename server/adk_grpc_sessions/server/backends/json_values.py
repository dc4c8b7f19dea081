"""Strict JSON for state values and events: exact numbers, nothing that is not JSON, bounded nesting.

Parsing uses pydantic-core's JSON reader, which keeps integers of any size
exact (a float would not) and rejects NaN and Infinity. Numbers too large for
a float (``1e400``) parse as infinity and are rejected here, since no JSON
reader elsewhere could read them back as they were meant.

Nesting is bounded by one limit, ``MAX_JSON_DEPTH``, wherever state enters
(see its docstring for why it is what it is). pydantic-core's reader stops at
200 levels, short of the limit, so text it refuses for depth alone is measured
here and, when within the limit, read by the standard library's parser
instead; everything shallower takes the fast path, which needs no measuring.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final, NoReturn

import pydantic_core

from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError

MAX_JSON_DEPTH: Final = 254
"""Deepest nesting of arrays and objects in a state value, counted from the value itself.

``1`` and ``"x"`` are 0 levels deep, ``[]`` and ``{"a": 1}`` 1, ``[[1]]`` 2.
It applies wherever a state value enters: CreateSession's state and each value
of an event's ``actions.stateDelta``, in unary, batch and stream appends alike.

Why 254: it is the deepest value ADK Python can write at all. ADK serializes
state and events with pydantic, whose JSON writer refuses anything deeper
(ADK then stores the value's repr instead), so every value ADK's own services
store fits (the proto's "Nesting" paragraph gives the detail).
"""

EVENT_JSON_DEPTH_ALLOWANCE: Final = 16
"""Levels an event may nest beyond ``MAX_JSON_DEPTH``: ADK's own structure around a value.

The deepest free-form value in ADK's event schema, function-call arguments
inside a compaction (``actions.compaction.compactedContent.parts[].
functionCall.args``), is 8 levels in; twice that leaves room for new fields.
"""

MAX_EVENT_JSON_DEPTH: Final = MAX_JSON_DEPTH + EVENT_JSON_DEPTH_ALLOWANCE
"""Deepest nesting of an event's JSON as a whole."""

# pydantic-core's own message when its reader hits its nesting limit.
_PARSER_DEPTH_ERROR: Final = "recursion limit exceeded"
_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET: Final = re.compile(r"[^\[\]{}]+")


def parse_json(text: str, field: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parses JSON text nested at most ``max_depth`` levels, naming ``field`` in the error.

    Raises:
        InvalidArgumentError: not JSON, nested deeper than ``max_depth``, or NaN/Infinity.
    """
    try:
        return pydantic_core.from_json(text, allow_inf_nan=False)
    except ValueError as exc:
        if _PARSER_DEPTH_ERROR not in str(exc):
            raise InvalidArgumentError.single(field, f"not valid JSON: {exc}") from None
    if _exceeds_depth(text, max_depth):
        _too_deep(field, max_depth)
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidArgumentError.single(field, f"not valid JSON: {exc}") from None


def _exceeds_depth(text: str, max_depth: int) -> bool:
    """Whether JSON text nests deeper than ``max_depth``: counted over its brackets outside strings."""
    brackets = _NOT_A_BRACKET.sub("", _STRING.sub("", text))
    depth = 0
    for bracket in brackets:
        if bracket in "[{":
            depth += 1
            if depth > max_depth:  # stop at once: hostile text may be nothing but "["
                return True
        else:
            depth -= 1
    return False


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _too_deep(field: str, max_depth: int) -> NoReturn:
    raise InvalidArgumentError.single(
        field, f"nested deeper than {max_depth} levels of arrays and objects (the nesting depth limit)"
    )


def dump_json(value: Any) -> str:
    """Compact JSON text for a value produced by ``parse_json``."""
    try:
        return pydantic_core.to_json(value).decode()
    except pydantic_core.PydanticSerializationError:
        # pydantic-core's writer stops short of MAX_EVENT_JSON_DEPTH; what
        # parse_json accepted is plain JSON, which the standard library writes.
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def check_value(value: Any, field: str, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Rejects a parsed JSON value nested deeper than ``max_depth`` or holding a non-finite number.

    Raises:
        InvalidArgumentError: a number overflowed to infinity, or the value nests too deep.
    """
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidArgumentError.single(field, "holds a number too large to represent")
        elif isinstance(item, dict | list):
            depth += 1
            if depth > max_depth:
                _too_deep(field, max_depth)
            pending.extend((inner, depth) for inner in (item.values() if isinstance(item, dict) else item))


def nests_deeper_than(value: Any, max_depth: int) -> bool:
    """Whether a parsed JSON value nests more than ``max_depth`` levels of arrays and objects."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            depth += 1
            if depth > max_depth:
                return True
            pending.extend((inner, depth) for inner in (item.values() if isinstance(item, dict) else item))
    return False


def check_json_value(text: str, field: str) -> None:
    """Validates one state value given as JSON text.

    Raises:
        InvalidArgumentError: not a finite JSON value nested at most ``MAX_JSON_DEPTH`` levels.
    """
    check_value(parse_json(text, field), field)
