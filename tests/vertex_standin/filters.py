"""The part of AIP-160 list filters the Sessions API documents: conjunctions of comparisons.

``ListSessions`` filters on ``user_id``, ``display_name`` and ``labels.KEY``
with ``=``; ``ListEvents`` on a ``timestamp`` range (RFC 3339 values). Terms
are joined with ``AND``; values are double-quoted string literals with
backslash escapes. Anything else is refused, as the API refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from google.protobuf.timestamp_pb2 import Timestamp

_TERM: Final = re.compile(
    r"\s*(?P<field>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)?)\s*(?P<op><=|>=|!=|=|<|>)\s*"
    r'"(?P<value>(?:[^"\\]|\\.)*)"\s*'
)
_AND: Final = re.compile(r"AND\b")


class FilterError(ValueError):
    """A filter the API would answer INVALID_ARGUMENT."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """One ``field op "value"`` term."""

    field: str
    op: str
    value: str


def parse(text: str) -> list[Comparison]:
    """The terms of a conjunction; empty text is no term.

    Raises:
        FilterError: not a conjunction of comparisons with string literals.
    """
    terms: list[Comparison] = []
    position = 0
    text = text.strip()
    while position < len(text):
        if terms:
            joiner = _AND.match(text, position)
            if joiner is None:
                raise FilterError(f"expected AND at position {position} of filter {text!r}")
            position = joiner.end()
        term = _TERM.match(text, position)
        if term is None:
            raise FilterError(f"cannot parse filter {text!r} at position {position}")
        value = re.sub(r"\\(.)", r"\1", term["value"])
        terms.append(Comparison(term["field"], term["op"], value))
        position = term.end()
    return terms


def session_predicate(text: str) -> list[Comparison]:
    """The terms of a ``ListSessions`` filter, checked against the fields it supports.

    Raises:
        FilterError: an unsupported field or operator.
    """
    terms = parse(text)
    for term in terms:
        if term.field not in ("user_id", "display_name") and not term.field.startswith("labels."):
            raise FilterError(f"unsupported filter field {term.field!r}")
        if term.op != "=":
            raise FilterError(f"unsupported operator {term.op!r} for {term.field!r}")
    return terms


def event_bounds(text: str) -> list[tuple[str, Timestamp]]:
    """The (operator, timestamp) terms of a ``ListEvents`` filter.

    Raises:
        FilterError: a field other than timestamp, or a value that is not RFC 3339.
    """
    bounds = []
    for term in parse(text):
        if term.field != "timestamp" or term.op == "!=":
            raise FilterError(f"unsupported filter term {term.field} {term.op}")
        stamp = Timestamp()
        try:
            stamp.FromJsonString(term.value)
        except ValueError as exc:
            raise FilterError(f"timestamp {term.value!r} is not RFC 3339: {exc}") from None
        bounds.append((term.op, stamp))
    return bounds
