"""Batch calls: several writes in one call, each answered on its own.

``BatchAppendEvents`` and ``BatchCreateSessions`` are one shape: requests in,
one result per request out, in order.

The batch is one attempt of ``retry``'s for all its writes together: a
failure of the whole call (UNAVAILABLE, say) is retried whole, which is safe
as each write is: an append is idempotent by event id, and a create the
earlier attempt made answers ALREADY_EXISTS, as it would to a lone create
tried again. A write the server answered with a failure of its own comes
back as that failure, for its own operation to judge (see ``write_pipeline``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Final, Protocol, TypeVar

import grpc
from google.protobuf.message import Message

from adk_grpc_sessions.client.errors import SessionServiceError, append_failure
from adk_grpc_sessions.client.retry import Attempt, AttemptFailedError, Metadata, unary_attempt
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire.limits import DEFAULT_MAX_MESSAGE_BYTES

OutcomeT = TypeVar("OutcomeT")
ResultMessageT = TypeVar("ResultMessageT", pb.AppendEventResult, pb.CreateSessionResult)
ResultMessageT_co = TypeVar("ResultMessageT_co", pb.AppendEventResult, pb.CreateSessionResult, covariant=True)

MAX_BATCH_BYTES: Final = DEFAULT_MAX_MESSAGE_BYTES // 8
"""Most request bytes in one batch: well under the server's default message limit."""


class BatchResponse(Protocol[ResultMessageT_co]):
    """A batch call's response: one result per write, in request order."""

    @property
    def results(self) -> Sequence[ResultMessageT_co]:
        """The writes' results."""


def batch_attempt(
    call: Callable[..., Awaitable[BatchResponse[ResultMessageT]]],
    request: Message,
    count: int,
    outcome: Callable[[ResultMessageT], OutcomeT],
    metadata: Metadata,
) -> Attempt[list[OutcomeT]]:
    """The attempt of one batch call ``call(request)`` of ``count`` writes: the outcome of each, in order.

    ``outcome`` reads one of the response's ``results``: a write's result, or
    its own failure (``failure``). The attempt raises
    ``AttemptFailedError`` when the call as a whole fails (or is answered
    short, which no retry mends).
    """

    async def attempt(seconds: float | None, wait_for_ready: bool) -> list[OutcomeT]:
        results = (await unary_attempt(call, request, seconds, metadata, wait_for_ready)).results
        if len(results) != count:
            raise AttemptFailedError(
                grpc.StatusCode.INTERNAL,
                SessionServiceError("the server answered a batch short", grpc.StatusCode.INTERNAL),
            )
        return [outcome(result) for result in results]

    return attempt


def failure(error: pb.Status) -> AttemptFailedError:
    """The failure of one write of a batch, as its status says, for its own operation to judge."""
    return AttemptFailedError(*append_failure(error))
