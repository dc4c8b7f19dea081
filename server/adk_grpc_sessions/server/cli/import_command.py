"""``adk-grpc-sessions import-adk``: the command line of the import from ADK (the work is in ``import_adk``).

Kept apart so that the command line can offer the command without importing
google-adk, which only the import itself needs.
"""

from __future__ import annotations

import argparse
import asyncio

from adk_grpc_sessions.server.cli.db import add_backend_flag


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds ``import-adk`` to the command line."""
    parser = commands.add_parser(
        "import-adk",
        help="copy sessions from an ADK DatabaseSessionService database",
        description="Copy every session, event, app state and user state of an ADK "
        "DatabaseSessionService database into a SQL backend. Re-running skips what is already "
        "there; counts are checked at the end (exit status 1 if anything is missing).",
    )
    parser.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help="the ADK database, as given to DatabaseSessionService (e.g. sqlite:///sessions.db)",
    )
    add_backend_flag(parser, "where to copy to (a SQL backend)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Runs the import; 0 when everything arrived, 1 when the count check found something missing."""
    from adk_grpc_sessions.server.cli.import_adk import import_adk

    report = asyncio.run(import_adk(args.source, args.backend))
    return 0 if report.complete else 1
