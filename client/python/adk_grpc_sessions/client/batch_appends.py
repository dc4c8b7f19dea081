"""Batch appends: several appends in one ``BatchAppendEvents`` call, each answered on its own.

The batch is one attempt of ``retry``'s for all its appends together: a
failure of the whole call (UNAVAILABLE, say) is retried whole, which is safe
as each append is idempotent by event id. An append the server answered with
a failure of its own comes back as that failure, for its own operation to
judge (see ``append_pipeline``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import grpc

from adk_grpc_sessions.client.errors import SessionServiceError, append_failure
from adk_grpc_sessions.client.retry import Attempt, AttemptFailedError, Metadata, unary_attempt
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from adk_grpc_sessions.wire.limits import DEFAULT_MAX_MESSAGE_BYTES

MAX_BATCH_BYTES: Final = DEFAULT_MAX_MESSAGE_BYTES // 8
"""Most request bytes in one batch: well under the server's default message limit."""

Outcome = pb.AppendEventResponse | AttemptFailedError
"""What one append of a batch came to: its response, or its own failure."""


def batch_attempt(
    stub: pb_grpc.SessionServiceAsyncStub, requests: Sequence[pb.AppendEventRequest], metadata: Metadata
) -> Attempt[list[Outcome]]:
    """The attempt of sending ``requests`` in one ``BatchAppendEvents`` call: the outcome of each, in order.

    The attempt raises ``AttemptFailedError`` when the call as a whole fails
    (or is answered short, which no retry mends).
    """
    request = pb.BatchAppendEventsRequest(requests=requests)

    async def attempt(seconds: float | None, wait_for_ready: bool) -> list[Outcome]:
        response: pb.BatchAppendEventsResponse = await unary_attempt(
            stub.BatchAppendEvents, request, seconds, metadata, wait_for_ready
        )
        if len(response.results) != len(requests):
            raise AttemptFailedError(
                grpc.StatusCode.INTERNAL,
                SessionServiceError("the server answered a batch of appends short", grpc.StatusCode.INTERNAL),
            )
        return [_outcome(result) for result in response.results]

    return attempt


def _outcome(result: pb.AppendEventResult) -> Outcome:
    if result.HasField("response"):
        return result.response
    return AttemptFailedError(*append_failure(result.error))
