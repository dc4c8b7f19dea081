"""The one conversion module between ADK objects and wire messages.

State values travel as JSON text (exact integers of any size, nothing turned
into a double); events travel as ADK's own camelCase JSON, which is what
``Event`` itself writes and reads, so every field survives, present and future.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import pydantic_core
from google.adk.events.event import Event
from google.adk.sessions.session import Session
from google.adk.sessions.state import State

from adk_grpc_sessions.client.event_cache import EventCache
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire.timestamps import seconds_from_parts

_log = logging.getLogger(__name__)
# pydantic-core's writer stops at 254 levels of nesting, where it would put
# "..." in place of the rest of a value (silently, with serialize_unknown).
_TOO_DEEP_TO_WRITE = "Maximum serialization depth exceeded"


def encode_value(value: Any) -> str:
    """A state value as JSON text, converted the way ADK's own JSON does it.

    Rich values (datetimes, pydantic models, bytes) take their JSON form; NaN
    and infinities become null, as in ADK's event JSON; anything with no JSON
    form at all (a callable, say) is stored as its ``repr`` with a warning, as
    ADK's database service does.
    """
    try:
        return pydantic_core.to_json(value, inf_nan_mode="null").decode()
    except pydantic_core.PydanticSerializationError as exc:
        if _TOO_DEEP_TO_WRITE in str(exc):
            return _deep_value_json(value)
        _log.warning("a state value has no JSON form and is stored as its repr: %r", value)
        return pydantic_core.to_json(value, inf_nan_mode="null", serialize_unknown=True).decode()


def _deep_value_json(value: Any) -> str:
    """A value nested deeper than pydantic-core writes, written whole so the server can judge its depth.

    Raises:
        ValueError: it holds something with no plain JSON form, or nests deeper than Python can write.
    """
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"a state value nested this deep must be plain JSON data: {exc}") from None


def decode_value(text: str) -> Any:
    """A state value from its JSON text."""
    try:
        return pydantic_core.from_json(text)
    except ValueError:
        # pydantic-core's reader stops at 200 levels; the server stores up to
        # wire.limits.MAX_JSON_DEPTH, which the standard library's reader reaches.
        return json.loads(text)


def decode_map(values: Mapping[str, str]) -> dict[str, Any]:
    """A scope of state from the wire, keys as they are."""
    return {key: decode_value(text) for key, text in values.items()}


def state_delta_message(state: Mapping[str, Any] | None) -> pb.StateDelta:
    """ADK state (prefixed keys) split by scope for the wire; ``temp:`` keys are dropped."""
    delta = pb.StateDelta()
    for key, value in (state or {}).items():
        if key.startswith(State.APP_PREFIX):
            delta.app[key.removeprefix(State.APP_PREFIX)] = encode_value(value)
        elif key.startswith(State.USER_PREFIX):
            delta.user[key.removeprefix(State.USER_PREFIX)] = encode_value(value)
        elif not key.startswith(State.TEMP_PREFIX):
            delta.session[key] = encode_value(value)
    return delta


def merged_state(state: pb.State) -> dict[str, Any]:
    """ADK's merged view: session keys, then ``app:`` keys, then ``user:`` keys."""
    merged = decode_map(state.session)
    for key, text in state.app.items():
        merged[State.APP_PREFIX + key] = decode_value(text)
    for key, text in state.user.items():
        merged[State.USER_PREFIX + key] = decode_value(text)
    return merged


def event_json(event: Event) -> str:
    """An event as the wire carries it: ADK's camelCase JSON, unset fields left out."""
    return event.model_dump_json(by_alias=True, exclude_none=True)


def session_from_message(message: pb.Session, events: EventCache) -> Session:
    """An ADK ``Session`` carrying the server's revision as its storage marker.

    Listings convert a hundred of these per page, so the common cases skip
    work: a session listed without events, and an empty state.
    """
    app_name, user_id, session_id = message.app_name, message.user_id, message.session_id
    state, listed_events, updated = message.state, message.events, message.last_update_time
    session = Session(
        id=session_id,
        app_name=app_name,
        user_id=user_id,
        state=merged_state(state) if state.ByteSize() else {},
        events=events.decode((app_name, user_id, session_id), listed_events) if listed_events else [],
        last_update_time=seconds_from_parts(updated.seconds, updated.nanos),
    )
    session._storage_update_marker = str(message.revision)
    return session
