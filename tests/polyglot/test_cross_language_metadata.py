"""Go and TypeScript list, fork and relabel sessions another language wrote, and read its metadata exactly.

Python writes a session with a display name, labels, state (an integer beyond
2^63) and events in two invocations. The Go program (``client/go``) lists the
user's sessions with a filter, newest first, a page per session, finds
Python's metadata exactly, forks the session before its second invocation,
appends to the fork and relabels it. The TypeScript program
(``client/typescript``) then finds Go's fork by its labels, with Go's
metadata and fork origin exactly, forks it whole, appends and renames.
Python reads everything back: each fork's events and state are the source's
at its fork point, each language's metadata is what the other languages
read, and the sources are untouched.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.genai import types

from adk_grpc_sessions.client import GrpcSessionService, SessionInfo
from adk_grpc_sessions.wire.timestamps import to_timestamp
from tests.conftest import StartServer
from tests.polyglot import toolchains

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

USER = "ada"
BIG = 2**63 + 1
PYTHON_NAME = "Ada's trip to Zürich ✈ «2026»"
PYTHON_LABELS = {"lang": "python", "topic": "travel", "empty": ""}


@pytest.fixture(scope="module")
async def metadata_probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go metadata probe's executable (client/go/internal/metadataprobe)."""
    go = toolchains.require("go", "the Go client's tests need Go 1.26+ (modules come from the Go proxy)")
    binary = tmp_path_factory.mktemp("go-metadata") / "metadataprobe"
    built = await toolchains.run(
        [go, "build", "-mod=readonly", "-o", str(binary), "./internal/metadataprobe"],
        cwd=toolchains.GO_DIR,
        time_limit=toolchains.BUILD_TIMEOUT,
    )
    assert built.returncode == 0, built.explain("go build")
    return binary


async def _probe(command: list[str], instructions: dict[str, Any]) -> dict[str, Any]:
    finished = await toolchains.run(
        command, cwd=toolchains.REPO, stdin=json.dumps(instructions, ensure_ascii=False)
    )
    assert finished.returncode == 0, finished.explain(" ".join(command))
    report: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    return report


def _event(invocation_id: str, text: str, state_delta: dict[str, Any]) -> Event:
    content = types.Content(role="user", parts=[types.Part(text=text)])
    return Event(
        invocation_id=invocation_id,
        author="user",
        content=content,
        actions=EventActions(state_delta=state_delta),
    )


def _rfc3339(seconds: float) -> str:
    """ADK float seconds as the wire's Timestamp, as Go's RFC3339Nano writes it (no trailing zeros)."""
    text = to_timestamp(seconds).ToJsonString()  # 0, 3, 6 or 9 fractional digits
    return text[:-1].rstrip("0").rstrip(".") + "Z" if "." in text else text


async def _info(service: GrpcSessionService, app: str, session_id: str) -> SessionInfo:
    info = await service.get_session_info(app_name=app, user_id=USER, session_id=session_id)
    assert info is not None, session_id
    return info


def _reported(info: SessionInfo) -> dict[str, Any]:
    """What a probe's report must say of a session, from Python's own reading of it."""
    origin = info.forked_from
    return {
        "sessionId": info.session_id,
        "displayName": info.display_name,
        "labels": dict(info.labels),
        "eventCount": info.event_count,
        "storedBytes": info.stored_bytes,
        "forkedFrom": None
        if origin is None
        else {
            "sessionId": origin.session_id,
            "eventCount": origin.event_count,
            "beforeInvocationId": origin.before_invocation_id or "",
        },
    }


def _without_times(info: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in info.items() if key not in ("createTime", "revision")}


async def test_go_and_typescript_list_and_fork_sessions_written_by_other_languages(
    grpc_server: StartServer, metadata_probe: Path, typescript_dist: Path
) -> None:
    node = toolchains.require("node", "the TypeScript probe needs Node 20+")
    target = await grpc_server("memory://")
    app = f"polyglot-meta-{uuid.uuid4().hex[:8]}"
    async with GrpcSessionService(target) as service:
        # 1. Python writes the source, with metadata, state and two invocations; and decoys.
        source = await service.create_session(
            app_name=app,
            user_id=USER,
            session_id="py-source",
            state={"big": BIG, "名前": "Zoë 🐍"},
            display_name=PYTHON_NAME,
            labels=PYTHON_LABELS,
        )
        await service.append_event(source, _event("inv-a", "first question", {"count": 1, "step": "a"}))
        await service.append_event(source, _event("inv-a", "more of it", {"count": 2}))
        await service.append_event(source, _event("inv-b", "second question", {"count": 3, "step": "b"}))
        await service.create_session(
            app_name=app, user_id=USER, session_id="py-food", labels={"lang": "python", "topic": "food"}
        )
        await service.create_session(app_name=app, user_id=USER, session_id="py-bare")
        await service.create_session(
            app_name=app, user_id="someone-else", session_id="other", labels=PYTHON_LABELS
        )
        source_before = await service.get_session(app_name=app, user_id=USER, session_id="py-source")
        assert source_before is not None
        source_info = await _info(service, app, "py-source")

        # 2. Go lists Python's travel sessions, forks the source before inv-b, appends, relabels.
        go_labels = {"lang": "go", "topic": "travel"}
        go = await _probe(
            [str(metadata_probe)],
            {
                "target": target,
                "app": app,
                "user": USER,
                "list": {
                    "filter": 'labels.lang = "python" AND labels.topic = travel',
                    "orderBy": "",
                    "pageSize": 1,
                },
                "fork": {
                    "source": "py-source",
                    "newSessionId": "go-fork",
                    "beforeInvocationId": "inv-b",
                    "displayName": "Go's branch ✂",
                    "labels": go_labels,
                },
                "append": {"invocationId": "inv-go", "stateDelta": {"count": 10, "go": True}},
                "update": {"displayName": "Go's branch, renamed", "labels": {**go_labels, "pinned": "yes"}},
            },
        )
        assert [_without_times(info) for info in go["listed"]] == [_reported(source_info)]
        assert go["listed"][0]["displayName"] == PYTHON_NAME
        assert go["listed"][0]["labels"] == PYTHON_LABELS
        assert go["listed"][0]["eventCount"] == 3
        assert go["listed"][0]["createTime"] == _rfc3339(source_info.create_time)
        assert go["forked"]["forkedFrom"] == {
            "sessionId": "py-source",
            "eventCount": 2,
            "beforeInvocationId": "inv-b",
        }
        assert (go["forked"]["displayName"], go["forked"]["labels"]) == ("Go's branch ✂", go_labels)
        assert go["forkEvents"] == [{"id": e.id, "invocationId": "inv-a"} for e in source_before.events[:2]]
        # Go reads the state as its JSON: the big integer exact, as its digits.
        assert go["forkState"] == {"big": BIG, "名前": "Zoë 🐍", "count": 2, "step": "a"}
        assert go["updated"]["labels"] == {**go_labels, "pinned": "yes"}
        go_fork_info = await _info(service, app, "go-fork")
        assert _without_times(go["updated"]) == _reported(go_fork_info)
        assert go_fork_info.display_name == "Go's branch, renamed"

        # 3. TypeScript finds Go's fork by its labels, forks it whole, appends, renames.
        ts = await _probe(
            [node, str(typescript_dist / "test" / "metadata_probe.js")],
            {
                "target": target,
                "app": app,
                "user": USER,
                "list": {
                    "filter": 'labels.lang = "go" AND labels.pinned:*',
                    "orderBy": "create_time desc",
                    "pageSize": 1,
                },
                "fork": {
                    "source": "go-fork",
                    "newSessionId": "",
                    "beforeInvocationId": "",
                    "displayName": "TypeScript's copy",
                    "labels": {"lang": "typescript", "topic": "travel"},
                },
                "append": {"invocationId": "inv-ts", "stateDelta": {"count": 20, "ts": True}},
                "update": {"displayName": "TypeScript's copy, renamed"},
            },
        )
        assert [_without_times(info) for info in ts["listed"]] == [_reported(go_fork_info)]
        assert ts["listed"][0]["displayName"] == "Go's branch, renamed"
        assert ts["listed"][0]["forkedFrom"] == go["forked"]["forkedFrom"]
        ts_fork_id = ts["forked"]["sessionId"]
        assert uuid.UUID(ts_fork_id)  # generated
        assert ts["forked"]["forkedFrom"] == {
            "sessionId": "go-fork",
            "eventCount": 3,
            "beforeInvocationId": "",
        }
        go_fork = await service.get_session(app_name=app, user_id=USER, session_id="go-fork")
        assert go_fork is not None
        assert ts["forkEvents"] == [{"id": e.id, "invocationId": e.invocation_id} for e in go_fork.events]
        assert ts["forkState"] == {"big": BIG, "名前": "Zoë 🐍", "count": 10, "step": "a", "go": True}
        assert ts["updated"]["displayName"] == "TypeScript's copy, renamed"
        assert ts["updated"]["labels"] == {"lang": "typescript", "topic": "travel"}  # not named: kept

        # 4. Python reads everything back.
        ts_fork = await service.get_session(app_name=app, user_id=USER, session_id=ts_fork_id)
        assert ts_fork is not None
        assert [e.id for e in ts_fork.events] == [*(e.id for e in go_fork.events), ts_fork.events[-1].id]
        assert ts_fork.events[-1].author == "js_probe"
        assert ts_fork.state == {
            "big": BIG,
            "名前": "Zoë 🐍",
            "count": 20,
            "step": "a",
            "go": True,
            "ts": True,
        }
        assert isinstance(ts_fork.state["big"], int)
        assert [e.author for e in go_fork.events] == ["user", "user", "go_probe"]
        assert go_fork.state == {"big": BIG, "名前": "Zoë 🐍", "count": 10, "step": "a", "go": True}
        ts_info = await _info(service, app, ts_fork_id)
        assert _without_times(ts["updated"]) == _reported(ts_info)
        assert (ts_info.display_name, dict(ts_info.labels), ts_info.event_count) == (
            "TypeScript's copy, renamed",
            {"lang": "typescript", "topic": "travel"},
            4,
        )

        # The source is as it was: events, state, metadata and revision.
        source_after = await service.get_session(app_name=app, user_id=USER, session_id="py-source")
        assert source_after == source_before
        assert await _info(service, app, "py-source") == source_info

        # Every language's travel sessions, in creation order.
        listed = [
            (info.session_id, info.labels["lang"])
            async for info in service.iter_session_infos(
                app_name=app, user_id=USER, filter='labels.topic = "travel"', order_by="create_time"
            )
        ]
        assert listed == [("py-source", "python"), ("go-fork", "go"), (ts_fork_id, "typescript")]
