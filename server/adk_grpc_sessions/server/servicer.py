"""The ``adk_grpc_sessions.v1.SessionService`` servicer: validate, call the backend, answer.

It holds no storage logic (that is the backend's), no error-code choices
(``errors``) and no transport concerns such as parsing, credentials, deadlines
or metrics (``rpc_handlers``): each method takes a parsed request and returns
a response, or raises.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, Final

import grpc

from adk_grpc_sessions.server import messages, validation
from adk_grpc_sessions.server.backends.base import (
    Backend,
    EventWindow,
    ScopedState,
    SessionKey,
    SessionNotFoundError,
)
from adk_grpc_sessions.server.errors import InvalidArgumentError
from adk_grpc_sessions.server.event_json import parse_event
from adk_grpc_sessions.server.messages import Encoded, session_message
from adk_grpc_sessions.server.page_tokens import PageTokens
from adk_grpc_sessions.v1 import session_service_pb2 as pb

SERVICE_NAME: Final = pb.DESCRIPTOR.services_by_name["SessionService"].full_name


class SessionServicer:
    """Serves every ``SessionService`` RPC from one backend."""

    def __init__(
        self,
        backend: Backend,
        *,
        max_page_size: int = validation.MAX_PAGE_SIZE,
        page_tokens: PageTokens | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Serves ``backend``; ``page_tokens`` signs list calls' tokens (default: a key of this process)."""
        self._backend = backend
        self._max_page_size = max_page_size
        self._page_tokens = page_tokens or PageTokens()
        self._clock = clock

    async def CreateSession(  # noqa: N802 - RPC names are the contract's
        self, request: pb.CreateSessionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.CreateSessionResponse:
        """Creates a session; without a requested id, a UUID4 (or the id the backend's storage assigns)."""
        app_name = validation.check_key("app_name", request.app_name)
        user_id = validation.check_key("user_id", request.user_id)
        session_id = request.session_id.strip()
        if session_id:
            session_id = validation.check_key("session_id", session_id)
        elif not self._backend.assigns_session_ids:
            session_id = str(uuid.uuid4())
        state = ScopedState(
            app=validation.state_map("state.app", request.state.app),
            user=validation.state_map("state.user", request.state.user),
            session=validation.state_map("state.session", request.state.session, session_scope=True),
        )
        record = await self._backend.create_session(
            SessionKey(app_name, user_id, session_id), state, self._clock()
        )
        return pb.CreateSessionResponse(session=session_message(record))

    async def GetSession(  # noqa: N802
        self, request: pb.GetSessionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Encoded:
        """Reads a session and the window of events the request selects."""
        key = _session_key(request)
        num_recent_events = None
        if request.HasField("num_recent_events"):
            num_recent_events = request.num_recent_events
            if num_recent_events < 0:
                raise InvalidArgumentError.single("num_recent_events", "must not be negative")
        after_timestamp = None
        if request.HasField("after_timestamp"):
            after_timestamp = validation.timestamp("after_timestamp", request.after_timestamp)
        record = await self._backend.get_session(key, EventWindow(num_recent_events, after_timestamp))
        if record is None:
            raise SessionNotFoundError(key)
        return messages.get_session_response(record)

    async def ListSessions(  # noqa: N802
        self, request: pb.ListSessionsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Encoded:
        """Lists one page of an app's (or one user's) sessions."""
        app_name = validation.check_key("app_name", request.app_name)
        user_id = validation.check_key("user_id", request.user_id) if request.user_id else None
        page_size = validation.page_size("page_size", request.page_size, self._max_page_size)
        after = (
            self._page_tokens.decode_sessions_token(
                request.page_token, app_name, user_id, by_storage_token=self._backend.pages_by_token
            )
            if request.page_token
            else None
        )
        page = await self._backend.list_sessions(app_name, user_id, page_size, after)
        return messages.list_sessions_response(
            page.items,
            self._page_tokens.encode_sessions_token(app_name, user_id, page.next_cursor)
            if page.next_cursor is not None
            else "",
        )

    async def DeleteSession(  # noqa: N802
        self, request: pb.DeleteSessionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.DeleteSessionResponse:
        """Deletes a session; succeeds if it does not exist."""
        await self._backend.delete_session(_session_key(request))
        return pb.DeleteSessionResponse()

    async def AppendEvent(  # noqa: N802
        self, request: pb.AppendEventRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Encoded:
        """Stores an event if the caller's revision is current (or returns the original, for a retry)."""
        key = _session_key(request)
        if request.expected_revision <= 0:
            raise InvalidArgumentError.single(
                "expected_revision",
                "required: the revision from the caller's last read or append of the session",
            )
        event = parse_event(request.event_json)
        event.encoded_fields = messages.encode_event_fields(event)
        result = await self._backend.append_event(key, event, request.expected_revision)
        return messages.append_event_response(result)

    async def ListEvents(  # noqa: N802
        self, request: pb.ListEventsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Encoded:
        """Lists one page of a session's events in append order."""
        key = _session_key(request)
        page_size = validation.page_size("page_size", request.page_size, self._max_page_size)
        after_timestamp = None
        if request.HasField("after_timestamp"):
            after_timestamp = validation.timestamp("after_timestamp", request.after_timestamp)
        binding = (key.app_name, key.user_id, key.session_id, after_timestamp)
        after = (
            self._page_tokens.decode_events_token(
                request.page_token, *binding, by_storage_token=self._backend.pages_by_token
            )
            if request.page_token
            else None
        )
        page = await self._backend.list_events(key, after_timestamp, page_size, after)
        token = ""
        if page.next_cursor is not None:
            token = self._page_tokens.encode_events_token(*binding, page.next_cursor)
        return messages.list_events_response(page.items, token)

    async def GetUserState(  # noqa: N802
        self, request: pb.GetUserStateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetUserStateResponse:
        """Reads one user's user-scoped state."""
        app_name = validation.check_key("app_name", request.app_name)
        user_id = validation.check_key("user_id", request.user_id)
        return pb.GetUserStateResponse(state=await self._backend.get_user_state(app_name, user_id))

    async def GetAppState(  # noqa: N802
        self, request: pb.GetAppStateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetAppStateResponse:
        """Reads an app's app-scoped state."""
        app_name = validation.check_key("app_name", request.app_name)
        return pb.GetAppStateResponse(state=await self._backend.get_app_state(app_name))


def _session_key(
    request: pb.GetSessionRequest | pb.DeleteSessionRequest | pb.AppendEventRequest | pb.ListEventsRequest,
) -> SessionKey:
    return SessionKey(
        validation.check_key("app_name", request.app_name),
        validation.check_key("user_id", request.user_id),
        validation.session_id("session_id", request.session_id),
    )
