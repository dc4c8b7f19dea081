"""The one place that turns a failed call's status into the exception an ADK caller expects.

Codes with an ADK meaning raise ADK's own exceptions (``AlreadyExistsError``,
``SessionNotFoundError``, ``StaleSessionError``, ``ValueError``), and an append
to a closed session ``SessionClosedError`` (a ``ValueError``, in ADK's manner); the rest raise
``SessionServiceError`` subclasses that also derive from the matching builtin
(``ConnectionError``, ``TimeoutError``, ``PermissionError``), or
``SessionServiceLimitError`` for a limit (RESOURCE_EXHAUSTED). A listing's
filter the server cannot read is ``SessionFilterError`` (a ``ValueError``
with the column), a fork before an invocation whose state storage cannot
know ``ForkPointUnknownError``.
"""

from __future__ import annotations

import grpc
from google.adk.errors import StaleSessionError
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from adk_grpc_sessions.v1 import session_service_pb2 as pb


class SessionServiceError(Exception):
    """A call to the session server failed for a reason ADK has no exception for."""

    def __init__(self, message: str, code: grpc.StatusCode, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        """The call's gRPC status code."""
        self.reason = reason
        """``ErrorInfo.reason`` from the server, if it sent one."""


class SessionServiceUnavailableError(SessionServiceError, ConnectionError):
    """The server (or its storage) could not be reached, even after retries."""


class SessionServiceTimeoutError(SessionServiceError, TimeoutError):
    """The call did not finish within its timeout."""


class SessionServicePermissionError(SessionServiceError, PermissionError):
    """The server refused the caller's credentials or their scope."""


class SessionServiceLimitError(SessionServiceError):
    """A limit refused the call (RESOURCE_EXHAUSTED); retrying the same call will not help.

    ``reason`` says which: ``SESSION_SIZE_LIMIT`` (the session's events would
    pass the server's per-session limit), ``STATE_SIZE_LIMIT`` (a scope of
    state would pass the per-scope limit; ``metadata["scope"]`` names it),
    ``RESPONSE_TOO_LARGE`` (stored data no longer fits in a response), or
    ``BACKEND_QUOTA_EXCEEDED`` (a quota of the server's storage; that one may
    pass with time). Nothing of a refused write was stored.
    """

    def __init__(
        self, message: str, code: grpc.StatusCode, reason: str = "", metadata: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, code, reason)
        self.metadata = dict(metadata or {})
        """``ErrorInfo.metadata``: for the size limits, ``limit_bytes`` and ``size_bytes`` (and more)."""


class SessionClosedError(ValueError):
    """The session is closed (``close_session``): it can be read, and refuses new events.

    A ``ValueError`` as ADK's own session errors are; nothing of the refused append was stored.
    """


class SessionFilterError(ValueError):
    """The server could not read a listing's filter; ``position`` is the 1-based column of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


class ForkPointUnknownError(SessionServiceError):
    """A fork before an invocation of a session whose initial state the server's storage does not know.

    (FAILED_PRECONDITION, ``FORK_POINT_UNKNOWN``: a session imported, or
    created before the server kept initial state.) A fork of every event works.
    """


def _rich_status(error: grpc.aio.AioRpcError) -> status_pb2.Status | None:
    try:
        status: status_pb2.Status | None = rpc_status.from_call(error)
    except ValueError:  # details inconsistent with the call's status: ignore them
        return None
    return status


def _details(status: status_pb2.Status | None) -> tuple[str, list[str]]:
    """(ErrorInfo reason, ["field: description", ...] from BadRequest)."""
    reason = ""
    violations: list[str] = []
    for detail in status.details if status is not None else ():
        info = error_details_pb2.ErrorInfo()
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(info):
            reason = info.reason
        elif detail.Unpack(bad_request):
            violations.extend(f"{v.field}: {v.description}" for v in bad_request.field_violations)
    return reason, violations


_CODES_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


def error_from_rpc(error: grpc.aio.AioRpcError) -> Exception:
    """The exception to raise for a failed call."""
    code = error.code()
    return _error(code, error.details() or code.name, _rich_status(error))


def error_from_status(status: status_pb2.Status) -> Exception:
    """The exception to raise for a failure reported as a ``google.rpc.Status`` (one append of a batch)."""
    code = _CODES_BY_NUMBER.get(status.code, grpc.StatusCode.UNKNOWN)
    return _error(code, status.message or code.name, status)


def append_failure(error: pb.Status) -> tuple[grpc.StatusCode, Exception]:
    """The code of an append's failure inside a batch's or a stream's result, and the exception to raise.

    The contract's ``Status`` is a ``google.rpc.Status`` byte for byte, so it is read as one.
    """
    status = status_pb2.Status.FromString(error.SerializeToString())
    return _CODES_BY_NUMBER.get(status.code, grpc.StatusCode.UNKNOWN), error_from_status(status)


def _error_metadata(status: status_pb2.Status | None) -> dict[str, str]:
    """``ErrorInfo.metadata`` of the server's error, if it sent one."""
    for detail in status.details if status is not None else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return dict(info.metadata)
    return {}


def _error(code: grpc.StatusCode, message: str, status: status_pb2.Status | None) -> Exception:
    reason, violations = _details(status)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return SessionServiceLimitError(message, code, reason, _error_metadata(status))
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        text = "; ".join(violations) if violations else message
        position = _error_metadata(status).get("position", "")
        return SessionFilterError(text, int(position)) if position.isdigit() else ValueError(text)
    if code == grpc.StatusCode.NOT_FOUND:
        return SessionNotFoundError(message)
    if code == grpc.StatusCode.ALREADY_EXISTS:
        return AlreadyExistsError(message)
    if code == grpc.StatusCode.FAILED_PRECONDITION and reason == "SESSION_CLOSED":
        return SessionClosedError(message)
    if code == grpc.StatusCode.FAILED_PRECONDITION and reason == "FORK_POINT_UNKNOWN":
        return ForkPointUnknownError(message, code, reason)
    if code == grpc.StatusCode.ABORTED and reason == "STALE_SESSION":
        return StaleSessionError(message)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
        # CANCELLED reaches a client only from the server's side (a server
        # shutting down cancels calls not started yet): it is as unavailable.
        return SessionServiceUnavailableError(message, code, reason)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return SessionServiceTimeoutError(message, code, reason)
    if code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
        return SessionServicePermissionError(message, code, reason)
    return SessionServiceError(message, code, reason)
