"""A real ADK Runner drives a real agent through GrpcSessionService and stores what ADK would.

The model is scripted (there is no network), everything else is ADK's own:
``Runner``, ``LlmAgent``, function tools writing app:, user:, session and
temp: state, ``output_key``. The same script runs over ADK's
``InMemorySessionService``; the stored sessions must be equal, ids and
timestamps aside.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from typing import Any

from google.adk.agents.llm_agent import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.runners import Runner
from google.adk.sessions.base_session_service import BaseSessionService
from google.adk.sessions.in_memory_session_service import InMemorySessionService
from google.adk.tools.tool_context import ToolContext
from google.genai import types
from pydantic import PrivateAttr

from adk_grpc_sessions.client import GrpcSessionService
from tests.conftest import StartServer

APP = "runner-app"
_GENERATED_ID = re.compile(r"(adk-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class ScriptedModel(BaseLlm):
    """A model that answers with canned responses, in order, and records what it was asked."""

    model: str = "scripted-model"
    _script: list[LlmResponse] = PrivateAttr(default_factory=list)
    requests: list[LlmRequest] = []

    def script(self, *responses: LlmResponse) -> ScriptedModel:
        self._script.extend(responses)
        return self

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        self.requests.append(llm_request)
        yield self._script.pop(0)


def _text(text: str) -> LlmResponse:
    return LlmResponse(content=types.Content(role="model", parts=[types.Part(text=text)]))


def _call(tool: str, **args: Any) -> LlmResponse:
    return LlmResponse(
        content=types.Content(
            role="model", parts=[types.Part(function_call=types.FunctionCall(name=tool, args=args))]
        )
    )


def remember_preferences(tool_context: ToolContext, name: str, color: str) -> dict[str, Any]:
    """Stores the user's name (user scope), their color (session scope) and counts calls (app scope)."""
    state = tool_context.state
    state["app:tool_calls"] = state.get("app:tool_calls", 0) + 1
    state["user:name"] = name
    state["favorite_color"] = color
    state["temp:last_tool_input"] = {"name": name, "color": color}
    # The temp value is readable within the invocation that set it.
    return {"stored": True, "echo": state["temp:last_tool_input"]}


def _agent() -> tuple[LlmAgent, ScriptedModel]:
    model = ScriptedModel().script(
        _call("remember_preferences", name="Ada", color="blue"),
        _text("Nice to meet you, Ada!"),
        _text("Your name is Ada."),
        _call("remember_preferences", name="Ada Lovelace", color="green"),
        _text("Updated: green it is."),
        _text("Welcome back, Ada Lovelace."),
    )
    agent = LlmAgent(
        name="assistant",
        model=model,
        instruction="Help the user. Their name is {user:name?}.",
        tools=[remember_preferences],
        output_key="last_reply",
    )
    return agent, model


async def _run_script(service: BaseSessionService) -> dict[str, Any]:
    """Runs three turns in one session and one in a second session; returns what was stored."""
    agent, model = _agent()
    runner = Runner(app_name=APP, agent=agent, session_service=service)
    first = await service.create_session(
        app_name=APP, user_id="ada", state={"app:theme": "dark", "locale": "en"}
    )
    replies = []
    for message in (
        "Hi, I'm Ada and I like blue.",
        "What's my name?",
        "Call me Ada Lovelace; I now like green.",
    ):
        content = types.Content(role="user", parts=[types.Part(text=message)])
        async for event in runner.run_async(user_id="ada", session_id=first.id, new_message=content):
            if event.is_final_response() and event.content and event.content.parts:
                replies.append(event.content.parts[0].text)
    second = await service.create_session(app_name=APP, user_id="ada")
    content = types.Content(role="user", parts=[types.Part(text="Remember me?")])
    async for event in runner.run_async(user_id="ada", session_id=second.id, new_message=content):
        if event.is_final_response() and event.content and event.content.parts:
            replies.append(event.content.parts[0].text)

    stored_first = await service.get_session(app_name=APP, user_id="ada", session_id=first.id)
    stored_second = await service.get_session(app_name=APP, user_id="ada", session_id=second.id)
    assert stored_first is not None and stored_second is not None
    return {
        "replies": replies,
        "first_state": stored_first.state,
        "second_state": stored_second.state,
        "first_events": [
            _normalized(e.model_dump(mode="json", exclude={"id", "timestamp"})) for e in stored_first.events
        ],
        "second_events": [
            _normalized(e.model_dump(mode="json", exclude={"id", "timestamp"})) for e in stored_second.events
        ],
        "user_state": await service.get_user_state(app_name=APP, user_id="ada"),
        "system_instruction_seen_by_model": str(model.requests[-1].config.system_instruction),
        "timestamps_ordered": [e.timestamp for e in stored_first.events]
        == sorted(e.timestamp for e in stored_first.events),
        "last_update_time_is_last_event": stored_first.last_update_time == stored_first.events[-1].timestamp,
    }


def _normalized(value: Any) -> Any:
    """Replaces generated ids (invocation ids, function call ids) with a placeholder."""
    if isinstance(value, str):
        return _GENERATED_ID.sub("<id>", value)
    if isinstance(value, dict):
        return {_normalized(k): _normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


async def test_runner_through_grpc_stores_what_adk_in_memory_stores(grpc_server: StartServer) -> None:
    reference = await _run_script(InMemorySessionService())
    async with GrpcSessionService(await grpc_server("memory://")) as client:
        ours = await _run_script(client)

    assert ours == reference
    # And what was stored is what the script meant, not merely the same mistake twice.
    assert reference["replies"] == [
        "Nice to meet you, Ada!",
        "Your name is Ada.",
        "Updated: green it is.",
        "Welcome back, Ada Lovelace.",
    ]
    assert reference["first_state"] == {
        "app:theme": "dark",
        "app:tool_calls": 2,
        "user:name": "Ada Lovelace",
        "locale": "en",
        "favorite_color": "green",
        "last_reply": "Updated: green it is.",
    }
    assert reference["second_state"] == {
        "app:theme": "dark",
        "app:tool_calls": 2,
        "user:name": "Ada Lovelace",
        "last_reply": "Welcome back, Ada Lovelace.",
    }
    assert reference["user_state"] == {"name": "Ada Lovelace"}
    assert "Ada Lovelace" in reference["system_instruction_seen_by_model"]
    authors = [e["author"] for e in reference["first_events"]]
    assert authors == ["user", "assistant", "assistant", "assistant"] * 1 + ["user", "assistant"] + [
        "user",
        "assistant",
        "assistant",
        "assistant",
    ]
    assert reference["timestamps_ordered"] and reference["last_update_time_is_last_event"]
