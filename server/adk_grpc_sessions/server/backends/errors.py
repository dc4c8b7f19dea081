"""The errors a backend raises, each of which the API layer maps to one canonical status (``api.errors``).

Part of the Backend boundary (``base`` re-exports every one): plain
exceptions that say what went wrong in storage's terms, never a status.
"""

from __future__ import annotations

import enum

from adk_grpc_sessions.server.backends.records import SessionKey


class BackendError(Exception):
    """Base of the errors a backend raises; the servicer maps each to a status."""


class SessionNotFoundError(BackendError):
    """The named session does not exist."""

    def __init__(self, key: SessionKey) -> None:
        super().__init__(
            f"session {key.session_id!r} of user {key.user_id!r} in app {key.app_name!r} not found"
        )
        self.key = key


class SessionExistsError(BackendError):
    """A session with the requested id already exists."""

    def __init__(self, key: SessionKey) -> None:
        super().__init__(
            f"session {key.session_id!r} of user {key.user_id!r} in app {key.app_name!r} already exists"
        )
        self.key = key


class StaleRevisionError(BackendError):
    """The caller's revision of the session is not the stored one."""

    def __init__(self, key: SessionKey, expected: int, current: int) -> None:
        super().__init__(
            f"session {key.session_id!r} has changed since it was read (caller has revision {expected}, "
            f"stored revision is {current}); reload the session before appending"
        )
        self.key = key
        self.expected = expected
        self.current = current


class EventIdConflictError(BackendError):
    """A different event with the same id is already stored in the session."""

    def __init__(self, key: SessionKey, event_id: str) -> None:
        super().__init__(
            f"session {key.session_id!r} already holds a different event with id {event_id!r}; "
            "event ids are idempotency keys and must be unique per session"
        )
        self.key = key
        self.event_id = event_id


class SessionSizeLimitError(BackendError):
    """Storing an event would take its session's events past ``StorageLimits.max_session_bytes``."""

    def __init__(self, key: SessionKey, limit: int, size: int, event_size: int) -> None:
        super().__init__(
            f"session {key.session_id!r} holds {size} bytes of events, and this event's {event_size} "
            f"would take it past the limit of {limit} bytes per session"
        )
        self.key = key
        self.limit = limit
        self.size = size
        """The session's events now, in bytes."""
        self.event_size = event_size


class StateSizeLimitError(BackendError):
    """A write would leave a scope of state it grows above ``StorageLimits.max_state_bytes``."""

    def __init__(self, scope: str, limit: int, size: int) -> None:
        super().__init__(
            f"the {scope} state would hold {size} bytes, past the limit of {limit} bytes per scope "
            "(each key counts its text, its JSON value and 16)"
        )
        self.scope = scope
        """``app``, ``user`` or ``session``."""
        self.limit = limit
        self.size = size
        """What the scope would hold after the write."""


class ResponseTooLargeError(BackendError):
    """Something stored does not fit in one response on its own (it was stored under larger limits)."""

    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(
            f"{what} takes {size} bytes, and a response holds at most {limit}: "
            "it was stored under larger limits than the server's"
        )
        self.limit = limit


class InvalidCursorError(BackendError):
    """A listing's cursor is not one this backend wrote (only a leaked page-token key lets one through).

    Cursors reach a backend inside signed page tokens, so this can only
    happen with a token signed by a leaked key, or by a server of another
    version; the API layer answers it as a bad ``page_token``, never INTERNAL.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(f"not a cursor this backend wrote: {detail}")


class SessionClosedError(BackendError):
    """The session is closed: it refuses appends."""

    def __init__(self, key: SessionKey) -> None:
        super().__init__(
            f"session {key.session_id!r} of user {key.user_id!r} in app {key.app_name!r} is closed "
            "and accepts no more events"
        )
        self.key = key


class ForkPointNotFoundError(BackendError):
    """A fork was asked to stop before an invocation the source session has no event of."""

    def __init__(self, key: SessionKey, invocation_id: str) -> None:
        super().__init__(f"session {key.session_id!r} has no event of invocation {invocation_id!r}")
        self.key = key
        self.invocation_id = invocation_id


class ForkPointUnknownError(BackendError):
    """A fork before an invocation needs the source's initial state, which storage does not hold for it.

    (A session imported, or created before the storage kept initial state.)
    A fork of every event needs no initial state and never raises this.
    """

    def __init__(self, key: SessionKey) -> None:
        super().__init__(
            f"the state of session {key.session_id!r} before an invocation cannot be known: its initial "
            "state was not kept (it was imported or created before this server kept it); fork it whole"
        )
        self.key = key


class BackendUnavailableError(BackendError):
    """Storage cannot be reached or did not answer; the call may be retried."""


class Refusal(enum.Enum):
    """Why storage refused a call it understood (each kind becomes one canonical status)."""

    PERMISSION_DENIED = "PERMISSION_DENIED"
    """The server's own identity may not do this (or storage did not accept its credentials)."""
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    """A quota or rate limit of the storage; the call may succeed later."""
    INVALID_INPUT = "INVALID_INPUT"
    """The input breaks a rule of the storage's own (an id format, a size limit)."""
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    """Storage is not in a state to serve the call (e.g. the configured container does not exist)."""
    UNSUPPORTED = "UNSUPPORTED"
    """The storage cannot do this at all."""


class BackendRefusedError(BackendError):
    """Storage refused the call, for a reason it names; retrying the same call will not help."""

    def __init__(self, refusal: Refusal, message: str, *, reason: str = "", domain: str = "") -> None:
        super().__init__(message)
        self.refusal = refusal
        self.reason = reason
        """The storage's own machine-readable reason (e.g. ``RATE_LIMIT_EXCEEDED``), if it gave one."""
        self.domain = domain
        """Who defines ``reason`` (e.g. ``googleapis.com``), if known."""
