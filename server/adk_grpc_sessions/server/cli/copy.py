"""``adk-grpc-sessions copy --from URI --to URI``: every app, user, session, event and state, moved.

The source is any backend URI ``serve --backend`` takes (read through the
backend boundary, as the server reads it), or ``adk://<SQLAlchemy URL>``
for ADK's own ``DatabaseSessionService`` database; the destination any
backend (memory, SQLite, PostgreSQL, MySQL/MariaDB, Agent Engine). A source
that cannot list its apps (Agent Engine) is read app by app as named
(``--app``, repeatable; also a way to copy only some apps of any backend).
Resumable (run it again after an interruption: it finishes what is
missing and duplicates nothing), verified (each session's checksum, then
the counts), in bounded memory (``transfer``). Exit status: 0 verified,
1 a problem found (listed), 2 the command could not run.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from rich.console import Console

from adk_grpc_sessions.server.backends import build_backend, redact_uri
from adk_grpc_sessions.server.backends.base import Backend, BackendRefusedError
from adk_grpc_sessions.server.cli import transfer
from adk_grpc_sessions.server.cli.agent_engine_source import AgentEngineSource

ADK_SCHEME = "adk://"


def run(args: argparse.Namespace) -> int:
    """Runs the copy; 0 when everything arrived and was verified, 1 otherwise."""
    console = Console(stderr=True, soft_wrap=True)
    report = asyncio.run(copy(args.source, args.destination, console=console, apps=args.apps))
    return 0 if report.complete else 1


async def copy(
    source_uri: str, destination_uri: str, *, console: Console, apps: Sequence[str] | None = None
) -> transfer.Report:
    """Copies everything of ``source_uri`` (of ``apps`` only, if given) into ``destination_uri``.

    The destination's schema is made or upgraded first.

    Raises:
        ValueError: a URI is malformed or names no source of this kind, or the source cannot
            list its apps and ``apps`` names none.
        BackendError: a backend cannot be reached, or cannot be read or written so.
    """
    async with open_source(source_uri, apps) as source, open_destination(destination_uri) as destination:
        report = await transfer.write_all(source, destination, console=console, what="copying")
        report.problems += getattr(source, "problems", [])
        await transfer.count_check(destination, report)
    transfer.print_summary(report, console, f"{redact_uri(source_uri)} -> {redact_uri(destination_uri)}")
    return report


@asynccontextmanager
async def open_source(uri: str, apps: Sequence[str] | None = None) -> AsyncIterator[transfer.Source]:
    """The source ``uri`` names (only ``apps`` of it, if given), started; closed on leaving.

    Raises:
        ValueError: as ``copy``.
    """
    if uri.startswith(ADK_SCHEME):
        if apps:
            raise ValueError("--app selects apps of a backend source, not of adk:// (ADK's own database)")
        # Imported here: only this source needs google-adk.
        from adk_grpc_sessions.server.cli.adk_source import AdkSource

        adk = AdkSource(uri)
        try:
            await adk.start()
            yield adk
        finally:
            await adk.close()
        return
    backend = build_backend(uri)
    await backend.start()
    try:
        if not apps:
            try:
                await backend.list_apps(1, None)
            except BackendRefusedError:
                raise ValueError(
                    f"{redact_uri(uri)} cannot list its apps: name each app to copy with --app NAME "
                    "(repeatable)"
                ) from None
            yield transfer.BackendSource(backend)
        elif backend.keeps_shared_state:
            yield transfer.BackendSource(backend, apps)
        else:
            yield AgentEngineSource(backend, apps)
    finally:
        await backend.close()


@asynccontextmanager
async def open_destination(uri: str) -> AsyncIterator[Backend]:
    """The backend ``uri`` names, its schema made or upgraded, started; closed on leaving."""
    backend = build_backend(uri)
    await backend.upgrade_schema()
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()
