"""``adk-grpc-sessions token new``: makes a bearer token and the grant line that admits it."""

from __future__ import annotations

import argparse

from adk_grpc_sessions.server.runtime.auth import grant_line, new_token


def run(args: argparse.Namespace) -> int:
    """Runs ``token new`` (the one action): prints a new token and its grant line."""
    apps = [a.strip() for a in args.apps.split(",") if a.strip()]
    if not apps:
        raise ValueError("--apps needs at least one app name (or '*')")
    if any(char.isspace() for char in args.name) or "#" in args.name:
        raise ValueError("--name must not contain spaces or '#'")
    token = new_token()
    print(f"token: {token}")
    print(f"grant: {grant_line(args.name, token, apps)}")
    return 0
