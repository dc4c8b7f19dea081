"""``adk-grpc-sessions sessions list|show|delete|erase-user``: a real server, reached through its API as a remote one.

Every command runs as a user runs it (a process of its own), against a real
server process; what it prints is checked against what the server holds,
read through the Python client. Scripts rely on ``--json`` and the exit codes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.genai import types

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.runtime.auth import grant_line
from tests.server_process import ServerProcess

APP = "shop"
TOKEN = (("authorization", "Bearer token-ops"),)
"""The metadata of the Python client's calls: the token the server grants app ``APP``."""


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[str]:
    """A real server on a SQLite file, which asks for a token; its address. The token is ``token-ops``."""
    tokens = tmp_path / "tokens"
    tokens.write_text(
        grant_line("ops", "token-ops", [APP]) + "\n" + grant_line("all", "token-all", ["*"]) + "\n"
    )
    process = await ServerProcess(
        [
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--backend",
            f"sqlite+aiosqlite:///{tmp_path / 'sessions.db'}",
            "--tokens-file",
            str(tokens),
        ]
    ).start()
    try:
        address = await process.address()
        async with GrpcSessionService(address, metadata=TOKEN) as client:
            session = await client.create_session(
                app_name=APP, user_id="ada", session_id="s1", state={"cart": [1], "user:tier": "gold"}
            )
            await client.append_event(
                session,
                Event(
                    author="user",
                    invocation_id="i1",
                    content=types.Content(role="user", parts=[types.Part(text="buy milk, please")]),
                ),
            )
            await client.append_event(
                session,
                Event(
                    author="shop_agent",
                    invocation_id="i1",
                    content=types.Content(
                        role="model",
                        parts=[
                            types.Part(function_call=types.FunctionCall(name="add", args={"item": "milk"}))
                        ],
                    ),
                    actions=EventActions(state_delta={"cart": [1, 2]}),
                ),
            )
            for n in range(3):
                await client.create_session(app_name=APP, user_id="bob", session_id=f"b{n}")
        yield address
    finally:
        assert await process.stop() == 0, process.stderr


async def _sessions(address: str, *arguments: str, token: str | None = "token-ops") -> ServerProcess:
    """``adk-grpc-sessions sessions ARGUMENTS --address ADDRESS``, finished; the token from the environment."""
    # Wide enough that rich folds no cell of the tables checked here.
    env = {"COLUMNS": "200", **({"ADK_GRPC_SESSIONS_CLIENT_TOKEN": token} if token else {})}
    process = await ServerProcess(["sessions", *arguments, "--address", address], env=env).start()
    await process.wait()
    return process


async def test_list_prints_a_table_for_people_and_json_for_scripts(server: str) -> None:
    table = await _sessions(server, "list", "--app", APP, "--every-user")
    assert await table.wait() == 0, table.stderr
    for shown in ("ada", "s1", "bob", "b0", "b2"):
        assert shown in table.stdout

    listed = await _sessions(server, "list", "--app", APP, "--user", "bob", "--json")
    assert await listed.wait() == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert [s["session_id"] for s in document["sessions"]] == ["b0", "b1", "b2"]
    assert document["next_page_token"] == ""
    assert {s["user_id"] for s in document["sessions"]} == {"bob"}


async def test_list_pages_one_at_a_time_or_all_at_once(server: str) -> None:
    first = await _sessions(server, "list", "--app", APP, "--user", "bob", "--page-size", "2", "--json")
    page = json.loads(first.stdout)
    assert [s["session_id"] for s in page["sessions"]] == ["b0", "b1"] and page["next_page_token"]
    rest = await _sessions(
        server,
        "list",
        "--app",
        APP,
        "--user",
        "bob",
        "--page-size",
        "2",
        "--page-token",
        page["next_page_token"],
        "--json",
    )
    assert [s["session_id"] for s in json.loads(rest.stdout)["sessions"]] == ["b2"]
    people = await _sessions(server, "list", "--app", APP, "--user", "bob", "--page-size", "2")
    assert f"--page-token {page['next_page_token']}" in people.stdout
    every = await _sessions(
        server, "list", "--app", APP, "--every-user", "--page-size", "1", "--all", "--json"
    )
    assert len(json.loads(every.stdout)["sessions"]) == 4


async def test_list_without_an_app_lists_the_apps_the_token_covers(server: str) -> None:
    async with GrpcSessionService(server, metadata=(("authorization", "Bearer token-all"),)) as client:
        await client.create_session(app_name="zoo", user_id="eve", session_id="o1")
    mine = await _sessions(server, "list", "--json")
    assert await mine.wait() == 0, mine.stderr
    assert json.loads(mine.stdout) == {"apps": [APP], "next_page_token": ""}
    every = await _sessions(server, "list", "--json", token="token-all")
    assert json.loads(every.stdout) == {"apps": [APP, "zoo"], "next_page_token": ""}
    first = await _sessions(server, "list", "--page-size", "1", token="token-all")
    assert await first.wait() == 0, first.stderr
    assert "apps" in first.stdout and APP in first.stdout and "--page-token " in first.stdout
    assert "zoo" not in first.stdout
    both = await _sessions(server, "list", "--page-size", "1", "--all", "--json", token="token-all")
    assert json.loads(both.stdout)["apps"] == [APP, "zoo"]


async def test_list_of_an_app_lists_its_users(server: str) -> None:
    users = await _sessions(server, "list", "--app", APP, "--json")
    assert await users.wait() == 0, users.stderr
    assert json.loads(users.stdout) == {"users": ["ada", "bob"], "next_page_token": ""}
    table = await _sessions(server, "list", "--app", APP, "--page-size", "1")
    assert "ada" in table.stdout and "bob" not in table.stdout and "--page-token" in table.stdout
    refused = await _sessions(server, "list", "--app", "zoo", "--json")
    assert await refused.wait() == 1
    assert refused.stderr.strip().count("\n") == 0 and "PERMISSION_DENIED" in refused.stderr


async def test_list_flags_of_sessions_without_an_app_are_bad_usage(server: str) -> None:
    process = await _sessions(server, "list", "--user", "ada")
    assert await process.wait() == 2
    assert "need --app" in process.stderr and process.stdout == ""


async def test_show_gives_state_by_scope_and_every_event(server: str) -> None:
    shown = await _sessions(server, "show", "--app", APP, "--user", "ada", "--session", "s1", "--json")
    assert await shown.wait() == 0, shown.stderr
    document = json.loads(shown.stdout)
    async with GrpcSessionService(server, metadata=TOKEN) as client:
        stored = await client.get_session(app_name=APP, user_id="ada", session_id="s1")
    assert stored is not None
    assert document["state"] == {"app": {}, "user": {"tier": "gold"}, "session": {"cart": [1, 2]}}
    assert [e["id"] for e in document["events"]] == [e.id for e in stored.events]
    assert document["revision"] > 0 and document["create_time"].endswith("Z")

    timeline = await _sessions(server, "show", "--app", APP, "--user", "ada", "--session", "s1")
    for said in ("buy milk, please", 'call add({"item": "milk"})', "state: cart", "shop_agent", "tier"):
        assert said in timeline.stdout, timeline.stdout


async def test_show_of_a_missing_session_exits_3_with_one_line(server: str) -> None:
    missing = await _sessions(server, "show", "--app", APP, "--user", "ada", "--session", "nope")
    assert await missing.wait() == 3
    assert missing.stdout == ""
    assert missing.stderr.strip().splitlines() == [
        "adk-grpc-sessions: sessions show: Session nope not found."
    ]


async def test_delete_and_erase_user_change_the_server(server: str) -> None:
    deleted = await _sessions(server, "delete", "--app", APP, "--user", "bob", "--session", "b1", "--json")
    assert await deleted.wait() == 0, deleted.stderr
    assert json.loads(deleted.stdout)["deleted"] is True
    erased = await _sessions(server, "erase-user", "--app", APP, "--user", "ada")
    assert await erased.wait() == 0, erased.stderr
    assert "1 sessions deleted" in erased.stdout
    async with GrpcSessionService(server, metadata=TOKEN) as client:
        assert {s.id for s in (await client.list_sessions(app_name=APP, user_id="bob")).sessions} == {
            "b0",
            "b2",
        }
        assert (await client.list_sessions(app_name=APP, user_id="ada")).sessions == []


async def test_a_refused_or_unreachable_server_exits_1_with_one_line(server: str) -> None:
    unauthenticated = await _sessions(server, "list", "--app", APP, token=None)
    assert await unauthenticated.wait() == 1
    (line,) = unauthenticated.stderr.strip().splitlines()
    assert line.startswith("adk-grpc-sessions: sessions list: UNAUTHENTICATED: ")

    other_app = await _sessions(server, "list", "--app", "another-app")
    assert await other_app.wait() == 1
    assert "PERMISSION_DENIED" in other_app.stderr

    unreachable = await _sessions("127.0.0.1:1", "list", "--app", APP, "--timeout", "2")
    assert await unreachable.wait() == 1
    (line,) = unreachable.stderr.strip().splitlines()
    assert line.startswith("adk-grpc-sessions: sessions list: UNAVAILABLE: ")
