"""The Python agent of the cross-language test: a real ADK LlmAgent with a scripted model."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from google.adk.agents.llm_agent import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.tools.tool_context import ToolContext
from google.genai import types
from pydantic import PrivateAttr


class ScriptedModel(BaseLlm):
    """A model that answers with canned responses, in order, and records what it was asked."""

    model: str = "scripted-model"
    _script: list[LlmResponse] = PrivateAttr(default_factory=list)
    _requests: list[LlmRequest] = PrivateAttr(default_factory=list)

    def script(self, *responses: LlmResponse) -> ScriptedModel:
        """Adds responses to give, in order."""
        self._script.extend(responses)
        return self

    @property
    def requests(self) -> list[LlmRequest]:
        """What the model was asked, in order."""
        return self._requests

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        """Yields the next scripted response."""
        self._requests.append(llm_request)
        yield self._script.pop(0)


def text_response(text: str) -> LlmResponse:
    """A model reply of one text part."""
    return LlmResponse(content=types.Content(role="model", parts=[types.Part(text=text)]))


def call_response(tool: str, **args: Any) -> LlmResponse:
    """A model reply that calls one tool."""
    call = types.FunctionCall(name=tool, args=args)
    return LlmResponse(content=types.Content(role="model", parts=[types.Part(function_call=call)]))


def record_visit(tool_context: ToolContext, city: str) -> dict[str, Any]:
    """Counts visits (app scope) and records the city in user, session and temp state."""
    state = tool_context.state
    state["app:visits"] = state.get("app:visits", 0) + 1
    state["user:python_city"] = city
    state["python_note"] = "written by the Python agent"
    state["temp:python_scratch"] = "never stored"
    return {"visits": state["app:visits"]}


def python_agent(model: ScriptedModel) -> LlmAgent:
    """The Python agent: one tool, and its reply kept in session state."""
    return LlmAgent(
        name="python_agent",
        model=model,
        instruction="You are the Python agent.",
        tools=[record_visit],
        output_key="python_reply",
    )
