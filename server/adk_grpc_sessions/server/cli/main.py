"""``adk-grpc-sessions``: the command line. Argument wiring only; each command lives in its own module.

Every install has this script (one distribution), but the commands need the
``server`` extra. So nothing of the server is imported at module level: the
entry point imports the commands, and where the extra is missing says in one
line what to install. ``--version`` answers in every install.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, Final

DISTRIBUTION: Final = "adk-grpc-sessions"
INSTALL_SERVER: Final = f'pip install "{DISTRIBUTION}[server]"'


def version_line() -> str:
    """What ``--version`` prints: the installed distribution's version."""
    # Imported and read only when asked: finding the installed metadata takes a
    # noticeable part of a second, which every probe and every start would pay.
    from importlib import metadata

    try:
        installed = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # imported from a source tree that was never installed
        installed = "unknown"
    return f"{DISTRIBUTION} {installed}"


class _VersionAction(argparse.Action):
    """``--version``: prints ``version_line()`` and exits, looking the version up only then."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        print(version_line())
        parser.exit()


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from adk_grpc_sessions.server.backends import backend_schemes
    from adk_grpc_sessions.server.runtime.config import (
        DEFAULT_BACKEND,
        DEFAULT_LISTEN,
        ENV_PREFIX,
        SETTINGS,
        ServerConfig,
    )

    defaults = ServerConfig()
    parser = commands.add_parser(
        "serve",
        help="run the session server",
        description="Run the session server until SIGTERM or SIGINT, then drain. Every flag can also be set "
        f"with its environment variable ({ENV_PREFIX}<FLAG>, e.g. {ENV_PREFIX}LISTEN); a flag wins.",
    )
    for setting in SETTINGS:
        default = getattr(defaults, setting.name)
        if setting.name == "listen":
            default = DEFAULT_LISTEN
        elif setting.name == "backend":
            default = f"{DEFAULT_BACKEND}; known schemes: {', '.join(s + '://' for s in backend_schemes())}"
        elif setting.name == "socket_mode":
            default = oct(default)
        shown = f"env {setting.env}" + ("" if default in (None, False) else f"; default {default}")
        if setting.switch:
            parser.add_argument(
                setting.flag, action="store_const", const=True, help=f"{setting.help} ({shown})"
            )
        else:
            parser.add_argument(
                setting.flag,
                type=setting.parse,
                action="append" if setting.name == "listen" else "store",
                metavar=setting.metavar,
                help=f"{setting.help} ({shown})",
            )
    parser.set_defaults(run=_run_serve)


def _run_serve(args: argparse.Namespace) -> int:
    from adk_grpc_sessions.server.runtime.config import SETTINGS, config_from
    from adk_grpc_sessions.server.runtime.logs import configure_logging
    from adk_grpc_sessions.server.runtime.serve import run

    flags = {setting.name: getattr(args, setting.name) for setting in SETTINGS}
    if flags["listen"] is not None:
        flags["listen"] = [address for group in flags["listen"] for address in group]
    config = config_from(flags)
    configure_logging(config.log_format, config.log_level)  # type: ignore[arg-type]  # checked by config
    run(config)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command.

    Raises:
        ModuleNotFoundError: the ``server`` extra is not installed.
    """
    from adk_grpc_sessions.server.cli import db, health, import_command, token

    parser = argparse.ArgumentParser(
        prog="adk-grpc-sessions", description="A gRPC session server for Google ADK."
    )
    parser.add_argument("--version", action=_VersionAction, help="show the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_serve(commands)
    health.add_command(commands)
    token.add_command(commands)
    db.add_command(commands)
    import_command.add_command(commands)
    return parser


def _without_server_extra(missing: ModuleNotFoundError, arguments: Sequence[str]) -> int:
    if list(arguments) == ["--version"]:
        print(version_line())
        return 0
    print(
        f"adk-grpc-sessions: the server commands need the server extra (no module {missing.name!r} here): "
        f"{INSTALL_SERVER}",
        file=sys.stderr,
    )
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the process exit status (2 for any error, with a one-line message)."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser()
        from adk_grpc_sessions.server.backends.base import BackendError
    except ModuleNotFoundError as missing:
        if (missing.name or "adk_grpc_sessions").startswith("adk_grpc_sessions"):
            raise  # a module of our own missing is a broken install, not a missing extra
        return _without_server_extra(missing, arguments)
    args = parser.parse_args(arguments)
    try:
        status: int = args.run(args)
    except (ValueError, RuntimeError, BackendError, OSError) as exc:
        print(f"adk-grpc-sessions: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
