"""Reads what the server needs from an ADK event's JSON, and nothing more.

The JSON is authoritative and is stored as received; the typed fields the
server indexes and returns (id, author, timestamp, state delta, ...) are taken
from it here, so the two can never disagree. The one change ever made to the
JSON is to remove ``temp:`` keys from ``actions.stateDelta``: ADK never
persists them.
"""

from __future__ import annotations

from typing import Any, Final

from adk_grpc_sessions.server.backends.base import NewEvent, ScopedState
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError, check_key
from adk_grpc_sessions.server.backends.json_values import (
    MAX_EVENT_JSON_DEPTH,
    check_value,
    dump_json,
    parse_json,
)
from adk_grpc_sessions.wire.timestamps import TimestampRangeError, parts_from_seconds

FIELD: Final = "event_json"
APP_PREFIX: Final = "app:"
USER_PREFIX: Final = "user:"
TEMP_PREFIX: Final = "temp:"

# snake_case spellings of fields the server reads. ADK accepts both on input,
# but a delta sent as "state_delta" would be stored without being applied,
# so such events are refused rather than half understood.
_SNAKE_CASE: Final = {"invocation_id": "invocationId"}
_SNAKE_CASE_ACTIONS: Final = {"state_delta": "stateDelta"}


def parse_event(event_json: str) -> NewEvent:
    """Parses and checks an event for ``AppendEvent``.

    Raises:
        InvalidArgumentError: naming the offending part as ``event_json.<path>``.
    """
    if not event_json:
        raise InvalidArgumentError.single(FIELD, "required: the event as ADK JSON")
    event = parse_json(event_json, FIELD, max_depth=MAX_EVENT_JSON_DEPTH)
    if not isinstance(event, dict):
        raise InvalidArgumentError.single(FIELD, f"must be a JSON object, got {_json_type(event)}")
    for snake, camel in _SNAKE_CASE.items():
        if snake in event:
            raise InvalidArgumentError.single(f"{FIELD}.{snake}", f"use ADK's camelCase name {camel!r}")

    event_id = _string(event, "id", required=True)
    check_key(f"{FIELD}.id", event_id)
    timestamp = _timestamp(event)
    if event.get("partial") is True:
        raise InvalidArgumentError.single(
            f"{FIELD}.partial",
            "partial (streaming) events are never stored; send only the final event",
        )
    if "partial" in event and not isinstance(event["partial"], bool | None):
        raise InvalidArgumentError.single(f"{FIELD}.partial", "must be a boolean or null")

    delta, had_temp_keys = _state_delta(event)
    if had_temp_keys:
        # The stored JSON must not carry what ADK never persists.
        event_json = dump_json(event)
    return NewEvent(
        id=event_id,
        invocation_id=_string(event, "invocationId"),
        author=_string(event, "author"),
        branch=_string(event, "branch"),
        timestamp=timestamp,
        state_delta=delta,
        event_json=event_json,
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )


def _string(event: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = event.get(name)
    if value is None:
        if required:
            raise InvalidArgumentError.single(f"{FIELD}.{name}", "required")
        return ""
    if not isinstance(value, str):
        raise InvalidArgumentError.single(f"{FIELD}.{name}", f"must be a string, got {_json_type(value)}")
    return value


def _timestamp(event: dict[str, Any]) -> float:
    field = f"{FIELD}.timestamp"
    value = event.get("timestamp")
    if value is None:
        raise InvalidArgumentError.single(field, "required: seconds since the Unix epoch")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError.single(field, f"must be a number of seconds, got {_json_type(value)}")
    try:
        seconds = float(value)
        parts_from_seconds(seconds)
    except (TimestampRangeError, OverflowError) as exc:
        raise InvalidArgumentError.single(field, str(exc)) from None
    return seconds


def _state_delta(event: dict[str, Any]) -> tuple[ScopedState, bool]:
    """Splits ``actions.stateDelta`` by scope; drops ``temp:`` keys from the event itself."""
    actions = event.get("actions")
    if actions is None:
        return ScopedState(), False
    if not isinstance(actions, dict):
        raise InvalidArgumentError.single(f"{FIELD}.actions", f"must be an object, got {_json_type(actions)}")
    for snake, camel in _SNAKE_CASE_ACTIONS.items():
        if snake in actions:
            raise InvalidArgumentError.single(
                f"{FIELD}.actions.{snake}", f"use ADK's camelCase name {camel!r}"
            )
    raw_delta = actions.get("stateDelta")
    if raw_delta is None:
        return ScopedState(), False
    field = f"{FIELD}.actions.stateDelta"
    if not isinstance(raw_delta, dict):
        raise InvalidArgumentError.single(field, f"must be an object, got {_json_type(raw_delta)}")

    delta = ScopedState()
    had_temp_keys = False
    for key, value in raw_delta.items():
        if key.startswith(TEMP_PREFIX):
            had_temp_keys = True
            continue
        if isinstance(value, float | dict | list):  # only these can overflow or nest
            check_value(value, f"{field}[{key!r}]")
        if key.startswith(APP_PREFIX):
            delta.app[key.removeprefix(APP_PREFIX)] = dump_json(value)
        elif key.startswith(USER_PREFIX):
            delta.user[key.removeprefix(USER_PREFIX)] = dump_json(value)
        else:
            delta.session[key] = dump_json(value)
    if had_temp_keys:
        actions["stateDelta"] = {k: v for k, v in raw_delta.items() if not k.startswith(TEMP_PREFIX)}
    return delta, had_temp_keys
