"""``adk-grpc-sessions erase-user``: erases one user of an app through a running server (``EraseUser``).

Through the server, not the database: the server is where erasing is
defined (the user invisible at once on every replica, then deleted in
batches, the rest by the sweeper), where the audit line is written, and
where tokens decide who may erase in which app. So it works the same on
every backend, and the operator needs a token for the app, never the
database's credentials.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

import grpc

from adk_grpc_sessions.server.cli.health import ProbeTls, local_address, open_channel, probe_tls
from adk_grpc_sessions.server.runtime.config import SETTINGS
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc

TOKEN_VARIABLE = "ADK_GRPC_SESSIONS_CLIENT_TOKEN"
"""Where the bearer token is read from when ``--token`` is not given (a flag shows in the process list)."""


def run(args: argparse.Namespace) -> int:
    """Runs ``erase-user``: 0 once the server has accepted the erase, 1 if it refused."""
    if args.address is None:
        listen_setting = next(s for s in SETTINGS if s.name == "listen")
        args.address = local_address(os.environ.get(listen_setting.env))
    token = args.token or os.environ.get(TOKEN_VARIABLE)
    try:
        deleted = asyncio.run(
            erase(args.address, args.app, args.user, token, probe_tls(args, os.environ), args.timeout)
        )
    except grpc.aio.AioRpcError as error:
        print(f"adk-grpc-sessions: erase-user: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"app_name": args.app, "user_id": args.user, "deleted_sessions": deleted}))
    else:
        print(f"erased user {args.user!r} of app {args.app!r}: {deleted} sessions deleted")
    return 0


async def erase(
    address: str, app_name: str, user_id: str, token: str | None, tls: ProbeTls | None, wait: float
) -> int:
    """Calls ``EraseUser`` (``token``: a bearer token, if any) within ``wait`` seconds; returns its count.

    Raises:
        grpc.aio.AioRpcError: the server refused or could not be reached.
    """
    channel = open_channel(address, tls)
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    async with channel:
        stub = pb_grpc.SessionServiceStub(channel)
        response = await stub.EraseUser(
            pb.EraseUserRequest(app_name=app_name, user_id=user_id), metadata=metadata, timeout=wait
        )
    deleted: int = response.deleted_sessions
    return deleted
