"""``adk-grpc-sessions``: the command line (``serve``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from adk_grpc_sessions.server.backends import backend_schemes
from adk_grpc_sessions.server.config import (
    DEFAULT_BACKEND,
    DEFAULT_GRACE_SECONDS,
    DEFAULT_LISTEN,
    DEFAULT_MAX_MESSAGE_BYTES,
    ENV_PREFIX,
    ServerConfig,
)
from adk_grpc_sessions.server.serve import serve


def _env(name: str, default: str) -> str:
    return os.environ.get(ENV_PREFIX + name, default)


def build_parser() -> argparse.ArgumentParser:
    """The parser for every subcommand; each flag's default comes from its environment variable."""
    parser = argparse.ArgumentParser(
        prog="adk-grpc-sessions",
        description="A gRPC session server for Google ADK agents.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve_parser = commands.add_parser(
        "serve",
        help="run the server",
        description="Run the session server until SIGTERM or SIGINT. Every flag can also be set "
        f"with an environment variable {ENV_PREFIX}<FLAG>, e.g. {ENV_PREFIX}LISTEN.",
    )
    serve_parser.add_argument(
        "--listen",
        action="append",
        metavar="ADDRESS",
        help=f"HOST:PORT or unix:PATH to listen on; repeat for several (env {ENV_PREFIX}LISTEN, "
        f"comma-separated; default {DEFAULT_LISTEN})",
    )
    serve_parser.add_argument(
        "--backend",
        default=_env("BACKEND", DEFAULT_BACKEND),
        metavar="URI",
        help=f"where sessions are kept: one of {', '.join(s + '://' for s in backend_schemes())} "
        f"(env {ENV_PREFIX}BACKEND; default {DEFAULT_BACKEND})",
    )
    serve_parser.add_argument(
        "--max-message-bytes",
        type=int,
        default=int(_env("MAX_MESSAGE_BYTES", str(DEFAULT_MAX_MESSAGE_BYTES))),
        metavar="N",
        help=f"largest request accepted, in bytes (env {ENV_PREFIX}MAX_MESSAGE_BYTES; "
        f"default {DEFAULT_MAX_MESSAGE_BYTES})",
    )
    serve_parser.add_argument(
        "--grace-seconds",
        type=float,
        default=float(_env("GRACE_SECONDS", str(DEFAULT_GRACE_SECONDS))),
        metavar="S",
        help=f"how long in-flight calls may finish after a stop signal (env {ENV_PREFIX}GRACE_SECONDS; "
        f"default {DEFAULT_GRACE_SECONDS})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the process exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    listen = args.listen or [a for a in _env("LISTEN", DEFAULT_LISTEN).split(",") if a]
    config = ServerConfig(
        listen=listen,
        backend=args.backend,
        max_message_bytes=args.max_message_bytes,
        grace_seconds=args.grace_seconds,
    )
    try:
        asyncio.run(serve(config))
    except (ValueError, RuntimeError) as exc:
        print(f"adk-grpc-sessions: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
