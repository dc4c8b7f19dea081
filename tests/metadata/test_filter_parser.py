"""The filter and order_by of ListSessions, parsed into the SessionQuery backends receive."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adk_grpc_sessions.server.api.session_filter import (
    InvalidFilterError,
    parse_filter,
    parse_order_by,
    parse_query,
)
from adk_grpc_sessions.server.backends.base import (
    ALL_SESSIONS,
    Condition,
    Field,
    Operator,
    OrderBy,
    SessionQuery,
)
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError

_T = 1767323045.5  # 2026-01-02T03:04:05.5Z


@pytest.mark.parametrize(
    ("text", "condition"),
    [
        ('display_name = "Trip"', Condition(Field.DISPLAY_NAME, Operator.EQ, "Trip")),
        ('display_name != ""', Condition(Field.DISPLAY_NAME, Operator.NE, "")),
        (
            'display_name = "say \\"hi\\" \\\\ bye"',
            Condition(Field.DISPLAY_NAME, Operator.EQ, 'say "hi" \\ bye'),
        ),
        ('display_name = "AND = OR"', Condition(Field.DISPLAY_NAME, Operator.EQ, "AND = OR")),
        ('display_name = "día ✈"', Condition(Field.DISPLAY_NAME, Operator.EQ, "día ✈")),
        ("labels.team = search", Condition(Field.LABEL, Operator.EQ, "search", "team")),
        ('labels.team = "search"', Condition(Field.LABEL, Operator.EQ, "search", "team")),
        ("labels.tier-2 != gold_1", Condition(Field.LABEL, Operator.NE, "gold_1", "tier-2")),
        ("labels.team:*", Condition(Field.LABEL, Operator.HAS, None, "team")),
        ("labels.team : *", Condition(Field.LABEL, Operator.HAS, None, "team")),
        ("labels.x = AND", Condition(Field.LABEL, Operator.EQ, "AND", "x")),
        ('create_time >= "2026-01-02T03:04:05.5Z"', Condition(Field.CREATE_TIME, Operator.GE, _T)),
        ('create_time < "2026-01-02T05:04:05.5+02:00"', Condition(Field.CREATE_TIME, Operator.LT, _T)),
        (
            'update_time = "2026-01-02T03:04:05.500000001Z"',
            Condition(Field.UPDATE_TIME, Operator.EQ, _T + 1e-9),
        ),
        ('update_time != "2026-01-02T03:04:05.5Z"', Condition(Field.UPDATE_TIME, Operator.NE, _T)),
        ('update_time <= "2026-01-02T03:04:05.5Z"', Condition(Field.UPDATE_TIME, Operator.LE, _T)),
        ('update_time > "2026-01-02T03:04:05.5Z"', Condition(Field.UPDATE_TIME, Operator.GT, _T)),
        ("closed = true", Condition(Field.CLOSED, Operator.EQ, True)),
        ('closed = "false"', Condition(Field.CLOSED, Operator.EQ, False)),
    ],
)
def test_each_term_parses_to_its_condition(text: str, condition: Condition) -> None:
    assert parse_filter(text) == (condition,)


def test_terms_joined_by_and_keep_their_order_and_spacing_does_not_matter() -> None:
    text = '\tlabels.a:*   AND\n display_name="x"AND closed=false '
    assert parse_filter(text) == (
        Condition(Field.LABEL, Operator.HAS, None, "a"),
        Condition(Field.DISPLAY_NAME, Operator.EQ, "x"),
        Condition(Field.CLOSED, Operator.EQ, False),
    )


def test_an_empty_or_blank_filter_and_order_is_every_session_in_adk_s_order() -> None:
    assert parse_query("", "") is ALL_SESSIONS
    assert parse_query("  ", "update_time asc") is ALL_SESSIONS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", (OrderBy.UPDATE_TIME, False)),
        ("update_time", (OrderBy.UPDATE_TIME, False)),
        ("update_time desc", (OrderBy.UPDATE_TIME, True)),
        ("create_time", (OrderBy.CREATE_TIME, False)),
        (" create_time   asc ", (OrderBy.CREATE_TIME, False)),
        ("create_time desc", (OrderBy.CREATE_TIME, True)),
    ],
)
def test_order_by_names_a_time_and_a_direction(text: str, expected: tuple[OrderBy, bool]) -> None:
    assert parse_order_by(text) == expected


@pytest.mark.parametrize(
    "text", ["name", "desc", "create_time DESC", "update_time desc,create_time", "a b c"]
)
def test_a_bad_order_by_names_order_by(text: str) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        parse_order_by(text)
    assert [v.field for v in raised.value.violations] == ["order_by"]


def test_a_query_holds_the_filter_and_the_order() -> None:
    assert parse_query("closed = true", "create_time desc") == SessionQuery(
        (Condition(Field.CLOSED, Operator.EQ, True),), OrderBy.CREATE_TIME, True
    )


@pytest.mark.parametrize(
    ("text", "position", "says"),
    [
        ('display_name = "a" OR closed = true', 20, "unexpected 'OR'"),
        ('display_name = "a" and closed = true', 20, "expected AND"),
        ('display_name = "a" ANDclosed = true', 20, "unexpected"),
        ("colour = red", 1, "unknown field 'colour'"),
        ("Display_name = red", 1, "unknown field"),
        ("labels = x", 1, "unknown field 'labels'"),
        ("labels. = x", 8, "a label key"),
        ("labels.Team = x", 8, "a label key"),
        ("labels.adk_app:*", 8, "reserved"),
        ("state.x = 1", 1, "only labels have keys"),
        ('display_name < "a"', 14, "'=' or '!='"),
        ("labels.a > b", 10, "'=' or '!='"),
        ("display_name = Alpha", 16, "double-quoted"),
        ("create_time > 5", 15, "RFC 3339"),
        ('create_time > "2026-01-02T03:04:05"', 15, "RFC 3339"),
        ('create_time > "2026-01-02"', 15, "RFC 3339"),
        ("update_time:*", 1, "tests a label"),
        ("closed = maybe", 10, "true or false"),
        ("closed != true", 8, "'=' only"),
        ("closed", 7, "ends early"),
        ("closed =", 9, "ends early"),
        ('display_name = "x" AND', 23, "ends early"),
        ('display_name = "open', 16, "unexpected character"),
        ('display_name = "bad \\n escape"', 16, "unexpected character"),
        ("(closed = true)", 1, "unexpected character '('"),
        ("closed = true AND AND closed = false", 19, "unexpected 'AND'; expected a field"),
        ("NOT closed = true", 5, "unexpected"),
        ("a = b\n  AND c", 14, "ends early"),
    ],
)
def test_a_bad_filter_names_filter_and_the_column_of_the_error(text: str, position: int, says: str) -> None:
    with pytest.raises(InvalidFilterError) as raised:
        parse_filter(text)
    error = raised.value
    assert error.position == position
    [violation] = error.violations
    assert violation.field == "filter"
    assert violation.description.startswith(f"at column {position}: ")
    assert says in violation.description


@given(st.text(max_size=60))
def test_any_text_parses_or_is_refused_with_a_column_within_it(text: str) -> None:
    positions = []
    try:
        parse_filter(text)
    except InvalidFilterError as error:
        positions.append(error.position)
    assert all(1 <= position <= len(text) + 1 for position in positions)
