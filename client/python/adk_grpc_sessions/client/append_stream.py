"""``AppendStream``: lone appends and creates sent on one ``AppendEventStream`` kept open, one at a time.

A unary call's own machinery (on both sides) is most of what a lone append
or create costs, far more than one more message on a stream that is already
open. So an append or a create that goes alone is sent as a message on a
stream that stays open between them (what follows says "append" for both).

One append at a time: the stream is ``busy`` from the write until its answer
is read, and an append that finds it busy goes in a call of its own. An
append that runs out of time drops the stream (its answer may still come,
and would answer the next append); so does any failure of the stream itself,
and the next append opens a new one. A stream the server ended (it is
draining) is noticed and replaced before it is used.

``AppendStream.append`` is one attempt of ``retry``'s, as a call is: an
append that failed on the stream (the server went away, say) is sent again
on a new stream after a backoff, within the same time budget. That new
stream is opened ``wait_for_ready``, so while the server is down it waits
for the connection instead of failing and being replaced again at once:
reopening never spins.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from adk_grpc_sessions.client.errors import SessionServiceTimeoutError, append_failure, error_from_rpc
from adk_grpc_sessions.client.retry import AttemptFailedError, Metadata
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc


class AppendStream:
    """The append stream of one channel (see the module's docstring); made per event loop."""

    def __init__(self, stub: pb_grpc.SessionServiceAsyncStub, metadata: Metadata) -> None:
        """Opens streams through ``stub`` (on first use), with ``metadata``."""
        self._stub = stub
        self._metadata = metadata
        self._call: Any = None  # grpc.aio.StreamStreamCall, typed loosely as gRPC's own stubs are
        self.busy = False
        """An append is on the stream now."""

    async def append(
        self, request: pb.AppendEventRequest, seconds: float | None, wait_for_ready: bool
    ) -> pb.AppendEventResponse:
        """Sends one append and returns its response, within ``seconds`` (None: no limit).

        Raises:
            AttemptFailedError: the append failed (its own failure, or the stream's).
        """
        answer = await self._send(
            pb.AppendEventStreamRequest(append=request), "AppendEvent", seconds, wait_for_ready
        )
        result = answer.result
        if result.HasField("response"):
            response: pb.AppendEventResponse = result.response
            return response
        raise AttemptFailedError(*append_failure(result.error))

    async def create(
        self, request: pb.CreateSessionRequest, seconds: float | None, wait_for_ready: bool
    ) -> pb.CreateSessionResponse:
        """Sends one create and returns its response, within ``seconds`` (None: no limit).

        Raises:
            AttemptFailedError: the create failed (its own failure, or the stream's).
        """
        answer = await self._send(
            pb.AppendEventStreamRequest(create=request), "CreateSession", seconds, wait_for_ready
        )
        result = answer.create_result
        if result.HasField("response"):
            response: pb.CreateSessionResponse = result.response
            return response
        raise AttemptFailedError(*append_failure(result.error))

    async def _send(
        self, request: pb.AppendEventStreamRequest, what: str, seconds: float | None, wait_for_ready: bool
    ) -> pb.AppendEventStreamResponse:
        """Sends one request (``what``: the call it stands for) and returns its answer, within ``seconds``.

        A stream opened for it is opened ``wait_for_ready`` if so asked (see ``retry``).

        Raises:
            AttemptFailedError: the stream failed.
        """
        self.busy = True
        try:
            call = self._call
            if call is None or call.done():  # never opened, or ended by the server
                call = self._call = self._stub.AppendEventStream(
                    metadata=self._metadata, wait_for_ready=wait_for_ready
                )
            try:
                async with asyncio.timeout(seconds):
                    return await self._exchange(call, request)
            except TimeoutError:
                self._drop()
                raise AttemptFailedError(
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    SessionServiceTimeoutError(
                        f"{what} did not finish within {seconds:.3g} s",
                        grpc.StatusCode.DEADLINE_EXCEEDED,
                    ),
                ) from None
            except grpc.aio.AioRpcError as error:
                self._drop()
                raise AttemptFailedError(error.code(), error_from_rpc(error)) from error
            except BaseException:
                self._drop()
                raise
        finally:
            self.busy = False

    @staticmethod
    async def _exchange(call: Any, request: pb.AppendEventStreamRequest) -> pb.AppendEventStreamResponse:
        """Writes ``request`` and reads its answer.

        Raises:
            grpc.aio.AioRpcError: the stream failed, or ended before answering
                (UNAVAILABLE then: the request may not have been read, and
                sending it again is safe).
        """
        try:
            await call.write(request)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.INTERNAL:
                raise  # the stream's own status (say, UNAUTHENTICATED)
            # The stream ended as the request left: it was never sent.
            raise _ended("the append stream ended before the request was sent") from error
        except asyncio.InvalidStateError:  # ended (OK) by the server before the write
            raise _ended("the server had ended the append stream") from None
        answer = await call.read()
        if answer is grpc.aio.EOF:
            code = await call.code()
            if code != grpc.StatusCode.OK:
                raise grpc.aio.AioRpcError(
                    code, await call.initial_metadata(), await call.trailing_metadata(), await call.details()
                )
            raise _ended("the server ended the append stream before answering (it is shutting down)")
        response: pb.AppendEventStreamResponse = answer
        return response

    def _drop(self) -> None:
        call, self._call = self._call, None
        if call is not None:
            call.cancel()


def _ended(details: str) -> grpc.aio.AioRpcError:
    """A stream that ended without answering: as unavailable, so the append is sent again."""
    no_metadata = grpc.aio.Metadata()
    return grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, no_metadata, no_metadata, details)
