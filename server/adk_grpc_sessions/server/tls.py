"""TLS and mutual TLS server credentials from PEM files, reloaded when the files change.

Certificates are re-read at the next handshake after their files change, so
a rotated certificate (e.g. by cert-manager) takes effect without a restart;
connections already open keep theirs.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import grpc

_log = logging.getLogger(__name__)


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


class _ReloadingCertificates:
    """Serves the current certificate configuration, re-reading the files when they change."""

    def __init__(self, files: TlsFiles) -> None:
        self._files = files
        self._lock = threading.Lock()
        self._stamp = self._mtimes()
        self.initial = self._configuration()

    def _mtimes(self) -> tuple[float, ...]:
        paths = [
            self._files.cert,
            self._files.key,
            *([self._files.client_ca] if self._files.client_ca else []),
        ]
        try:
            return tuple(p.stat().st_mtime_ns for p in paths)
        except OSError:
            return ()

    def _configuration(self) -> grpc.ServerCertificateConfiguration:
        files = self._files
        pair = (_read(files.key, "key"), _read(files.cert, "certificate"))
        roots = _read(files.client_ca, "client CA") if files.client_ca else None
        return grpc.ssl_server_certificate_configuration([pair], root_certificates=roots)

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """Called by gRPC before each handshake: a new configuration if the files changed, else None."""
        with self._lock:
            stamp = self._mtimes()
            if not stamp or stamp == self._stamp:
                return None
            try:
                configuration = self._configuration()
            except ValueError as exc:  # a half-written rotation: keep serving the old pair
                _log.warning("keeping the current TLS certificate: %s", exc)
                return None
            self._stamp = stamp
            _log.info("TLS certificate files changed; new handshakes use the new certificate")
            return configuration


def server_credentials(files: TlsFiles) -> grpc.ServerCredentials:
    """Credentials for ``add_secure_port``; mutual TLS when ``files.client_ca`` is set.

    Raises:
        ValueError: a file cannot be read.
    """
    certificates = _ReloadingCertificates(files)
    return grpc.dynamic_ssl_server_credentials(
        certificates.initial,
        certificates.fetch,  # type: ignore[arg-type]  # gRPC documents None as "keep the current one"
        require_client_authentication=files.client_ca is not None,
    )
