"""``adk-grpc-sessions health``: asks a server's ``grpc.health.v1`` service, for probes and HEALTHCHECK.

Exits 0 when the server reports SERVING, 1 otherwise, with one line saying why.
Without ``--address`` it asks the server that ``ADK_GRPC_SESSIONS_LISTEN``
describes, as the container image does: its Unix socket if it has one (no TLS
needed there), else its first TCP address on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from adk_grpc_sessions.server.config import DEFAULT_LISTEN, SETTINGS


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds ``health`` to the command line."""
    parser = commands.add_parser("health", help="check a running server's health (exit 0 when SERVING)")
    parser.add_argument(
        "--address",
        default=None,
        help="HOST:PORT or unix:PATH (default: the server's own address, from ADK_GRPC_SESSIONS_LISTEN)",
    )
    parser.add_argument("--service", default="", help="service name to ask about (default: the whole server)")
    parser.add_argument(
        "--tls-ca", type=Path, metavar="FILE", help="connect with TLS, trusting this CA bundle"
    )
    parser.add_argument("--timeout", type=float, default=5.0, metavar="S", help="seconds to wait (default 5)")
    parser.set_defaults(run=run)


async def check(address: str, service: str = "", tls_ca: bytes | None = None, wait: float = 5.0) -> str:
    """The server's health status name (``SERVING``, ``NOT_SERVING``, ...), or why it could not be asked.

    Args:
        address: the server, ``HOST:PORT`` or ``unix:PATH``.
        service: the service to ask about; empty for the whole server.
        tls_ca: PEM CA bundle to connect with TLS; None for plaintext.
        wait: seconds to wait for the answer.
    """
    if tls_ca is not None:
        channel = grpc.aio.secure_channel(address, grpc.ssl_channel_credentials(tls_ca))
    else:
        channel = grpc.aio.insecure_channel(address)
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
    host, _, port = addresses[0].rpartition(":")
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host in ("[::]", "::"):
        host = "[::1]"
    return f"{host}:{port}"


def run(args: argparse.Namespace) -> int:
    """Runs ``health``."""
    if args.address is None:
        listen_setting = next(s for s in SETTINGS if s.name == "listen")
        args.address = local_address(os.environ.get(listen_setting.env))
    tls_ca = args.tls_ca.read_bytes() if args.tls_ca else None
    status = asyncio.run(check(args.address, args.service, tls_ca, args.timeout))
    print(status, file=sys.stdout if status == "SERVING" else sys.stderr)
    return 0 if status == "SERVING" else 1
