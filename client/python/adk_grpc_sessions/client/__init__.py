"""The Python client: ``GrpcSessionService``, a drop-in ADK ``BaseSessionService``."""

from adk_grpc_sessions.client.errors import (
    SessionClosedError,
    SessionServiceError,
    SessionServiceLimitError,
    SessionServicePermissionError,
    SessionServiceTimeoutError,
    SessionServiceUnavailableError,
)
from adk_grpc_sessions.client.lifecycle import SessionInfo
from adk_grpc_sessions.client.listing import ListEventsResponse, ListSessionsPage
from adk_grpc_sessions.client.retry import RetryPolicy
from adk_grpc_sessions.client.service import GrpcSessionService

__all__ = [
    "GrpcSessionService",
    "ListEventsResponse",
    "ListSessionsPage",
    "RetryPolicy",
    "SessionClosedError",
    "SessionInfo",
    "SessionServiceError",
    "SessionServiceLimitError",
    "SessionServicePermissionError",
    "SessionServiceTimeoutError",
    "SessionServiceUnavailableError",
]
