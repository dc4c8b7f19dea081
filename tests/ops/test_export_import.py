"""``export`` and ``import``: a versioned JSON Lines file, streamed both ways, round trip exact, import idempotent."""

from __future__ import annotations

import asyncio
import gzip
import json
import pathlib
import sys

import pytest

from adk_grpc_sessions.server.cli.archive import FORMAT, VERSION, export, import_file
from tests.ops.transfer_data import RICH_EVENTS, RICH_SESSIONS, fill, quiet, started_backend, table_rows

SMALL_SESSIONS = 150
BIG_SESSION_EVENTS = 600


@pytest.fixture
async def source(tmp_path: pathlib.Path) -> str:
    """A SQLite database of every kind of session; its URI."""
    uri = f"sqlite:///{tmp_path / 'source.db'}"
    backend = await started_backend(uri)
    try:
        await fill(backend, SMALL_SESSIONS, BIG_SESSION_EVENTS)
    finally:
        await backend.close()
    return uri


async def _rows(uri: str) -> dict[str, list[tuple[object, ...]]]:
    backend = await started_backend(uri)
    try:
        return await table_rows(backend)
    finally:
        await backend.close()


async def _command(*arguments: str) -> tuple[int, str]:
    """``adk-grpc-sessions ARGUMENTS`` as a process of its own: its exit status and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adk_grpc_sessions.server.cli",
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode is not None
    return process.returncode, err.decode()


@pytest.mark.parametrize("name", ["backup.jsonl", "backup.jsonl.gz"])
async def test_export_then_import_gives_back_every_row(
    source: str, tmp_path: pathlib.Path, name: str
) -> None:
    file = tmp_path / name
    status, err = await _command("export", "--from", source, "--to", str(file))
    assert status == 0, err
    assert not (tmp_path / (name + ".partial")).exists()
    destination = f"sqlite:///{tmp_path / 'restored.db'}"
    status, err = await _command("import", "--from", str(file), "--to", destination)
    assert status == 0, err
    assert "verified" in err
    assert await _rows(destination) == await _rows(source)
    raw = file.read_bytes()
    text = gzip.decompress(raw).decode() if name.endswith(".gz") else raw.decode()
    records = [json.loads(line) for line in text.splitlines()]
    header, trailer = records[0], records[-1]
    sessions = RICH_SESSIONS + SMALL_SESSIONS + 1
    events = RICH_EVENTS + SMALL_SESSIONS * 3 // 2 + BIG_SESSION_EVENTS
    assert (header["format"], header["version"], header["sessions"], header["events"]) == (
        FORMAT,
        VERSION,
        sessions,
        events,
    )
    assert header["source"] == source and header["created"].endswith("Z")
    assert (trailer["type"], trailer["sessions"], trailer["events"]) == ("end", sessions, events)
    kinds = [record["type"] for record in records[1:-1]]
    assert kinds.count("session") == sessions and kinds.count("event") == events
    assert {"app_state", "user_state"} <= set(kinds)


async def test_importing_twice_stores_nothing_new(source: str, tmp_path: pathlib.Path) -> None:
    file = str(tmp_path / "backup.jsonl")
    await export(source, file, console=quiet())
    destination = f"sqlite:///{tmp_path / 'restored.db'}"
    first = await import_file(file, destination, console=quiet())
    rows = await _rows(destination)
    second = await import_file(file, destination, console=quiet())
    assert first.problems == [] and second.problems == []
    assert first.sessions_written == RICH_SESSIONS + SMALL_SESSIONS + 1
    assert (second.sessions_written, second.events_written) == (0, 0)
    assert second.sessions == first.sessions and second.events == first.events
    assert await _rows(destination) == rows


async def test_a_damaged_file_is_reported_and_exits_1(source: str, tmp_path: pathlib.Path) -> None:
    file = tmp_path / "backup.jsonl"
    await export(source, str(file), console=quiet())
    lines = file.read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[: len(lines) // 2]))
    status, err = await _command("import", "--from", str(cut), "--to", f"sqlite:///{tmp_path / 'cut.db'}")
    assert status == 1 and "without its trailer" in err, err
    altered = tmp_path / "altered.jsonl"
    # A state value changed in place: every record still well formed, the checksum is not.
    index = next(n for n, line in enumerate(lines) if '"type":"app_state"' in line)
    lines[index] = lines[index].replace('"ver"', '"VER"', 1)
    altered.write_text("".join(lines))
    status, err = await _command("import", "--from", str(altered), "--to", f"sqlite:///{tmp_path / 'alt.db'}")
    assert status == 1 and "checksum does not match" in err, err


async def test_a_file_of_a_later_version_or_another_kind_is_refused_in_one_line(
    tmp_path: pathlib.Path,
) -> None:
    later = tmp_path / "later.jsonl"
    later.write_text(json.dumps({"format": FORMAT, "version": VERSION + 1}) + "\n")
    other = tmp_path / "other.jsonl"
    other.write_text('{"hello": "world"}\n')
    for file, said in ((later, "format version"), (other, "not an")):
        status, err = await _command("import", "--from", str(file), "--to", "memory://")
        assert status == 2 and said in err and err.count("\n") == 1, err
