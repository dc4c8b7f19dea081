"""``adk-grpc-sessions``: the command line. Argument wiring only; each command runs in its own module.

Command ``X`` (``import-adk``: ``import_adk``) is run by ``cli.X.run(args)``
(``export`` and ``import`` by ``cli.archive``);
every command's flags are wired here, so ``--help`` and a probe's start
import none of the commands' work.

Every install has this script (one distribution), but the commands need the
``server`` extra. So nothing of the server is imported at module level: the
parser is built on demand, and where the extra is missing the entry point
says in one line what to install. ``--version`` answers in every install.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

DISTRIBUTION: Final = "adk-grpc-sessions"
_MODULE_OF: Final = {"export": "archive", "import": "archive"}
"""Commands whose module is not named after them (``import`` cannot name a module)."""
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
    """``serve``: every setting of the one settings table as a flag (``cli.serve``)."""
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


def _add_health(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``health``: asks a running server (``cli.health``)."""
    parser = commands.add_parser(
        "health",
        help="check a running server's health (exit 0 when SERVING)",
        description="Asks a server's grpc.health.v1 service; exits 0 when it is SERVING. Without flags it "
        "reaches the server its own ADK_GRPC_SESSIONS_* variables describe (address, TLS, mutual TLS), "
        "as the container image's HEALTHCHECK does. No token is needed.",
    )
    parser.add_argument(
        "--address",
        default=None,
        help="HOST:PORT, unix:PATH or unix-abstract:NAME (default: the server's own, "
        "from ADK_GRPC_SESSIONS_LISTEN)",
    )
    parser.add_argument("--service", default="", help="service name to ask about (default: the whole server)")
    parser.add_argument(
        "--tls-ca",
        type=Path,
        metavar="FILE",
        help="connect with TLS, trusting this CA bundle (default: with TLS, trusting the server's own "
        "certificate, when ADK_GRPC_SESSIONS_TLS_CERT is set)",
    )
    parser.add_argument(
        "--tls-client-cert",
        type=Path,
        metavar="FILE",
        help="PEM certificate chain to present to a mutual-TLS server (default: the server's own, "
        "when ADK_GRPC_SESSIONS_TLS_CLIENT_CA is set)",
    )
    parser.add_argument(
        "--tls-client-key", type=Path, metavar="FILE", help="PEM private key of --tls-client-cert"
    )
    parser.add_argument("--timeout", type=float, default=5.0, metavar="S", help="seconds to wait (default 5)")


def _add_token(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``token new``: a bearer token and its grant line (``cli.token``)."""
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


def _add_backend_flag(parser: argparse.ArgumentParser, what: str) -> None:
    """``--backend URI``, defaulting like ``serve``'s to ``ADK_GRPC_SESSIONS_BACKEND``, then the default."""
    from adk_grpc_sessions.server.backends import backend_schemes
    from adk_grpc_sessions.server.runtime.config import DEFAULT_BACKEND, ENV_PREFIX

    parser.add_argument(
        "--backend",
        default=os.environ.get(ENV_PREFIX + "BACKEND", DEFAULT_BACKEND),
        metavar="URI",
        help=f"{what}: one of {', '.join(s + '://' for s in backend_schemes())} "
        f"(env {ENV_PREFIX}BACKEND; default {DEFAULT_BACKEND})",
    )


def _add_db(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``db upgrade``: the backend's schema brought up to date (``cli.db``)."""
    db_parser = commands.add_parser("db", help="manage the backend's database")
    db_commands = db_parser.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    parser = db_commands.add_parser(
        "upgrade",
        help="create or upgrade the database schema",
        description="Create the tables, or migrate them to this version's schema. Safe to repeat, "
        "and to run while servers use the database. (serve does this at start unless --no-migrate.)",
    )
    _add_backend_flag(parser, "the database to upgrade")


_TRANSFER_EXIT = (
    "Resumable: run it again after an interruption and it finishes what is missing, duplicating "
    "nothing. Each session is verified by a checksum of its events and state, then the counts. "
    "Exit status: 0 verified, 1 a problem found (listed), 2 could not run."
)


def _add_copy(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``copy``, ``export``, ``import``: data moved between backends and files (``cli.copy``, ``archive``)."""
    copying = commands.add_parser(
        "copy",
        help="copy every app, user, session, event and state from one backend to another",
        description="Copy everything from one backend to another (e.g. SQLite to PostgreSQL), events "
        "byte for byte, times, metadata and state kept. " + _TRANSFER_EXIT,
    )
    copying.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URI",
        help="a backend URI as serve --backend takes, or adk://<SQLAlchemy URL> for an ADK "
        "DatabaseSessionService database",
    )
    copying.add_argument("--to", dest="destination", required=True, metavar="URI", help="a backend URI")
    _add_apps_flag(copying)
    export = commands.add_parser(
        "export",
        help="write every app, user, session, event and state of a backend to a JSON Lines file",
        description="Write a backend's data to a versioned JSON Lines file (gzip-compressed when "
        "the name ends in .gz); docs/operations.md gives the format.",
    )
    export.add_argument("--from", dest="source", required=True, metavar="URI", help="as copy --from")
    export.add_argument(
        "--to", dest="file", required=True, metavar="FILE", help="the file to write ('-': stdout)"
    )
    _add_apps_flag(export)
    importing = commands.add_parser(
        "import",
        help="write an export file into a backend (idempotent)",
        description="Write what an export file holds into a backend; running it again stores nothing "
        "new. " + _TRANSFER_EXIT,
    )
    importing.add_argument("--from", dest="file", required=True, metavar="FILE", help="the export file")
    importing.add_argument("--to", dest="destination", required=True, metavar="URI", help="a backend URI")


def _add_apps_flag(parser: argparse.ArgumentParser) -> None:
    """``--app``: the apps to read, where a source cannot list them (Agent Engine), or to read only some."""
    parser.add_argument(
        "--app",
        dest="apps",
        action="append",
        metavar="NAME",
        help="copy only this app (repeatable); required for agentengine://, which cannot list its apps",
    )


def _add_import_adk(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``import-adk``: ``copy --from adk://URL`` by its earlier name (``cli.import_adk``)."""
    parser = commands.add_parser(
        "import-adk",
        help="copy sessions from an ADK DatabaseSessionService database (copy --from adk://URL)",
        description="Copy every session, event, app state and user state of an ADK "
        "DatabaseSessionService database into a backend: the same as copy --from adk://URL --to "
        "URI. " + _TRANSFER_EXIT,
    )
    parser.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help="the ADK database, as given to DatabaseSessionService (e.g. sqlite:///sessions.db)",
    )
    _add_backend_flag(parser, "where to copy to")


def _add_purge(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``purge``: expired sessions deleted from storage now, or listed (``cli.purge``)."""
    parser = commands.add_parser(
        "purge",
        help="delete expired sessions from storage now (--dry-run: show what would go)",
        description="Delete the expired sessions (their events and session state) from the storage, in "
        "short batches, as the server's sweeper does; app and user state are kept. Talks to the storage "
        "directly, like 'db upgrade'. Safe while servers run.",
    )
    _add_backend_flag(parser, "the storage to purge")
    parser.add_argument("--dry-run", action="store_true", help="delete nothing: count and list what would go")
    parser.add_argument(
        "--limit", type=int, default=50, metavar="N", help="list at most N sessions (default 50)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def _add_remote_flags(parser: argparse.ArgumentParser) -> None:
    """Where and how a command reaches a running server (``cli.remote.Remote.from_args`` reads them)."""
    parser.add_argument(
        "--address",
        default=None,
        help="HOST:PORT or unix:PATH of the server (default: its own, from ADK_GRPC_SESSIONS_LISTEN)",
    )
    parser.add_argument("--token", default=None, help="bearer token (prefer ADK_GRPC_SESSIONS_CLIENT_TOKEN)")
    parser.add_argument(
        "--tls-ca", type=Path, metavar="FILE", help="connect with TLS, trusting this CA bundle"
    )
    parser.add_argument(
        "--tls-client-cert", type=Path, metavar="FILE", help="client certificate (mutual TLS)"
    )
    parser.add_argument(
        "--tls-client-key", type=Path, metavar="FILE", help="PEM private key of --tls-client-cert"
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, metavar="S", help="seconds each call may take (default 60)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")


_ERASE_DESCRIPTION = (
    "Calls EraseUser on a running server: from its answer nothing of the user is "
    "visible; the server deletes it in batches (the rest by its sweeper). App state and other users "
    "are untouched. Idempotent. The server logs an audit line. Needs a token for the app when the "
    "server requires tokens (--token, or ADK_GRPC_SESSIONS_CLIENT_TOKEN)."
)


def _add_user_flags(parser: argparse.ArgumentParser, *, session: bool = False) -> None:
    """``--app``, ``--user`` and with ``session`` ``--session``: what a command acts on, all required."""
    parser.add_argument("--app", required=True, help="the app name")
    parser.add_argument("--user", required=True, help="the user id")
    if session:
        parser.add_argument("--session", required=True, help="the session id")


def _add_erase_user(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    summary: str = "erase every session, event and user state of one user of an app (through a server)",
) -> None:
    """``erase-user``: one user of an app erased through a running server (``cli.erase_user``).

    ``sessions erase-user`` is the same command under ``sessions``, with its own ``summary``.
    """
    parser = commands.add_parser("erase-user", help=summary, description=_ERASE_DESCRIPTION)
    _add_user_flags(parser)
    _add_remote_flags(parser)


def _add_sessions(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``sessions list|show|delete|erase-user``: a server's sessions, through its API (``cli.sessions``)."""
    sessions_parser = commands.add_parser(
        "sessions",
        help="list, show and delete sessions of a running server (through its API)",
        description="Look inside a running server through its gRPC API, locally or remotely (TLS, "
        "tokens). Exit codes: 0 done, 1 the server refused or could not be reached, 2 bad usage, "
        "3 show of a session that does not exist.",
    )
    verbs = sessions_parser.add_subparsers(dest="sessions_command", required=True, metavar="SESSIONS_COMMAND")
    listing = verbs.add_parser(
        "list",
        help="list apps; an app's users; or sessions of one user, or of every user of an app",
        description="No --app: the apps (ListApps; those the token covers). --app alone: its users "
        "(ListUsers). --app and --user: that user's sessions; --app with --every-user, --filter or "
        "--order-by: the sessions of every user of the app (ListSessions). Paged.",
    )
    listing.add_argument("--app", default=None, help="the app name (default: list the apps)")
    listing.add_argument("--user", default=None, help="only this user's sessions")
    listing.add_argument(
        "--every-user", action="store_true", help="the sessions of every user of --app, not its users"
    )
    listing.add_argument(
        "--filter", default=None, help="e.g. 'labels.topic = \"billing\" AND closed = false'"
    )
    listing.add_argument(
        "--order-by", default=None, help='"update_time" (default), "create_time", "... desc"'
    )
    listing.add_argument(
        "--page-size", type=int, default=100, metavar="N", help="items per page (default 100)"
    )
    listing.add_argument("--page-token", default=None, help="the next page of an earlier listing")
    listing.add_argument("--all", action="store_true", help="every page, not just one")
    _add_remote_flags(listing)
    show = verbs.add_parser(
        "show",
        help="a session's metadata, state by scope and events as a timeline",
        description="GetSession, with every event (read in parts where the session is large).",
    )
    deletion = verbs.add_parser("delete", help="delete a session", description="DeleteSession (idempotent).")
    for parser in (show, deletion):
        _add_user_flags(parser, session=True)
    show.add_argument("--events", type=int, default=None, metavar="N", help="only the N most recent events")
    for parser in (show, deletion):
        _add_remote_flags(parser)
    _add_erase_user(verbs, "erase one user of an app (as erase-user)")


def _add_tail(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``tail APP USER SESSION``: a session's events as they are appended (``cli.tail``)."""
    parser = commands.add_parser(
        "tail",
        help="follow a session's events live (through the API)",
        description="WatchSession: one line per event as it is appended (time, author, what it says, "
        "calls or changes in state), resumed by itself if the stream breaks. Exit codes: 0 the session "
        "ended (closed, deleted, expired) or Ctrl-C, 1 the server refused or could not be reached, "
        "2 bad usage, 3 no such session. --json: one JSON object per line (event, caught_up, ended).",
    )
    parser.add_argument("app", help="the app name")
    parser.add_argument("user", help="the user id")
    parser.add_argument("session", help="the session id")
    parser.add_argument(
        "--from-start", action="store_true", help="show every stored event first (default: only new ones)"
    )
    _add_remote_flags(parser)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command.

    Raises:
        ModuleNotFoundError: the ``server`` extra is not installed.
    """
    # Every command needs the server extra: its absence is found here, and said in one line.
    import grpc_health  # noqa: F401

    parser = argparse.ArgumentParser(
        prog="adk-grpc-sessions", description="A gRPC session server for Google ADK."
    )
    parser.add_argument("--version", action=_VersionAction, help="show the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_serve(commands)
    _add_health(commands)
    _add_token(commands)
    _add_db(commands)
    _add_copy(commands)
    _add_import_adk(commands)
    _add_purge(commands)
    _add_erase_user(commands)
    _add_sessions(commands)
    _add_tail(commands)
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
    # Each command's module is imported only when it runs: what one needs
    # (google-adk for import-adk, say) costs nothing to the others.
    module = _MODULE_OF.get(args.command, args.command.replace("-", "_"))
    command = importlib.import_module(f"adk_grpc_sessions.server.cli.{module}")
    try:
        status: int = command.run(args)
    except (ValueError, RuntimeError, BackendError, OSError) as exc:
        print(f"adk-grpc-sessions: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return status
