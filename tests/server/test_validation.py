"""Bad requests get INVALID_ARGUMENT with a BadRequest naming the field, and change nothing."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.server.rpc_errors import failure_of

VALID_EVENT = {"id": "e1", "author": "user", "invocationId": "i", "timestamp": 1_800_000_000.5}


async def _invalid(call: Any, field: str, fragment: str = "") -> str:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    failure = failure_of(raised.value)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT, failure
    assert failure.fields == [field], failure
    assert fragment in failure.message, failure.message
    return failure.message


async def _session(stub: pb_grpc.SessionServiceAsyncStub, app_name: str) -> pb.Session:
    response = await stub.CreateSession(
        pb.CreateSessionRequest(app_name=app_name, user_id="u1", session_id="s1")
    )
    return response.session


def _append(app_name: str, event: Any, revision: int = 1, **overrides: Any) -> pb.AppendEventRequest:
    fields: dict[str, Any] = {"app_name": app_name, "user_id": "u1", "session_id": "s1"}
    fields.update(overrides)
    text = event if isinstance(event, str) else json.dumps(event)
    return pb.AppendEventRequest(event_json=text, expected_revision=revision, **fields)


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"app_name": ""}, "app_name", "required"),
        ({"user_id": ""}, "user_id", "required"),
        ({"app_name": "a" * 129}, "app_name", "at most 128"),
        ({"user_id": "bad\x00id"}, "user_id", "control"),
        ({"session_id": "x" * 129}, "session_id", "at most 128"),
        ({"session_id": "tab\tinside"}, "session_id", "control"),
    ],
)
async def test_create_rejects_bad_keys(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str, overrides: dict[str, str], field: str, fragment: str
) -> None:
    fields: dict[str, Any] = {"app_name": app_name, "user_id": "u1"} | overrides
    request = pb.CreateSessionRequest(**fields)
    await _invalid(stub.CreateSession(request), field, fragment)


async def test_keys_may_hold_slashes_dots_quotes_and_unicode(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    odd = "../../etc/passwd'; DROP TABLE sessions;-- ✓ 用户"
    response = await stub.CreateSession(
        pb.CreateSessionRequest(app_name=app_name, user_id=odd, session_id=odd[:60])
    )
    assert response.session.user_id == odd
    fetched = await stub.GetSession(pb.GetSessionRequest(app_name=app_name, user_id=odd, session_id=odd[:60]))
    assert fetched.session.session_id == odd[:60]


@pytest.mark.parametrize(
    ("scope", "key", "text", "fragment"),
    [
        ("app", "k", "not json", "not valid JSON"),
        ("user", "k", "", "must be JSON text"),
        ("session", "k", "NaN", "not valid JSON"),
        ("session", "k", "1e400", "too large"),
        (
            "session",
            "k",
            "[" * 300 + "]" * 300,
            "deeper than 254 levels of arrays and objects (the nesting depth limit)",
        ),
        ("session", "app:k", "1", "must not start with"),
        ("session", "temp:k", "1", "must not start with"),
    ],
)
async def test_create_rejects_bad_state_values(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str, scope: str, key: str, text: str, fragment: str
) -> None:
    state = pb.StateDelta(**{scope: {key: text}})
    request = pb.CreateSessionRequest(app_name=app_name, user_id="u1", state=state)
    await _invalid(stub.CreateSession(request), f"state.{scope}[{key!r}]", fragment)
    listed = await stub.ListSessions(pb.ListSessionsRequest(app_name=app_name))
    assert list(listed.sessions) == []


async def test_get_rejects_negative_num_recent_events(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    await _session(stub, app_name)
    request = pb.GetSessionRequest(app_name=app_name, user_id="u1", session_id="s1", num_recent_events=-1)
    await _invalid(stub.GetSession(request), "num_recent_events", "negative")


@pytest.mark.parametrize(
    "after", [Timestamp(seconds=0, nanos=-1), Timestamp(seconds=0, nanos=10**9), Timestamp(seconds=10**12)]
)
async def test_get_rejects_invalid_after_timestamp(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str, after: Timestamp
) -> None:
    await _session(stub, app_name)
    request = pb.GetSessionRequest(app_name=app_name, user_id="u1", session_id="s1", after_timestamp=after)
    await _invalid(stub.GetSession(request), "after_timestamp")


@pytest.mark.parametrize(
    ("event", "field", "fragment"),
    [
        ("", "event_json", "required"),
        ("{not json", "event_json", "not valid JSON"),
        ("[1, 2]", "event_json", "must be a JSON object"),
        ('"text"', "event_json", "must be a JSON object"),
        ("null", "event_json", "must be a JSON object"),
        ({**VALID_EVENT, "id": None}, "event_json.id", "required"),
        ({**VALID_EVENT, "id": ""}, "event_json.id", "required"),
        ({**VALID_EVENT, "id": 7}, "event_json.id", "must be a string"),
        ({**VALID_EVENT, "id": "x" * 200}, "event_json.id", "at most 128"),
        ({k: v for k, v in VALID_EVENT.items() if k != "timestamp"}, "event_json.timestamp", "required"),
        ({**VALID_EVENT, "timestamp": "yesterday"}, "event_json.timestamp", "must be a number"),
        ({**VALID_EVENT, "timestamp": True}, "event_json.timestamp", "must be a number"),
        ({**VALID_EVENT, "timestamp": 1e13}, "event_json.timestamp", "outside the range"),
        ('{"id": "e", "timestamp": NaN}', "event_json", "not valid JSON"),
        ('{"id": "e", "timestamp": 1e400}', "event_json.timestamp", "not a finite"),
        ({**VALID_EVENT, "author": 5}, "event_json.author", "must be a string"),
        ({**VALID_EVENT, "partial": True}, "event_json.partial", "never stored"),
        ({**VALID_EVENT, "partial": "yes"}, "event_json.partial", "boolean"),
        ({**VALID_EVENT, "invocation_id": "i"}, "event_json.invocation_id", "camelCase"),
        ({**VALID_EVENT, "actions": []}, "event_json.actions", "must be an object"),
        ({**VALID_EVENT, "actions": {"state_delta": {}}}, "event_json.actions.state_delta", "camelCase"),
        (
            {**VALID_EVENT, "actions": {"stateDelta": [1]}},
            "event_json.actions.stateDelta",
            "must be an object",
        ),
        (
            '{"id": "e", "timestamp": 1, "actions": {"stateDelta": {"k": 1e999}}}',
            "event_json.actions.stateDelta['k']",
            "too large",
        ),
    ],
)
async def test_append_rejects_bad_events(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str, event: Any, field: str, fragment: str
) -> None:
    session = await _session(stub, app_name)
    await _invalid(stub.AppendEvent(_append(app_name, event, session.revision)), field, fragment)
    after = await stub.GetSession(pb.GetSessionRequest(app_name=app_name, user_id="u1", session_id="s1"))
    assert list(after.session.events) == []
    assert after.session.revision == session.revision


@pytest.mark.parametrize("revision", [0, -5])
async def test_append_requires_a_revision(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str, revision: int
) -> None:
    await _session(stub, app_name)
    await _invalid(
        stub.AppendEvent(_append(app_name, VALID_EVENT, revision)), "expected_revision", "required"
    )


@pytest.mark.parametrize("page_size", [-1, -(2**31)])
async def test_lists_reject_negative_page_sizes(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str, page_size: int
) -> None:
    await _session(stub, app_name)
    await _invalid(
        stub.ListSessions(pb.ListSessionsRequest(app_name=app_name, page_size=page_size)), "page_size"
    )
    events = pb.ListEventsRequest(app_name=app_name, user_id="u1", session_id="s1", page_size=page_size)
    await _invalid(stub.ListEvents(events), "page_size")


@pytest.mark.parametrize("token", ["garbage", "AAAA", "eyJ4IjoxfQ", "W10", "x" * 5000, "W1sxXV0"])
async def test_lists_reject_unknown_page_tokens(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str, token: str
) -> None:
    await _session(stub, app_name)
    await _invalid(
        stub.ListSessions(pb.ListSessionsRequest(app_name=app_name, page_token=token)), "page_token"
    )
    events = pb.ListEventsRequest(app_name=app_name, user_id="u1", session_id="s1", page_token=token)
    await _invalid(stub.ListEvents(events), "page_token")


async def test_page_token_of_another_query_is_rejected(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    for index in range(3):
        await stub.CreateSession(
            pb.CreateSessionRequest(app_name=app_name, user_id="u1", session_id=f"s{index}")
        )
    page = await stub.ListSessions(pb.ListSessionsRequest(app_name=app_name, page_size=1))
    assert page.next_page_token
    token = page.next_page_token
    await _invalid(
        stub.ListSessions(pb.ListSessionsRequest(app_name=app_name + "x", page_token=token)), "page_token"
    )
    await _invalid(
        stub.ListSessions(pb.ListSessionsRequest(app_name=app_name, user_id="u1", page_token=token)),
        "page_token",
    )
    await _invalid(
        stub.ListEvents(
            pb.ListEventsRequest(app_name=app_name, user_id="u1", session_id="s0", page_token=token)
        ),
        "page_token",
    )


async def test_request_that_is_not_protobuf_is_invalid_argument(channel: grpc.aio.Channel) -> None:
    raw: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
        "/adk_grpc_sessions.v1.SessionService/CreateSession"
    )
    # Field 1 (app_name) as a string holding invalid UTF-8, then garbage.
    for payload in (b"\x0a\x02\xff\xfe", b"\xff\xff\xff\xff\xff"):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await raw(payload)
        failure = failure_of(raised.value)
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
        assert failure.fields == ["request"]


async def test_server_keeps_serving_after_bad_input(
    stub: pb_grpc.SessionServiceAsyncStub, app_name: str
) -> None:
    for _ in range(3):
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.AppendEvent(_append(app_name, "{", 1))
    created = await stub.CreateSession(pb.CreateSessionRequest(app_name=app_name, user_id="u1"))
    assert created.session.revision > 0
