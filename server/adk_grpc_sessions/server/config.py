"""Server settings, and where each comes from: a flag, else ``ADK_GRPC_SESSIONS_*``, else a default."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

ENV_PREFIX: Final = "ADK_GRPC_SESSIONS_"
DEFAULT_LISTEN: Final = "127.0.0.1:50051"
DEFAULT_BACKEND: Final = "memory://"
DEFAULT_MAX_MESSAGE_BYTES: Final = 32 * 1024 * 1024
"""Largest request accepted: room for events with inline images (ADK has no lower limit)."""
DEFAULT_GRACE_SECONDS: Final = 10.0
DEFAULT_MAX_PENDING_REQUESTS: Final = 10_000
"""Calls that may wait to be served before new ones are refused (gRPC core's default is 1,000)."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything ``serve`` needs to run one server."""

    listen: list[str] = field(default_factory=lambda: [DEFAULT_LISTEN])
    """Addresses to listen on: ``HOST:PORT`` or ``unix:PATH``."""
    backend: str = DEFAULT_BACKEND
    """Backend URI, e.g. ``memory://`` or ``sqlite:///data/sessions.db``."""
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    grace_seconds: float = DEFAULT_GRACE_SECONDS
    """How long in-flight calls may run on after a stop signal."""
    reflection: bool = True
    max_pending_requests: int = DEFAULT_MAX_PENDING_REQUESTS
