"""ADK's own ``adk api_server`` keeps its sessions in our server through services.yaml."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from adk_grpc_sessions.client import GrpcSessionService
from tests.conftest import StartServer
from tests.net import free_port

ROOT = Path(__file__).resolve().parents[2]
ADK = str(Path(sys.executable).with_name("adk"))

AGENT = textwrap.dedent(
    '''
    """An agent whose model is scripted, so it runs without a network."""
    from typing import AsyncGenerator

    from google.adk.agents.llm_agent import LlmAgent
    from google.adk.models.base_llm import BaseLlm
    from google.adk.models.llm_request import LlmRequest
    from google.adk.models.llm_response import LlmResponse
    from google.adk.tools.tool_context import ToolContext
    from google.genai import types


    class ScriptedModel(BaseLlm):
        model: str = "scripted"

        async def generate_content_async(
            self, llm_request: LlmRequest, stream: bool = False
        ) -> AsyncGenerator[LlmResponse, None]:
            last = llm_request.contents[-1].parts[0]
            if last.function_response is None:
                call = types.FunctionCall(name="note", args={"text": last.text})
                yield LlmResponse(content=types.Content(role="model", parts=[types.Part(function_call=call)]))
            else:
                yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text="noted")]))


    def note(tool_context: ToolContext, text: str) -> dict:
        """Keeps the last note per user."""
        tool_context.state["user:last_note"] = text
        return {"ok": True}


    root_agent = LlmAgent(name="notes", model=ScriptedModel(), tools=[note])
    '''
)


def _agents_dir(tmp_path: Path) -> Path:
    agents = tmp_path / "agents"
    (agents / "notes").mkdir(parents=True)
    (agents / "notes" / "__init__.py").write_text("from . import agent\n")
    (agents / "notes" / "agent.py").write_text(AGENT)
    shutil.copy(ROOT / "deploy" / "adk" / "services.yaml", agents / "services.yaml")
    return agents


def _http(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


async def _wait_for_http(url: str, process: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(60):
        while True:
            if process.returncode is not None:
                raise AssertionError("adk api_server exited early")
            try:
                await asyncio.to_thread(_http, "GET", url)
                return
            except (urllib.error.URLError, ConnectionError):
                await asyncio.sleep(0.2)


async def test_adk_api_server_stores_sessions_in_our_server(grpc_server: StartServer, tmp_path: Path) -> None:
    address = await grpc_server("memory://")
    agents = _agents_dir(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = await asyncio.create_subprocess_exec(
        ADK,
        "api_server",
        "--port",
        str(port),
        "--session_service_uri",
        f"grpc://{address}",
        str(agents),
        env={**os.environ, "ADK_DISABLE_TELEMETRY": "1"},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _wait_for_http(f"{base}/list-apps", process)
        created = await asyncio.to_thread(_http, "POST", f"{base}/apps/notes/users/ada/sessions", {})
        events = await asyncio.to_thread(
            _http,
            "POST",
            f"{base}/run",
            {
                "app_name": "notes",
                "user_id": "ada",
                "session_id": created["id"],
                "new_message": {"role": "user", "parts": [{"text": "buy milk"}]},
            },
        )
        assert [e["author"] for e in events] == ["notes", "notes", "notes"]
    finally:
        process.terminate()
        await asyncio.wait_for(process.communicate(), timeout=30)

    async with GrpcSessionService(address) as client:
        stored = await client.get_session(app_name="notes", user_id="ada", session_id=created["id"])
        assert stored is not None
        assert [e.author for e in stored.events] == ["user", "notes", "notes", "notes"]
        assert stored.events[0].content is not None and stored.events[0].content.parts is not None
        assert stored.events[0].content.parts[0].text == "buy milk"
        assert stored.events[-1].content is not None and stored.events[-1].content.parts is not None
        assert stored.events[-1].content.parts[0].text == "noted"
        assert await client.get_user_state(app_name="notes", user_id="ada") == {"last_note": "buy milk"}
