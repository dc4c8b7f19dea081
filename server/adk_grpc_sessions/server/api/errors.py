"""The one place where failures become canonical gRPC statuses.

Every status carries ``google.rpc`` details (via grpcio-status): an
``ErrorInfo`` whose ``reason`` a client can branch on, and for bad input a
``BadRequest`` naming each offending field.
"""

from __future__ import annotations

import logging
from typing import Final

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from adk_grpc_sessions.server.api.session_filter import InvalidFilterError
from adk_grpc_sessions.server.backends.base import (
    BackendRefusedError,
    BackendUnavailableError,
    EventIdConflictError,
    ForkPointNotFoundError,
    ForkPointUnknownError,
    InvalidCursorError,
    Refusal,
    ResponseTooLargeError,
    SessionClosedError,
    SessionExistsError,
    SessionKey,
    SessionNotFoundError,
    SessionSizeLimitError,
    StaleRevisionError,
    StateSizeLimitError,
)
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError
from adk_grpc_sessions.server.runtime.auth import PermissionDeniedError, UnauthenticatedError

DOMAIN: Final = "adk-grpc-sessions"
"""``ErrorInfo.domain`` of every error this server reports."""

_log = logging.getLogger(__name__)

# Each kind of refusal by storage, as (code, ErrorInfo.reason).
_REFUSALS: Final = {
    Refusal.PERMISSION_DENIED: (code_pb2.PERMISSION_DENIED, "BACKEND_PERMISSION_DENIED"),
    Refusal.QUOTA_EXCEEDED: (code_pb2.RESOURCE_EXHAUSTED, "BACKEND_QUOTA_EXCEEDED"),
    Refusal.INVALID_INPUT: (code_pb2.INVALID_ARGUMENT, "BACKEND_INVALID_INPUT"),
    Refusal.FAILED_PRECONDITION: (code_pb2.FAILED_PRECONDITION, "BACKEND_FAILED_PRECONDITION"),
    Refusal.UNSUPPORTED: (code_pb2.UNIMPLEMENTED, "NOT_SUPPORTED_BY_BACKEND"),
}


class DeadlineExceededError(Exception):
    """A call ran out of time (its deadline, or the server's own limit)."""


class BatchResponseFullError(Exception):
    """A batch's answers so far fill its response: this write was not applied, and may be sent again."""

    def __init__(self) -> None:
        super().__init__(
            "not applied: the answers to this call's earlier requests fill its response; "
            "send this one again, alone or in another call"
        )


class WatcherTooSlowError(Exception):
    """A watcher left more unsent data on this server than its bound: it resumes from its last revision."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"this watcher fell more than {limit} bytes behind the session's events; "
            "watch again with the last revision received as after_revision"
        )
        self.limit = limit


class SessionsWatcherTooSlowError(Exception):
    """A WatchSessions watcher left more sessions waiting for a notice than its bound: it watches again."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"this watcher fell more than {limit} sessions behind the user's changes; "
            "watch the user's sessions again (a new listing follows)"
        )
        self.limit = limit


class ServerDrainingError(Exception):
    """The server is stopping: a watch stream ends so that its watcher resumes on another server."""

    def __init__(self) -> None:
        super().__init__("the server is draining: watch again (on another server) from the last revision")


def _pack(message: error_details_pb2.ErrorInfo | error_details_pb2.BadRequest) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _status(code: int, message: str, reason: str, **metadata: str) -> status_pb2.Status:
    info = error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=metadata)
    return status_pb2.Status(code=code, message=message, details=[_pack(info)])


def _named(key: SessionKey) -> dict[str, str]:
    """A session's name as ``ErrorInfo.metadata``."""
    return {"app_name": key.app_name, "user_id": key.user_id, "session_id": key.session_id}


def status_for(error: Exception) -> status_pb2.Status:
    """The status a client receives for ``error``, raised while serving a call."""
    if isinstance(error, InvalidCursorError):
        # A cursor reaches a backend only inside a page token: what is wrong with it is the token.
        error = InvalidArgumentError.single(
            "page_token", f"not a page token from a previous response to this same request ({error})"
        )
    if isinstance(error, ForkPointNotFoundError):
        # The caller named an invocation the session does not have: a bad field of the request.
        error = InvalidArgumentError.single("before_invocation_id", str(error))
    if isinstance(error, InvalidArgumentError):
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in error.violations
            ]
        )
        # A filter's error says where it is, for a client to point at.
        metadata = {"position": str(error.position)} if isinstance(error, InvalidFilterError) else {}
        info = error_details_pb2.ErrorInfo(reason="INVALID_ARGUMENT", domain=DOMAIN, metadata=metadata)
        return status_pb2.Status(
            code=code_pb2.INVALID_ARGUMENT,
            message=str(error),
            details=[_pack(bad_request), _pack(info)],
        )
    if isinstance(error, SessionNotFoundError):
        # ADK's own words (InMemorySessionService), so code and tests written
        # against ADK read the same message; the session's name is metadata.
        message = f"Session {error.key.session_id} not found."
        return _status(code_pb2.NOT_FOUND, message, "SESSION_NOT_FOUND", **_named(error.key))
    if isinstance(error, SessionExistsError):
        message = f"Session with id {error.key.session_id} already exists."
        return _status(code_pb2.ALREADY_EXISTS, message, "SESSION_ALREADY_EXISTS", **_named(error.key))
    if isinstance(error, ForkPointUnknownError):
        return _status(code_pb2.FAILED_PRECONDITION, str(error), "FORK_POINT_UNKNOWN", **_named(error.key))
    if isinstance(error, SessionClosedError):
        return _status(code_pb2.FAILED_PRECONDITION, str(error), "SESSION_CLOSED", **_named(error.key))
    if isinstance(error, StaleRevisionError):
        return _status(
            code_pb2.ABORTED,
            str(error),
            "STALE_SESSION",
            expected_revision=str(error.expected),
            current_revision=str(error.current),
        )
    if isinstance(error, EventIdConflictError):
        return _status(code_pb2.ALREADY_EXISTS, str(error), "EVENT_ID_CONFLICT", event_id=error.event_id)
    if isinstance(error, SessionSizeLimitError):
        return _status(
            code_pb2.RESOURCE_EXHAUSTED,
            str(error),
            "SESSION_SIZE_LIMIT",
            limit_bytes=str(error.limit),
            size_bytes=str(error.size),
            event_bytes=str(error.event_size),
        )
    if isinstance(error, StateSizeLimitError):
        return _status(
            code_pb2.RESOURCE_EXHAUSTED,
            str(error),
            "STATE_SIZE_LIMIT",
            scope=error.scope,
            limit_bytes=str(error.limit),
            size_bytes=str(error.size),
        )
    if isinstance(error, ResponseTooLargeError):
        return _status(
            code_pb2.RESOURCE_EXHAUSTED, str(error), "RESPONSE_TOO_LARGE", limit_bytes=str(error.limit)
        )
    if isinstance(error, WatcherTooSlowError):
        return _status(
            code_pb2.RESOURCE_EXHAUSTED, str(error), "WATCHER_TOO_SLOW", limit_bytes=str(error.limit)
        )
    if isinstance(error, SessionsWatcherTooSlowError):
        return _status(
            code_pb2.RESOURCE_EXHAUSTED, str(error), "WATCHER_TOO_SLOW", limit_sessions=str(error.limit)
        )
    if isinstance(error, ServerDrainingError):
        return _status(code_pb2.UNAVAILABLE, str(error), "SERVER_DRAINING")
    if isinstance(error, BatchResponseFullError):
        return _status(code_pb2.UNAVAILABLE, str(error), "BATCH_RESPONSE_FULL")
    if isinstance(error, UnauthenticatedError):
        return _status(code_pb2.UNAUTHENTICATED, str(error), "UNAUTHENTICATED")
    if isinstance(error, PermissionDeniedError):
        return _status(code_pb2.PERMISSION_DENIED, str(error), "APP_NOT_ALLOWED")
    if isinstance(error, DeadlineExceededError):
        return _status(code_pb2.DEADLINE_EXCEEDED, str(error), "DEADLINE_EXCEEDED")
    if isinstance(error, BackendUnavailableError):
        return _status(code_pb2.UNAVAILABLE, f"storage is unavailable: {error}", "BACKEND_UNAVAILABLE")
    if isinstance(error, BackendRefusedError):
        code, reason = _REFUSALS[error.refusal]
        # The storage's own reason travels as metadata: ours stays a closed set.
        origin = {"backend_reason": error.reason, "backend_domain": error.domain}
        return _status(
            code, f"storage refused the call: {error}", reason, **{k: v for k, v in origin.items() if v}
        )
    # A bug, not bad input: say so without leaking internals, and log it whole.
    _log.exception("internal error while serving a call", exc_info=error)
    return _status(code_pb2.INTERNAL, "internal server error", "INTERNAL")


def rpc_status_from(status: status_pb2.Status) -> grpc.Status:
    """``status`` in the form ``ServicerContext.abort_with_status`` takes."""
    converted: grpc.Status = rpc_status.to_status(status)
    return converted


def rpc_status_for(error: Exception) -> grpc.Status:
    """``status_for`` in the form ``ServicerContext.abort_with_status`` takes."""
    return rpc_status_from(status_for(error))
