"""``adk-grpc-sessions token new``: makes a bearer token and the grant line that admits it."""

from __future__ import annotations

import argparse

from adk_grpc_sessions.server.runtime.auth import grant_line, new_token


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds ``token`` to the command line."""
    parser = commands.add_parser("token", help="make bearer tokens")
    actions = parser.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    new = actions.add_parser(
        "new",
        help="print a new token and its grant line",
        description="Prints a new random token (give it to the client) and the line to add to the server's "
        "tokens file (it holds only the token's SHA-256).",
    )
    new.add_argument("--name", required=True, help="a name for the token, shown in logs")
    new.add_argument(
        "--apps", required=True, help="comma-separated app names the token may use, or '*' for all"
    )
    new.set_defaults(run=run_new)


def run_new(args: argparse.Namespace) -> int:
    """Runs ``token new``."""
    apps = [a.strip() for a in args.apps.split(",") if a.strip()]
    if not apps:
        raise ValueError("--apps needs at least one app name (or '*')")
    if any(char.isspace() for char in args.name) or "#" in args.name:
        raise ValueError("--name must not contain spaces or '#'")
    token = new_token()
    print(f"token: {token}")
    print(f"grant: {grant_line(args.name, token, apps)}")
    return 0
