"""``adk-grpc-sessions copy --from URI --to URI``: every app, user, session, event and state, moved.

The source is any backend URI ``serve --backend`` takes (read through the
backend boundary, as the server reads it), or ``adk://<SQLAlchemy URL>``
for ADK's own ``DatabaseSessionService`` database; the destination any
backend that can restore (memory, SQLite, PostgreSQL, MySQL/MariaDB).
Resumable (run it again after an interruption: it finishes what is
missing and duplicates nothing), verified (each session's checksum, then
the counts), in bounded memory (``transfer``). Exit status: 0 verified,
1 a problem found (listed), 2 the command could not run.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rich.console import Console

from adk_grpc_sessions.server.backends import build_backend, redact_uri
from adk_grpc_sessions.server.backends.base import Backend
from adk_grpc_sessions.server.cli import transfer

ADK_SCHEME = "adk://"


def run(args: argparse.Namespace) -> int:
    """Runs the copy; 0 when everything arrived and was verified, 1 otherwise."""
    report = asyncio.run(copy(args.source, args.destination, console=Console(stderr=True, soft_wrap=True)))
    return 0 if report.complete else 1


async def copy(source_uri: str, destination_uri: str, *, console: Console) -> transfer.Report:
    """Copies everything of ``source_uri`` into ``destination_uri`` (its schema made or upgraded first).

    Raises:
        ValueError: a URI is malformed or names no source of this kind.
        BackendError: a backend cannot be reached, or cannot be read or written so.
    """
    async with open_source(source_uri) as source, open_destination(destination_uri) as destination:
        report = await transfer.write_all(source, destination, console=console, what="copying")
        report.problems += getattr(source, "problems", [])
        await transfer.count_check(destination, report)
    transfer.print_summary(report, console, f"{redact_uri(source_uri)} -> {redact_uri(destination_uri)}")
    return report


@asynccontextmanager
async def open_source(uri: str) -> AsyncIterator[transfer.Source]:
    """The source ``uri`` names, started; closed on leaving."""
    if uri.startswith(ADK_SCHEME):
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
        yield transfer.BackendSource(backend)
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
