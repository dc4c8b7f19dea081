"""How an event and a session are kept in rows, and read back from them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pydantic_core
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    EncodedEvent,
    EventRecord,
    Expiry,
    NewEvent,
    ScopedState,
    SessionKey,
    SessionRecord,
    StoredEvent,
)
from adk_grpc_sessions.server.backends.sql.schema import event_revision


def encode_state_delta(delta: ScopedState) -> str | None:
    """An event's state delta as stored: only the scopes it changes; None if it changes none."""
    if delta.is_empty():
        return None
    scopes = {"app": delta.app, "user": delta.user, "session": delta.session}
    return pydantic_core.to_json({name: values for name, values in scopes.items() if values}).decode()


def decode_state_delta(stored: str | None) -> ScopedState:
    """The inverse of ``encode_state_delta``."""
    if stored is None:
        return ScopedState()
    scopes = pydantic_core.from_json(stored)
    return ScopedState(
        app=scopes.get("app", {}), user=scopes.get("user", {}), session=scopes.get("session", {})
    )


def event_row(session_pk: int, sequence: int, event: NewEvent) -> dict[str, Any]:
    """The column values of an event's row."""
    return {
        "session_pk": session_pk,
        "sequence": sequence,
        "event_id": event.id,
        "invocation_id": event.invocation_id,
        "author": event.author,
        "branch": event.branch,
        "timestamp": event.timestamp,
        "state_delta": encode_state_delta(event.state_delta),
        "event_json": event.event_json,
        "encoded_fields": event.encoded_fields or None,
        "size_bytes": event.size,
    }


def event_from_row(row: sa.Row[Any]) -> EventRecord:
    """The ``EventRecord`` of a row selected with ``parts.EVENT_COLUMNS``."""
    # Unpacked by position: a thousand-event read pays for every attribute lookup.
    (
        _,
        sequence,
        event_id,
        invocation_id,
        author,
        branch,
        timestamp,
        state_delta,
        event_json,
        encoded,
        size,
    ) = tuple(row)
    return EventRecord(
        id=event_id,
        invocation_id=invocation_id,
        author=author,
        branch=branch,
        timestamp=timestamp,
        state_delta=decode_state_delta(state_delta),
        event_json=event_json,
        sequence=sequence,
        encoded_fields=encoded or b"",
        size=size,
    )


def encoded_events_from_rows(rows: Iterable[Sequence[Any]]) -> list[EncodedEvent | None]:
    """The ``EncodedEvent`` of each row selected with ``parts.ENCODED_EVENT_COLUMNS``; None if it has none."""
    # Unpacked in the loop header: the fastest way through a thousand rows.
    return [
        None if encoded is None else EncodedEvent(event_id, sequence, event_json, encoded)
        for sequence, event_id, event_json, encoded in rows
    ]


def revision_after(row: sa.Row[Any]) -> int:
    """The session's revision right after the event in ``row`` was stored."""
    return event_revision(row.event_pk)


def session_record(row: sa.Row[Any], state: ScopedState, events: Sequence[StoredEvent]) -> SessionRecord:
    """The record of a session row (selected with ``parts.SESSION_COLUMNS``)."""
    return SessionRecord(
        key=SessionKey(row.app_name, row.user_id, row.session_id),
        state=state,
        events=events,
        create_time=row.create_time,
        last_update_time=row.last_update_time,
        revision=row.revision,
        expiry=Expiry(row.expire_time, row.ttl),
        close_time=row.close_time,
    )


def inserted_key(result: sa.CursorResult[Any]) -> int:
    """The primary key of the one row an INSERT made."""
    key = result.inserted_primary_key
    assert key is not None, "an INSERT of one row has a primary key"
    return int(key[0])
