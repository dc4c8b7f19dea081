"""Session metadata on the client: its requests, the listing of ``SessionInfo`` pages, forks.

``GrpcSessionService``'s metadata methods adapt these: display names and
labels into create and fork requests (``set_metadata``), UpdateSession of
them, listings of sessions' infos by filter and order, and ForkSession.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from google.adk.errors.already_exists_error import AlreadyExistsError
from google.protobuf.field_mask_pb2 import FieldMask

from adk_grpc_sessions.client.connection import Connection
from adk_grpc_sessions.client.lifecycle import SessionInfo, session_info, set_expiration
from adk_grpc_sessions.client.listing import pages
from adk_grpc_sessions.v1 import session_service_pb2 as pb


@dataclass(frozen=True, slots=True)
class SessionInfoPage:
    """One page of sessions' infos (no state, no events); ``next_page_token`` None on the last page."""

    sessions: list[SessionInfo] = field(default_factory=list)
    next_page_token: str | None = None
    """Pass as ``page_token`` (with the same filter and order) for the next page."""


def set_metadata(
    message: pb.CreateSessionRequest | pb.ForkSessionRequest | pb.Session,
    display_name: str | None,
    labels: Mapping[str, str] | None,
) -> None:
    """Puts a display name and labels into a request (None: leave the field empty)."""
    if display_name is not None:
        message.display_name = display_name
    if labels is not None:
        message.labels.update(labels)


async def infos_page(connection: Connection, request: pb.ListSessionsRequest) -> SessionInfoPage:
    """One page of sessions' infos."""
    response: pb.ListSessionsResponse = await connection.call("ListSessions", request)
    return SessionInfoPage(
        sessions=[SessionInfo.from_message(s) for s in response.sessions],
        next_page_token=response.next_page_token or None,
    )


async def infos(connection: Connection, request: pb.ListSessionsRequest) -> AsyncIterator[SessionInfo]:
    """Every session's info, page by page, from ``request``'s page on."""
    async for page in pages(connection, "ListSessions", request):
        for message in page.sessions:
            yield SessionInfo.from_message(message)


async def update_metadata(
    connection: Connection,
    app_name: str,
    user_id: str,
    session_id: str,
    display_name: str | None,
    labels: Mapping[str, str] | None,
) -> SessionInfo:
    """UpdateSession of what is given (None: left as it is; "" or {} clears it)."""
    message = pb.Session(app_name=app_name, user_id=user_id, session_id=session_id)
    set_metadata(message, display_name, labels)
    paths = [
        path for path, value in (("display_name", display_name), ("labels", labels)) if value is not None
    ]
    if not paths:
        raise ValueError("give display_name or labels (or both) to update")
    request = pb.UpdateSessionRequest(session=message, update_mask=FieldMask(paths=paths))
    response: pb.UpdateSessionResponse = await connection.call("UpdateSession", request)
    return SessionInfo.from_message(response.session)


@dataclass(frozen=True, slots=True)
class ForkRequest:
    """What ``fork`` copies and what the new session is given (``GrpcSessionService.fork_session``)."""

    app_name: str
    user_id: str
    session_id: str
    new_session_id: str
    before_invocation_id: str | None = None
    display_name: str | None = None
    labels: Mapping[str, str] | None = None
    ttl: float | datetime.timedelta | None = None
    expire_time: float | datetime.datetime | None = None


async def fork(connection: Connection, fork_request: ForkRequest, *, id_chosen_here: bool) -> SessionInfo:
    """ForkSession: the new session's info.

    ``id_chosen_here``: the new id is fresh from this client, so "already
    exists" for a fork of the same source means an earlier attempt landed,
    and that fork is the answer (as a retried create is recognised).
    """
    request = pb.ForkSessionRequest(
        app_name=fork_request.app_name,
        user_id=fork_request.user_id,
        session_id=fork_request.session_id,
        new_session_id=fork_request.new_session_id,
        before_invocation_id=fork_request.before_invocation_id or "",
    )
    set_metadata(request, fork_request.display_name, fork_request.labels)
    set_expiration(request, fork_request.ttl, fork_request.expire_time)
    try:
        response: pb.ForkSessionResponse = await connection.call("ForkSession", request)
    except AlreadyExistsError:
        if not id_chosen_here:
            raise
        landed = await session_info(
            connection, fork_request.app_name, fork_request.user_id, fork_request.new_session_id
        )
        if landed is None or landed.forked_from is None:
            raise
        if landed.forked_from.session_id != request.session_id.strip():
            raise
        return landed
    return SessionInfo.from_message(response.session)
