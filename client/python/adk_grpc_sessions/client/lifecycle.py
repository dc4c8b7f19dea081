"""The session lifecycle on the client: expiry in requests, ``SessionInfo``, close and erase calls.

``GrpcSessionService``'s lifecycle methods adapt these; ``create_session`` and
``set_session_expiry`` put an expiry into their requests the one way
(``set_expiration``), so both accept the same forms and refuse the same input.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field

from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask

from adk_grpc_sessions.client.connection import Connection
from adk_grpc_sessions.client.session_reads import read_session
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire.timestamps import from_timestamp, to_timestamp


@dataclass(frozen=True, slots=True)
class ForkOrigin:
    """Where a forked session came from (``GrpcSessionService.fork_session``)."""

    session_id: str
    """The session it was copied from (same app and user); it may have changed, or be gone, since."""
    event_count: int
    """How many events were copied: the source's first ``event_count``."""
    before_invocation_id: str | None
    """The invocation the copy stopped before; None = every event was copied."""
    fork_time: float
    """When the fork was made (server clock, seconds since the epoch)."""


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A session's metadata, lifecycle and bookkeeping, which ADK's ``Session`` model has no fields for.

    Times are float seconds since the epoch, as ADK's; None = not set.
    """

    app_name: str
    user_id: str
    session_id: str
    create_time: float
    last_update_time: float
    revision: int
    expire_time: float | None
    """When the session expires (and is gone for every call); None = never."""
    close_time: float | None
    """When the session was closed (it then refuses appends); None = open."""
    display_name: str = ""
    """A name for people to read; empty = none."""
    labels: Mapping[str, str] = field(default_factory=dict)
    event_count: int | None = None
    """How many events the session holds; None where the server's storage does not know it."""
    stored_bytes: int | None = None
    """The bytes its events and session-scoped state take; None where the storage does not know it."""
    forked_from: ForkOrigin | None = None
    """Where it was forked from; None if it was created."""

    @classmethod
    def from_message(cls, message: pb.Session) -> SessionInfo:
        """The info of a session message of the server."""
        origin = None
        if message.HasField("forked_from"):
            fork = message.forked_from
            origin = ForkOrigin(
                session_id=fork.session_id,
                event_count=fork.event_count,
                before_invocation_id=fork.before_invocation_id or None,
                fork_time=from_timestamp(fork.fork_time),
            )
        return cls(
            app_name=message.app_name,
            user_id=message.user_id,
            session_id=message.session_id,
            create_time=from_timestamp(message.create_time),
            last_update_time=from_timestamp(message.last_update_time),
            revision=message.revision,
            expire_time=from_timestamp(message.expire_time) if message.HasField("expire_time") else None,
            close_time=from_timestamp(message.close_time) if message.HasField("close_time") else None,
            display_name=message.display_name,
            labels=dict(message.labels),
            event_count=message.event_count if message.HasField("event_count") else None,
            stored_bytes=message.stored_bytes if message.HasField("stored_bytes") else None,
            forked_from=origin,
        )


def set_expiration(
    message: pb.CreateSessionRequest | pb.ForkSessionRequest | pb.Session,
    ttl: float | datetime.timedelta | None,
    expire_time: float | datetime.datetime | None,
) -> str:
    """Sets the ``expiration`` of ``message`` from a ttl or an instant; returns which field (its mask path).

    ``ttl``: seconds or a timedelta. ``expire_time``: seconds since the epoch
    or an aware datetime. Neither: nothing is set, and the path is
    ``expire_time`` (which, named in a mask but unset, means never).

    Raises:
        ValueError: both given, or a naive datetime (the server judges the ranges).
    """
    if ttl is not None and expire_time is not None:
        raise ValueError("give ttl or expire_time, not both")
    if ttl is not None:
        seconds = ttl.total_seconds() if isinstance(ttl, datetime.timedelta) else float(ttl)
        duration = Duration()
        duration.FromNanoseconds(round(seconds * 1e9))
        message.ttl.CopyFrom(duration)
        return "ttl"
    if expire_time is not None:
        if isinstance(expire_time, datetime.datetime):
            if expire_time.tzinfo is None:
                raise ValueError("expire_time: a datetime must be timezone-aware")
            instant = expire_time.timestamp()
        else:
            instant = float(expire_time)
        message.expire_time.CopyFrom(to_timestamp(instant))
    return "expire_time"


async def session_info(
    connection: Connection, app_name: str, user_id: str, session_id: str
) -> SessionInfo | None:
    """The lifecycle of a session read without its events; None if it does not exist (or has expired)."""
    session_id = session_id.strip() if session_id else ""
    if not session_id:
        return None
    request = pb.GetSessionRequest(
        app_name=app_name, user_id=user_id, session_id=session_id, num_recent_events=0
    )
    read = await read_session(connection, request)
    return None if read is None else SessionInfo.from_message(read[0])


async def set_expiry(
    connection: Connection,
    app_name: str,
    user_id: str,
    session_id: str,
    ttl: float | datetime.timedelta | None,
    expire_time: float | datetime.datetime | None,
) -> SessionInfo:
    """UpdateSession of the session's expiry: ``ttl`` from now, at ``expire_time``, or neither: never."""
    message = pb.Session(app_name=app_name, user_id=user_id, session_id=session_id)
    path = set_expiration(message, ttl, expire_time)
    request = pb.UpdateSessionRequest(session=message, update_mask=FieldMask(paths=[path]))
    response: pb.UpdateSessionResponse = await connection.call("UpdateSession", request)
    return SessionInfo.from_message(response.session)


async def close(connection: Connection, app_name: str, user_id: str, session_id: str) -> SessionInfo:
    """CloseSession: the closed session's info."""
    request = pb.CloseSessionRequest(app_name=app_name, user_id=user_id, session_id=session_id)
    response: pb.CloseSessionResponse = await connection.call("CloseSession", request)
    return SessionInfo.from_message(response.session)


async def erase_user(connection: Connection, app_name: str, user_id: str) -> int:
    """EraseUser: how many sessions the call deleted."""
    request = pb.EraseUserRequest(app_name=app_name, user_id=user_id)
    response: pb.EraseUserResponse = await connection.call("EraseUser", request)
    return response.deleted_sessions
