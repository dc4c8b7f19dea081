"""Decoded events, kept between reads: a stored event never changes, so it need be validated only once.

Turning an event's JSON into an ADK ``Event`` (pydantic validation of the
whole google.genai tree) costs far more than fetching it: a long session
would spend most of every read there, on every turn.
Stored events are immutable (the server returns each exactly as it was
appended), so a read reuses the ``Event`` already made for the same session,
event id and JSON text, and validates only the new ones.

Reused ``Event`` objects are shared between reads of this client, as ADK's own
``InMemorySessionService`` shares them under its light-copy mode, and as ADK's
flows already treat session events: as read-only history. The ``Session``, its
``events`` list and its ``state`` are always fresh. A budget of 0 turns the
cache off, so every read returns new objects.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from typing import Final

from google.adk.events.event import Event
from pydantic import TypeAdapter, ValidationError

from adk_grpc_sessions.v1 import session_service_pb2 as pb

_EVENT_LIST: Final = TypeAdapter(list[Event])
_OBJECT_OVERHEAD: Final = 6 * 1024
"""Approximate memory of a decoded event beyond its payload (that of a typical model message)."""

SessionScope = tuple[str, str, str]


def validate_events(texts: Sequence[str]) -> list[Event]:
    """Events from their JSON texts, validated in one pass (much faster than one by one)."""
    if not texts:
        return []
    try:
        return _EVENT_LIST.validate_json("[" + ",".join(texts) + "]")
    except ValidationError:
        return [_validate_event(text) for text in texts]


def _validate_event(text: str) -> Event:
    """One event from its JSON text, however deep the server let it nest.

    pydantic-core's JSON reader stops at 200 levels, short of the contract's
    nesting limit for events (``wire.limits.MAX_EVENT_JSON_DEPTH``); such an
    event is read by the standard library's parser and validated from the
    result, as ADK's own ``DatabaseSessionService`` reads its events.
    """
    try:
        return Event.model_validate_json(text)
    except ValidationError as exc:
        if not any(error["type"] == "json_invalid" for error in exc.errors()):
            raise
        return Event.model_validate(json.loads(text))


class EventCache:
    """A least-recently-used map from (app, user, session, event id) to the event decoded from its JSON."""

    def __init__(self, budget_bytes: int) -> None:
        """A cache holding about ``budget_bytes`` of decoded events; 0 disables it."""
        self._budget = budget_bytes
        self._used = 0
        self._entries: OrderedDict[tuple[str, str, str, str], tuple[str, Event]] = OrderedDict()

    def decode(self, scope: SessionScope, messages: Sequence[pb.Event]) -> list[Event]:
        """The ADK events of ``messages`` (all from the session ``scope``), reusing those decoded before."""
        texts = [m.event_json for m in messages]
        if self._budget <= 0:
            return validate_events(texts)
        app_name, user_id, session_id = scope
        events: list[Event | None] = []
        missing: list[int] = []
        for index, (message, text) in enumerate(zip(messages, texts, strict=True)):
            key = (app_name, user_id, session_id, message.id)
            entry = self._entries.get(key)
            if entry is not None and entry[0] == text:
                self._entries.move_to_end(key)
                events.append(entry[1])
            else:
                events.append(None)
                missing.append(index)
        if missing:
            for index, event in zip(missing, validate_events([texts[i] for i in missing]), strict=True):
                events[index] = event
                self._remember((app_name, user_id, session_id, messages[index].id), texts[index], event)
        return events  # type: ignore[return-value]  # every None was filled above

    def _remember(self, key: tuple[str, str, str, str], text: str, event: Event) -> None:
        cost = _OBJECT_OVERHEAD + len(text)
        if cost > self._budget:
            return
        previous = self._entries.pop(key, None)
        if previous is not None:
            self._used -= _OBJECT_OVERHEAD + len(previous[0])
        self._entries[key] = (text, event)
        self._used += cost
        while self._used > self._budget:
            _, (old_text, _) = self._entries.popitem(last=False)
            self._used -= _OBJECT_OVERHEAD + len(old_text)

    def forget_session(self, scope: SessionScope) -> None:
        """Drops a session's events (it was deleted)."""
        for key in [k for k in self._entries if k[:3] == scope]:
            text, _ = self._entries.pop(key)
            self._used -= _OBJECT_OVERHEAD + len(text)
