"""``SessionListings``: the listing methods of ``GrpcSessionService``, every page or one at a time.

Sessions (ADK's ``list_sessions`` and its paged, filtered forms), their
infos, the apps and the users: each listing as a list, an iterator and,
where a caller pages itself, a page. Apart from the service so that its
module holds what a session is, not how listings are walked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from google.adk.sessions.base_session_service import ListSessionsResponse
from google.adk.sessions.session import Session

from adk_grpc_sessions.client import metadata
from adk_grpc_sessions.client.connection import Connection
from adk_grpc_sessions.client.lifecycle import SessionInfo
from adk_grpc_sessions.client.listing import Listing, ListSessionsPage, pages, sessions_request
from adk_grpc_sessions.client.metadata import SessionInfoPage
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire.limits import MAX_PAGE_SIZE


class SessionListings:
    """The listings of ``GrpcSessionService``, over the connection and listing it sets up."""

    _connection: Connection
    _listing: Listing

    async def list_sessions(
        self,
        *,
        app_name: str,
        user_id: str | None = None,
        filter: str | None = None,
        order_by: str | None = None,
    ) -> ListSessionsResponse:
        """Lists every session (without events) that ``filter`` keeps, walking all pages.

        ``filter`` and ``order_by`` as ``list_sessions_page`` takes them;
        neither given: every session, oldest update first (ADK's listing).
        """
        sessions = [
            s
            async for s in self.iter_sessions(
                app_name=app_name, user_id=user_id, filter=filter, order_by=order_by
            )
        ]
        return ListSessionsResponse(sessions=sessions)

    async def list_sessions_page(
        self,
        *,
        app_name: str,
        user_id: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
        filter: str | None = None,
        order_by: str | None = None,
    ) -> ListSessionsPage:
        """One page of sessions; follow ``next_page_token`` (with the same filter and order) for the next.

        Args:
            app_name: the app whose sessions to list.
            user_id: only this user's sessions; None for every user.
            page_size: sessions per page (server default 100, at most 1000).
            page_token: ``next_page_token`` of the previous page; None for the first.
            filter: which sessions to keep, e.g. ``'labels.team = "search" AND
                create_time >= "2026-01-01T00:00:00Z"'`` (the proto's "Metadata,
                filtered listings and forks" lists every term); None: all.
            order_by: ``"update_time"`` (the default) or ``"create_time"``,
                optionally followed by ``" desc"`` for newest first.

        Raises:
            SessionFilterError: the server cannot read ``filter`` (its ``position`` says where).
            ValueError: ``order_by`` or another argument is refused.
        """
        request = sessions_request(
            app_name, user_id, page_size, page_token, filter_text=filter, order_by=order_by
        )
        return await self._listing.sessions_page(request)

    async def iter_sessions(
        self,
        *,
        app_name: str,
        user_id: str | None = None,
        filter: str | None = None,
        order_by: str | None = None,
    ) -> AsyncIterator[Session]:
        """Every session (without events) ``filter`` keeps, page by page, in ``order_by``'s order."""
        request = sessions_request(
            app_name, user_id, MAX_PAGE_SIZE, None, filter_text=filter, order_by=order_by
        )
        async for session in self._listing.sessions(request):
            yield session

    async def list_session_infos_page(
        self,
        *,
        app_name: str,
        user_id: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
        filter: str | None = None,
        order_by: str | None = None,
    ) -> SessionInfoPage:
        """One page of sessions' infos (metadata, no state), as ``list_sessions_page`` selects them.

        What a UI lists conversations by: display names, labels, times, sizes.
        """
        request = sessions_request(
            app_name, user_id, page_size, page_token, filter_text=filter, order_by=order_by
        )
        return await metadata.infos_page(self._connection, request)

    async def iter_session_infos(
        self,
        *,
        app_name: str,
        user_id: str | None = None,
        filter: str | None = None,
        order_by: str | None = None,
    ) -> AsyncIterator[SessionInfo]:
        """Every session's info ``filter`` keeps, page by page, in ``order_by``'s order."""
        request = sessions_request(
            app_name, user_id, MAX_PAGE_SIZE, None, filter_text=filter, order_by=order_by
        )
        async for info in metadata.infos(self._connection, request):
            yield info

    async def list_apps(self) -> list[str]:
        """Every app holding a session or shared state that this client's token covers, by name.

        In code point order, walking all pages (``iter_apps`` yields them as they come).
        """
        return [app async for app in self.iter_apps()]

    async def iter_apps(self) -> AsyncIterator[str]:
        """The apps ``list_apps`` lists, page by page."""
        async for page in pages(self._connection, "ListApps", pb.ListAppsRequest(page_size=MAX_PAGE_SIZE)):
            for app_name in page.app_names:
                yield app_name

    async def list_users(self, *, app_name: str) -> list[str]:
        """Every user of ``app_name`` holding a session or user state, by id in code point order."""
        return [user async for user in self.iter_users(app_name=app_name)]

    async def iter_users(self, *, app_name: str) -> AsyncIterator[str]:
        """The users ``list_users`` lists, page by page."""
        request = pb.ListUsersRequest(app_name=app_name, page_size=MAX_PAGE_SIZE)
        async for page in pages(self._connection, "ListUsers", request):
            for user_id in page.user_ids:
                yield user_id
