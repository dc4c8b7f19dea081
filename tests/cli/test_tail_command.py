"""``adk-grpc-sessions tail APP USER SESSION``: a real server process, followed by the command as a user runs it.

The command is a process of its own against a real server process (memory
backend, tokens required); events are appended with the Python client while
it runs, and its output is read as it comes. Scripts rely on ``--json`` lines
and on the exit codes, which are ``sessions``': 0 ended or Ctrl-C, 1 refused
or unreachable, 2 usage, 3 no such session.
"""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.session import Session
from google.genai import types

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.runtime.auth import grant_line
from tests.net import free_port
from tests.server_process import ServerProcess
from tests.waiting import until

APP, USER = "shop", "ada"
TOKEN = "token-ops"
LIMIT = 60.0
"""Seconds any one wait may take (generous: the CPU is shared and each command is a new Python process)."""


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[str]:
    """A real server process that asks for a token (``token-ops`` for app ``shop``); its address."""
    tokens = tmp_path / "tokens"
    tokens.write_text(grant_line("ops", TOKEN, [APP]) + "\n")
    process = await ServerProcess(
        ["serve", "--listen", "127.0.0.1:0", "--backend", "memory://", "--tokens-file", str(tokens)]
    ).start()
    try:
        yield await process.address()
    finally:
        assert await process.stop() == 0, process.stderr


def _client(address: str) -> GrpcSessionService:
    return GrpcSessionService(address, metadata=[("authorization", f"Bearer {TOKEN}")])


def _user_says(text: str) -> Event:
    return Event(
        author="user", invocation_id="i1", content=types.Content(role="user", parts=[types.Part(text=text)])
    )


def _agent_calls(tool: str, **delta: Any) -> Event:
    call = types.Part(function_call=types.FunctionCall(name=tool, args={"item": "milk"}))
    return Event(
        author="shop_agent",
        invocation_id="i1",
        content=types.Content(role="model", parts=[call]),
        actions=EventActions(state_delta=delta),
    )


async def _tail(address: str, *arguments: str, token: str | None = TOKEN) -> ServerProcess:
    """``adk-grpc-sessions tail ARGUMENTS --address ADDRESS``, started; the token from the environment."""
    env = {"COLUMNS": "200", **({"ADK_GRPC_SESSIONS_CLIENT_TOKEN": token} if token else {})}
    return await ServerProcess(["tail", *arguments, "--address", address], env=env).start()


def _lines(process: ServerProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in process.stdout.splitlines() if line.strip()]


async def _created(address: str, session_id: str = "s1") -> Session:
    async with _client(address) as client:
        session = await client.create_session(app_name=APP, user_id=USER, session_id=session_id)
        await client.append_event(session, _user_says("already there"))
        fresh = await client.get_session(app_name=APP, user_id=USER, session_id=session_id)
        assert fresh is not None
        return fresh


async def test_json_lines_give_every_event_from_the_start_then_live_ones_then_the_end(server: str) -> None:
    session = await _created(server)
    tail = await _tail(server, APP, USER, "s1", "--from-start", "--json")
    await until(lambda: any(line["type"] == "caught_up" for line in _lines(tail)), LIMIT)
    async with _client(server) as client:
        await client.append_event(session, _agent_calls("add", cart=["milk"]))
        await until(lambda: len([x for x in _lines(tail) if x["type"] == "event"]) == 2, LIMIT)
        await client.close_session(session=session)
    assert await tail.wait(LIMIT) == 0, tail.stderr
    lines = _lines(tail)
    assert [line["type"] for line in lines] == ["event", "caught_up", "event", "ended"]
    first, caught_up, live, ended = lines
    assert first["event"]["content"]["parts"][0]["text"] == "already there"
    assert first["revision"] == caught_up["revision"] < live["revision"]
    assert live["event"]["author"] == "shop_agent"
    assert live["event"]["actions"]["stateDelta"] == {"cart": ["milk"]}
    assert ended == {"type": "ended", "reason": "closed"}


async def test_without_from_start_only_new_events_are_shown_one_readable_line_each(server: str) -> None:
    session = await _created(server)
    tail = await _tail(server, APP, USER, "s1")
    await until(lambda: "live" in tail.stdout, LIMIT)
    async with _client(server) as client:
        await client.append_event(session, _agent_calls("add", cart=["milk"]))
        await until(lambda: "shop_agent" in tail.stdout, LIMIT)
        await client.delete_session(app_name=APP, user_id=USER, session_id="s1")
    assert await tail.wait(LIMIT) == 0, tail.stderr
    assert "already there" not in tail.stdout
    agent_line = next(line for line in tail.stdout.splitlines() if "shop_agent" in line)
    assert 'call add({"item": "milk"})' in agent_line and "state: cart" in agent_line
    assert tail.stdout.rstrip().endswith("-- session deleted --")


async def test_a_session_that_does_not_exist_exits_3_with_one_line(server: str) -> None:
    for arguments in (("--json",), ("--from-start",)):
        tail = await _tail(server, APP, USER, "missing", *arguments)
        assert await tail.wait(LIMIT) == 3, tail.stderr
        assert tail.stderr.strip().count("\n") == 0 and "not found" in tail.stderr
        assert tail.stdout == ""


async def test_a_refused_token_exits_1_naming_the_code(server: str) -> None:
    await _created(server)
    tail = await _tail(server, APP, USER, "s1", token=None)
    assert await tail.wait(LIMIT) == 1
    assert "UNAUTHENTICATED" in tail.stderr


async def test_an_unreachable_server_exits_1(server: str) -> None:
    tail = await _tail(f"127.0.0.1:{free_port()}", APP, USER, "s1", "--timeout", "2")
    assert await tail.wait(LIMIT) == 1
    assert "UNAVAILABLE" in tail.stderr


async def test_bad_usage_exits_2(server: str) -> None:
    tail = await _tail(server, APP, USER)
    assert await tail.wait(LIMIT) == 2


async def test_ctrl_c_ends_a_tail_with_0(server: str) -> None:
    await _created(server)
    tail = await _tail(server, APP, USER, "s1", "--json")
    await until(lambda: any(line["type"] == "caught_up" for line in _lines(tail)), LIMIT)
    assert await tail.stop(signal.SIGINT, LIMIT) == 0, tail.stderr
    assert [line["type"] for line in _lines(tail)] == ["caught_up"]
