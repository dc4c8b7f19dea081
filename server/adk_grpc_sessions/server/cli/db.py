"""``adk-grpc-sessions db upgrade``: brings a backend's schema up to date."""

from __future__ import annotations

import argparse
import asyncio
import os

from adk_grpc_sessions.server.backends import backend_schemes, build_backend, redact_uri
from adk_grpc_sessions.server.runtime.config import DEFAULT_BACKEND, ENV_PREFIX


def add_backend_flag(parser: argparse.ArgumentParser, what: str) -> None:
    """``--backend URI``, defaulting like ``serve``'s to ``ADK_GRPC_SESSIONS_BACKEND``, then the default."""
    parser.add_argument(
        "--backend",
        default=os.environ.get(ENV_PREFIX + "BACKEND", DEFAULT_BACKEND),
        metavar="URI",
        help=f"{what}: one of {', '.join(s + '://' for s in backend_schemes())} "
        f"(env {ENV_PREFIX}BACKEND; default {DEFAULT_BACKEND})",
    )


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds ``db upgrade`` to the command line."""
    db_parser = commands.add_parser("db", help="manage the backend's database")
    db_commands = db_parser.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    parser = db_commands.add_parser(
        "upgrade",
        help="create or upgrade the database schema",
        description="Create the tables, or migrate them to this version's schema. Safe to repeat, "
        "and to run while servers use the database. (serve does this at start unless --no-migrate.)",
    )
    add_backend_flag(parser, "the database to upgrade")
    parser.set_defaults(run=run)


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
