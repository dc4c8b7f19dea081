"""How each kind of write travels, alone and in a batch: the ``Route``s of ``write_pipeline``.

``AppendRoute``: a lone append on the append stream kept open (``append_stream``)
when it is free, else in an ``AppendEvent`` call; appends together in
``BatchAppendEvents``. ``CreateRoute``: a lone create on the same stream when
it is free, else in a ``CreateSession`` call; creates together in
``BatchCreateSessions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from adk_grpc_sessions.client.append_stream import AppendStream
from adk_grpc_sessions.client.batch_calls import batch_attempt, failure
from adk_grpc_sessions.client.retry import Attempt, AttemptFailedError, Metadata, unary_attempt
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc

Created = pb.CreateSessionResponse | pb.CreatedSession
"""What a create came to: the new session, or its id alone (a batch's response had no room for it)."""


class _StreamRoute:
    """A kind of write that travels alone on the append stream when it is free, else in a call of its own."""

    def __init__(
        self, stub: pb_grpc.SessionServiceAsyncStub, metadata: Metadata, stream: AppendStream | None
    ) -> None:
        """Writes through ``stub``; a lone write on ``stream`` when it is free (None: always a call)."""
        self._stub = stub
        self._metadata = metadata
        self._stream = stream


class AppendRoute(_StreamRoute):
    """Appends: alone on the append stream (or a call), together in ``BatchAppendEvents``."""

    method: Final = "AppendEvent"
    batch_method: Final = "BatchAppendEvents"

    def alone(self, request: pb.AppendEventRequest) -> Attempt[pb.AppendEventResponse]:
        """The attempt of one append on its own: on the append stream if it is free, else in a call."""

        async def attempt(seconds: float | None, wait_for_ready: bool) -> pb.AppendEventResponse:
            stream = self._stream
            if stream is not None and not stream.busy:
                return await stream.append(request, seconds, wait_for_ready)
            response: pb.AppendEventResponse = await unary_attempt(
                self._stub.AppendEvent, request, seconds, self._metadata, wait_for_ready
            )
            return response

        return attempt

    def together(
        self, requests: Sequence[pb.AppendEventRequest]
    ) -> Attempt[list[pb.AppendEventResponse | AttemptFailedError]]:
        """The attempt of appends in one ``BatchAppendEvents`` call."""
        request = pb.BatchAppendEventsRequest(requests=requests)
        return batch_attempt(self._stub.BatchAppendEvents, request, len(requests), _appended, self._metadata)


class CreateRoute(_StreamRoute):
    """Creates: alone on the append stream (or a call), together in ``BatchCreateSessions``."""

    method: Final = "CreateSession"
    batch_method: Final = "BatchCreateSessions"

    def alone(self, request: pb.CreateSessionRequest) -> Attempt[Created]:
        """The attempt of one create on its own: on the append stream if it is free, else in a call."""

        async def attempt(seconds: float | None, wait_for_ready: bool) -> Created:
            stream = self._stream
            if stream is not None and not stream.busy:
                return await stream.create(request, seconds, wait_for_ready)
            response: pb.CreateSessionResponse = await unary_attempt(
                self._stub.CreateSession, request, seconds, self._metadata, wait_for_ready
            )
            return response

        return attempt

    def together(
        self, requests: Sequence[pb.CreateSessionRequest]
    ) -> Attempt[list[Created | AttemptFailedError]]:
        """The attempt of creates in one ``BatchCreateSessions`` call."""
        request = pb.BatchCreateSessionsRequest(requests=requests)
        return batch_attempt(self._stub.BatchCreateSessions, request, len(requests), _created, self._metadata)


def _appended(result: pb.AppendEventResult) -> pb.AppendEventResponse | AttemptFailedError:
    return result.response if result.HasField("response") else failure(result.error)


def _created(result: pb.CreateSessionResult) -> Created | AttemptFailedError:
    if result.HasField("response"):
        return result.response
    if result.HasField("created"):
        return result.created
    return failure(result.error)
