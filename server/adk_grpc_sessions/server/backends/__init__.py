"""Backends, and the one place that turns a backend URI into a backend.

Adding a backend is one new module (or package) here and one line in ``_BACKENDS``.
"""

from __future__ import annotations

import importlib
from urllib.parse import urlsplit

from adk_grpc_sessions.server.backends.base import Backend

# URI scheme -> "module:class". Imported only when chosen, so a backend's
# driver is needed only by those who use it.
_BACKENDS: dict[str, str] = {
    "memory": "adk_grpc_sessions.server.backends.memory:MemoryBackend",
    "agentengine": "adk_grpc_sessions.server.backends.vertex:VertexBackend",
    "sqlite": "adk_grpc_sessions.server.backends.sql:SqlBackend",
    "postgresql": "adk_grpc_sessions.server.backends.sql:SqlBackend",
    "mysql": "adk_grpc_sessions.server.backends.sql:SqlBackend",
    "mariadb": "adk_grpc_sessions.server.backends.sql:SqlBackend",
}


def backend_schemes() -> list[str]:
    """The URI schemes this server knows, sorted."""
    return sorted(_BACKENDS)


def backend_class(uri: str) -> type[Backend]:
    """Returns the backend class that serves ``uri``'s scheme.

    Raises:
        ValueError: the scheme is unknown or its module cannot be imported.
    """
    scheme = urlsplit(uri).scheme.lower()
    target = _BACKENDS.get(scheme) or _BACKENDS.get(scheme.split("+", 1)[0])
    if target is None:
        raise ValueError(
            f"unknown backend URI scheme {scheme!r} in {redact_uri(uri)!r}; "
            f"expected one of: {', '.join(s + '://' for s in backend_schemes())}"
        )
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"the {scheme!r} backend needs a package that is not installed ({exc.name}); "
            "install adk-grpc-sessions with the matching extra"
        ) from exc
    backend_cls: type[Backend] = getattr(module, class_name)
    return backend_cls


def build_backend(uri: str) -> Backend:
    """Builds (without connecting) the backend for ``uri``.

    Raises:
        ValueError: the URI is unknown or malformed.
    """
    return backend_class(uri).from_uri(uri)


def redact_uri(uri: str) -> str:
    """``uri`` with any password replaced by ``***``, for messages and logs."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
