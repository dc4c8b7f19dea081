"""The Vertex AI Sessions API of one reasoning engine, as the backend calls it.

Each call runs with its retry policy and has its failures translated
(``errors``); long-running operations are waited for; listings are walked
page by page within a read's budget (``paging``); events are converted as
they arrive (``mapping``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import google.auth
import grpc
from google.api_core import exceptions as google_errors
from google.api_core.client_options import ClientOptions
from google.cloud.aiplatform_v1 import types as vertex
from google.cloud.aiplatform_v1.services.session_service import SessionServiceAsyncClient
from google.cloud.aiplatform_v1.services.session_service.transports.grpc_asyncio import (
    SessionServiceGrpcAsyncIOTransport,
)

from adk_grpc_sessions.server.backends.base import BackendRefusedError, Refusal, StoredEvent
from adk_grpc_sessions.server.backends.vertex import mapping
from adk_grpc_sessions.server.backends.vertex.errors import backend_error, retry_policy
from adk_grpc_sessions.server.backends.vertex.paging import LIST_PAGE_SIZE, At, EventWalk, PageSizer
from adk_grpc_sessions.server.backends.vertex.target import AgentEngineTarget

_SCOPE: Final = "https://www.googleapis.com/auth/cloud-platform"
_POLL_INITIAL: Final = 0.05
_POLL_MAXIMUM: Final = 2.0
_CHANNEL_OPTIONS: Final = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]

ResultT = TypeVar("ResultT")


class SessionsApi:
    """Calls to the Sessions API of ``target``'s reasoning engine, through ``client``."""

    def __init__(self, client: SessionServiceAsyncClient, target: AgentEngineTarget) -> None:
        self.client = client
        self.target = target

    @classmethod
    async def connect(cls, target: AgentEngineTarget) -> SessionsApi:
        """Builds the client: a plaintext channel to a loopback endpoint, else TLS with ADC."""
        if target.plaintext:
            channel = grpc.aio.insecure_channel(target.endpoint, options=_CHANNEL_OPTIONS)
            transport = SessionServiceGrpcAsyncIOTransport(channel=channel)
            return cls(SessionServiceAsyncClient(transport=transport), target)
        try:
            credentials, _ = await asyncio.to_thread(google.auth.default, scopes=[_SCOPE])
        except Exception as exc:
            raise backend_error(exc, "loading credentials") from exc
        client = SessionServiceAsyncClient(
            credentials=credentials,
            transport="grpc_asyncio",
            client_options=ClientOptions(api_endpoint=target.endpoint),
        )
        return cls(client, target)

    async def close(self) -> None:
        """Closes the channel."""
        await self.client.transport.close()  # type: ignore[no-untyped-call]  # untyped upstream

    async def call(
        self,
        doing: str,
        call: Callable[[SessionServiceAsyncClient, Any], Awaitable[ResultT]],
        *,
        idempotent: bool = True,
        passing: tuple[type[Exception], ...] = (),
    ) -> ResultT:
        """Runs one API call with its retry policy; failures not in ``passing`` become backend errors."""
        try:
            return await call(self.client, retry_policy(self.target.timeout, idempotent=idempotent))
        except passing:
            raise
        except Exception as exc:
            raise backend_error(exc, doing) from exc

    async def list_page(
        self,
        doing: str,
        call: Callable[[SessionServiceAsyncClient, Any], Awaitable[Any]],
        *,
        passing: tuple[type[Exception], ...] = (),
    ) -> Any:
        """One page of a list call: the raw response, without the pager's automatic walk."""
        # A pager answers attribute reads from the page it holds; its walk is not used.
        return await self.call(doing, call, passing=passing)

    async def get(self, name: str) -> Any:
        """The session message; raises ``google_errors.NotFound`` if there is none."""
        session = await self.call(
            "reading a session",
            lambda client, retry: client.get_session(
                request=vertex.GetSessionRequest(name=name), retry=retry, timeout=self.target.timeout
            ),
            passing=(google_errors.NotFound,),
        )
        return vertex.Session.pb(session)

    async def all_events(self, name: str, filter_: str) -> list[StoredEvent]:
        """Every event of a session the filter keeps, walking the API's pages; raises NotFound."""
        records: list[StoredEvent] = []
        page_token = ""
        while True:
            request = vertex.ListEventsRequest(
                parent=name,
                filter=filter_,
                page_size=LIST_PAGE_SIZE,
                page_token=page_token,
            )
            response = await self.list_page(
                "listing events", self.list_events_call(request), passing=(google_errors.NotFound,)
            )
            records.extend(self.event_records(response.session_events, first=len(records) + 1))
            page_token = response.next_page_token
            if not page_token:
                return records

    async def count_events(self, name: str) -> int:
        """How many events a session holds: a pass through the API's pages (it keeps no count).

        Raises:
            google_errors.NotFound: the session is gone.
        """
        count, page_token = 0, ""
        while True:
            request = vertex.ListEventsRequest(parent=name, page_size=LIST_PAGE_SIZE, page_token=page_token)
            response = await self.list_page(
                "counting events", self.list_events_call(request), passing=(google_errors.NotFound,)
            )
            count += len(response.session_events)
            page_token = response.next_page_token
            if not page_token:
                return count

    async def append(self, name: str, event: Any) -> None:
        """Appends one ``SessionEvent`` message (not retried: the API has no idempotency key for it).

        Raises:
            google_errors.NotFound: the session is gone.
        """
        request = vertex.AppendEventRequest(name=name, event=vertex.SessionEvent(event))
        await self.call(
            "appending an event",
            lambda client, retry: client.append_event(
                request=request, retry=retry, timeout=self.target.timeout
            ),
            idempotent=False,
            passing=(google_errors.NotFound,),
        )

    async def walk_events(
        self, name: str, walk: EventWalk, room: int, most: int
    ) -> tuple[list[StoredEvent], EventWalk | None]:
        """The events from ``walk`` on that fit in ``room`` bytes, at most ``most``.

        And where the rest resume (None: there is no rest).

        Raises:
            google_errors.NotFound: the session is gone.
        """
        if walk.remaining >= 0:
            most = min(most, walk.remaining)
        sizer = PageSizer()
        at, listed = walk.at, walk.listed
        records: list[StoredEvent] = []
        while len(records) < most:
            request = vertex.ListEventsRequest(
                parent=name,
                filter=mapping.events_filter(walk.after_timestamp),
                page_size=sizer.page_size(room, most - len(records), at.taken),
                page_token=at.token,
            )
            response = await self.list_page(
                "listing events", self.list_events_call(request), passing=(google_errors.NotFound,)
            )
            page = list(response.session_events)[at.taken :]
            for offset, record in enumerate(self.event_records(page, first=listed + 1), start=at.taken):
                sizer.saw(record.size)
                if len(records) == most or record.size > room:
                    rest = walk.moved(At(at.token, offset), listed, len(records))
                    rest.blocked = record.size if len(records) < most else 0
                    return records, rest
                room -= record.size
                listed += 1
                records.append(record)
            if not response.next_page_token:
                return records, None
            at = At(response.next_page_token, 0)
        rest = walk.moved(at, listed, len(records))
        return records, None if rest.remaining == 0 else rest

    async def skip_to_last(self, name: str, walk: EventWalk, count: int, budget: int) -> EventWalk:
        """``walk`` moved to the ``count``-th last event of its listing: a pass that counts them all.

        Each API page's token is kept as the pass goes, so the read then
        starts at the page holding that event, not at the first.

        Raises:
            google_errors.NotFound: the session is gone.
        """
        pages: list[tuple[int, str]] = []
        sizer = PageSizer()
        total, token = 0, ""
        while True:
            request = vertex.ListEventsRequest(
                parent=name,
                filter=mapping.events_filter(walk.after_timestamp),
                page_size=sizer.page_size(budget, LIST_PAGE_SIZE, 0),
                page_token=token,
            )
            response = await self.list_page(
                "counting events", self.list_events_call(request), passing=(google_errors.NotFound,)
            )
            pages.append((total, token))
            for record in self.event_records(response.session_events, first=total + 1):
                sizer.saw(record.size)
            total += len(response.session_events)
            token = response.next_page_token
            if not token:
                break
        skip = max(0, total - count)
        start, page_token = max((page for page in pages if page[0] <= skip), key=lambda page: page[0])
        return EventWalk(
            walk.generation, walk.after_timestamp, total - skip, skip, At(page_token, skip - start)
        )

    def list_sessions_call(
        self, request: vertex.ListSessionsRequest
    ) -> Callable[[SessionServiceAsyncClient, Any], Awaitable[Any]]:
        """The call that lists one page of sessions for ``request``."""

        def call(client: SessionServiceAsyncClient, retry: Any) -> Awaitable[Any]:
            return client.list_sessions(request=request, retry=retry, timeout=self.target.timeout)

        return call

    def list_events_call(
        self, request: vertex.ListEventsRequest
    ) -> Callable[[SessionServiceAsyncClient, Any], Awaitable[Any]]:
        """The call that lists one page of events for ``request``."""

        def call(client: SessionServiceAsyncClient, retry: Any) -> Awaitable[Any]:
            return client.list_events(request=request, retry=retry, timeout=self.target.timeout)

        return call

    async def finish(self, operation: Any, doing: str) -> Any:
        """Polls a long-running operation until done (within ``operation_timeout``); its result."""
        delay = _POLL_INITIAL
        try:
            async with asyncio.timeout(self.target.operation_timeout):
                while not await operation.done():
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _POLL_MAXIMUM)
                return await operation.result()
        except (google_errors.AlreadyExists, google_errors.NotFound):
            raise
        except Exception as exc:
            raise backend_error(exc, f"{doing} (operation {operation.operation.name})") from exc

    def event_records(self, messages: Any, *, first: int) -> list[StoredEvent]:
        """The records of listed ``SessionEvent`` messages, numbered from ``first``.

        Raises:
            BackendRefusedError: a stored event is not one ADK could read.
        """
        records = []
        for offset, event in enumerate(messages):
            message = vertex.SessionEvent.pb(event)
            try:
                records.append(mapping.event_record(message, first + offset))
            except ValueError as exc:
                raise BackendRefusedError(
                    Refusal.FAILED_PRECONDITION, str(exc), reason="UNREADABLE_EVENT"
                ) from None
        return records
