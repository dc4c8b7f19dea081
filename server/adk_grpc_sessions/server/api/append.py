"""The one append core: ``append`` checks, authorizes, time-bounds, measures and stores one append.

A lone ``AppendEvent``, each append of ``BatchAppendEvents`` and each of
``AppendEventStream`` are served by it alone, so they are the same append:
same checks, same authorization (by the append's own app), same limits, same
statuses. The three calls differ only in what they adapt: how many appends a
response holds (``ResponseRoom``), what bounds an append's time, and under
which call its outcome is counted (``Metrics.count_append``).
"""

from __future__ import annotations

from typing import Final, Protocol

from google.protobuf.message import DecodeError
from google.rpc import status_pb2

from adk_grpc_sessions.server.api import messages, wire_cache
from adk_grpc_sessions.server.api.calls import CallPolicy, Context, Failure
from adk_grpc_sessions.server.api.errors import BatchResponseFullError, status_for
from adk_grpc_sessions.server.api.messages import APPEND_ANSWER_OVERHEAD, Encoded
from adk_grpc_sessions.server.api.validation import session_key
from adk_grpc_sessions.server.backends.base import Backend, StorageLimits
from adk_grpc_sessions.server.backends.event_json import parse_event
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError
from adk_grpc_sessions.server.runtime.auth import TokenGrant
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.wire import limits as wire_limits

METHOD: Final = "AppendEvent"


class Appends(Protocol):
    """What the append core serves an append with: the servicer's, named here so it need not import it."""

    @property
    def backend(self) -> Backend:
        """Where the event is stored."""

    @property
    def policy(self) -> CallPolicy:
        """What the append is served under: authorization, time limits, metrics."""

    @property
    def limits(self) -> StorageLimits:
        """What storage may hold."""

    @property
    def response_bytes(self) -> int:
        """Bytes one response may carry besides its envelope: no event may take more."""

    @property
    def max_message_bytes(self) -> int:
        """The server's message limit."""

    @property
    def refresh_on_append(self) -> bool:
        """Whether each stored append moves its session's expiry (``--session-ttl-refresh-on-append``)."""


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

    def status_for(self, error: Exception) -> status_pb2.Status:
        """The status an append that failed with ``error`` is answered with, in this response."""
        status = status_for(error)
        if not isinstance(error, BatchResponseFullError) and not self.take(status.ByteSize() + 12):
            # Nothing was applied: a short answer that says so is as true, and fits.
            status = status_for(BatchResponseFullError())
        return status


async def append(
    servicer: Appends,
    request: pb.AppendEventRequest | bytes,
    grant: TokenGrant | None,
    *,
    via: str,
    time_limit: float | None,
    room: ResponseRoom | None = None,
    context: Context | None = None,
) -> Encoded | Failure:
    """Serves one append: its encoded ``AppendEventResponse``, or its failure.

    ``request``: bytes are one ``AppendEventStreamRequest`` as a stream
    received it (a stream answers bad protobuf per append). ``via``: the
    method the append came in, which its outcome is counted under.
    ``time_limit``: seconds the append may take (None: its call's deadline or
    its batch bounds it). ``room``: the append's answer shares a response (a
    batch's) and must fit in what is left of it. ``context``: the append is
    a whole call (a lone ``AppendEvent``).
    """
    policy = servicer.policy

    async def work() -> Encoded:
        parsed = _parsed(request)
        policy.authorize(grant, parsed.app_name)
        return await _store(servicer, parsed, room)

    return await policy.serve(
        METHOD,
        work,
        time_limit=time_limit,
        tally=lambda metrics, code, seconds: metrics.count_append(via, code, seconds),
        context=context,
        status_of=room.status_for if room is not None else status_for,
    )


def _parsed(request: pb.AppendEventRequest | bytes) -> pb.AppendEventRequest:
    if not isinstance(request, bytes):
        return request
    try:
        return pb.AppendEventStreamRequest.FromString(request).append
    except DecodeError as exc:
        raise InvalidArgumentError.single(
            "request", f"not a valid adk_grpc_sessions.v1.AppendEventStreamRequest: {exc}"
        ) from None


async def _store(servicer: Appends, request: pb.AppendEventRequest, room: ResponseRoom | None) -> Encoded:
    """Stores an event if the caller's revision is current (or returns the original, for a retry).

    Raises:
        InvalidArgumentError: the request is malformed, or its event too large for a response.
        BatchResponseFullError: ``room`` has no place for this append's answer (nothing is done).
    """
    key = session_key(request)
    if request.expected_revision <= 0:
        raise InvalidArgumentError.single(
            "expected_revision",
            "required: the revision from the caller's last read or append of the session",
        )
    event = parse_event(request.event_json)
    wire_cache.attach(event)
    if event.size > servicer.response_bytes:
        raise InvalidArgumentError.single(
            "event_json",
            f"the event takes {event.size} bytes in a response (its JSON and its typed fields, which "
            f"repeat its state delta), and one event may take at most {servicer.response_bytes} (the "
            f"server's message limit of {servicer.max_message_bytes} bytes, less "
            f"{wire_limits.RESPONSE_ENVELOPE_BYTES} for the rest of a response)",
        )
    if room is not None and not room.take(event.size + APPEND_ANSWER_OVERHEAD):
        raise BatchResponseFullError()
    revision = request.expected_revision
    result = await servicer.backend.append_event(
        key, event, revision, refresh_expiry=servicer.refresh_on_append, limits=servicer.limits
    )
    return messages.append_event_response(result)
