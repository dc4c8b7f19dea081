"""How an event and a session are kept in rows, and read back from them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pydantic_core
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
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
        "wire_cache": event.wire_cache or None,
        "size_bytes": event.size,
    }


def retried_event(row: sa.Row[Any]) -> StoredEvent:
    """The stored event of a row selected with ``parts.RETRIED_EVENT_COLUMNS``."""
    return StoredEvent(row.event_id, row.sequence, row.event_json, row.wire_cache or b"", row.size_bytes)


def read_events(rows: Iterable[Sequence[Any]]) -> list[StoredEvent]:
    """The events of rows selected with ``parts.READ_EVENT_COLUMNS`` (a NULL cache read as none)."""
    # Unpacked in the loop header: the fastest way through a thousand rows.
    return [
        StoredEvent(event_id, sequence, event_json, cache or b"")
        for sequence, event_id, event_json, cache in rows
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
