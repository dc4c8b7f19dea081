"""``copy --from adk://`` (``import-adk``): an ADK DatabaseSessionService database, built by google-adk, copied losslessly.

Every session is then read through both services, ADK's own on the source
and ``GrpcSessionService`` against a server on the copy, and must be equal.
"""

from __future__ import annotations

import asyncio
import io
import os
import pathlib
import pickle
import subprocess
import sys

import pytest
import sqlalchemy as sa
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.database_session_service import DatabaseSessionService
from google.adk.sessions.schemas import v0
from google.genai import types
from rich.console import Console
from sqlalchemy.ext.asyncio import create_async_engine

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.api import messages
from adk_grpc_sessions.server.backends.base import EventWindow, SessionKey
from adk_grpc_sessions.server.backends.sql import SqlBackend, dialects
from adk_grpc_sessions.server.cli.copy import copy
from adk_grpc_sessions.server.cli.main import main
from adk_grpc_sessions.server.cli.transfer import Report
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from tests import databases

pytestmark = pytest.mark.slow


def _events(session_index: int) -> list[Event]:
    """A varied conversation: text, a tool call and its answer, bytes, metadata, state deltas."""
    base = 1_750_000_000.0 + session_index * 100
    return [
        Event(
            author="user",
            invocation_id="inv-1",
            timestamp=base + 0.125,
            content=types.Content(role="user", parts=[types.Part(text=f"héllo 😀 #{session_index}")]),
        ),
        Event(
            author="agent",
            invocation_id="inv-1",
            branch="root.agent",
            timestamp=base + 1.5,
            content=types.Content(
                role="model",
                parts=[
                    types.Part(
                        function_call=types.FunctionCall(id="call-1", name="lookup", args={"q": [1, 2]})
                    )
                ],
            ),
            actions=EventActions(state_delta={"turns": 1, "user:seen": True, "app:version": 2**62}),
        ),
        Event(
            author="agent",
            invocation_id="inv-1",
            timestamp=base + 2.75,
            content=types.Content(
                role="user",
                parts=[
                    types.Part(
                        function_response=types.FunctionResponse(
                            id="call-1", name="lookup", response={"ok": 1.5}
                        )
                    ),
                    types.Part(inline_data=types.Blob(mime_type="image/png", data=bytes(range(256)))),
                ],
            ),
            custom_metadata={"trace": {"nested": ["a", None, 3]}},
            actions=EventActions(state_delta={"turns": 2, "user:prefs": {"lang": "fr", "n": [1, 2.5]}}),
        ),
    ]


async def _fill(adk: DatabaseSessionService) -> None:
    """Two apps, three users, sessions with and without events."""
    for index in range(5):
        app_name = "app-a" if index < 4 else "app-b"
        session = await adk.create_session(
            app_name=app_name,
            user_id=f"user-{index % 3}",
            session_id=f"session-{index}",
            state={"topic": f"t{index}", "app:motd": "hi", f"user:u{index}": index},
        )
        if index != 3:
            for event in _events(index):
                await adk.append_event(session, event)


async def _compare(adk: DatabaseSessionService, target_uri: str) -> None:
    server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend=target_uri))
    await server.start()
    try:
        async with GrpcSessionService(f"127.0.0.1:{server.ports[0]}") as ours:
            for app_name in ("app-a", "app-b"):
                theirs_listed = (await adk.list_sessions(app_name=app_name)).sessions
                ours_listed = (await ours.list_sessions(app_name=app_name)).sessions
                assert sorted(s.id for s in ours_listed) == sorted(s.id for s in theirs_listed)
                for listed in theirs_listed:
                    user_id, session_id = listed.user_id, listed.id
                    expected = await adk.get_session(
                        app_name=app_name, user_id=user_id, session_id=session_id
                    )
                    copied = await ours.get_session(app_name=app_name, user_id=user_id, session_id=session_id)
                    assert expected is not None and copied is not None
                    assert copied.state == expected.state
                    assert copied.events == expected.events
                    assert [e.model_dump_json(by_alias=True, exclude_none=True) for e in copied.events] == [
                        e.model_dump_json(by_alias=True, exclude_none=True) for e in expected.events
                    ]
                    assert copied.last_update_time == expected.last_update_time
                    assert await ours.get_user_state(app_name=app_name, user_id=listed.user_id) == (
                        await adk.get_user_state(app_name=app_name, user_id=listed.user_id)
                    )
    finally:
        await server.stop(grace=1.0)
    await _assert_encoded_as_appended(adk, target_uri)


async def _assert_encoded_as_appended(adk: DatabaseSessionService, target_uri: str) -> None:
    """Every copied event carries the encoding an append makes, so reads send it as stored."""
    backend = SqlBackend.from_uri(target_uri)
    await backend.start()
    try:
        for app_name in ("app-a", "app-b"):
            for listed in (await adk.list_sessions(app_name=app_name)).sessions:
                key = SessionKey(app_name, listed.user_id, listed.id)
                record = await backend.get_session(key, EventWindow())
                assert record is not None
                assert all(event.wire_cache for event in record.events)
                response = pb.GetSessionResponse.FromString(messages.get_session_response(record).data)
                assert response == pb.GetSessionResponse(session=messages.session_message(record))
    finally:
        await backend.close()


def _quiet() -> Console:
    return Console(file=io.StringIO(), force_terminal=False)


async def import_adk(source: str, target: str, *, console: Console) -> Report:
    """What ``import-adk --from SOURCE --backend TARGET`` runs."""
    return await copy("adk://" + source, target, console=console)


def _assert_complete(report: Report, copied: int, already: int) -> None:
    assert report.problems == []
    assert (report.sessions, report.sessions_written, report.sessions - report.sessions_written) == (
        5,
        copied,
        already,
    )
    assert report.events == 12


async def test_import_from_sqlite_copies_every_session_losslessly(tmp_path: pathlib.Path) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path / 'adk.db'}"
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    async with DatabaseSessionService(source) as adk:
        await _fill(adk)
        report = await import_adk(source, target, console=_quiet())
        _assert_complete(report, copied=5, already=0)
        await _compare(adk, target)


async def test_import_from_postgres_into_the_same_database(tmp_path: pathlib.Path) -> None:
    uri = await databases.server_for_tests("postgresql").create_database()
    async with DatabaseSessionService(str(dialects.database_url(uri).render_as_string(False))) as adk:
        await _fill(adk)
        # Our tables are prefixed, so they can live next to ADK's in one database.
        report = await import_adk(uri, uri, console=_quiet())
        _assert_complete(report, copied=5, already=0)
        await _compare(adk, uri)


async def test_rerunning_an_import_skips_what_is_there(tmp_path: pathlib.Path) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path / 'adk.db'}"
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    async with DatabaseSessionService(source) as adk:
        await _fill(adk)
    first = await import_adk(source, target, console=_quiet())
    second = await import_adk(source, target, console=_quiet())
    _assert_complete(first, copied=5, already=0)
    _assert_complete(second, copied=0, already=5)


async def _v0_database(path: pathlib.Path) -> str:
    """An empty database in ADK's older layout (pickled actions); ADK keeps writing it that way."""
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(v0.Base.metadata.create_all)
    await engine.dispose()
    return url


async def test_import_from_the_pickled_v0_layout(tmp_path: pathlib.Path) -> None:
    source = await _v0_database(tmp_path / "adk-v0.db")
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    async with DatabaseSessionService(source) as adk:
        await _fill(adk)
        report = await import_adk(source, target, console=_quiet())
        _assert_complete(report, copied=5, already=0)
        await _compare(adk, target)


class _Hostile:
    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


async def test_a_v0_pickle_that_would_run_code_is_refused_not_run(tmp_path: pathlib.Path) -> None:
    source = await _v0_database(tmp_path / "adk-v0.db")
    marker = tmp_path / "pwned"
    async with DatabaseSessionService(source) as adk:
        await _fill(adk)
    engine = create_async_engine(source)
    async with engine.begin() as connection:
        await connection.execute(
            sa.text(
                "INSERT INTO events (id, app_name, user_id, session_id, invocation_id, author, actions, timestamp) "
                "VALUES ('evil', 'app-a', 'user-0', 'session-0', 'inv', 'x', :actions, '2030-01-01 00:00:00')"
            ),
            {"actions": pickle.dumps(_Hostile(marker))},
        )
    await engine.dispose()
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    command = [sys.executable, "-m", "adk_grpc_sessions.server.cli", "import-adk", "--from", source]
    # A process of its own: the command runs its own event loop.
    done = await asyncio.to_thread(
        subprocess.run,
        [*command, "--backend", target],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "verification failed" in done.stderr
    assert not marker.exists()
    report = await import_adk(source, target, console=_quiet())
    # The session whose events could not be read was left as far as they could (none of them).
    assert report.sessions_written == 0 and report.sessions == 5
    assert report.events == 9
    assert len(report.problems) == 1
    assert "session-0" in report.problems[0] and "posix.system" in report.problems[0]
    assert not marker.exists()


def test_import_from_a_missing_file_is_an_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["import-adk", "--from", f"sqlite:///{tmp_path / 'nope.db'}", "--backend", "memory://"])
    assert status == 2
    assert "error" in capsys.readouterr().err
