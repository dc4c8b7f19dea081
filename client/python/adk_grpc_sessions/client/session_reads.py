"""Reading one session whole, however large: from its parts when it does not fit in one response.

A session whose events do not fit in one response of the server arrives in
parts: ``GetSession``, then ``ListEvents`` pages of the same read's
selection (``next_events_page_token``). The parts are of one moment: events
appended meanwhile are not included, and appending through the session then
detects them (``StaleSessionError``). A session deleted between the parts
(or deleted and created again) has no such moment: the read starts over.
"""

from __future__ import annotations

from typing import Final

from google.adk.errors.session_not_found_error import SessionNotFoundError

from adk_grpc_sessions.client.connection import Connection
from adk_grpc_sessions.client.listing import pages
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire.limits import MAX_PAGE_SIZE

READ_RESTARTS: Final = 3
"""Times a read starts over when the session was deleted (or re-created) between its parts."""


async def read_session(
    connection: Connection, request: pb.GetSessionRequest
) -> tuple[pb.Session, list[pb.Event]] | None:
    """The session ``request`` reads, and the events of its later parts (none if it came whole).

    The session's own ``events`` are the first part's; the list follows them.
    None if the session does not exist (or kept being deleted between parts).
    """
    for _ in range(READ_RESTARTS + 1):
        try:
            response: pb.GetSessionResponse = await connection.call("GetSession", request)
        except SessionNotFoundError:
            return None
        try:
            rest = await _rest(connection, response.session, response.next_events_page_token)
        except SessionNotFoundError:
            continue  # deleted, or deleted and created again, between the parts: read it anew
        return response.session, rest
    return None


async def _rest(connection: Connection, session: pb.Session, token: str) -> list[pb.Event]:
    """The rest of a read's events, from its ``next_events_page_token`` on (none if the token is empty).

    Raises:
        SessionNotFoundError: the session read is no longer there.
    """
    if not token:
        return []
    request = pb.ListEventsRequest(
        app_name=session.app_name,
        user_id=session.user_id,
        session_id=session.session_id,
        page_size=MAX_PAGE_SIZE,
        page_token=token,
    )
    return [event async for page in pages(connection, "ListEvents", request) for event in page.events]
