"""``ListSessionsRequest.filter`` and ``order_by``, parsed into the ``SessionQuery`` backends evaluate.

The filter language is the contract's subset of AIP-160 (the proto's
"Metadata, filtered listings and forks"): comparisons joined by ``AND``.
A small LALR grammar (lark) reads its shape; the meaning of each comparison
(which fields exist, which operators and values each takes) is checked on
the parse tree, so every error can name the column where it starts. A filter
that breaks a rule is ``InvalidFilterError``: INVALID_ARGUMENT naming
``filter``, with the 1-based column in its message and in ``ErrorInfo``
metadata ``position``.
"""

from __future__ import annotations

from typing import Final

import lark
from google.protobuf.timestamp_pb2 import Timestamp

from adk_grpc_sessions.server.api import validation
from adk_grpc_sessions.server.backends.base import (
    ALL_SESSIONS,
    Condition,
    Field,
    Operator,
    OrderBy,
    SessionQuery,
)
from adk_grpc_sessions.server.backends.invalid_input import FieldViolation, InvalidArgumentError
from adk_grpc_sessions.wire.timestamps import TimestampRangeError, seconds_from_parts

FILTER_FIELD: Final = "filter"
ORDER_BY_FIELD: Final = "order_by"

# ``AND`` must end a word, so "ANDx" is not "AND x", and is never a member (a field, or
# "labels." and a key), so "AND AND" is refused where the second one stands.
_GRAMMAR: Final = r"""
    start: comparison (_AND comparison)*
    comparison: MEMBER COMPARATOR value   -> compare
              | MEMBER HAS_ANY            -> has
    value: STRING | BARE
    _AND: /AND\b/
    MEMBER: /(?!AND\b)[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]*)?/
    COMPARATOR: "<=" | ">=" | "!=" | "=" | "<" | ">"
    HAS_ANY: /:[ \t]*\*/
    STRING: /"([^"\\]|\\["\\])*"/
    BARE: /[A-Za-z0-9_-]+/
    %ignore /[ \t\r\n]+/
"""
_PARSER: Final = lark.Lark(_GRAMMAR, parser="lalr", lexer="contextual")

_TERMINAL_WORDS: Final = {
    "MEMBER": "a field (display_name, labels.KEY, create_time, update_time, closed)",
    "COMPARATOR": "a comparison (= != < <= > >=)",
    "HAS_ANY": "':*'",
    "STRING": 'a double-quoted value ("...")',
    "BARE": "a value",
    "_AND": "AND",
    "$END": "the end of the filter",
}
_LABELS_PREFIX: Final = "labels."
_TIME_FIELDS: Final = {"create_time": Field.CREATE_TIME, "update_time": Field.UPDATE_TIME}
_EQUALITIES: Final = (Operator.EQ, Operator.NE)
_ORDERS: Final = {"update_time": OrderBy.UPDATE_TIME, "create_time": OrderBy.CREATE_TIME}
_DIRECTIONS: Final = {"asc": False, "desc": True}


class InvalidFilterError(InvalidArgumentError):
    """A filter the server cannot read; ``position`` is the 1-based column where the problem starts."""

    def __init__(self, position: int, description: str) -> None:
        super().__init__([FieldViolation(FILTER_FIELD, f"at column {position}: {description}")])
        self.position = position


def parse_query(filter_text: str, order_by: str) -> SessionQuery:
    """The ``SessionQuery`` of a listing's ``filter`` and ``order_by`` (both empty: ``ALL_SESSIONS``).

    Raises:
        InvalidFilterError: the filter cannot be read, or names a field, operator or value it does not take.
        InvalidArgumentError: naming ``order_by``.
    """
    conditions = parse_filter(filter_text)
    ordering, descending = parse_order_by(order_by)
    if not conditions and ordering is OrderBy.UPDATE_TIME and not descending:
        return ALL_SESSIONS
    return SessionQuery(conditions, ordering, descending)


def parse_filter(text: str) -> tuple[Condition, ...]:
    """The conditions of a filter, in the order written (empty or blank: none).

    Raises:
        InvalidFilterError: naming the column of the first problem.
    """
    if not text.strip():
        return ()
    try:
        tree = _PARSER.parse(text)
    except lark.UnexpectedCharacters as exc:
        position = exc.pos_in_stream or 0
        raise InvalidFilterError(position + 1, f"unexpected character {text[position]!r}") from None
    except lark.UnexpectedToken as exc:
        raise _unexpected(text, exc) from None
    except lark.UnexpectedEOF:
        raise InvalidFilterError(len(text) + 1, "the filter ends early") from None
    return tuple(_condition(comparison) for comparison in tree.children if isinstance(comparison, lark.Tree))


def parse_order_by(text: str) -> tuple[OrderBy, bool]:
    """The order and direction (True: descending) ``order_by`` names (empty: update_time, ascending).

    Raises:
        InvalidArgumentError: naming ``order_by``.
    """
    words = text.split()
    if not words:
        return OrderBy.UPDATE_TIME, False
    ordering = _ORDERS.get(words[0])
    direction = _DIRECTIONS.get(words[1]) if len(words) == 2 else False
    if ordering is None or direction is None or len(words) > 2:
        raise InvalidArgumentError.single(
            ORDER_BY_FIELD,
            f"expected 'update_time' or 'create_time', optionally followed by 'desc' or 'asc'; got {text!r}",
        )
    return ordering, direction


def _unexpected(text: str, error: lark.UnexpectedToken) -> InvalidFilterError:
    token = error.token
    if token.type == "$END":
        return InvalidFilterError(
            len(text) + 1, f"the filter ends early; expected {_expected(error.expected)}"
        )
    position = (token.start_pos or 0) + 1
    return InvalidFilterError(position, f"unexpected {str(token)!r}; expected {_expected(error.expected)}")


def _expected(terminals: set[str]) -> str:
    words = sorted({_TERMINAL_WORDS.get(name, name) for name in terminals})
    return " or ".join(words) if words else "nothing more"


def _condition(comparison: lark.Tree[lark.Token]) -> Condition:
    """One comparison's condition, its field, operator and value checked against each other."""
    member = comparison.children[0]
    assert isinstance(member, lark.Token)
    if comparison.data == "has":
        key = _label_key(member)
        if key is None:
            raise InvalidFilterError(
                _column(member), f"':*' tests a label (labels.KEY:*), not {str(member)!r}"
            )
        return Condition(Field.LABEL, Operator.HAS, None, key)
    comparator, value_tree = comparison.children[1], comparison.children[2]
    assert isinstance(comparator, lark.Token)
    assert isinstance(value_tree, lark.Tree)
    value = value_tree.children[0]
    assert isinstance(value, lark.Token)
    operator = Operator(str(comparator))
    key = _label_key(member)
    if key is not None:
        _equality(member, comparator, operator)
        return Condition(Field.LABEL, operator, _text(value, bare=True), key)
    name = str(member)
    if name == "display_name":
        _equality(member, comparator, operator)
        return Condition(Field.DISPLAY_NAME, operator, _text(value, bare=False))
    if name in _TIME_FIELDS:
        return Condition(_TIME_FIELDS[name], operator, _time(value))
    if name == "closed":
        if operator is not Operator.EQ:
            raise InvalidFilterError(
                _column(comparator), "closed takes '=' only (closed = true, closed = false)"
            )
        return Condition(Field.CLOSED, operator, _boolean(value))
    raise InvalidFilterError(
        _column(member),
        f"unknown field {name!r}; filterable: display_name, labels.KEY, create_time, update_time, closed",
    )


def _label_key(member: lark.Token) -> str | None:
    """The key of a ``labels.KEY`` member (checked by the label rules); None for any other member."""
    name = str(member)
    if not name.startswith(_LABELS_PREFIX):
        if "." in name:
            raise InvalidFilterError(
                _column(member), f"unknown field {name!r}; only labels have keys (labels.KEY)"
            )
        return None
    key = name[len(_LABELS_PREFIX) :]
    try:
        return validation.label_key(FILTER_FIELD, key)
    except InvalidArgumentError as exc:
        raise InvalidFilterError(
            _column(member) + len(_LABELS_PREFIX), exc.violations[0].description
        ) from None


def _equality(member: lark.Token, comparator: lark.Token, operator: Operator) -> None:
    if operator not in _EQUALITIES:
        raise InvalidFilterError(
            _column(comparator), f"{member!s} takes '=' or '!=' only, not {str(comparator)!r}"
        )


def _text(value: lark.Token, *, bare: bool) -> str:
    """A value as text: a double-quoted string unescaped, or (where ``bare``) a bare word."""
    if value.type == "STRING":
        inner = str(value)[1:-1]
        # The grammar admits only \" and \\: unescaping them in one pass keeps "\\\"" right.
        out: list[str] = []
        escaped = False
        for character in inner:
            if escaped or character != "\\":
                out.append(character)
                escaped = False
            else:
                escaped = True
        return "".join(out)
    if not bare:
        raise InvalidFilterError(_column(value), f'a double-quoted value is needed here ("{value}")')
    return str(value)


def _time(value: lark.Token) -> float:
    """An RFC 3339 time (with its offset) in float seconds since the epoch."""
    if value.type != "STRING":
        raise InvalidFilterError(
            _column(value), 'a time is a double-quoted RFC 3339 text ("2026-01-02T03:04:05Z")'
        )
    text = _text(value, bare=False)
    instant = Timestamp()
    try:
        instant.FromJsonString(text)
        return seconds_from_parts(instant.seconds, instant.nanos)
    except (ValueError, TimestampRangeError):
        raise InvalidFilterError(
            _column(value), f'not an RFC 3339 time with an offset ("2026-01-02T03:04:05Z"): {text!r}'
        ) from None


def _boolean(value: lark.Token) -> bool:
    text = str(value) if value.type == "BARE" else _text(value, bare=False)
    if text not in ("true", "false"):
        raise InvalidFilterError(_column(value), f"closed is true or false, not {text!r}")
    return text == "true"


def _column(token: lark.Token) -> int:
    """The 1-based column where ``token`` starts in the filter."""
    return (token.start_pos or 0) + 1
