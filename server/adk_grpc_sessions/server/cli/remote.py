"""How the commands that work through a running server reach it: address, TLS, token, time (from flags).

``erase-user`` and ``sessions`` speak the gRPC API, not the database: they
work against a remote server as well as a local one, with the server's own
checks (tokens scoped to apps, audit lines) applying to them as to any client.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from adk_grpc_sessions.server.cli.health import ProbeTls, local_address, open_channel, probe_tls
from adk_grpc_sessions.server.runtime.config import SETTINGS
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc

TOKEN_VARIABLE = "ADK_GRPC_SESSIONS_CLIENT_TOKEN"
"""Where the bearer token is read from when ``--token`` is not given (a flag shows in the process list)."""


@dataclass(frozen=True)
class Remote:
    """A server to call: where, how (TLS, token), and how long each call may take."""

    address: str
    token: str | None
    tls: ProbeTls | None
    timeout: float

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Remote:
        """The server the flags name (``--address``, ``--token``, ``--tls-*``, ``--timeout``).

        Without ``--address``, the server of this machine's settings
        (``ADK_GRPC_SESSIONS_LISTEN``); without ``--token``,
        ``ADK_GRPC_SESSIONS_CLIENT_TOKEN``.

        Raises:
            ValueError: a TLS file cannot be read, or the TLS settings are incomplete.
        """
        address = args.address
        if address is None:
            listen_setting = next(s for s in SETTINGS if s.name == "listen")
            address = local_address(os.environ.get(listen_setting.env))
        return cls(
            address, args.token or os.environ.get(TOKEN_VARIABLE), probe_tls(args, os.environ), args.timeout
        )

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The call metadata: the bearer token, if any."""
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    @asynccontextmanager
    async def stub(self) -> AsyncIterator[pb_grpc.SessionServiceAsyncStub]:
        """A ``SessionService`` stub on a channel of its own, closed on exit."""
        async with open_channel(self.address, self.tls) as channel:
            yield pb_grpc.SessionServiceStub(channel)
