"""The ``adk_grpc_sessions.v1.SessionService`` servicer: one class for every RPC.

Each method validates its request, calls the backend and answers. It holds
no storage logic (that is the backend's), no error-code choices (``errors``),
and nothing written twice for the three ways an append arrives: a lone
``AppendEvent``, ``BatchAppendEvents`` and ``AppendEventStream`` adapt the
one append core (``append``), as ``CreateSession``, ``BatchCreateSessions``
and a create on the stream adapt the one create core (``create``). What happens around every call (parsing,
credentials, deadlines, metrics) is ``calls``'s; the lifecycle's request
rules are ``lifecycle``'s. One method per RPC of the contract keeps it near
400 lines, each method short.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import grpc
from google.protobuf.message import DecodeError
from google.rpc import code_pb2, status_pb2

from adk_grpc_sessions.server.api import lifecycle, messages, session_filter, validation
from adk_grpc_sessions.server.api.append import ResponseRoom, append
from adk_grpc_sessions.server.api.calls import STREAM_METHOD, CallPolicy, Failure, call_handler, served
from adk_grpc_sessions.server.api.create import batch_create, create, new_session_id, serve_create
from adk_grpc_sessions.server.api.errors import rpc_status_for, rpc_status_from, status_for
from adk_grpc_sessions.server.api.lifecycle import Lifecycle
from adk_grpc_sessions.server.api.messages import Encoded, session_message
from adk_grpc_sessions.server.api.page_tokens import PageTokens
from adk_grpc_sessions.server.api.session_notices import SessionNotices
from adk_grpc_sessions.server.api.watch import DEFAULT_DELIVERY_SHARE, Watchers
from adk_grpc_sessions.server.backends.base import (
    Backend,
    Cursor,
    EventWindow,
    ReadBudget,
    SessionKey,
    SessionNotFoundError,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError, check_key
from adk_grpc_sessions.server.runtime.auth import TokenGrant
from adk_grpc_sessions.server.runtime.logs import new_request_id, request_id
from adk_grpc_sessions.server.runtime.tracing import RequestSpan
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire import limits as wire_limits

SERVICE_NAME: Final = pb.DESCRIPTOR.services_by_name["SessionService"].full_name
_log = logging.getLogger(__name__)


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
        policy: CallPolicy | None = None,
        lifecycle: Lifecycle | None = None,
        clock: Callable[[], float] = time.time,
        watch_buffer_bytes: int = 8 * 1024 * 1024,
        watch_delivery_share: float = DEFAULT_DELIVERY_SHARE,
        watch_sessions_pending: int = 10_000,
        request_span: RequestSpan | None = None,
    ) -> None:
        """Serves ``backend``; no response will exceed ``max_message_bytes``, nor storage ``limits``.

        ``page_tokens`` signs the list calls' tokens (default: a key of this
        process); ``policy`` is what every call is served under (default: no
        authentication, no metrics); ``lifecycle`` the expiry and close settings (default: none);
        ``watch_buffer_bytes`` what one watcher may leave unsent before it is cut off;
        ``watch_delivery_share`` the share of the event loop one session's deliveries may take;
        ``watch_sessions_pending`` how many sessions one WatchSessions watcher may leave
        waiting for their notice before it is cut off; ``request_span`` traces each request
        served on an append stream (None: tracing is off).

        Raises:
            ValueError: the limits cannot hold together (``wire.limits.check_limits``), or the
                delivery share is not more than 0 and at most 1.
        """
        self.name: Final = SERVICE_NAME
        self.backend: Final = backend
        self.policy: Final = policy or CallPolicy()
        self.limits: Final = limits or StorageLimits()
        self.lifecycle: Final = lifecycle or Lifecycle()
        self.refresh_on_append: Final = self.lifecycle.refresh_on_append
        self._max_page_size = max_page_size
        self._page_tokens = page_tokens or PageTokens()
        wire_limits.check_limits(
            max_message_bytes=max_message_bytes,
            max_state_bytes=self.limits.max_state_bytes,
            max_session_bytes=self.limits.max_session_bytes,
        )
        self.max_message_bytes: Final = max_message_bytes
        self.response_bytes: Final = max_message_bytes - wire_limits.RESPONSE_ENVELOPE_BYTES
        """Bytes of state, events or sessions one response may carry (the rest is its envelope's)."""
        self.clock: Final = clock
        """The server's clock: creation, fork and close times."""
        self._idle_streams: set[asyncio.Task[Any]] = set()
        """The append streams waiting for their next request, by their handlers' tasks."""
        self._draining = False
        self._request_span = request_span
        self.watchers: Final = Watchers(
            backend,
            response_bytes=self.response_bytes,
            buffer_bytes=watch_buffer_bytes,
            delivery_share=watch_delivery_share,
            metrics=self.policy.metrics,
        )
        self.session_notices: Final = SessionNotices(
            backend, response_bytes=self.response_bytes, pending_sessions=watch_sessions_pending
        )

    async def CreateSession(  # noqa: N802 - RPC names are the contract's
        self, request: pb.CreateSessionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.CreateSessionResponse:
        """Creates a session; without a requested id, a UUID4 (or the id the backend's storage assigns).

        Served whole by the create core: the call is its one create.
        """
        return await create(self, request)

    async def BatchCreateSessions(  # noqa: N802
        self,
        request: pb.BatchCreateSessionsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
        grant: TokenGrant | None = None,
    ) -> pb.BatchCreateSessionsResponse:
        """Serves every create of ``request`` as a lone create, and answers their outcomes in request order.

        Why a batch: a client creating many sessions at once pays one call's
        transport cost for all of them, and the creates, served concurrently,
        reach the backend together (a SQL backend's group commit stores them
        in shared transactions). Each is authorized on its own app, and
        fails (or not) on its own (see ``create.batch_create``).
        """
        return await batch_create(self, request, grant)

    async def ForkSession(  # noqa: N802
        self, request: pb.ForkSessionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ForkSessionResponse:
        """Copies a session, whole or up to an invocation, into a new session of the same user."""
        source = SessionKey(
            check_key("app_name", request.app_name),
            check_key("user_id", request.user_id),
            validation.session_id("session_id", request.session_id),
        )
        session_id = new_session_id(self.backend, "new_session_id", request.new_session_id)
        before_invocation_id = request.before_invocation_id
        if before_invocation_id:
            check_key("before_invocation_id", before_invocation_id)
        metadata = validation.metadata(request)
        expiry = validation.expiry(request, "", self.backend.clock(), self.lifecycle.session_ttl)
        record = await self.backend.fork_session(
            source,
            session_id,
            self.clock(),
            before_invocation_id=before_invocation_id,
            expiry=expiry,
            metadata=metadata,
        )
        return pb.ForkSessionResponse(session=session_message(record))

    async def GetSession(  # noqa: N802
        self, request: pb.GetSessionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Encoded:
        """Reads a session and the window of events the request selects."""
        key = validation.session_key(request)
        num_recent_events = None
        if request.HasField("num_recent_events"):
            num_recent_events = request.num_recent_events
            if num_recent_events < 0:
                raise InvalidArgumentError.single("num_recent_events", "must not be negative")
        after_timestamp = None
        if request.HasField("after_timestamp"):
            after_timestamp = validation.timestamp("after_timestamp", request.after_timestamp)
        record = await self.backend.get_session(
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
        """Lists one page of an app's (or one user's) sessions that the filter keeps, in its order."""
        app_name = check_key("app_name", request.app_name)
        user_id = check_key("user_id", request.user_id) if request.user_id else None
        page_size = validation.page_size("page_size", request.page_size, self._max_page_size)
        query = session_filter.parse_query(request.filter, request.order_by)
        after = (
            self._page_tokens.decode_sessions_token(request.page_token, app_name, user_id, query)
            if request.page_token
            else None
        )
        page = await self.backend.list_sessions(
            app_name, user_id, page_size, after, query=query, budget=ReadBudget(self.response_bytes)
        )
        return self._bounded(
            messages.list_sessions_response(
                page.items,
                self._page_tokens.encode_sessions_token(app_name, user_id, page.next_cursor, query)
                if page.next_cursor is not None
                else "",
            )
        )

    async def DeleteSession(  # noqa: N802
        self, request: pb.DeleteSessionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.DeleteSessionResponse:
        """Deletes a session; succeeds if it does not exist."""
        await self.backend.delete_session(validation.session_key(request))
        return pb.DeleteSessionResponse()

    async def AppendEvent(  # noqa: N802
        self,
        request: pb.AppendEventRequest,
        context: grpc.aio.ServicerContext[Any, Any],
        grant: TokenGrant | None = None,
    ) -> Encoded | Failure:
        """Stores an event if the caller's revision is current (or returns the original, for a retry).

        Served whole by the append core: the call is its one append.
        """
        time_limit = self.policy.time_limit(context)
        return await append(self, request, grant, via="AppendEvent", time_limit=time_limit, context=context)

    async def BatchAppendEvents(  # noqa: N802
        self,
        request: pb.BatchAppendEventsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
        grant: TokenGrant | None = None,
    ) -> Encoded:
        """Serves every append of ``request`` as a lone append, and answers their outcomes in request order.

        Why a batch: a client with many sessions appending at once pays one
        call's transport cost for all of them. The appends are served
        concurrently, so they reach the backend together and a SQL backend's
        group commit stores them in shared transactions; each keeps its own
        atomicity, checks and outcome, and appends to one session keep their
        request order (the backend takes one session's appends in arrival
        order). Each append is authorized on its own app: a batch may mix
        apps, and an append the caller's token does not cover fails alone.

        Raises:
            InvalidArgumentError: the batch is empty or holds too many appends.
        """
        count = validation.batch_size(len(request.requests), wire_limits.MAX_BATCH_APPENDS, "appends")
        # Each append takes its answer's room before it is applied (in request
        # order: each runs to its first wait in turn), so the response never
        # passes the message limit, however large the events.
        room = ResponseRoom(self.response_bytes, count)

        async def serve(one: pb.AppendEventRequest) -> Encoded | status_pb2.Status:
            # The batch's call bounds its appends' time.
            outcome = await append(self, one, grant, via="BatchAppendEvents", time_limit=None, room=room)
            return outcome.status if isinstance(outcome, Failure) else outcome

        if count == 1:
            outcomes = [await serve(request.requests[0])]
        else:
            outcomes = list(await asyncio.gather(*map(serve, request.requests)))
        return messages.batch_append_response(outcomes)

    async def AppendEventStream(  # noqa: N802
        self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        """Serves appends (and creates) sent over one open stream, each as a lone call would, in order.

        Why a stream: most of a lone append's time is the gRPC machinery of
        its unary call, on both sides; an append sent as one more message on
        an open stream skips the call's set-up and tear-down.

        Each request is answered before the next one is read, so a stream's
        appends are applied in order. An append's failure is its result (an
        ``AppendEventStreamResponse`` with the status a lone ``AppendEvent``
        would have failed with); only what concerns the stream as a whole
        fails it (UNAUTHENTICATED). Each append is bounded by the server's
        longest call time; a client that gives up on an append cancels the
        stream, which cancels the append's storage work as a call's deadline
        would. Requests arrive as bytes, so bad protobuf is answered, not fatal.
        """
        del requests  # read through the context, so that waiting for a request can be told apart
        try:
            grant = self.policy.authenticate(context)
        except Exception as exc:
            status = rpc_status_for(exc)
            self._count_stream(status.code.name)
            await context.abort_with_status(status)
        task = asyncio.current_task()
        assert task is not None  # gRPC runs every handler in a task of its own
        # Each request is logged under the caller's id, as a call of its own made with the
        # stream's metadata would be; without one, each gets a new id.
        caller_id = next(
            (str(v) for k, v in context.invocation_metadata() or () if k == "x-request-id"), None
        )
        stream_metadata = [(str(key), value) for key, value in context.invocation_metadata() or ()]
        code = "OK"
        try:
            while not self._draining:
                self._idle_streams.add(task)
                try:
                    raw = await context.read()
                except asyncio.CancelledError:
                    if not self._draining:
                        raise
                    task.uncancel()  # drain() ended this idle stream: end it with OK
                    break
                finally:
                    self._idle_streams.discard(task)
                if raw is grpc.aio.EOF:
                    break
                request_id.set(caller_id or new_request_id())
                if self._request_span is None:
                    await context.write(await self._stream_answer(raw, grant))
                else:
                    with self._request_span(_stream_request_method(raw), stream_metadata):
                        answer = await self._stream_answer(raw, grant)
                    await context.write(answer)
        except asyncio.CancelledError:
            code = "CANCELLED"  # the client gave up or went away
            raise
        finally:
            self._count_stream(code)

    async def _stream_answer(self, raw: bytes, grant: TokenGrant | None) -> bytes:
        """The encoded answer to one request read from an append stream: an append's, or a create's."""
        time_limit = self.policy.max_call_seconds
        try:
            request = pb.AppendEventStreamRequest.FromString(raw)
        except DecodeError:
            request = None  # the append core answers bad protobuf as a failed append
        if request is not None and request.WhichOneof("request") == "create":
            result = await serve_create(self, request.create, grant, via=STREAM_METHOD, time_limit=time_limit)
            return pb.AppendEventStreamResponse(create_result=result).SerializeToString()
        outcome = await append(
            self, raw if request is None else request.append, grant, via=STREAM_METHOD, time_limit=time_limit
        )
        return messages.stream_response(outcome.status if isinstance(outcome, Failure) else outcome)

    def drain(self) -> None:
        """Ends every append stream (with OK) once it has answered what it read; idle ones now.

        Streams would otherwise hold a stopping server for its whole grace
        period; their clients move to another server by opening a new stream.
        Watch streams end at once with UNAVAILABLE (``SERVER_DRAINING``): their
        watchers resume on another server.
        """
        self._draining = True
        for task in list(self._idle_streams):
            task.cancel()
        self.watchers.drain()
        self.session_notices.drain()

    def _count_stream(self, code: str, method: str = STREAM_METHOD) -> None:
        # Not timed: a stream's duration says nothing; its appends are timed one by one.
        if self.policy.metrics is not None:
            self.policy.metrics.rpcs.labels(method, code).inc()

    async def WatchSession(  # noqa: N802
        self, raw_request: bytes, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[bytes]:
        """Streams a session's events after a revision, then each one as it is committed (``watch``).

        The request arrives as bytes, so bad protobuf is answered INVALID_ARGUMENT.
        """
        request_id.set(new_request_id())
        failure: status_pb2.Status | None = None
        code = "OK"
        try:
            grant = self.policy.authenticate(context)
            try:
                request = pb.WatchSessionRequest.FromString(raw_request)
            except DecodeError as exc:
                raise InvalidArgumentError.single(
                    "request", f"not a valid adk_grpc_sessions.v1.WatchSessionRequest: {exc}"
                ) from None
            key = validation.session_key(request)
            self.policy.authorize(grant, key.app_name)
            if request.after_revision < 0:
                raise InvalidArgumentError.single("after_revision", "must not be negative")
            async for message in self.watchers.stream(key, request.after_revision):
                yield message
        except asyncio.CancelledError:
            code = "CANCELLED"  # the watcher went away
            raise
        except Exception as exc:
            failure = status_for(exc)
            code = code_pb2.Code.Name(failure.code)
        finally:
            self._count_stream(code, WATCH_METHOD)
        if failure is not None:
            # Outside every except block: abort raises, and must not be caught above.
            await context.abort_with_status(rpc_status_from(failure))

    async def WatchSessions(  # noqa: N802
        self, raw_request: bytes, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[bytes]:
        """Streams a listing of one user's sessions, then a notice of each change as it is committed.

        The request arrives as bytes, so bad protobuf is answered INVALID_ARGUMENT.
        """
        request_id.set(new_request_id())
        failure: status_pb2.Status | None = None
        code = "OK"
        try:
            grant = self.policy.authenticate(context)
            try:
                request = pb.WatchSessionsRequest.FromString(raw_request)
            except DecodeError as exc:
                raise InvalidArgumentError.single(
                    "request", f"not a valid adk_grpc_sessions.v1.WatchSessionsRequest: {exc}"
                ) from None
            app_name = check_key("app_name", request.app_name)
            user_id = check_key("user_id", request.user_id)
            self.policy.authorize(grant, app_name)
            async for message in self.session_notices.stream(app_name, user_id):
                yield message
        except asyncio.CancelledError:
            code = "CANCELLED"  # the watcher went away
            raise
        except Exception as exc:
            failure = status_for(exc)
            code = code_pb2.Code.Name(failure.code)
        finally:
            self._count_stream(code, WATCH_SESSIONS_METHOD)
        if failure is not None:
            # Outside every except block: abort raises, and must not be caught above.
            await context.abort_with_status(rpc_status_from(failure))

    async def ListEvents(  # noqa: N802
        self, request: pb.ListEventsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Encoded:
        """Lists one page of a session's events in append order."""
        key = validation.session_key(request)
        page_size = validation.page_size("page_size", request.page_size, self._max_page_size)
        after_timestamp = None
        if request.HasField("after_timestamp"):
            after_timestamp = validation.timestamp("after_timestamp", request.after_timestamp)
        binding = (key.app_name, key.user_id, key.session_id, after_timestamp)
        after, continuing = self._event_cursor(request.page_token, key, after_timestamp)
        page = await self.backend.list_events(
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
    ) -> tuple[Cursor | None, bool]:
        """Where a ListEvents page starts, and whether it continues a GetSession (its token's kind)."""
        if not token:
            return None, False
        try:
            rest = self._page_tokens.decode_continuation_token(
                token, key.app_name, key.user_id, key.session_id
            )
        except InvalidArgumentError:
            cursor = self._page_tokens.decode_events_token(
                token, key.app_name, key.user_id, key.session_id, after_timestamp
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
        if len(response.data) > self.max_message_bytes:
            raise RuntimeError(
                f"a response of {len(response.data)} bytes was built, over the message limit of "
                f"{self.max_message_bytes}: a backend did not keep to its read budget"
            )
        return response

    async def GetUserState(  # noqa: N802
        self, request: pb.GetUserStateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetUserStateResponse:
        """Reads one user's user-scoped state."""
        app_name = check_key("app_name", request.app_name)
        user_id = check_key("user_id", request.user_id)
        return pb.GetUserStateResponse(state=await self.backend.get_user_state(app_name, user_id))

    async def GetAppState(  # noqa: N802
        self, request: pb.GetAppStateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetAppStateResponse:
        """Reads an app's app-scoped state."""
        app_name = check_key("app_name", request.app_name)
        return pb.GetAppStateResponse(state=await self.backend.get_app_state(app_name))

    async def UpdateSession(  # noqa: N802
        self, request: pb.UpdateSessionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.UpdateSessionResponse:
        """Changes a session's expiry and metadata (``update_mask``); never its revision, events or state."""
        record = await lifecycle.update_session(self.backend, request)
        return pb.UpdateSessionResponse(session=session_message(record))

    async def CloseSession(  # noqa: N802
        self, request: pb.CloseSessionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.CloseSessionResponse:
        """Closes a session: it keeps being readable and refuses appends; closing again changes nothing."""
        key = validation.session_key(request)
        record = await self.backend.close_session(key, self.clock(), self.lifecycle.closed_session_ttl)
        return pb.CloseSessionResponse(session=session_message(record))

    async def EraseUser(  # noqa: N802
        self, request: pb.EraseUserRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.EraseUserResponse:
        """Erases one user of an app: invisible at once, then deleted in batches while the call has time."""
        app_name = check_key("app_name", request.app_name)
        user_id = check_key("user_id", request.user_id)
        # Half of the call's time for deleting: the rest is headroom to answer within it.
        remaining = context.time_remaining()
        budget = min(self.policy.max_call_seconds, math.inf if remaining is None else remaining)
        deleted = await lifecycle.erase_user(
            self.backend, app_name, user_id, batch_size=self.lifecycle.purge_batch_size, seconds=budget / 2
        )
        return pb.EraseUserResponse(deleted_sessions=deleted)

    async def ListApps(  # noqa: N802
        self,
        request: pb.ListAppsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
        grant: TokenGrant | None = None,
    ) -> pb.ListAppsResponse:
        """Lists one page of the apps holding anything, among those the caller's token covers."""
        page_size = validation.page_size("page_size", request.page_size, self._max_page_size)
        after = self._page_tokens.decode_apps_token(request.page_token) if request.page_token else None
        page = await self.backend.list_apps(page_size, after, among=self.policy.covered_apps(grant))
        token = "" if page.next_cursor is None else self._page_tokens.encode_apps_token(page.next_cursor)
        return pb.ListAppsResponse(app_names=page.items, next_page_token=token)

    async def ListUsers(  # noqa: N802
        self, request: pb.ListUsersRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListUsersResponse:
        """Lists one page of an app's users holding a session or user state, by id."""
        app_name = check_key("app_name", request.app_name)
        page_size = validation.page_size("page_size", request.page_size, self._max_page_size)
        after = (
            self._page_tokens.decode_users_token(request.page_token, app_name) if request.page_token else None
        )
        page = await self.backend.list_users(app_name, page_size, after)
        token = (
            ""
            if page.next_cursor is None
            else self._page_tokens.encode_users_token(app_name, page.next_cursor)
        )
        return pb.ListUsersResponse(user_ids=page.items, next_page_token=token)


WATCH_METHOD: Final = "WatchSession"
WATCH_SESSIONS_METHOD: Final = "WatchSessions"
_WATCH_METHODS: Final = (WATCH_METHOD, WATCH_SESSIONS_METHOD)


def session_service_handler(servicer: SessionServicer) -> grpc.GenericRpcHandler:
    """The generic handler that serves ``servicer`` as ``adk_grpc_sessions.v1.SessionService``."""
    policy = servicer.policy
    service = pb.DESCRIPTOR.services_by_name["SessionService"]
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in service.methods:
        if method.name == STREAM_METHOD:
            # Requests arrive as bytes, so bad protobuf is answered, not fatal.
            handlers[method.name] = grpc.stream_stream_rpc_method_handler(
                servicer.AppendEventStream, request_deserializer=None, response_serializer=None
            )
            continue
        if method.name in _WATCH_METHODS:
            # The request arrives as bytes, so bad protobuf is answered, not fatal.
            handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                getattr(servicer, method.name), request_deserializer=None, response_serializer=None
            )
            continue
        implementation = getattr(servicer, method.name)
        # A lone append is served whole by the append core, like each append of a batch or stream.
        run = implementation if method.name == "AppendEvent" else served(method.name, implementation, policy)
        handlers[method.name] = call_handler(method.name, run, getattr(pb, method.input_type.name), policy)
    return grpc.method_handlers_generic_handler(servicer.name, handlers)


_SERVICE_PATH: Final = f"/{pb.DESCRIPTOR.services_by_name['SessionService'].full_name}/"


def _stream_request_method(raw: bytes) -> str:
    """The full name of the call an append stream's request stands for (AppendEvent if unreadable)."""
    try:
        kind = pb.AppendEventStreamRequest.FromString(raw).WhichOneof("request")
    except DecodeError:
        kind = None
    return _SERVICE_PATH + ("CreateSession" if kind == "create" else "AppendEvent")
