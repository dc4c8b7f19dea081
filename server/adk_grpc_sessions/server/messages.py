"""Backend records to wire messages: the servicer's only conversion code."""

from __future__ import annotations

from adk_grpc_sessions.server.backends.base import EventRecord, ScopedState, SessionRecord
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire.timestamps import to_timestamp


def state_message(state: ScopedState) -> pb.State:
    """A session's state by scope."""
    return pb.State(app=state.app, user=state.user, session=state.session)


def event_message(event: EventRecord) -> pb.Event:
    """A stored event with its typed fields."""
    delta = event.state_delta
    return pb.Event(
        id=event.id,
        invocation_id=event.invocation_id,
        author=event.author,
        branch=event.branch,
        timestamp=to_timestamp(event.timestamp),
        state_delta=pb.StateDelta(app=delta.app, user=delta.user, session=delta.session)
        if not delta.is_empty()
        else None,
        sequence=event.sequence,
        event_json=event.event_json,
    )


def session_message(session: SessionRecord) -> pb.Session:
    """A session with its state and whatever events the record holds."""
    key = session.key
    return pb.Session(
        app_name=key.app_name,
        user_id=key.user_id,
        session_id=key.session_id,
        state=state_message(session.state),
        events=[event_message(e) for e in session.events],
        last_update_time=to_timestamp(session.last_update_time),
        create_time=to_timestamp(session.create_time),
        revision=session.revision,
    )
