"""The one place that turns what a user passes (``"host:port"``, ``uri=...``) into a gRPC target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

DEFAULT_PORT: Final = 50051
_TLS_DEFAULT_PORT: Final = 443


@dataclass(frozen=True, slots=True)
class Target:
    """Where to connect and whether the connection uses TLS."""

    address: str
    """A gRPC target string: ``host:port``, ``unix:/path``, ``dns:///host:port``, ..."""
    tls: bool = False


def parse_target(target: str | None, uri: str | None) -> Target:
    """Resolves the server address from a plain target or a URI (exactly one of them).

    Accepted: ``host:port`` and any other gRPC target string (``unix:/path``,
    ``unix:///path``, ``dns:///host:port``); and URIs ``grpc://host[:port]``
    (plaintext, port 50051 by default), ``grpcs://host[:port]`` (TLS, port 443
    by default), ``unix:///path``.

    Raises:
        ValueError: neither or both given, or the URI's scheme is not one of these.
    """
    if (target is None) == (uri is None):
        raise ValueError("give exactly one of a target ('host:port') or uri= ('grpc://host:port')")
    text = (target if target is not None else uri) or ""
    text = text.strip()
    if not text:
        raise ValueError("the session server address is empty")
    scheme = urlsplit(text).scheme.lower() if "://" in text else ""
    if scheme in ("grpc", "grpcs"):
        parts = urlsplit(text)
        if not parts.hostname:
            raise ValueError(f"no host in session server URI {text!r}")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"a session server URI is {scheme}://HOST[:PORT], got {text!r}")
        tls = scheme == "grpcs"
        port = parts.port or (_TLS_DEFAULT_PORT if tls else DEFAULT_PORT)
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return Target(f"{host}:{port}", tls=tls)
    if scheme == "unix" or text.startswith("unix:"):
        return Target(text)
    if uri is not None:
        raise ValueError(f"a session server URI starts with grpc://, grpcs:// or unix://, got {uri!r}")
    return Target(text)
