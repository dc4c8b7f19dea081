"""The one create core: ``create`` checks and stores one new session, however it arrived.

A lone ``CreateSession``, each create of ``BatchCreateSessions`` and each
create sent on ``AppendEventStream`` are served by it alone, so they are the
same create: same checks, same limits, same statuses, an id generated the
same way. A batch or a stream adds only what concerns it (``serve_create``):
each create authorized on its own app and counted under the call it came in;
a batch's creates run concurrently (so a SQL backend's group commit stores
them together) and are answered within the room its response has left
(``ResponseRoom``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

from adk_grpc_sessions.server.api import validation
from adk_grpc_sessions.server.api.append import Appends, ResponseRoom
from adk_grpc_sessions.server.api.calls import Failure
from adk_grpc_sessions.server.api.errors import status_for
from adk_grpc_sessions.server.api.lifecycle import Lifecycle
from adk_grpc_sessions.server.api.messages import session_message
from adk_grpc_sessions.server.backends.base import Backend, ScopedState, SessionKey
from adk_grpc_sessions.server.backends.invalid_input import check_key
from adk_grpc_sessions.server.runtime.auth import TokenGrant
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire import limits as wire_limits

METHOD: Final = "CreateSession"
BATCH_METHOD: Final = "BatchCreateSessions"
_RESULT_OVERHEAD: Final = 16
"""Bytes a result's framing may add to its ``CreateSessionResponse`` (field tags and length prefixes)."""


class Creates(Appends, Protocol):
    """What the create core serves a create with: the servicer's, as the append core's ``Appends`` is."""

    @property
    def lifecycle(self) -> Lifecycle:
        """The server's default time to live."""

    @property
    def clock(self) -> Callable[[], float]:
        """The server's clock: a new session's creation time."""


def new_session_id(backend: Backend, field: str, requested: str) -> str:
    """A new session's id: the one requested (trimmed), else a UUID4 (empty if storage assigns one).

    Raises:
        InvalidArgumentError: the requested id is not a valid key (``field`` names it).
    """
    session_id = requested.strip()
    if session_id:
        return check_key(field, session_id)
    return "" if backend.assigns_session_ids else str(uuid.uuid4())


async def create(servicer: Creates, request: pb.CreateSessionRequest) -> pb.CreateSessionResponse:
    """Creates the session ``request`` asks for (authorization is the caller's); its response.

    Raises:
        InvalidArgumentError: a field is missing or malformed.
        Exception: what the backend raises (the id taken, a scope's state too large, ...).
    """
    app_name = check_key("app_name", request.app_name)
    user_id = check_key("user_id", request.user_id)
    session_id = new_session_id(servicer.backend, "session_id", request.session_id)
    state = ScopedState(
        app=validation.state_map("state.app", request.state.app),
        user=validation.state_map("state.user", request.state.user),
        session=validation.state_map("state.session", request.state.session, session_scope=True),
    )
    metadata = validation.metadata(request)
    expiry = validation.expiry(request, "", servicer.backend.clock(), servicer.lifecycle.session_ttl)
    record = await servicer.backend.create_session(
        SessionKey(app_name, user_id, session_id),
        state,
        servicer.clock(),
        expiry=expiry,
        metadata=metadata,
        limits=servicer.limits,
    )
    return pb.CreateSessionResponse(session=session_message(record))


async def serve_create(
    servicer: Creates,
    request: pb.CreateSessionRequest,
    grant: TokenGrant | None,
    *,
    via: str,
    time_limit: float | None,
    room: ResponseRoom | None = None,
) -> pb.CreateSessionResult:
    """Serves one create of a batch or a stream: authorized on its own app; its result, failure included.

    ``via``: the method it came in, which its outcome is counted under.
    ``time_limit``: seconds it may take (None: its batch's call bounds it).
    ``room``: its answer shares a response (a batch's) and must fit in what is left of it.
    """
    policy = servicer.policy

    async def work() -> pb.CreateSessionResponse:
        policy.authorize(grant, request.app_name)
        return await create(servicer, request)

    outcome = await policy.serve(
        METHOD,
        work,
        time_limit=time_limit,
        tally=lambda metrics, code, seconds: metrics.count_create(via, code, seconds),
        status_of=room.status_for if room is not None else status_for,
    )
    if isinstance(outcome, Failure):
        return pb.CreateSessionResult(error=pb.Status.FromString(outcome.status.SerializeToString()))
    if room is None or room.take(outcome.ByteSize() + _RESULT_OVERHEAD):
        return pb.CreateSessionResult(response=outcome)
    # Created, but its session (with the app's and user's state) no longer fits: its id says where.
    return pb.CreateSessionResult(created=pb.CreatedSession(session_id=outcome.session.session_id))


async def batch_create(
    servicer: Creates, request: pb.BatchCreateSessionsRequest, grant: TokenGrant | None
) -> pb.BatchCreateSessionsResponse:
    """Serves every create of ``request`` as a lone create; their results in request order.

    Raises:
        InvalidArgumentError: the batch is empty or holds too many creates.
    """
    count = validation.batch_size(len(request.requests), wire_limits.MAX_BATCH_CREATES, "creates")
    room = ResponseRoom(servicer.response_bytes, count)

    def serve(one: pb.CreateSessionRequest) -> Awaitable[pb.CreateSessionResult]:
        # The batch's call bounds its creates' time.
        return serve_create(servicer, one, grant, via=BATCH_METHOD, time_limit=None, room=room)

    if count == 1:
        results = [await serve(request.requests[0])]
    else:
        results = list(await asyncio.gather(*map(serve, request.requests)))
    return pb.BatchCreateSessionsResponse(results=results)
