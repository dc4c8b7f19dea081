"""``adk-grpc-sessions tail APP USER SESSION``: a session's events as they are appended, through the API.

For operators: one line per event (time, author, what it says or calls,
which state it changes), or ``--json``: one JSON object per line for scripts
(``{"type": "event", "revision": N, "event": {...}}``, then
``{"type": "caught_up", ...}`` once the backlog is shown, and
``{"type": "ended", "reason": ...}`` last). Without ``--from-start`` only the
events appended from now on are shown (after the revision GetSession reads).

A stream that breaks (the server restarts or drains, the connection is lost,
the server cuts off a terminal that fell behind) is resumed after the last
revision shown, so nothing is skipped or shown twice; a server that cannot be
reached again within ``--timeout`` ends the command. Exit codes, as
``sessions``': 0 the session ended (closed, deleted, expired) or Ctrl-C;
1 the server refused or could not be reached (the line names the gRPC code);
2 bad usage; 3 the session does not exist.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from datetime import UTC
from typing import Any, Final, cast

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from rich.console import Console
from rich.text import Text

from adk_grpc_sessions.server.cli.remote import Remote
from adk_grpc_sessions.server.cli.sessions import EXIT_NOT_FOUND, EXIT_OK, EXIT_REFUSED, event_summary
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc

RESUMED_CODES: Final = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})
"""Statuses of a broken stream after which it is resumed (and RESOURCE_EXHAUSTED "WATCHER_TOO_SLOW")."""
MAX_BACKOFF: Final = 1.0
"""Longest wait in seconds between two attempts to reopen a stream."""
_REASONS: Final = {
    pb.WatchEnded.REASON_CLOSED: "closed",
    pb.WatchEnded.REASON_DELETED: "deleted",
    pb.WatchEnded.REASON_EXPIRED: "expired",
}


class _UnreachableError(Exception):
    """A broken stream could not be opened again within the time allowed."""


class _Printer:
    """Writes what the stream delivers: lines for people (rich), or JSON lines."""

    def __init__(self, as_json: bool) -> None:
        self._json = as_json
        self._console = Console(highlight=False, soft_wrap=False)

    def _line(self, record: dict[str, Any]) -> None:
        print(json.dumps(record, ensure_ascii=False), flush=True)

    def event(self, watched: pb.WatchedEvent) -> None:
        event = json.loads(watched.event.event_json)
        if self._json:
            self._line({"type": "event", "revision": watched.revision, "event": event})
            return
        stored = watched.event
        when = stored.timestamp.ToDatetime(tzinfo=UTC).astimezone().strftime("%H:%M:%S.%f")[:-3]
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(when, style="dim")
        line.append("  ")
        line.append(stored.author or "?", style="bold cyan" if stored.author != "user" else "bold green")
        line.append("  ")
        summary = " | ".join(event_summary(event))
        line.append(summary or ("(partial)" if event.get("partial") else "(no content)"))
        self._console.print(line)

    def caught_up(self, revision: int, shown: bool) -> None:
        if self._json:
            self._line({"type": "caught_up", "revision": revision})
        elif not shown:
            self._console.print(Text(f"-- live (revision {revision}); Ctrl-C to stop --", style="dim"))

    def ended(self, reason: str) -> None:
        if self._json:
            self._line({"type": "ended", "reason": reason})
        else:
            self._console.print(Text(f"-- session {reason} --", style="bold"))

    def resuming(self, revision: int, error: grpc.aio.AioRpcError) -> None:
        print(
            f"adk-grpc-sessions: tail: {error.code().name}: {error.details()}; "
            f"resuming after revision {revision}",
            file=sys.stderr,
            flush=True,
        )


def _reason(error: grpc.aio.AioRpcError) -> str:
    """The ``ErrorInfo.reason`` of a failed call, or ""."""
    try:
        status = rpc_status.from_call(error)
    except ValueError:
        return ""
    for detail in status.details if status is not None else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return str(info.reason)
    return ""


def _resumable(error: grpc.aio.AioRpcError) -> bool:
    return error.code() in RESUMED_CODES or (
        error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and _reason(error) == "WATCHER_TOO_SLOW"
    )


async def _start_revision(
    stub: pb_grpc.SessionServiceAsyncStub, remote: Remote, args: argparse.Namespace
) -> int:
    """The revision to watch after: 0 with ``--from-start``, else the session's revision now."""
    if args.from_start:
        return 0
    request = pb.GetSessionRequest(
        app_name=args.app, user_id=args.user, session_id=args.session, num_recent_events=0
    )
    response = await stub.GetSession(request, metadata=remote.metadata, timeout=remote.timeout)
    return response.session.revision


async def _tail(remote: Remote, args: argparse.Namespace, printer: _Printer) -> None:
    """Watches until the session ends; resumes broken streams after the last revision shown."""
    loop = asyncio.get_running_loop()
    async with remote.stub() as stub:
        revision = await _start_revision(stub, remote, args)
        caught_up_shown = False
        failures = 0  # attempts to reopen the stream since it last delivered something
        deadline = 0.0  # by when a broken stream must be open again
        while True:
            request = pb.WatchSessionRequest(
                app_name=args.app, user_id=args.user, session_id=args.session, after_revision=revision
            )
            call = stub.WatchSession(request, metadata=remote.metadata, wait_for_ready=failures > 0)
            try:
                while True:
                    # The server answers a new stream at once (its backlog or caught_up):
                    # only a reopened one that has not answered yet is bounded in time.
                    async with asyncio.timeout(max(deadline - loop.time(), 0) if failures else None):
                        read = await call.read()
                    if read is grpc.aio.EOF:
                        break  # closed without an end (a proxy, say): resume
                    message = cast(pb.WatchSessionResponse, read)
                    failures = 0
                    kind = message.WhichOneof("kind")
                    if kind == "events":
                        for watched in message.events.events:
                            printer.event(watched)
                            revision = watched.revision
                    elif kind == "caught_up":
                        revision = message.caught_up.revision
                        printer.caught_up(revision, caught_up_shown)
                        caught_up_shown = True
                    elif kind == "ended":
                        printer.ended(_REASONS.get(message.ended.reason, "ended"))
                        return
            except grpc.aio.AioRpcError as error:
                # A server unreachable from the start is reported at once, as by ``sessions``.
                if not (_resumable(error) and caught_up_shown) or (failures and loop.time() >= deadline):
                    raise
                printer.resuming(revision, error)
            except TimeoutError:
                raise _UnreachableError(
                    f"the server could not be reached again within {remote.timeout:g} s"
                ) from None
            finally:
                call.cancel()
            if failures == 0:  # it was open: the time to reopen it starts now
                deadline = loop.time() + remote.timeout
            failures += 1
            # Jittered, growing waits: many terminals tailing one server that restarts do not return at once.
            await asyncio.sleep(random.uniform(0, min(MAX_BACKOFF, 0.05 * 2**failures)))


def run(args: argparse.Namespace) -> int:
    """Runs ``tail``; its exit code."""
    printer = _Printer(args.json)
    try:
        remote = Remote.from_args(args)
        asyncio.run(_tail(remote, args, printer))
    except KeyboardInterrupt:
        return EXIT_OK
    except _UnreachableError as unreachable:
        print(f"adk-grpc-sessions: tail: UNAVAILABLE: {unreachable}", file=sys.stderr)
        return EXIT_REFUSED
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            print(f"adk-grpc-sessions: tail: {error.details()}", file=sys.stderr)
            return EXIT_NOT_FOUND
        print(f"adk-grpc-sessions: tail: {error.code().name}: {error.details()}", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK
