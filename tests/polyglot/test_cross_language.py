"""Python, Go, TypeScript and Java ADK agents take turns on one session through one server.

A Python ADK ``Runner`` turn starts the session (a tool call writing app:,
user:, session and temp: state); the Go program (adk-go runner over
``client/go``), the Node program (adk-js Runner over ``client/typescript``) and
then the Java program (ADK Java Runner over ``client/java``) each read it,
check every event and the merged state, take a turn of their own whose model
must be shown the earlier turns, and probe stale writes, retries and a
session Python closed. Python then reads everything back as
ADK ``Event`` objects and runs a last turn over the whole history.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from google.adk.errors import StaleSessionError
from google.adk.events.event import Event
from google.adk.runners import Runner
from google.adk.sessions.session import Session
from google.genai import types

from adk_grpc_sessions.client import GrpcSessionService, SessionClosedError
from adk_grpc_sessions.wire.timestamps import parts_from_seconds
from tests.conftest import StartServer
from tests.polyglot import toolchains
from tests.polyglot.agents import ScriptedModel, call_response, python_agent, text_response

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

USER = "ada"
BIG = 2**63 + 1


def _first(event: Event, kind: str) -> str:
    """The first text, function call name or function response name of an event ('' if none)."""
    for part in event.content.parts or [] if event.content else []:
        if kind == "text" and part.text:
            return part.text
        if kind == "call" and part.function_call:
            return part.function_call.name or ""
        if kind == "response" and part.function_response:
            return part.function_response.name or ""
    return ""


def _part(event: Event, index: int = 0) -> types.Part:
    assert event.content is not None and event.content.parts
    return event.content.parts[index]


def _expectations(session: Session, history: list[str]) -> dict[str, Any]:
    """What the next agent must find: every event, the merged state, and texts its model must see."""
    events = []
    for event in session.events:
        seconds, nanos = parts_from_seconds(event.timestamp)
        events.append(
            {
                "id": event.id,
                "author": event.author,
                "timestamp": event.timestamp,
                "seconds": seconds,
                "nanos": nanos,
                "text": _first(event, "text"),
                "functionCall": _first(event, "call"),
                "functionResponse": _first(event, "response"),
            }
        )
    return {"events": events, "state": session.state, "history": history}


async def _run_agent(command: list[str], instructions: dict[str, Any], *, cwd: Path) -> dict[str, Any]:
    finished = await toolchains.run(command, cwd=cwd, stdin=json.dumps(instructions, ensure_ascii=False))
    assert finished.returncode == 0, finished.explain(" ".join(command))
    # The report is the last line; ADK's own logging may come before it.
    report: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    return report


async def _python_probes(
    service: GrpcSessionService, app: str, session_id: str, closed_id: str
) -> dict[str, Any]:
    """The stale-writer, retry and closed-session probes the Go, Node and Java programs make, made from Python."""

    async def read() -> Session:
        session = await service.get_session(app_name=app, user_id=USER, session_id=session_id)
        assert session is not None
        return session

    def probe(text: str) -> Event:
        content = types.Content(role="model", parts=[types.Part(text=text)])
        return Event(invocation_id="python-probe-invocation", author="python_probe", content=content)

    first, second = await read(), await read()
    await service.append_event(first, probe("python stale probe: accepted"))
    try:
        await service.append_event(second, probe("python stale probe: must be rejected"))
        stale_rejected = False
    except StaleSessionError:
        stale_rejected = True
    earlier, current = await read(), await read()
    retried = probe("python retry probe")
    await service.append_event(current, retried)
    await service.append_event(earlier, retried)
    stored = [e for e in (await read()).events if e.id == retried.id]
    closed = await service.get_session(app_name=app, user_id=USER, session_id=closed_id)
    assert closed is not None
    try:
        await service.append_event(closed, probe("python closed probe: must be refused"))
        closed_refused = False
    except SessionClosedError:
        closed_refused = True
    return {
        "staleRejected": stale_rejected,
        "staleReason": "STALE_SESSION" if stale_rejected else "",
        "retryStoredTimes": len(stored),
        "closedEventsRead": len(closed.events),
        "closedRefused": closed_refused,
        "closedReason": "SESSION_CLOSED" if closed_refused else "",
    }


async def test_python_go_typescript_and_java_agents_share_one_session(
    grpc_server: StartServer, go_agent: Path, typescript_dist: Path, java_classpath: str
) -> None:
    node = toolchains.require("node", "the TypeScript agent needs Node 20+")
    java = toolchains.require("java", "the Java agent needs a JDK 17+")
    target = await grpc_server("memory://")
    app = f"polyglot-{uuid.uuid4().hex[:8]}"
    started = time.time()
    async with GrpcSessionService(target) as service:
        # 1. A Python ADK Runner turn starts the session.
        model = ScriptedModel().script(
            call_response("record_visit", city="Zürich"), text_response("Python agent here: Zürich noted.")
        )
        runner = Runner(app_name=app, agent=python_agent(model), session_service=service)
        session = await service.create_session(
            app_name=app, user_id=USER, state={"big": BIG, "名前": "Zoë 🐍", "ratio": 0.5}
        )
        message = types.Content(role="user", parts=[types.Part(text="Hello from Python")])
        async for _ in runner.run_async(user_id=USER, session_id=session.id, new_message=message):
            pass
        after_python = await service.get_session(app_name=app, user_id=USER, session_id=session.id)
        assert after_python is not None
        assert [e.author for e in after_python.events] == [
            "user",
            "python_agent",
            "python_agent",
            "python_agent",
        ]

        # A second session of the user, closed from Python: the other languages must find it
        # readable and closed to appends.
        closed = await service.create_session(app_name=app, user_id=USER, session_id="closed-by-python")
        last_word = types.Content(role="user", parts=[types.Part(text="the last word")])
        await service.append_event(closed, Event(invocation_id="closing", author="user", content=last_word))
        await service.close_session(session=closed)

        # 2. The Go agent reads it, takes a turn, probes.
        base = {"target": target, "app": app, "user": USER, "session": session.id, "closedSession": closed.id}
        go = await _run_agent(
            [str(go_agent)],
            {
                **base,
                "expect": _expectations(
                    after_python, ["Hello from Python", "Python agent here: Zürich noted."]
                ),
                "message": "Hello from Go",
                "city": "Berlin",
            },
            cwd=toolchains.GO_DIR,
        )
        after_go = await service.get_session(app_name=app, user_id=USER, session_id=session.id)
        assert after_go is not None

        # 3. The TypeScript agent reads both, takes a turn, probes.
        ts = await _run_agent(
            [node, str(typescript_dist / "test" / "polyglot_agent.js")],
            {
                **base,
                "expect": _expectations(
                    after_go, ["Hello from Python", "Hello from Go", "Go agent here: Berlin noted."]
                ),
                "message": "Hello from TypeScript",
                "city": "São Paulo",
            },
            cwd=toolchains.TS_DIR,
        )

        after_ts = await service.get_session(app_name=app, user_id=USER, session_id=session.id)
        assert after_ts is not None

        # 4. The Java agent reads all three, takes a turn, probes.
        jv = await _run_agent(
            [java, "-cp", java_classpath, "io.github.adkgrpcsessions.PolyglotAgent"],
            {
                **base,
                "expect": _expectations(
                    after_ts,
                    [
                        "Hello from Python",
                        "Go agent here: Berlin noted.",
                        "Hello from TypeScript",
                        "TypeScript agent here: São Paulo noted.",
                    ],
                ),
                "message": "Hello from Java",
                "city": "Kraków",
            },
            cwd=toolchains.JAVA_DIR,
        )

        # 5. Python reads everything back as ADK events.
        final = await service.get_session(app_name=app, user_id=USER, session_id=session.id)
        assert final is not None
        events = final.events
        assert all(isinstance(e, Event) for e in events)
        assert [Event.model_validate_json(e.model_dump_json(by_alias=True)) for e in events] == events
        turn = ["user", "{0}_agent", "{0}_agent", "{0}_agent"]
        assert [e.author for e in events] == [
            *[a.format("python") for a in turn],
            *[a.format("go") for a in turn],
            "go_probe",
            "go_probe",
            *[a.format("js") for a in turn],
            "js_probe",
            "js_probe",
            *[a.format("java") for a in turn],
            "java_probe",
            "java_probe",
        ]
        by_id = {e.id: e for e in events}
        for appended in go["appended"]:
            event = by_id[appended["id"]]
            assert (event.author, event.timestamp) == (appended["author"], float(appended["seconds"]))
        for appended in [*ts["appended"], *jv["appended"]]:
            event = by_id[appended["id"]]
            assert (event.author, event.timestamp) == (appended["author"], appended["ms"] / 1000)
        assert all(started - 1 <= e.timestamp <= time.time() + 1 for e in events)
        assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
        assert final.last_update_time == events[-1].timestamp

        # Contents: each language's user message, tool call, tool response and reply.
        texts = [_first(e, "text") for e in events]
        for said in (
            "Hello from Go",
            "Go agent here: Berlin noted.",
            "Hello from TypeScript",
            "TypeScript agent here: São Paulo noted.",
            "Hello from Java",
            "Java agent here: Kraków noted.",
        ):
            assert said in texts
        go_call, go_response = _part(events[5]), _part(events[6])
        assert go_call.function_call is not None and go_call.function_call.args == {"city": "Berlin"}
        assert go_response.function_response is not None
        assert go_response.function_response.response == {"visits": 2}
        # What the tool wrote, without temp: keys (adk-go also sets its output key here).
        assert (
            events[6].actions.state_delta.items()
            >= {
                "app:visits": 2,
                "app:go_runs": 1,
                "user:go_city": "Berlin",
                "go_note": "written by the Go agent",
            }.items()
        )
        assert not any(key.startswith("temp:") for e in events for key in e.actions.state_delta)
        js_call, js_response = _part(events[11]), _part(events[12])
        assert js_call.function_call is not None and js_call.function_call.args == {"city": "São Paulo"}
        assert js_response.function_response is not None
        assert js_response.function_response.response == {"visits": 3}
        java_call, java_response = _part(events[17]), _part(events[18])
        assert java_call.function_call is not None and java_call.function_call.args == {"city": "Kraków"}
        assert java_call.function_call.name == "record_visit"
        assert java_response.function_response is not None
        assert java_response.function_response.response == {"visits": 4}
        assert (
            events[18].actions.state_delta.items()
            >= {
                "app:visits": 4,
                "app:java_runs": 1,
                "user:java_city": "Kraków",
                "java_note": "written by the Java agent",
            }.items()
        )

        # Merged state: every language's app:, user: and session keys; no temp: keys.
        assert final.state == {
            "big": BIG,
            "名前": "Zoë 🐍",
            "ratio": 0.5,
            "app:visits": 4,
            "user:python_city": "Zürich",
            "python_note": "written by the Python agent",
            "python_reply": "Python agent here: Zürich noted.",
            "app:go_runs": 1,
            "user:go_city": "Berlin",
            "go_note": "written by the Go agent",
            "go_reply": "Go agent here: Berlin noted.",
            "app:js_runs": 1,
            "user:js_city": "São Paulo",
            "js_note": "written by the TypeScript agent",
            "js_reply": "TypeScript agent here: São Paulo noted.",
            "app:java_runs": 1,
            "user:java_city": "Kraków",
            "java_note": "written by the Java agent",
            "java_reply": "Java agent here: Kraków noted.",
        }
        assert isinstance(final.state["app:visits"], int)

        # 6. A last Python turn: its model is shown the Go, TypeScript and Java turns as history.
        model.script(text_response("Python again: four languages, one session."))
        message = types.Content(role="user", parts=[types.Part(text="Hello again from Python")])
        async for _ in runner.run_async(user_id=USER, session_id=session.id, new_message=message):
            pass
        history = " ".join(
            part.text for content in model.requests[-1].contents for part in content.parts or [] if part.text
        )
        for said in (
            "Go agent here: Berlin noted.",
            "TypeScript agent here: São Paulo noted.",
            "Hello from TypeScript",
            "Java agent here: Kraków noted.",
        ):
            assert said in history

        # 7. Stale writers and retries behave the same from all four languages; a session
        # Python closed refuses appends from Python, Go, TypeScript and Java alike.
        python = await _python_probes(service, app, session.id, closed.id)
        expected = {"staleRejected": True, "staleReason": "STALE_SESSION", "retryStoredTimes": 1}
        closed_expected = {"closedEventsRead": 1, "closedRefused": True, "closedReason": "SESSION_CLOSED"}
        for report in (python, go, ts, jv):
            assert {key: report[key] for key in closed_expected} == closed_expected, report
        for report in (python, go, ts, jv):
            assert {key: report[key] for key in expected} == expected, report
