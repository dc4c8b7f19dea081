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

from adk_grpc_sessions.server.api import messages, validation
from adk_grpc_sessions.server.api.errors import BatchResponseFullError
from adk_grpc_sessions.server.api.messages import APPEND_ANSWER_OVERHEAD, Encoded, session_message
from adk_grpc_sessions.server.api.page_tokens import PageTokens
from adk_grpc_sessions.server.backends.base import (
    Backend,
    EventCursor,
    EventWindow,
    ReadBudget,
    ScopedState,
    SessionKey,
    SessionNotFoundError,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.event_json import parse_event
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError, check_key
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire import limits as wire_limits

SERVICE_NAME: Final = pb.DESCRIPTOR.services_by_name["SessionService"].full_name


class ResponseRoom:
    """The bytes left in one response for the answers of a batch's appends, given out in request order.

    Every answer is guaranteed the room of a short failure (``_SHORT_ANSWER``):
    an append whose full answer no longer fits is answered with one
    (``BatchResponseFullError``), and so is every append after it, so that the
    appends applied are always the first ones, in request order.
    """

    _SHORT_ANSWER: Final = 512

    def __init__(self, size: int, answers: int) -> None:
        self._left = size - answers * self._SHORT_ANSWER
        self._full = False

    def take(self, size: int) -> bool:
        """Reserves ``size`` bytes for one answer; False (and from now on) if they do not fit."""
        extra = max(0, size - self._SHORT_ANSWER)
        if self._full or extra > self._left:
            self._full = True
            return False
        self._left -= extra
        return True


class SessionServicer:
    """Serves every ``SessionService`` RPC from one backend, within the contract's limits."""

    def __init__(
        self,
        backend: Backend,
        *,
        max_page_size: int = wire_limits.MAX_PAGE_SIZE,
        max_message_bytes: int = wire_limits.DEFAULT_MAX_MESSAGE_BYTES,
        limits: StorageLimits | None = None,
        page_tokens: PageTokens | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Serves ``backend``; no response will exceed ``max_message_bytes``, nor storage ``limits``.

        ``page_tokens`` signs the list calls' tokens (default: a key of this process).

        Raises:
            ValueError: the limits cannot hold together (``wire.limits.check_limits``).
        """
        self._backend = backend
        self._max_page_size = max_page_size
        self._limits = limits or StorageLimits()
        self._page_tokens = page_tokens or PageTokens()
        wire_limits.check_limits(
            max_message_bytes=max_message_bytes,
            max_state_bytes=self._limits.max_state_bytes,
            max_session_bytes=self._limits.max_session_bytes,
        )
        self._max_message_bytes = max_message_bytes
        self.response_bytes: Final = max_message_bytes - wire_limits.RESPONSE_ENVELOPE_BYTES
        """Bytes of state, events or sessions one response may carry (the rest is its envelope's)."""
        self._clock = clock

    async def CreateSession(  # noqa: N802 - RPC names are the contract's
        self, request: pb.CreateSessionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.CreateSessionResponse:
        """Creates a session; without a requested id, a UUID4 (or the id the backend's storage assigns)."""
        app_name = check_key("app_name", request.app_name)
        user_id = check_key("user_id", request.user_id)
        session_id = request.session_id.strip()
        if session_id:
            session_id = check_key("session_id", session_id)
        elif not self._backend.assigns_session_ids:
            session_id = str(uuid.uuid4())
        state = ScopedState(
            app=validation.state_map("state.app", request.state.app),
            user=validation.state_map("state.user", request.state.user),
            session=validation.state_map("state.session", request.state.session, session_scope=True),
        )
        record = await self._backend.create_session(
            SessionKey(app_name, user_id, session_id), state, self._clock(), limits=self._limits
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
        record = await self._backend.get_session(
            key, EventWindow(num_recent_events, after_timestamp), budget=ReadBudget(self.response_bytes)
        )
        if record is None:
            raise SessionNotFoundError(key)
        token = ""
        if record.rest is not None:
            token = self._page_tokens.encode_continuation_token(
                key.app_name, key.user_id, key.session_id, record.rest
            )
        return self._bounded(messages.get_session_response(record, token))

    async def ListSessions(  # noqa: N802
        self, request: pb.ListSessionsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Encoded:
        """Lists one page of an app's (or one user's) sessions."""
        app_name = check_key("app_name", request.app_name)
        user_id = check_key("user_id", request.user_id) if request.user_id else None
        page_size = validation.page_size("page_size", request.page_size, self._max_page_size)
        after = (
            self._page_tokens.decode_sessions_token(
                request.page_token, app_name, user_id, by_storage_token=self._backend.pages_by_token
            )
            if request.page_token
            else None
        )
        page = await self._backend.list_sessions(
            app_name, user_id, page_size, after, budget=ReadBudget(self.response_bytes)
        )
        return self._bounded(
            messages.list_sessions_response(
                page.items,
                self._page_tokens.encode_sessions_token(app_name, user_id, page.next_cursor)
                if page.next_cursor is not None
                else "",
            )
        )

    async def DeleteSession(  # noqa: N802
        self, request: pb.DeleteSessionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.DeleteSessionResponse:
        """Deletes a session; succeeds if it does not exist."""
        await self._backend.delete_session(_session_key(request))
        return pb.DeleteSessionResponse()

    async def AppendEvent(  # noqa: N802
        self,
        request: pb.AppendEventRequest,
        context: grpc.aio.ServicerContext[Any, Any],
        *,
        room: ResponseRoom | None = None,
    ) -> Encoded:
        """Stores an event if the caller's revision is current (or returns the original, for a retry).

        ``room``: the response this append's answer goes into is shared (a
        batch's): the answer must fit in what is left of it.

        Raises:
            BatchResponseFullError: ``room`` has no place for this append's answer (nothing is done).
        """
        key = _session_key(request)
        if request.expected_revision <= 0:
            raise InvalidArgumentError.single(
                "expected_revision",
                "required: the revision from the caller's last read or append of the session",
            )
        event = parse_event(request.event_json)
        event.encoded_fields = messages.encode_event_fields(event)
        event.size = messages.event_size(event)
        if event.size > self.response_bytes:
            raise InvalidArgumentError.single(
                "event_json",
                f"the event takes {event.size} bytes in a response (its JSON and its typed fields, which "
                f"repeat its state delta), and one event may take at most {self.response_bytes} (the "
                f"server's message limit of {self._max_message_bytes} bytes, less "
                f"{wire_limits.RESPONSE_ENVELOPE_BYTES} for the rest of a response)",
            )
        if room is not None and not room.take(event.size + APPEND_ANSWER_OVERHEAD):
            raise BatchResponseFullError()
        result = await self._backend.append_event(key, event, request.expected_revision, limits=self._limits)
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
        after, continuing = self._event_cursor(request.page_token, key, after_timestamp)
        page = await self._backend.list_events(
            key, after_timestamp, page_size, after, budget=ReadBudget(self.response_bytes, page_size)
        )
        token = ""
        if page.next_cursor is not None:
            token = (
                self._page_tokens.encode_continuation_token(
                    key.app_name, key.user_id, key.session_id, page.next_cursor
                )
                if continuing
                else self._page_tokens.encode_events_token(*binding, page.next_cursor)
            )
        return self._bounded(messages.list_events_response(page.items, token))

    def _event_cursor(
        self, token: str, key: SessionKey, after_timestamp: float | None
    ) -> tuple[EventCursor | None, bool]:
        """Where a ListEvents page starts, and whether it continues a GetSession (its token's kind)."""
        if not token:
            return None, False
        by_storage_token = self._backend.pages_by_token
        try:
            rest = self._page_tokens.decode_continuation_token(
                token, key.app_name, key.user_id, key.session_id, by_storage_token=by_storage_token
            )
        except InvalidArgumentError:
            cursor = self._page_tokens.decode_events_token(
                token,
                key.app_name,
                key.user_id,
                key.session_id,
                after_timestamp,
                by_storage_token=by_storage_token,
            )
            return cursor, False
        if after_timestamp is not None:
            raise InvalidArgumentError.single(
                "after_timestamp",
                "must be unset with a GetSession's next_events_page_token: it lists the rest of that "
                "read's selection",
            )
        return rest, True

    def _bounded(self, response: Encoded) -> Encoded:
        """``response``, checked to be within the message limit (the budgets make it so)."""
        if len(response.data) > self._max_message_bytes:
            raise RuntimeError(
                f"a response of {len(response.data)} bytes was built, over the message limit of "
                f"{self._max_message_bytes}: a backend did not keep to its read budget"
            )
        return response

    async def GetUserState(  # noqa: N802
        self, request: pb.GetUserStateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetUserStateResponse:
        """Reads one user's user-scoped state."""
        app_name = check_key("app_name", request.app_name)
        user_id = check_key("user_id", request.user_id)
        return pb.GetUserStateResponse(state=await self._backend.get_user_state(app_name, user_id))

    async def GetAppState(  # noqa: N802
        self, request: pb.GetAppStateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetAppStateResponse:
        """Reads an app's app-scoped state."""
        app_name = check_key("app_name", request.app_name)
        return pb.GetAppStateResponse(state=await self._backend.get_app_state(app_name))


def _session_key(
    request: pb.GetSessionRequest | pb.DeleteSessionRequest | pb.AppendEventRequest | pb.ListEventsRequest,
) -> SessionKey:
    return SessionKey(
        check_key("app_name", request.app_name),
        check_key("user_id", request.user_id),
        validation.session_id("session_id", request.session_id),
    )
