"""``copy`` into and out of Agent Engine (the stand-in, through the real client): SQLite -> Agent Engine -> SQLite.

Every row of the source that Agent Engine keeps comes back the same: events
byte for byte with their ids, timestamps and sequences, session state, app
and user state, creation and close times, display names and labels, far
expiries; what it cannot keep (update times and revisions, initial state,
fork origins) is left out of the comparison, as docs/backends.md says.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import signal
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adk_grpc_sessions.server.backends.base import (
    BackendRefusedError,
    EventWindow,
    Expiry,
    Metadata,
    Refusal,
    RestoredSession,
    ScopedState,
    SessionExistsError,
    SessionKey,
    StaleRevisionError,
)
from adk_grpc_sessions.server.backends.sql import SqlBackend, schema
from adk_grpc_sessions.server.backends.vertex import VertexBackend, mapping
from adk_grpc_sessions.server.cli.archive import export, import_file
from adk_grpc_sessions.server.cli.copy import copy
from adk_grpc_sessions.server.cli.transfer import restorable_event
from tests.ops.transfer_data import FAR, event_json, quiet, started_backend, table_rows
from tests.vertex_standin.server import serving
from tests.vertex_standin.service import SessionServiceStandIn

pytestmark = pytest.mark.slow

ENGINE = "projects/p/locations/us-central1/reasoningEngines/7"
SMALL_SESSIONS = 300
LONG_SESSION_EVENTS = 400
APPS = ("café ☕", "shop")

# Columns Agent Engine does not keep: its own update time (the revision is derived, and excluded by
# table_rows), the initial state and the fork origin.
_NOT_KEPT = {"last_update_time", "initial_state", "forked_from"}


@pytest.fixture
def standin() -> SessionServiceStandIn:
    return SessionServiceStandIn([ENGINE], operation_polls=0)


@pytest.fixture
async def agent_engine(standin: SessionServiceStandIn) -> AsyncIterator[str]:
    async with serving(standin) as address:
        yield f"agentengine://{ENGINE}?endpoint={address}&plaintext=true&timeout=10&operation_timeout=10"


async def _fill(backend: SqlBackend) -> None:
    """Sessions of two apps: unicode, one big event, one long session, metadata, closed and expiring ones."""
    for number in range(SMALL_SESSIONS):
        app = APPS[number % 2]
        key = SessionKey(app, f"ü-{number % 7} 😀", f"s-{number:04}")
        events = [
            restorable_event(
                event_json(
                    f"e{number}-{e}{'a' * (e % 2)}",
                    1_700_001_000.0 + number + e / 8,
                    f"inv-{e}",
                    ("日本語のテキスト " * (12_000 if (number, e) == (5, 1) else 3)) + "🦓",
                    {"k": e, "f": 1.5} if e else None,
                )
            )
            for e in range(1 + number % 3)
        ]
        head = RestoredSession(
            key=key,
            create_time=1_700_001_000.0 + number + 0.123456,
            last_update_time=1_700_001_001.0 + number,
            revision=0,
            state={"k": str(len(events) - 1), "f": "1.5", "name": '"Zoë ✓"'} if len(events) > 1 else {},
            initial_state={},
            event_count=len(events),
            expiry=Expiry(FAR + number, 86_400.0 * 3 if number % 8 == 0 else None)
            if number % 4 == 0
            else Expiry(),
            close_time=1_700_009_000.25 + number if number % 5 == 2 else None,
            metadata=Metadata(f"chat #{number} 💬", {"team": "search", "n": str(number)})
            if number % 3
            else Metadata(),
        )
        await backend.restore_session(head, events)
    long = SessionKey("shop", "long-user", "long")
    events = [
        restorable_event(event_json(f"l{n}", 1_700_002_000.0 + n / 1000, f"i{n // 100}", "x" * 800, {"n": n}))
        for n in range(LONG_SESSION_EVENTS)
    ]
    head = RestoredSession(
        long, 1_700_002_000.0, 1_700_002_003.0, 0, {"n": str(LONG_SESSION_EVENTS - 1)}, {}, len(events)
    )
    await backend.restore_session(head, events[:150])
    await backend.restore_events(long, 151, events[150:])
    await backend.restore_shared_state("shop", None, {"ver": "7", "motto": '"ça va 😀"'})
    await backend.restore_shared_state("café ☕", None, {"ver": "8"})
    for user in range(7):
        await backend.restore_shared_state(
            APPS[user % 2], f"ü-{user} 😀", {"plan": f'"gold {user}"', "n": "1"}
        )


_SESSION_COLUMNS = [c.name for c in schema.sessions.c if c.name not in ("session_pk", "revision")]
_KEPT_SESSION_COLUMNS = [name for name in _SESSION_COLUMNS if name not in _NOT_KEPT]


def _kept(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """``rows`` without the columns Agent Engine does not keep."""
    dropped = [index for index, name in enumerate(_SESSION_COLUMNS) if name in _NOT_KEPT]
    return {
        **rows,
        "sessions": [tuple(v for i, v in enumerate(row) if i not in dropped) for row in rows["sessions"]],
    }


async def _rows(uri: str) -> dict[str, list[tuple[Any, ...]]]:
    backend = await started_backend(uri)
    try:
        return _kept(await table_rows(backend))
    finally:
        await backend.close()


async def _source(tmp_path: pathlib.Path) -> tuple[str, dict[str, list[tuple[Any, ...]]]]:
    uri = f"sqlite:///{tmp_path / 'source.db'}"
    backend = await started_backend(uri)
    try:
        await _fill(backend)
    finally:
        await backend.close()
    return uri, await _rows(uri)


def _app_flags() -> list[str]:
    return [flag for app in APPS for flag in ("--app", app)]


async def test_sqlite_to_agent_engine_and_back_keeps_every_row_agent_engine_keeps(
    tmp_path: pathlib.Path, agent_engine: str
) -> None:
    source_uri, expected = await _source(tmp_path)
    total = SMALL_SESSIONS + 1
    assert len(expected["sessions"]) == total

    there = await copy(source_uri, agent_engine, console=quiet())
    assert there.problems == [] and there.sessions == total and there.sessions_written == total
    back_uri = f"sqlite:///{tmp_path / 'back.db'}"
    back = await copy(agent_engine, back_uri, console=quiet(), apps=APPS)
    assert back.problems == [] and back.sessions == total and back.events == there.events
    print(
        f"copy: {there.events} events in {total} sessions; into the stand-in {total / there.seconds:.0f} "
        f"sessions/s, {there.events / there.seconds:.0f} events/s; out of it {total / back.seconds:.0f} "
        f"sessions/s, {back.events / back.seconds:.0f} events/s"
    )
    rows = await _rows(back_uri)
    # A session that never expired has Agent Engine's default expiry now: every one of its sessions has one.
    at = _KEPT_SESSION_COLUMNS.index("expire_time")
    assert len(rows["sessions"]) == total
    for number, (row, source_row) in enumerate(zip(rows["sessions"], expected["sessions"], strict=True)):
        if source_row[at] is None:
            assert row[at] > time.time() + 300 * 86_400
            rows["sessions"][number] = (*row[:at], None, *row[at + 1 :])
    for table, expected_rows in expected.items():
        assert rows[table] == expected_rows, table


async def test_a_session_in_agent_engine_holds_its_app_and_user_state_and_its_source_times(
    tmp_path: pathlib.Path, agent_engine: str
) -> None:
    source_uri, _ = await _source(tmp_path)
    await copy(source_uri, agent_engine, console=quiet())
    backend = VertexBackend.from_uri(agent_engine)
    await backend.start()
    try:
        head = await backend.read_session_head(SessionKey("café ☕", "ü-2 😀", "s-0002"))
    finally:
        await backend.close()
    assert head is not None
    assert head.state == {
        "k": "2",
        "f": "1.5",
        "name": '"Zoë ✓"',
        "app:ver": "8",
        "user:plan": '"gold 2"',
        "user:n": "1",
    }
    assert (head.create_time, head.close_time, head.event_count) == (
        1_700_001_002.123456,
        1_700_009_002.25,
        3,
    )
    assert head.metadata == Metadata("chat #2 💬", {"team": "search", "n": "2"})
    assert head.expiry.expire_time is not None and head.expiry.expire_time > time.time() + 86_400


async def test_a_copy_killed_while_writing_into_agent_engine_finishes_when_run_again_without_duplicates(
    tmp_path: pathlib.Path, agent_engine: str, standin: SessionServiceStandIn
) -> None:
    source_uri, _ = await _source(tmp_path)
    total = SMALL_SESSIONS + 1
    command = [sys.executable, "-m", "adk_grpc_sessions.server.cli", "copy", "--from", source_uri]
    command += ["--to", agent_engine]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    # Killed in the middle of the long session: created, with some of its events (appended one by one).
    long = f"{ENGINE}/sessions/long"
    deadline = time.monotonic() + 120
    while long not in standin.sessions or len(standin.sessions[long].events) < LONG_SESSION_EVENTS // 10:
        assert time.monotonic() < deadline and process.returncode is None, "the copy did not get going"
        await asyncio.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    assert 0 < len(standin.sessions) < total
    assert 0 < len(standin.sessions[long].events) < LONG_SESSION_EVENTS
    rerun = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )
    _, err = await asyncio.wait_for(rerun.communicate(), timeout=300)
    assert rerun.returncode == 0, err.decode()
    assert "verified" in err.decode()
    expected_events = await _rows(source_uri)
    stored_ids = [
        (name, json.loads(event.raw_event.fields[mapping.EXACT_JSON_KEY].string_value)["id"])
        for name, stored in standin.sessions.items()
        for event in stored.events
    ]
    assert len(standin.sessions) == total
    assert len(stored_ids) == len(set(stored_ids)) == len(expected_events["events"])
    assert [event_id for name, event_id in stored_ids if name == long] == [
        f"l{n}" for n in range(LONG_SESSION_EVENTS)
    ]


@pytest.fixture
async def backend(agent_engine: str) -> AsyncIterator[VertexBackend]:
    backend = VertexBackend.from_uri(agent_engine)
    await backend.start()
    yield backend
    await backend.close()


def _head(session_id: str, state: dict[str, str], event_count: int) -> RestoredSession:
    return RestoredSession(SessionKey("app", "u", session_id), 5.0, 6.0, 0, state, None, event_count)


def _events(count: int) -> list[Any]:
    return [restorable_event(event_json(f"e{n}", 10.0 + n, "i", "t", {"k": n})) for n in range(count)]


async def test_restored_events_do_not_apply_their_state_deltas_again(backend: VertexBackend) -> None:
    head = _head("s1", {"k": "7", "app:v": '"now"'}, 3)
    await backend.restore_session(head, _events(3))
    read = await backend.read_session_head(head.key)
    assert read is not None and read.state == {"k": "7", "app:v": '"now"'} and read.event_count == 3
    page = await backend.list_events(head.key, None, 10, None)
    assert [event.event_json for event in page.items] == [event.event_json for event in _events(3)]


async def test_a_restore_resumes_only_where_the_stored_events_end(backend: VertexBackend) -> None:
    head = _head("s1", {}, 4)
    events = _events(4)
    await backend.restore_session(head, events[:2])
    with pytest.raises(StaleRevisionError):
        await backend.restore_events(head.key, 2, events[1:])
    await backend.restore_events(head.key, 3, events[2:])
    read = await backend.read_session_head(head.key)
    assert read is not None and read.event_count == 4
    with pytest.raises(SessionExistsError):
        await backend.restore_session(head)


async def test_a_session_id_agent_engine_refuses_is_refused_as_invalid_input(backend: VertexBackend) -> None:
    with pytest.raises(BackendRefusedError) as raised:
        await backend.restore_session(_head("Not_An_Id", {}, 0))
    assert (raised.value.refusal, raised.value.reason) == (Refusal.INVALID_INPUT, "INVALID_SESSION_ID")


async def test_a_copy_reports_what_agent_engine_cannot_take_and_copies_the_rest(
    tmp_path: pathlib.Path, agent_engine: str
) -> None:
    source_uri = f"sqlite:///{tmp_path / 'a.db'}"
    source = await started_backend(source_uri)
    for session_id in ("good", "Bad_Id"):
        await source.restore_session(_head(session_id, {"n": "1"}, 2), _events(2))
    deep: Any = 1
    for _ in range(30):
        deep = {"a": deep}
    too_deep = restorable_event(event_json("d1", 20.0, "i", "t", {"deep": deep}))
    await source.restore_session(_head("deep", {}, 2), [*_events(1), too_deep])
    await source.restore_shared_state("no-sessions", None, {"a": "1"})
    await source.close()
    report = await copy(source_uri, agent_engine, console=quiet())
    assert report.sessions_written == 1 and len(report.problems) == 4, report.problems
    refused_id, refused_deep, not_kept, counts = report.problems
    assert "'Bad_Id'" in refused_id and "is not an Agent Engine session id" in refused_id
    assert "'deep'" in refused_deep and "nested deeper than 30 levels" in refused_deep
    assert "app state of 'no-sessions' is not kept" in not_kept
    assert counts.startswith("count check: the destination holds 1 sessions with 2 events")


async def test_copy_from_agent_engine_without_an_app_is_refused_in_one_line_with_exit_2(
    agent_engine: str,
) -> None:
    done = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adk_grpc_sessions.server.cli",
        "copy",
        "--from",
        agent_engine,
        "--to",
        "memory://",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "400"},
    )
    _, err = await done.communicate()
    assert done.returncode == 2
    assert err.decode().count("\n") == 1 and "name each app to copy with --app NAME" in err.decode()


async def test_export_from_agent_engine_imports_into_another_engine_idempotently(
    tmp_path: pathlib.Path, standin: SessionServiceStandIn
) -> None:
    other = "projects/p/locations/us-central1/reasoningEngines/8"
    standin.engines.add(other)
    source_uri, _ = await _source(tmp_path)
    file = str(tmp_path / "engine.jsonl.gz")
    async with serving(standin) as address:
        query = f"?endpoint={address}&plaintext=true&timeout=10&operation_timeout=10"
        await copy(source_uri, f"agentengine://{ENGINE}{query}", console=quiet())
        exported = await export(f"agentengine://{ENGINE}{query}", file, console=quiet(), apps=APPS)
        assert exported.problems == [] and exported.sessions == SMALL_SESSIONS + 1
        imported = await import_file(file, f"agentengine://{other}{query}", console=quiet())
        assert imported.problems == [] and imported.sessions_written == SMALL_SESSIONS + 1
        again = await import_file(file, f"agentengine://{other}{query}", console=quiet())
        assert again.problems == [] and again.sessions_written == 0 and again.events_written == 0
    events_of = {
        engine: sorted(
            event.raw_event.fields[mapping.EXACT_JSON_KEY].string_value
            for name, stored in standin.sessions.items()
            if name.startswith(engine + "/")
            for event in stored.events
        )
        for engine in (ENGINE, other)
    }
    assert events_of[ENGINE] == events_of[other] and len(events_of[ENGINE]) == exported.events


async def test_app_and_user_state_from_agent_engine_are_those_of_the_latest_updated_session_holding_each_key(
    tmp_path: pathlib.Path, backend: VertexBackend, agent_engine: str
) -> None:
    older, newer = SessionKey("app", "u", "older"), SessionKey("app", "u", "newer")
    for key in (older, newer):
        state = ScopedState(app={"v": f'"{key.session_id}"', key.session_id: "1"}, user={"plan": '"basic"'})
        await backend.create_session(key, state, 0.0)
    read = await backend.get_session(older, EventWindow(num_recent_events=0))
    assert read is not None
    revision = read.revision
    delta = {"app:v": "again", "user:plan": "gold"}
    await backend.append_event(older, restorable_event(event_json("e1", 30.0, "i", "t", delta)), revision)
    destination_uri = f"sqlite:///{tmp_path / 'back.db'}"
    report = await copy(agent_engine, destination_uri, console=quiet(), apps=["app"])
    assert report.problems == [] and report.sessions == 2
    destination = await started_backend(destination_uri)
    try:
        assert await destination.get_app_state("app") == {"v": '"again"', "older": "1", "newer": "1"}
        assert await destination.get_user_state("app", "u") == {"plan": '"gold"'}
        session = await destination.get_session(newer, EventWindow())
        assert session is not None and session.state.session == {}
    finally:
        await destination.close()
