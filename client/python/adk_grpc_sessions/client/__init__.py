"""The Python client: ``GrpcSessionService``, a drop-in ADK ``BaseSessionService``."""

from adk_grpc_sessions.client.errors import (
    ForkPointUnknownError,
    SessionClosedError,
    SessionFilterError,
    SessionServiceError,
    SessionServiceLimitError,
    SessionServicePermissionError,
    SessionServiceTimeoutError,
    SessionServiceUnavailableError,
)
from adk_grpc_sessions.client.lifecycle import ForkOrigin, SessionInfo
from adk_grpc_sessions.client.listing import ListEventsResponse, ListSessionsPage
from adk_grpc_sessions.client.metadata import SessionInfoPage
from adk_grpc_sessions.client.retry import RetryPolicy
from adk_grpc_sessions.client.service import GrpcSessionService
from adk_grpc_sessions.client.session_notices import (
    Relisting,
    SessionNotice,
    SessionNoticeKind,
    SessionsCaughtUp,
    SessionsUpdate,
    UserSessionsWatch,
)
from adk_grpc_sessions.client.watching import (
    CaughtUp,
    EventWatch,
    SessionWatch,
    WatchedEvent,
    WatchEnded,
    WatchEndReason,
    WatchUpdate,
)

__all__ = [
    "CaughtUp",
    "EventWatch",
    "ForkOrigin",
    "ForkPointUnknownError",
    "GrpcSessionService",
    "ListEventsResponse",
    "ListSessionsPage",
    "Relisting",
    "RetryPolicy",
    "SessionClosedError",
    "SessionFilterError",
    "SessionInfo",
    "SessionInfoPage",
    "SessionNotice",
    "SessionNoticeKind",
    "SessionServiceError",
    "SessionServiceLimitError",
    "SessionServicePermissionError",
    "SessionServiceTimeoutError",
    "SessionServiceUnavailableError",
    "SessionWatch",
    "SessionsCaughtUp",
    "SessionsUpdate",
    "UserSessionsWatch",
    "WatchEndReason",
    "WatchEnded",
    "WatchUpdate",
    "WatchedEvent",
]
