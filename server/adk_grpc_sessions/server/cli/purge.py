"""``adk-grpc-sessions purge``: deletes expired sessions from a backend's storage now, or shows what would go.

The server's sweeper does this in the background; this command is for a
look before turning retention on (``--dry-run``), or for clearing a backlog
with no server running. It talks to the storage directly, like ``db upgrade``.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from adk_grpc_sessions.server.backends import build_backend
from adk_grpc_sessions.server.backends.base import Backend, SessionKey


def run(args: argparse.Namespace) -> int:
    """Runs ``purge``; prints what was (or would be) deleted."""
    print(asyncio.run(purge(args.backend, dry_run=args.dry_run, limit=args.limit, as_json=args.json)))
    return 0


async def purge(
    backend_uri: str, *, dry_run: bool, limit: int, as_json: bool = False, batch_size: int = 100
) -> str:
    """Purges (or with ``dry_run`` lists up to ``limit`` of) the expired sessions of ``backend_uri``.

    Returns the report to print: a table for people, or JSON with ``as_json``.

    Raises:
        ValueError: the URI is unknown or malformed.
        BackendError: the storage cannot be reached, or does not purge (agentengine://).
    """
    backend = build_backend(backend_uri)
    try:
        await backend.start()
        if dry_run:
            return _report(await backend.count_expired(), await backend.list_expired(limit), as_json, dry_run)
        purged = await _purge_all(backend, batch_size)
        return _report(len(purged), purged[:limit], as_json, dry_run)
    finally:
        await backend.close()


async def _purge_all(backend: Backend, batch_size: int) -> list[SessionKey]:
    purged: list[SessionKey] = []
    while True:
        batch = await backend.purge_expired(batch_size)
        if batch.done:
            return purged
        purged += batch.purged


def _report(count: int, sessions: list[SessionKey], as_json: bool, dry_run: bool) -> str:
    if as_json:
        return json.dumps(
            {
                "dry_run": dry_run,
                "sessions": count,
                "listed": [
                    {"app_name": k.app_name, "user_id": k.user_id, "session_id": k.session_id}
                    for k in sessions
                ],
            }
        )
    verb = "would purge" if dry_run else "purged"
    lines = [
        f"{verb} {count} expired sessions" + (f" (showing {len(sessions)})" if len(sessions) < count else "")
    ]
    if sessions:
        width = max(len("APP"), *(len(k.app_name) for k in sessions))
        user_width = max(len("USER"), *(len(k.user_id) for k in sessions))
        lines.append(f"{'APP':<{width}}  {'USER':<{user_width}}  SESSION")
        lines += [f"{k.app_name:<{width}}  {k.user_id:<{user_width}}  {k.session_id}" for k in sessions]
    return "\n".join(lines)
