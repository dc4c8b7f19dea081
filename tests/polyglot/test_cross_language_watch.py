"""A Python agent's turns watched live from Go and TypeScript at once: every event, in order, as stored.

A real ADK ``Runner`` with a scripted model takes turns on a session (a tool
call writing state, then replies) while the Go watcher (``grpcsession``'s
``WatchSessionUpdates``) and the Node watcher (``watchSessionUpdates`` of
``client/typescript``) each follow the session in a process of their own and
write every update as it arrives. Both must see every event the server
stored, in order, each with the JSON exactly as stored (byte for byte) and
the same revisions as a Python watcher; each turn's events must reach them
before the next turn starts (live, not only a backlog read at the end); and
closing the session must end both watches with the reason "closed". Watchers
started after the close get the same events as one backlog, then the end.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.adk.runners import Runner
from google.genai import types

from adk_grpc_sessions.client import CaughtUp, GrpcSessionService, WatchedEvent
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.conftest import StartServer
from tests.polyglot import toolchains
from tests.polyglot.agents import ScriptedModel, call_response, python_agent, text_response

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

USER = "ada"
LIVE_WAIT = 60.0
"""Seconds a watcher may take to show an event (generous: two cores shared by several builds)."""


@pytest.fixture(scope="module")
async def watch_probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go watch probe's executable (client/go/internal/watchprobe)."""
    go = toolchains.require("go", "the Go client's tests need Go 1.26+ (modules come from the Go proxy)")
    binary = tmp_path_factory.mktemp("go-watch") / "watchprobe"
    built = await toolchains.run(
        [go, "build", "-mod=readonly", "-o", str(binary), "./internal/watchprobe"],
        cwd=toolchains.GO_DIR,
        time_limit=toolchains.BUILD_TIMEOUT,
    )
    assert built.returncode == 0, built.explain("go build")
    return binary


class Watcher:
    """A watcher process: its updates as they arrive, one JSON line each."""

    def __init__(self, name: str, process: asyncio.subprocess.Process) -> None:
        self.name = name
        self.process = process
        self.updates: list[dict[str, Any]] = []
        self.stderr = b""
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, name: str, command: list[str], instructions: dict[str, Any]) -> Watcher:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=toolchains.REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdin is not None
        process.stdin.write(json.dumps(instructions).encode())
        process.stdin.close()
        return cls(name, process)

    async def _read(self) -> None:
        assert self.process.stdout is not None and self.process.stderr is not None
        errors = asyncio.create_task(self.process.stderr.read())
        async for raw in self.process.stdout:
            async with self._changed:
                self.updates.append(json.loads(raw))
                self._changed.notify_all()
        self.stderr = await errors
        async with self._changed:
            self._changed.notify_all()

    def events(self) -> list[dict[str, Any]]:
        return [u for u in self.updates if u["kind"] == "event"]

    async def until(self, what: str, condition: Any) -> None:
        """Waits until ``condition(self)`` holds; fails naming ``what`` and the watcher's stderr if it never does."""
        try:
            async with asyncio.timeout(LIVE_WAIT), self._changed:
                await self._changed.wait_for(lambda: condition(self) or self._reader.done())
        except TimeoutError:
            pass
        assert condition(self), (
            f"{self.name} watcher: no {what}; updates {self.updates}; stderr {self.stderr!r}"
        )

    async def finished(self) -> int:
        async with asyncio.timeout(LIVE_WAIT):
            await self._reader
            return await self.process.wait()


async def _stored(target: str, app: str, session_id: str) -> list[pb.Event]:
    """The session's events exactly as the server stores them (ListEvents, every page)."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.SessionServiceStub(channel)
        request = pb.ListEventsRequest(app_name=app, user_id=USER, session_id=session_id, page_size=1000)
        events: list[pb.Event] = []
        while True:
            page = await stub.ListEvents(request)
            events += page.events
            if not page.next_page_token:
                return events
            request.page_token = page.next_page_token


async def test_a_python_agents_turns_are_watched_live_from_go_and_typescript(
    grpc_server: StartServer, watch_probe: Path, typescript_dist: Path
) -> None:
    node = toolchains.require("node", "the TypeScript watcher needs Node 20+")
    target = await grpc_server("memory://")
    app = f"polyglot-watch-{uuid.uuid4().hex[:8]}"
    async with GrpcSessionService(target) as service:
        session = await service.create_session(app_name=app, user_id=USER, session_id="watched")
        instructions = {"target": target, "app": app, "user": USER, "session": session.id, "afterRevision": 0}
        watchers = [
            await Watcher.start("Go", [str(watch_probe)], instructions),
            await Watcher.start(
                "TypeScript", [node, str(typescript_dist / "test" / "watch_probe.js")], instructions
            ),
        ]
        python_updates: list[Any] = []

        async def python_watch() -> None:
            async for update in service.watch_session_updates(app, USER, session.id):
                python_updates.append(update)

        python_watcher = asyncio.create_task(python_watch())
        for watcher in watchers:
            await watcher.until("caught_up", lambda w: any(u["kind"] == "caughtUp" for u in w.updates))

        model = ScriptedModel().script(
            call_response("record_visit", city="Zürich"),
            text_response("Zürich noted."),
            text_response("Second turn: still Zürich."),
            call_response("record_visit", city="Kyōto"),
            text_response("Kyōto noted too. 🐍"),
        )
        runner = Runner(app_name=app, agent=python_agent(model), session_service=service)
        prompts = ["I am in Zürich.", "Where am I?", "Now Kyōto."]
        for prompt in prompts:
            message = types.Content(role="user", parts=[types.Part(text=prompt)])
            turn = [
                e async for e in runner.run_async(user_id=USER, session_id=session.id, new_message=message)
            ]
            assert turn
            stored_count = len(await _stored(target, app, session.id))
            for watcher in watchers:
                # Live: this turn's events reach the watchers before the next turn begins.
                await watcher.until(
                    f"events of turn {prompt!r}", lambda w, n=stored_count: len(w.events()) >= n
                )
        await service.close_session(session=session)
        for watcher in watchers:
            assert await watcher.finished() == 0, f"{watcher.name}: {watcher.stderr!r}"
        async with asyncio.timeout(LIVE_WAIT):
            await python_watcher
        # And afterwards, from the first revision: the whole history as a backlog, then the end.
        for name, command in (
            ("Go, afterwards", [str(watch_probe)]),
            ("TypeScript, afterwards", [node, str(typescript_dist / "test" / "watch_probe.js")]),
        ):
            late = await Watcher.start(name, command, instructions)
            assert await late.finished() == 0, f"{name}: {late.stderr!r}"
            watchers.append(late)

    stored = await _stored(target, app, session.id)
    assert len(stored) >= 3 * 2 + 2  # each turn: the user's message and the replies; two tool calls
    python_events = [u for u in python_updates if isinstance(u, WatchedEvent)]
    assert [u.event_json for u in python_events] == [e.event_json for e in stored]
    revisions = [u.revision for u in python_events]
    assert revisions == sorted(set(revisions)), revisions
    assert any(isinstance(u, CaughtUp) for u in python_updates)
    for watcher in watchers:
        events = watcher.events()
        assert [e["eventJson"] for e in events] == [e.event_json for e in stored], watcher.name
        assert [e["id"] for e in events] == [e.id for e in stored], watcher.name
        assert [e["author"] for e in events] == [e.author for e in stored], watcher.name
        assert [e["revision"] for e in events] == revisions, watcher.name
        texts = [e["text"] for e in events if e.get("text")]
        assert "Kyōto noted too. 🐍" in texts and "I am in Zürich." in texts, (watcher.name, texts)
        last = watcher.updates[-1]
        assert (last["kind"], last["reason"]) == ("ended", "closed"), (watcher.name, last)
