"""Every field of an ADK event survives storage exactly."""

from __future__ import annotations

import os

from fastapi.openapi.models import OAuth2, OAuthFlowAuthorizationCode, OAuthFlows
from google.adk.auth.auth_credential import AuthCredential, AuthCredentialTypes, OAuth2Auth
from google.adk.auth.auth_tool import AuthConfig
from google.adk.events.event import Event, NodeInfo
from google.adk.events.event_actions import EventActions, EventCompaction
from google.adk.events.ui_widget import UiWidget
from google.adk.sessions.base_session_service import BaseSessionService
from google.adk.tools.tool_confirmation import ToolConfirmation
from google.genai import types

UNICODE = 'Grüße 👋🏽 — ﷽ مرحبا ‮reversed‬ e\u0301 zero\u200bwidth 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \t\n"\\ </script>'


def _every_field_event() -> Event:
    function_call_id = "call-é-1"
    return Event(
        id="event-every-field",
        invocation_id=f"inv-{UNICODE[:5]}",
        author="agent_ü",
        branch="root.child_ß.grandchild",
        timestamp=1_763_712_345.678901,
        model_version="gemini-9.9-ultra",
        content=types.Content(
            role="model",
            parts=[
                types.Part(text=UNICODE),
                types.Part(text="thinking…", thought=True, thought_signature=bytes(range(256))),
                types.Part(
                    inline_data=types.Blob(mime_type="image/png", data=b"\x89PNG\r\n\x1a\n\x00\xff" * 50)
                ),
                types.Part(
                    file_data=types.FileData(file_uri="gs://bucket/ƒile.pdf", mime_type="application/pdf")
                ),
                types.Part(
                    function_call=types.FunctionCall(
                        id=function_call_id,
                        name="lookup",
                        args={
                            "query": UNICODE,
                            "limit": 10,
                            "big": 2**64 + 1,
                            "ratio": 0.1,
                            "nested": [{"a": None}],
                        },
                    )
                ),
                types.Part(
                    function_response=types.FunctionResponse(
                        id=function_call_id, name="lookup", response={"result": ["ok", 1, 2.5, True, None]}
                    )
                ),
                types.Part(
                    executable_code=types.ExecutableCode(code="print('hi')", language=types.Language.PYTHON)
                ),
                types.Part(
                    code_execution_result=types.CodeExecutionResult(
                        outcome=types.Outcome.OUTCOME_OK, output="hi\n"
                    )
                ),
            ],
        ),
        grounding_metadata=types.GroundingMetadata(
            web_search_queries=["what is ADK", UNICODE],
            grounding_chunks=[
                types.GroundingChunk(web=types.GroundingChunkWeb(uri="https://example.com", title="Ex"))
            ],
            grounding_supports=[
                types.GroundingSupport(
                    segment=types.Segment(start_index=0, end_index=5, text="Grüße"),
                    grounding_chunk_indices=[0],
                    confidence_scores=[0.875],
                )
            ],
        ),
        usage_metadata=types.GenerateContentResponseUsageMetadata(
            prompt_token_count=12, candidates_token_count=34, total_token_count=46, thoughts_token_count=7
        ),
        citation_metadata=types.CitationMetadata(
            citations=[
                types.Citation(
                    start_index=1, end_index=9, uri="https://cite.example", title="Ç", license="MIT"
                )
            ]
        ),
        custom_metadata={
            "trace": {"id": "t-1", "spans": [1, 2, 3]},
            "ключ": "значение",
            "none": None,
            "big": -(2**70),
        },
        input_transcription=types.Transcription(text="bonjour", finished=True),
        output_transcription=types.Transcription(text="hello", finished=False),
        long_running_tool_ids={function_call_id, "call-2"},
        error_code="RESOURCE_EXHAUSTED",
        error_message=f"quota {UNICODE}",
        finish_reason=types.FinishReason.STOP,
        turn_complete=True,
        interrupted=False,
        avg_logprobs=-0.123456789,
        interaction_id="interaction-1",
        output={"structured": [1, "two", {"three": 3.0}]},
        node_info=NodeInfo(path="workflow/step@1", output_for=["workflow"], message_as_output=True),
        actions=EventActions(
            state_delta={"k": UNICODE, "app:shared": [1, 2], "user:pref": {"dark": True}, "n": None},
            artifact_delta={"report.pdf": 3, "ímage.png": 0},
            transfer_to_agent="helper_agent",
            transfer_reason="needs tools",
            escalate=True,
            skip_summarization=True,
            requested_auth_configs={
                function_call_id: AuthConfig(
                    auth_scheme=OAuth2(
                        flows=OAuthFlows(
                            authorizationCode=OAuthFlowAuthorizationCode(
                                authorizationUrl="https://auth.example/authorize",
                                tokenUrl="https://auth.example/token",
                                scopes={"read": "read things"},
                            )
                        )
                    ),
                    raw_auth_credential=AuthCredential(
                        auth_type=AuthCredentialTypes.OAUTH2,
                        oauth2=OAuth2Auth(client_id="client", client_secret="s3cret"),
                    ),
                )
            },
            requested_tool_confirmations={
                function_call_id: ToolConfirmation(hint="Really?", confirmed=False, payload={"amount": 10})
            },
            compaction=EventCompaction(
                start_timestamp=1_763_700_000.5,
                end_timestamp=1_763_712_000.25,
                compacted_content=types.Content(
                    role="model", parts=[types.Part(text="summary of earlier turns")]
                ),
            ),
            end_of_agent=True,
            agent_state={"step": 2, "seen": ["a", "b"]},
            rewind_before_invocation_id="inv-0",
            route=["left", 2, True],
            render_ui_widgets=[UiWidget(id="w1", provider="mcp", payload={"html": "<b>hi</b>"})],
            set_model_response={"answer": 42},
        ),
    )


async def test_event_with_every_field_round_trips_exactly(service: BaseSessionService, app_name: str) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1")
    original = _every_field_event()
    expected = original.model_copy(deep=True)
    expected.actions.state_delta = {k: v for k, v in expected.actions.state_delta.items()}
    await service.append_event(session, original)
    reread = await service.get_session(app_name=app_name, user_id="u1", session_id=session.id)
    assert reread is not None
    assert reread.events == [expected]
    stored = reread.events[0]
    assert stored.model_dump_json(by_alias=True) == expected.model_dump_json(by_alias=True)
    assert stored.content is not None and stored.content.parts is not None
    assert stored.content.parts[1].thought_signature == bytes(range(256))
    assert stored.long_running_tool_ids == {"call-é-1", "call-2"}
    assert reread.state == {"k": UNICODE, "app:shared": [1, 2], "user:pref": {"dark": True}, "n": None}


async def test_minimal_event_round_trips_exactly(service: BaseSessionService, app_name: str) -> None:
    session = await service.create_session(app_name=app_name, user_id="u1")
    original = Event(author="user", timestamp=1_700_000_000.0)
    await service.append_event(session, original)
    reread = await service.get_session(app_name=app_name, user_id="u1", session_id=session.id)
    assert reread is not None and reread.events == [original]


async def test_two_mebibyte_event_round_trips(service: BaseSessionService, app_name: str) -> None:
    payload = os.urandom(2 * 1024 * 1024)
    event = Event(
        author="user",
        content=types.Content(
            role="user",
            parts=[
                types.Part(text="look"),
                types.Part(inline_data=types.Blob(mime_type="image/jpeg", data=payload)),
            ],
        ),
    )
    session = await service.create_session(app_name=app_name, user_id="u1")
    await service.append_event(session, event)
    reread = await service.get_session(app_name=app_name, user_id="u1", session_id=session.id)
    assert reread is not None and len(reread.events) == 1
    stored = reread.events[0]
    assert stored.content is not None and stored.content.parts is not None
    assert stored.content.parts[1].inline_data is not None
    assert stored.content.parts[1].inline_data.data == payload
    assert stored == event
