"""``adk-grpc-sessions erase-user``: erases one user of an app through a running server (``EraseUser``).

Through the server, not the database: the server is where erasing is
defined (the user invisible at once on every replica, then deleted in
batches, the rest by the sweeper), where the audit line is written, and
where tokens decide who may erase in which app. So it works the same on
every backend, and the operator needs a token for the app, never the
database's credentials. (``sessions erase-user`` is the same command.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

import grpc

from adk_grpc_sessions.server.cli.remote import Remote
from adk_grpc_sessions.v1 import session_service_pb2 as pb


def run(args: argparse.Namespace) -> int:
    """Runs ``erase-user``: 0 once the server has accepted the erase, 1 if it refused."""
    try:
        deleted = asyncio.run(erase(Remote.from_args(args), args.app, args.user))
    except grpc.aio.AioRpcError as error:
        print(f"adk-grpc-sessions: erase-user: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"app_name": args.app, "user_id": args.user, "deleted_sessions": deleted}))
    else:
        print(f"erased user {args.user!r} of app {args.app!r}: {deleted} sessions deleted")
    return 0


async def erase(remote: Remote, app_name: str, user_id: str) -> int:
    """Calls ``EraseUser``; returns how many sessions the call deleted.

    Raises:
        grpc.aio.AioRpcError: the server refused or could not be reached.
    """
    async with remote.stub() as stub:
        response = await stub.EraseUser(
            pb.EraseUserRequest(app_name=app_name, user_id=user_id),
            metadata=remote.metadata,
            timeout=remote.timeout,
        )
    deleted: int = response.deleted_sessions
    return deleted
