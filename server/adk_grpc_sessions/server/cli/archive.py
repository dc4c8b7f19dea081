"""``export --from URI --to FILE`` and ``import --from FILE --to URI``: a backend's data in a file.

The file is JSON Lines, version 1 (docs/operations.md specifies it): a
header, then one record a line (app state, user state, a session followed
by its events in order), then a trailer with the counts and a SHA-256 of
every line before it. Gzip-compressed when the file's name ends in
``.gz``. Both directions stream: one line in memory at a time (a session's
events are read and written in chunks). An export is written to
``FILE.partial`` and renamed when complete, so a file under the name asked
for is always whole. An import is a ``transfer`` into the destination:
resumable, verified, and idempotent (run twice, the second stores nothing).

Exactness: event JSON and state values are carried as JSON *text* (strings
in the file), never re-encoded; times are float seconds, whose JSON form
reads back as the same float.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import io
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, Any, Final

import pydantic_core
from rich.console import Console

from adk_grpc_sessions.server.backends import redact_uri
from adk_grpc_sessions.server.backends.base import (
    Expiry,
    ForkOrigin,
    Metadata,
    NewEvent,
    RestoredSession,
    SessionKey,
)
from adk_grpc_sessions.server.cli import copy, transfer

FORMAT: Final = "adk-grpc-sessions-export"
VERSION: Final = 1
"""The file format's version: a reader refuses a file of a later one."""


def run(args: argparse.Namespace) -> int:
    """Runs ``export`` or ``import``; 0 when complete (and, for an import, verified), 1 otherwise."""
    console = Console(stderr=True, soft_wrap=True)
    if args.command == "export":
        report = asyncio.run(export(args.source, args.file, console=console, apps=args.apps))
    else:
        report = asyncio.run(import_file(args.file, args.destination, console=console))
    return 0 if report.complete else 1


async def export(
    source_uri: str, file: str, *, console: Console, apps: Sequence[str] | None = None
) -> transfer.Report:
    """Writes everything of ``source_uri`` (of ``apps`` only, if given) to ``file`` ("-": stdout).

    Raises:
        ValueError: the URI is malformed, or the source cannot list its apps and ``apps`` names none.
        OSError: the file cannot be written.
        BackendError: the source cannot be reached or read.
    """
    async with copy.open_source(source_uri, apps) as source:
        writer = _Writer(file)
        try:
            report = await _export(source, source_uri, writer, console)
        except BaseException:
            writer.abandon()
            raise
        writer.finish()
    transfer.print_summary(report, console, f"{redact_uri(source_uri)} -> {file}")
    return report


async def _export(
    source: transfer.Source, source_uri: str, writer: _Writer, console: Console
) -> transfer.Report:
    totals = await source.totals()
    writer.line(
        {
            "format": FORMAT,
            "version": VERSION,
            "created": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "source": redact_uri(source_uri),
            "sessions": None if totals is None else totals.sessions,
            "events": None if totals is None else totals.events,
        }
    )
    report = transfer.Report()
    started = time.monotonic()
    progress = transfer.Progress(console, totals, "exporting")
    with progress:
        async for item in source.items():
            if isinstance(item, transfer.SharedState):
                writer.line(_state_record(item))
                if item.user_id is None:
                    report.app_states += 1
                else:
                    report.user_states += 1
                continue
            report.sessions += 1
            writer.line(_session_record(item.head))
            sequence = 0
            async for chunk in item.events:
                for event in chunk:
                    sequence += 1
                    writer.line({"type": "event", "sequence": sequence, "event_json": event.event_json})
            report.events += sequence
            progress.update(report)
    report.problems += getattr(source, "problems", [])
    report.seconds = time.monotonic() - started
    writer.trailer(
        {
            "type": "end",
            "sessions": report.sessions,
            "events": report.events,
            "app_states": report.app_states,
            "user_states": report.user_states,
        }
    )
    return report


async def import_file(file: str, destination_uri: str, *, console: Console) -> transfer.Report:
    """Writes what export ``file`` holds into ``destination_uri``; verified as ``copy`` verifies.

    Raises:
        ValueError: the file is not an export of a version this reads.
        OSError: the file cannot be read.
        BackendError: the destination cannot be reached or written.
    """
    source = FileSource(file)
    try:
        async with copy.open_destination(destination_uri) as destination:
            report = await transfer.write_all(source, destination, console=console, what="importing")
            report.problems += source.problems
            await transfer.count_check(destination, report)
    finally:
        source.close()
    transfer.print_summary(report, console, f"{file} -> {redact_uri(destination_uri)}")
    return report


def _state_record(item: transfer.SharedState) -> dict[str, Any]:
    if item.user_id is None:
        return {"type": "app_state", "app_name": item.app_name, "state": item.state}
    return {"type": "user_state", "app_name": item.app_name, "user_id": item.user_id, "state": item.state}


def _session_record(head: RestoredSession) -> dict[str, Any]:
    origin = head.forked_from
    return {
        "type": "session",
        "app_name": head.key.app_name,
        "user_id": head.key.user_id,
        "session_id": head.key.session_id,
        "create_time": head.create_time,
        "last_update_time": head.last_update_time,
        "revision": head.revision,
        "event_count": head.event_count,
        "state": head.state,
        "initial_state": head.initial_state,
        "expire_time": head.expiry.expire_time,
        "ttl": head.expiry.ttl,
        "close_time": head.close_time,
        "display_name": head.metadata.display_name,
        "labels": dict(head.metadata.labels),
        "forked_from": None
        if origin is None
        else {
            "session_id": origin.session_id,
            "event_count": origin.event_count,
            "before_invocation_id": origin.before_invocation_id,
            "fork_time": origin.fork_time,
        },
    }


def _session_head(record: dict[str, Any]) -> RestoredSession:
    origin = record["forked_from"]
    return RestoredSession(
        key=SessionKey(record["app_name"], record["user_id"], record["session_id"]),
        create_time=float(record["create_time"]),
        last_update_time=float(record["last_update_time"]),
        revision=int(record["revision"]),
        state=dict(record["state"]),
        initial_state=None if record["initial_state"] is None else dict(record["initial_state"]),
        event_count=int(record["event_count"]),
        expiry=Expiry(_optional_float(record["expire_time"]), _optional_float(record["ttl"])),
        close_time=_optional_float(record["close_time"]),
        metadata=Metadata(record["display_name"], dict(record["labels"]))
        if record["display_name"] or record["labels"]
        else Metadata(),
        forked_from=None
        if origin is None
        else ForkOrigin(
            origin["session_id"],
            int(origin["event_count"]),
            origin["before_invocation_id"],
            float(origin["fork_time"]),
        ),
    )


def _optional_float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _open_for_reading(file: str) -> IO[str]:
    if file == "-":
        return sys.stdin
    if file.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(file, "rb"), encoding="utf-8", newline="\n")
    return open(file, encoding="utf-8", newline="\n")


class _Writer:
    """Writes lines to ``FILE.partial``, renamed ``FILE`` when finished (or stdout); hashes every line."""

    def __init__(self, file: str) -> None:
        self._file = file
        self._partial = file + ".partial"
        self._stream: IO[str]
        if file == "-":
            self._stream = sys.stdout
        elif file.endswith(".gz"):
            compressed = gzip.open(self._partial, "wb")  # noqa: SIM115 - closed by finish or abandon
            self._stream = io.TextIOWrapper(compressed, encoding="utf-8", newline="\n")
        else:
            self._stream = open(self._partial, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 - as above
        self._digest = hashlib.sha256()

    def line(self, record: dict[str, Any]) -> None:
        """Writes one record as a line."""
        text = pydantic_core.to_json(record).decode() + "\n"
        self._digest.update(text.encode())
        self._stream.write(text)

    def trailer(self, record: dict[str, Any]) -> None:
        """Writes the last line: ``record`` with the SHA-256 of every line before it."""
        self.line({**record, "sha256": self._digest.hexdigest()})

    def finish(self) -> None:
        """Closes the file and gives it its name."""
        if self._file == "-":
            self._stream.flush()
            return
        self._stream.close()
        os.replace(self._partial, self._file)

    def abandon(self) -> None:
        """Closes the file, leaving it ``.partial``."""
        if self._file != "-":
            self._stream.close()


class FileSource:
    """An export file read as a ``transfer.Source``, line by line; what is wrong with it goes to ``problems``.

    Raises (on construction):
        ValueError: the file is not an export, or of a later version.
    """

    def __init__(self, file: str) -> None:
        self._name = file
        self._stream = _open_for_reading(file)
        self._digest = hashlib.sha256()
        self._pending: tuple[str, str] | None = None
        self.problems: list[str] = []
        first = self._next_line()
        header = self._record(first[0] if first else "{}")
        if header.get("format") != FORMAT:
            raise ValueError(f"{file}: not an {FORMAT} file")
        if not isinstance(header.get("version"), int) or header["version"] > VERSION:
            raise ValueError(
                f"{file}: format version {header.get('version')!r}; this reads {VERSION} and before"
            )
        self.header = header

    def close(self) -> None:
        """Closes the file (not stdin)."""
        if self._stream is not sys.stdin:
            self._stream.close()

    async def totals(self) -> transfer.Totals | None:
        """The counts the header announces (what the source held when the export began)."""
        sessions, events = self.header.get("sessions"), self.header.get("events")
        if isinstance(sessions, int) and isinstance(events, int):
            return transfer.Totals(sessions, events)
        return None

    def _next_line(self) -> tuple[str, str] | None:
        """The next line, and the SHA-256 of every line before it; None at the end of the file."""
        if self._pending is not None:
            read, self._pending = self._pending, None
            return read
        line = self._stream.readline()
        if not line:
            return None
        before = self._digest.hexdigest()
        self._digest.update(line.encode())
        return line, before

    def _record(self, line: str) -> dict[str, Any]:
        try:
            record = pydantic_core.from_json(line)
        except ValueError as exc:
            raise ValueError(f"{self._name}: a line that is not JSON: {exc}") from None
        if not isinstance(record, dict):
            raise ValueError(f"{self._name}: a line that is not a JSON object")
        return record

    async def items(self) -> AsyncIterator[transfer.Item]:
        """See ``transfer.Source.items``; checks the trailer's counts and checksum at the end."""
        sessions = events = app_states = user_states = 0
        while True:
            read = self._next_line()
            if read is None:
                self.problems.append(f"{self._name}: ends without its trailer (cut short?)")
                return
            line, before = read
            record = self._record(line)
            match record.get("type"):
                case "app_state":
                    app_states += 1
                    yield transfer.SharedState(record["app_name"], None, dict(record["state"]))
                case "user_state":
                    user_states += 1
                    yield transfer.SharedState(record["app_name"], record["user_id"], dict(record["state"]))
                case "session":
                    sessions += 1
                    counted = [0]
                    yield transfer.SessionCopy(_session_head(record), self._events(counted))
                    events += counted[0]
                case "end":
                    self._check_trailer(record, before, (sessions, events, app_states, user_states))
                    return
                case other:
                    raise ValueError(f"{self._name}: a record of unknown type {other!r}")

    def _check_trailer(self, record: dict[str, Any], digest: str, counts: tuple[int, int, int, int]) -> None:
        """Compares the trailer's counts and checksum (``digest``: of the lines before it) with the file."""
        fields = ("sessions", "events", "app_states", "user_states")
        expected = tuple(record.get(name) for name in fields)
        if expected != counts:
            self.problems.append(f"{self._name}: the trailer counts {expected}, the file holds {counts}")
        if record.get("sha256") != digest:
            self.problems.append(f"{self._name}: its checksum does not match its lines (altered or damaged)")

    async def _events(self, counted: list[int]) -> AsyncIterator[list[NewEvent]]:
        for chunk in transfer.chunked(self._event_lines(counted)):
            yield chunk

    def _event_lines(self, counted: list[int]) -> Iterator[NewEvent]:
        while True:
            read = self._next_line()
            if read is None:
                return
            record = self._record(read[0])
            if record.get("type") != "event":
                self._pending = read
                return
            counted[0] += 1
            if record.get("sequence") != counted[0]:
                raise ValueError(f"{self._name}: event {record.get('sequence')!r} where {counted[0]} was due")
            yield transfer.restorable_event(record["event_json"])
