"""``adk-grpc-sessions db upgrade``: brings a backend's schema up to date."""

from __future__ import annotations

import argparse
import asyncio

from adk_grpc_sessions.server.backends import build_backend, redact_uri


def run(args: argparse.Namespace) -> int:
    """Runs ``db upgrade``; prints what was done."""
    print(asyncio.run(upgrade(args.backend)))
    return 0


async def upgrade(backend_uri: str) -> str:
    """Migrates the storage ``backend_uri`` names to this version's schema; returns what was done.

    Safe to run again, and while servers run: migrations hold a database-wide lock.

    Raises:
        ValueError: the URI is unknown or malformed.
        BackendUnavailableError: the storage cannot be reached.
    """
    backend = build_backend(backend_uri)
    try:
        account = await backend.upgrade_schema()
    finally:
        await backend.close()
    return account or f"{redact_uri(backend_uri)}: this backend has no schema to upgrade"
