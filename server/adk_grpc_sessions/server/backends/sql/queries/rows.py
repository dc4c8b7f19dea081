"""How an event and a session are kept in rows, and read back from them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pydantic_core
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    NO_METADATA,
    Expiry,
    ForkOrigin,
    Metadata,
    NewEvent,
    ScopedState,
    SessionKey,
    SessionRecord,
    StateMap,
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
    """The record of a session row (selected with ``parts.SESSION_COLUMNS`` and ``METADATA_COLUMNS``)."""
    return SessionRecord(
        key=SessionKey(row.app_name, row.user_id, row.session_id),
        state=state,
        events=events,
        create_time=row.create_time,
        last_update_time=row.last_update_time,
        revision=row.revision,
        expiry=Expiry(row.expire_time, row.ttl),
        close_time=row.close_time,
        metadata=session_metadata(row.display_name, row.labels),
        event_count=row.last_sequence,
        stored_bytes=row.events_bytes + row.state_bytes,
        forked_from=fork_origin(row.forked_from),
    )


def encode_labels(labels: Mapping[str, str]) -> str | None:
    """The ``labels`` column of a session with these labels: a JSON object, keys sorted; None for none."""
    if not labels:
        return None
    return pydantic_core.to_json(dict(sorted(labels.items()))).decode()


def label_rows(session_pk: int, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """The ``ags_session_labels`` rows of a session with these labels."""
    return [
        {"session_pk": session_pk, "label_key": key, "label_value": value}
        for key, value in sorted(labels.items())
    ]


def session_metadata(display_name: str | None, labels: str | None) -> Metadata:
    """The metadata of a session row's ``display_name`` and ``labels`` columns."""
    if display_name is None and labels is None:
        return NO_METADATA
    return Metadata(display_name or "", pydantic_core.from_json(labels) if labels else {})


def encode_fork_origin(origin: ForkOrigin) -> str:
    """The ``forked_from`` column of a fork."""
    return pydantic_core.to_json(
        {
            "session_id": origin.session_id,
            "event_count": origin.event_count,
            "before_invocation_id": origin.before_invocation_id,
            "fork_time": origin.fork_time,
        }
    ).decode()


def fork_origin(forked_from: str | None) -> ForkOrigin | None:
    """The origin a ``forked_from`` column holds; None for a session that was created."""
    if forked_from is None:
        return None
    fields = pydantic_core.from_json(forked_from)
    return ForkOrigin(
        session_id=fields["session_id"],
        event_count=fields["event_count"],
        before_invocation_id=fields["before_invocation_id"],
        fork_time=float(fields["fork_time"]),
    )


def encode_initial_state(session_state: StateMap) -> str:
    """The ``initial_state`` column of a session created with this session-scoped state.

    A JSON object of each key to its value's JSON text (as state rows hold it).
    """
    return pydantic_core.to_json(dict(session_state)).decode()


def decode_initial_state(initial_state: str) -> StateMap:
    """The session-scoped state an ``initial_state`` column holds."""
    decoded: dict[str, str] = pydantic_core.from_json(initial_state)
    return decoded


def inserted_key(result: sa.CursorResult[Any]) -> int:
    """The primary key of the one row an INSERT made."""
    key = result.inserted_primary_key
    assert key is not None, "an INSERT of one row has a primary key"
    return int(key[0])
