"""Restoring (copy, import) on Agent Engine: what it can keep of a session written as it was elsewhere.

Agent Engine stamps its own creation and update times and takes an expiry
only from its minimum on, so a restored session's creation and close times
travel in labels, and its expiry is moved up to that minimum. These
functions build the messages; ``VertexBackend`` makes the calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from adk_grpc_sessions.server.backends.base import Expiry, NewEvent, RestoredSession, SessionKey
from adk_grpc_sessions.server.backends.vertex import mapping
from adk_grpc_sessions.server.backends.vertex.checks import stored
from adk_grpc_sessions.wire.timestamps import from_timestamp

# Agent Engine judges its minimum expiry by its own clock, at the create: a margin for the trip.
_EXPIRY_MARGIN_SECONDS: Final = 300


def restored_session(session: RestoredSession, now: float) -> Any:
    """The ``Session`` message that creates ``session`` again, its times in labels.

    An ``expire_time`` sooner than Agent Engine's minimum (24 hours from
    ``now``) is moved to that minimum; a session that never expires gets
    Agent Engine's default expiry.

    Raises:
        BackendRefusedError: INVALID_INPUT, for state nested deeper than Agent Engine stores.
    """
    key = session.key
    message = mapping.SessionMessage(
        user_id=key.user_id, session_state=stored(mapping.merged_state_struct, session.state)
    )
    mapping.set_metadata(message, session.metadata)
    message.labels[mapping.APP_LABEL] = mapping.app_label(key.app_name)
    message.labels[mapping.CREATE_TIME_LABEL] = mapping.time_label(session.create_time)
    if session.close_time is not None:
        message.labels[mapping.CLOSE_TIME_LABEL] = mapping.time_label(session.close_time)
    expire_time = session.expiry.expire_time
    if expire_time is not None:
        soonest = now + mapping.MIN_TTL_SECONDS + _EXPIRY_MARGIN_SECONDS
        mapping.set_expiry(message, Expiry(max(expire_time, soonest)))
        if session.expiry.ttl is not None:
            message.labels[mapping.TTL_LABEL] = str(round(session.expiry.ttl))
    return message


def restored_head(key: SessionKey, session: Any, event_count: int) -> RestoredSession:
    """A ``Session`` message as a restorable head: a copy's labelled times where it wrote them.

    ``state`` is the session's whole ``session_state``, ``app:``/``user:`` keys
    included; ``last_update_time`` and ``revision`` are Agent Engine's own; no
    initial state or fork origin is kept.
    """
    create_time = mapping.label_time(session, mapping.CREATE_TIME_LABEL)
    return RestoredSession(
        key=key,
        create_time=from_timestamp(session.create_time) if create_time is None else create_time,
        last_update_time=from_timestamp(session.update_time),
        revision=mapping.revision_of(session.update_time),
        state=mapping.merged_state(session.session_state),
        initial_state=None,
        event_count=event_count,
        expiry=mapping.expiry_of(session),
        close_time=mapping.label_time(session, mapping.CLOSE_TIME_LABEL),
        metadata=mapping.metadata_of(session),
    )


def restored_events(events: Sequence[NewEvent]) -> list[Any]:
    """The ``SessionEvent`` messages of restored events: their deltas are not applied again.

    Raises:
        BackendRefusedError: an event nests deeper than Vertex's Struct storage holds.
    """
    return [stored(lambda event: mapping.session_event(event, applied=False), event) for event in events]
