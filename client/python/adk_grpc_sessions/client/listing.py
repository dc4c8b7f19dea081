"""Listings, a page at a time or every page: the sessions of an app (or a user), the events of a session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from google.adk.events.event import Event
from google.adk.sessions.session import Session
from pydantic import BaseModel, Field

from adk_grpc_sessions.client import conversions
from adk_grpc_sessions.client.connection import Connection
from adk_grpc_sessions.client.event_cache import EventCache, SessionScope
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire.timestamps import to_timestamp


class ListEventsResponse(BaseModel):
    """One page of a session's events, oldest first."""

    events: list[Event] = Field(default_factory=list)
    next_page_token: str | None = None
    """Pass as ``page_token`` for the next page; None on the last page."""


class ListSessionsPage(BaseModel):
    """One page of sessions (without events), oldest update first unless the listing's order says."""

    sessions: list[Session] = Field(default_factory=list)
    next_page_token: str | None = None
    """Pass as ``page_token`` for the next page; None on the last page."""


class PageRequest(Protocol):
    """A request of a list RPC (AIP-158)."""

    page_token: str


async def pages(connection: Connection, method_name: str, request: PageRequest) -> AsyncIterator[Any]:
    """Every page the list RPC ``method_name`` gives from ``request`` on, following ``next_page_token``.

    ``request`` is changed: its ``page_token`` follows the pages.
    """
    while True:
        page = await connection.call(method_name, request)
        yield page
        if not page.next_page_token:
            return
        request.page_token = page.next_page_token


class Listing:
    """The listing methods of ``GrpcSessionService`` (which documents them), from their requests."""

    def __init__(self, connection: Connection, events: EventCache) -> None:
        """Lists through ``connection``, decoding events through ``events``."""
        self._connection = connection
        self._events = events

    async def sessions_page(self, request: pb.ListSessionsRequest) -> ListSessionsPage:
        """One page of sessions."""
        response: pb.ListSessionsResponse = await self._connection.call("ListSessions", request)
        return ListSessionsPage(
            sessions=[conversions.session_from_message(s, self._events) for s in response.sessions],
            next_page_token=response.next_page_token or None,
        )

    async def sessions(self, request: pb.ListSessionsRequest) -> AsyncIterator[Session]:
        """Every session, page by page, from ``request``'s page on."""
        async for page in pages(self._connection, "ListSessions", request):
            for message in page.sessions:
                yield conversions.session_from_message(message, self._events)

    async def events_page(self, request: pb.ListEventsRequest) -> ListEventsResponse:
        """One page of a session's events."""
        response: pb.ListEventsResponse = await self._connection.call("ListEvents", request)
        return ListEventsResponse(
            events=self._events.decode(_scope(request), response.events),
            next_page_token=response.next_page_token or None,
        )

    async def events(self, request: pb.ListEventsRequest) -> AsyncIterator[Event]:
        """Every event of a session, page by page, from ``request``'s page on."""
        scope = _scope(request)
        async for page in pages(self._connection, "ListEvents", request):
            for event in self._events.decode(scope, page.events):
                yield event


def sessions_request(
    app_name: str,
    user_id: str | None,
    page_size: int | None,
    page_token: str | None,
    *,
    filter_text: str | None = None,
    order_by: str | None = None,
) -> pb.ListSessionsRequest:
    """A ``ListSessionsRequest`` from ``GrpcSessionService``'s arguments (None: the server's default)."""
    return pb.ListSessionsRequest(
        app_name=app_name,
        user_id=user_id or "",
        page_size=page_size or 0,
        page_token=page_token or "",
        filter=filter_text or "",
        order_by=order_by or "",
    )


def events_request(
    app_name: str,
    user_id: str,
    session_id: str,
    after_timestamp: float | None,
    page_size: int | None,
    page_token: str | None,
) -> pb.ListEventsRequest:
    """A ``ListEventsRequest`` from ``GrpcSessionService``'s arguments (None: the server's default)."""
    request = pb.ListEventsRequest(
        app_name=app_name,
        user_id=user_id,
        session_id=session_id,
        page_size=page_size or 0,
        page_token=page_token or "",
    )
    if after_timestamp is not None:
        request.after_timestamp.CopyFrom(to_timestamp(after_timestamp))
    return request


def _scope(request: pb.ListEventsRequest) -> SessionScope:
    return request.app_name, request.user_id, request.session_id
