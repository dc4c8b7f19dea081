"""Failures of the Vertex AI API as our backend errors, and which of them are retried.

NOT_FOUND and ALREADY_EXISTS mean something only for a given call (a
missing session, a taken id) and are handled there; everything else is
translated here once: unreachable or overloaded storage becomes
``BackendUnavailableError`` (our clients retry it), and a refusal keeps the
API's own reason (``ErrorInfo.reason``, e.g. ``IAM_PERMISSION_DENIED`` or
``RATE_LIMIT_EXCEEDED``) so whoever reads the error knows what to fix.
"""

from __future__ import annotations

import asyncio
from typing import Final

from google.api_core import exceptions as google_errors
from google.api_core import retry_async
from google.auth import exceptions as auth_errors

from adk_grpc_sessions.server.backends.base import (
    BackendError,
    BackendRefusedError,
    BackendUnavailableError,
    Refusal,
)

DEFAULT_DOMAIN: Final = "aiplatform.googleapis.com"

_REFUSALS: Final[tuple[tuple[type[google_errors.GoogleAPICallError], Refusal], ...]] = (
    (google_errors.PermissionDenied, Refusal.PERMISSION_DENIED),
    (google_errors.Unauthenticated, Refusal.PERMISSION_DENIED),
    (google_errors.Unauthorized, Refusal.PERMISSION_DENIED),
    (google_errors.Forbidden, Refusal.PERMISSION_DENIED),
    (google_errors.ResourceExhausted, Refusal.QUOTA_EXCEEDED),
    (google_errors.TooManyRequests, Refusal.QUOTA_EXCEEDED),
    (google_errors.InvalidArgument, Refusal.INVALID_INPUT),
    (google_errors.BadRequest, Refusal.INVALID_INPUT),
    (google_errors.OutOfRange, Refusal.INVALID_INPUT),
    (google_errors.FailedPrecondition, Refusal.FAILED_PRECONDITION),
    (google_errors.NotFound, Refusal.FAILED_PRECONDITION),
    (google_errors.MethodNotImplemented, Refusal.UNSUPPORTED),
)
# Worth another try: the service did not get to (or finish) the call.
_TRANSIENT: Final = (
    google_errors.ServiceUnavailable,
    google_errors.DeadlineExceeded,
    google_errors.InternalServerError,
    google_errors.BadGateway,
    google_errors.GatewayTimeout,
    google_errors.Aborted,
    google_errors.Unknown,
)


def retry_policy(budget: float, *, idempotent: bool) -> retry_async.AsyncRetry:
    """How one API call is retried within ``budget`` seconds.

    Every call is retried when refused for quota (nothing was done); only an
    idempotent one (a read, a delete) also when the service was unavailable,
    since a write may have been applied before the answer was lost. Such a
    write is retried end to end by our clients instead, where the backend's
    idempotency check recognises an event already stored.
    """
    retryable: tuple[type[Exception], ...] = (google_errors.ResourceExhausted, google_errors.TooManyRequests)
    if idempotent:
        retryable += (google_errors.ServiceUnavailable,)
    return retry_async.AsyncRetry(
        predicate=retry_async.if_exception_type(*retryable),
        initial=0.1,
        maximum=2.0,
        multiplier=2.0,
        timeout=budget,
    )


def backend_error(error: Exception, doing: str) -> BackendError:
    """The backend error for a failed call; ``doing`` says what the call was for (for the message).

    Raises:
        Exception: ``error`` itself when it is not a failure of the API (a bug).
    """
    if isinstance(error, google_errors.RetryError) and isinstance(error.cause, Exception):
        error = error.cause
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        return BackendUnavailableError(f"Vertex AI did not answer in time while {doing}")
    if isinstance(error, auth_errors.DefaultCredentialsError):
        return BackendRefusedError(
            Refusal.FAILED_PRECONDITION,
            f"no Application Default Credentials for Vertex AI while {doing}: {error}",
            reason="NO_CREDENTIALS",
            domain="google.auth",
        )
    if isinstance(error, auth_errors.RefreshError):
        return BackendRefusedError(
            Refusal.PERMISSION_DENIED,
            f"the server's Google credentials could not be refreshed while {doing}: {error}",
            reason="CREDENTIALS_REFRESH_FAILED",
            domain="google.auth",
        )
    if isinstance(error, auth_errors.TransportError):
        return BackendUnavailableError(f"cannot reach Google's token service while {doing}: {error}")
    if not isinstance(error, google_errors.GoogleAPICallError):
        raise error
    message = f"Vertex AI answered {_code_name(error)} while {doing}: {error.message}"
    if isinstance(error, _TRANSIENT):
        return BackendUnavailableError(message)
    for kind, refusal in _REFUSALS:
        if isinstance(error, kind):
            return BackendRefusedError(
                refusal, message, reason=error.reason or "", domain=error.domain or DEFAULT_DOMAIN
            )
    raise error


def _code_name(error: google_errors.GoogleAPICallError) -> str:
    code = error.grpc_status_code
    return code.name if code is not None else str(error.code)
