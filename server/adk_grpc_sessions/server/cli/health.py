"""``adk-grpc-sessions health``: asks a server's ``grpc.health.v1`` service, for probes and HEALTHCHECK.

Exits 0 when the server reports SERVING, 1 otherwise, with one line saying why.

Run next to the server (the container image's ``HEALTHCHECK``, a Kubernetes
exec probe), it needs no flags: it reads the server's own settings, the same
``ADK_GRPC_SESSIONS_*`` variables ``serve`` reads.

- Where: ``ADK_GRPC_SESSIONS_LISTEN``. Its Unix socket file if it has one
  (``serve`` never puts TLS on those), else its first other address, a
  wildcard host asked on loopback.
- TLS: when ``ADK_GRPC_SESSIONS_TLS_CERT`` is set, the probe speaks TLS and
  trusts exactly the certificate in that file (it is the one the server
  presents, whoever signed it), under the first name the certificate holds,
  so no CA bundle and no host name need configuring. ``--tls-ca`` trusts a
  CA bundle instead and checks the host name as any client does.
- Mutual TLS: when ``ADK_GRPC_SESSIONS_TLS_CLIENT_CA`` is set, the probe
  presents ``--tls-client-cert``/``--tls-client-key``, by default the server's
  own certificate and key (``ADK_GRPC_SESSIONS_TLS_CERT``/``_KEY``), which the
  server accepts when the client CA also signed its certificate for client use.
- Tokens: none. The health service answers without one, as probes of load
  balancers and kubelets carry none; it tells nothing but SERVING or NOT_SERVING.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from adk_grpc_sessions.server.runtime.config import DEFAULT_LISTEN, SETTINGS


@dataclass(frozen=True, slots=True)
class ProbeTls:
    """How the probe speaks TLS to the server."""

    roots: bytes
    """PEM certificates the probe trusts: a CA bundle, or the server's own certificate chain."""
    server_name: str | None = None
    """The name to check the server's certificate against, instead of the address's host."""
    client_key: bytes | None = None
    """PEM private key of ``client_chain``, for a server that requires client certificates."""
    client_chain: bytes | None = None
    """PEM certificate chain presented to the server (mutual TLS)."""


def open_channel(address: str, tls: ProbeTls | None) -> grpc.aio.Channel:
    """A channel to the server at ``address``, speaking TLS as ``tls`` says (None: plaintext).

    The one way the commands that call a running server (``health``,
    ``erase-user``) reach it, so they accept the same addresses and TLS flags.
    """
    if tls is None:
        return grpc.aio.insecure_channel(address)
    credentials = grpc.ssl_channel_credentials(tls.roots, tls.client_key, tls.client_chain)
    options = [("grpc.ssl_target_name_override", tls.server_name)] if tls.server_name else []
    return grpc.aio.secure_channel(address, credentials, options=options)


async def check(address: str, service: str = "", tls: ProbeTls | None = None, wait: float = 5.0) -> str:
    """The server's health status name (``SERVING``, ``NOT_SERVING``, ...), or why it could not be asked.

    Args:
        address: the server, ``HOST:PORT``, ``unix:PATH`` or ``unix-abstract:NAME``.
        service: the service to ask about; empty for the whole server.
        tls: how to speak TLS; None for plaintext.
        wait: seconds to wait for the answer.
    """
    channel = open_channel(address, tls)
    async with channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=wait
            )
        except grpc.aio.AioRpcError as error:
            return f"{error.code().name}: {error.details()}"
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def local_address(listen: str | None) -> str:
    """Where a probe on this machine reaches a server listening on ``listen`` (comma-separated)."""
    addresses = [a.strip() for a in (listen or DEFAULT_LISTEN).split(",") if a.strip()] or [DEFAULT_LISTEN]
    for address in addresses:
        if address.startswith("unix:"):
            return address
    if addresses[0].startswith("unix-abstract:"):
        return addresses[0]
    host, _, port = addresses[0].rpartition(":")
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host in ("[::]", "::"):
        host = "[::1]"
    return f"{host}:{port}"


def certificate_name(chain_pem: bytes) -> str:
    """A name the first certificate of ``chain_pem`` is valid for: its first DNS name, else IP, else CN.

    Raises:
        ValueError: no certificate, or one that names nothing.
    """
    # Imported here: only a probe of a TLS server reads a certificate, and the import is not free.
    from cryptography import x509

    try:
        leaf = x509.load_pem_x509_certificates(chain_pem)[0]
    except ValueError:
        raise ValueError("no PEM certificate in it") from None
    try:
        alternatives = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        names: list[str] = []
    else:
        names = alternatives.get_values_for_type(x509.DNSName) + [
            str(ip) for ip in alternatives.get_values_for_type(x509.IPAddress)
        ]
    names += [str(a.value) for a in leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
    if not names:
        raise ValueError("the certificate names no host")
    # A wildcard certificate is valid for any one label in the wildcard's place.
    return "health" + names[0][1:] if names[0].startswith("*.") else names[0]


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {what} {path}: {exc.strerror}") from None


def probe_tls(args: argparse.Namespace, environ: Mapping[str, str]) -> ProbeTls | None:
    """The TLS the probe speaks to ``args.address``: from the flags, else from the server's own settings.

    Raises:
        ValueError: a file cannot be read, or the settings are incomplete.
    """
    server = {s.name: environ.get(s.env) or None for s in SETTINGS if s.name.startswith("tls_")}
    if args.address.startswith("unix:"):
        return None  # serve never puts TLS on a socket file
    if args.tls_ca is not None:
        roots, server_name = _read(args.tls_ca, "--tls-ca"), None
    elif server["tls_cert"] is not None:
        roots = _read(Path(server["tls_cert"]), "the server's certificate (ADK_GRPC_SESSIONS_TLS_CERT)")
        try:
            server_name = certificate_name(roots)
        except ValueError as exc:
            raise ValueError(f"the server's certificate {server['tls_cert']}: {exc}") from None
    else:
        return None
    cert, key = args.tls_client_cert, args.tls_client_key
    if cert is None and key is None and server["tls_client_ca"] is not None:
        if server["tls_cert"] is None or server["tls_key"] is None:
            raise ValueError(
                "the server requires client certificates: give --tls-client-cert and --tls-client-key"
            )
        cert, key = Path(server["tls_cert"]), Path(server["tls_key"])
    if (cert is None) != (key is None):
        raise ValueError("--tls-client-cert and --tls-client-key go together")
    if cert is None or key is None:
        return ProbeTls(roots, server_name)
    return ProbeTls(roots, server_name, _read(key, "client key"), _read(cert, "client certificate"))


def run(args: argparse.Namespace) -> int:
    """Runs ``health``."""
    if args.address is None:
        listen_setting = next(s for s in SETTINGS if s.name == "listen")
        args.address = local_address(os.environ.get(listen_setting.env))
    tls = probe_tls(args, os.environ)
    status = asyncio.run(check(args.address, args.service, tls, args.timeout))
    print(status, file=sys.stdout if status == "SERVING" else sys.stderr)
    return 0 if status == "SERVING" else 1
