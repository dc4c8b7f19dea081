"""``adk-grpc-sessions import-adk --from URL``: ``copy --from adk://URL --to <--backend>``, its older name."""

from __future__ import annotations

import argparse

from adk_grpc_sessions.server.cli import copy


def run(args: argparse.Namespace) -> int:
    """Runs ``copy`` from the ADK database ``--from`` into ``--backend``."""
    return copy.run(
        argparse.Namespace(source=copy.ADK_SCHEME + args.source, destination=args.backend, apps=None)
    )
