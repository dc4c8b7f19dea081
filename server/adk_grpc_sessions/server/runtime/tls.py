"""TLS and mutual TLS server credentials from PEM files, reloaded when the files change.

Certificates are re-read at the next handshake after their files change
(``watched_files``), so a rotated certificate (e.g. by cert-manager) takes
effect without a restart; connections already open keep theirs. While a
file is missing or unreadable the last good certificate stays in use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from adk_grpc_sessions.server.runtime.watched_files import WatchedFiles


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Where the server's certificate material lives."""

    cert: Path
    """PEM certificate chain presented to clients."""
    key: Path
    """PEM private key of ``cert``."""
    client_ca: Path | None = None
    """PEM CA bundle; when set, clients must present a certificate it signed (mutual TLS)."""


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read TLS {what} {path}: {exc.strerror}") from None


def _configuration(files: TlsFiles) -> grpc.ServerCertificateConfiguration:
    pair = (_read(files.key, "key"), _read(files.cert, "certificate"))
    roots = _read(files.client_ca, "client CA") if files.client_ca else None
    return grpc.ssl_server_certificate_configuration([pair], root_certificates=roots)


def server_credentials(files: TlsFiles) -> grpc.ServerCredentials:
    """Credentials for ``add_secure_port``; mutual TLS when ``files.client_ca`` is set.

    Raises:
        ValueError: a file cannot be read.
    """
    paths = [files.cert, files.key, *([files.client_ca] if files.client_ca else [])]
    # Looked at before every handshake (interval 0): handshakes are rare next to calls.
    certificates = WatchedFiles(paths, lambda: _configuration(files), "TLS certificate")
    return grpc.dynamic_ssl_server_credentials(
        certificates.current,
        # Called before each handshake; None keeps the current configuration.
        certificates.changed,  # type: ignore[arg-type]  # gRPC documents None as "keep the current one"
        require_client_authentication=files.client_ca is not None,
    )
