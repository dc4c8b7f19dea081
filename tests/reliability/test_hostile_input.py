"""Hostile input: every RPC's fields fuzzed, and raw bytes mutated; the server answers and survives.

Each answer must be a deliberate one (OK, or INVALID_ARGUMENT naming a field,
or NOT_FOUND / ALREADY_EXISTS / ABORTED / PERMISSION_DENIED where the request
says so), never INTERNAL or UNKNOWN; the server must stay healthy; and data
stored before the onslaught must be exactly as it was.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adk_grpc_sessions.server import page_tokens
from adk_grpc_sessions.server.config import ServerConfig
from adk_grpc_sessions.server.page_tokens import PageTokenKeys, PageTokens
from adk_grpc_sessions.server.serve import SessionServer
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.conftest import StartServer
from tests.server.rpc_errors import failure_of

DELIBERATE = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.ABORTED,
}
CANARY_APP = "canary-app"

nasty_text = st.one_of(
    st.just(""),
    st.just(" "),
    st.sampled_from(
        ["/", "..", "../../etc/passwd", "\x00", "a\x00b", "'; DROP TABLE sessions; --", '"', "\\", "%", "_"]
    ),
    st.sampled_from(["app:x", "user:x", "temp:x", "*", "\u202e", "\ufeff", "\U0001f600" * 40, "é" * 129]),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=120, max_size=200),
    st.builds(lambda n: "x" * n, st.integers(min_value=100_000, max_value=400_000)),
)
json_like = st.one_of(
    nasty_text,
    st.sampled_from(
        ["{}", "[]", "null", "NaN", "Infinity", "-Infinity", "1e400", "-1e400", '{"a":1,', "[" * 10_000]
    ),
    st.sampled_from(
        ['{"id":"e","timestamp":1e20}', '{"id":"e","timestamp":-1e12}', '{"id":"e","timestamp":"x"}']
    ),
    st.builds(lambda depth: "[" * depth + "]" * depth, st.integers(min_value=150, max_value=12_000)),
    st.builds(lambda depth: '{"a":' * depth + "1" + "}" * depth, st.integers(min_value=150, max_value=3_000)),
    st.builds(
        json.dumps,
        st.recursive(st.none() | st.integers() | st.text(max_size=5), lambda c: st.lists(c, max_size=3)),
    ),
)
page_sizes = st.one_of(
    st.integers(min_value=-(2**31), max_value=2**31 - 1), st.sampled_from([-1, 0, 1, 1000, 1001])
)
tokens = st.one_of(
    st.just(""),
    nasty_text,
    st.binary(max_size=60).map(lambda b: b.hex()),
    st.sampled_from(["W1sxXV0", "eyJ"]),
)
timestamps = st.builds(
    Timestamp,
    seconds=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    nanos=st.integers(min_value=-(2**31), max_value=2**31 - 1),
)
state_maps = st.dictionaries(nasty_text.filter(lambda k: len(k) < 1000), json_like, max_size=4)


def requests() -> st.SearchStrategy[tuple[str, Any]]:
    """A random request for a random RPC, with nasty values in every field."""
    keys = {"app_name": nasty_text, "user_id": nasty_text, "session_id": nasty_text}
    return st.one_of(
        st.builds(
            pb.CreateSessionRequest,
            **keys,
            state=st.builds(pb.StateDelta, app=state_maps, user=state_maps, session=state_maps),
        ).map(lambda r: ("CreateSession", r)),
        st.builds(
            pb.GetSessionRequest,
            **keys,
            num_recent_events=st.none() | st.integers(min_value=-(2**31), max_value=2**31 - 1),
            after_timestamp=st.none() | timestamps,
        ).map(lambda r: ("GetSession", r)),
        st.builds(
            pb.ListSessionsRequest,
            app_name=nasty_text,
            user_id=nasty_text,
            page_size=page_sizes,
            page_token=tokens,
        ).map(lambda r: ("ListSessions", r)),
        st.builds(pb.DeleteSessionRequest, **keys).map(lambda r: ("DeleteSession", r)),
        st.builds(
            pb.AppendEventRequest,
            **keys,
            event_json=json_like,
            expected_revision=st.integers(min_value=-(2**63), max_value=2**63 - 1),
        ).map(lambda r: ("AppendEvent", r)),
        st.builds(
            pb.ListEventsRequest,
            **keys,
            page_size=page_sizes,
            page_token=tokens,
            after_timestamp=st.none() | timestamps,
        ).map(lambda r: ("ListEvents", r)),
        st.builds(pb.GetUserStateRequest, app_name=nasty_text, user_id=nasty_text).map(
            lambda r: ("GetUserState", r)
        ),
        st.builds(pb.GetAppStateRequest, app_name=nasty_text).map(lambda r: ("GetAppState", r)),
    )


class Target:
    """A server under attack, with a canary session whose data must never change."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel
        self.stub = pb_grpc.SessionServiceStub(channel)
        self.canary: pb.Session | None = None

    async def plant_canary(self) -> None:
        state = pb.StateDelta(app={"a": "1"}, user={"u": '"x"'}, session={"s": "[1,2]"})
        created = await self.stub.CreateSession(
            pb.CreateSessionRequest(app_name=CANARY_APP, user_id="u", session_id="canary", state=state)
        )
        event = json.dumps(
            {"id": "e1", "timestamp": 1_800_000_000.5, "author": "user", "actions": {"stateDelta": {"k": 1}}}
        )
        await self.stub.AppendEvent(
            pb.AppendEventRequest(
                app_name=CANARY_APP,
                user_id="u",
                session_id="canary",
                event_json=event,
                expected_revision=created.session.revision,
            )
        )
        self.canary = await self.read_canary()

    async def read_canary(self) -> pb.Session:
        reply = await self.stub.GetSession(
            pb.GetSessionRequest(app_name=CANARY_APP, user_id="u", session_id="canary")
        )
        return reply.session

    async def healthy(self) -> bool:
        reply = await health_pb2_grpc.HealthStub(self.channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


@pytest.fixture
async def target(grpc_server: StartServer, backend_uri: str) -> AsyncIterator[Target]:
    options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
    async with grpc.aio.insecure_channel(await grpc_server(backend_uri), options=options) as channel:
        attacked = Target(channel)
        await attacked.stub.DeleteSession(
            pb.DeleteSessionRequest(app_name=CANARY_APP, user_id="u", session_id="canary")
        )
        await attacked.plant_canary()
        yield attacked
        assert await attacked.healthy()
        assert await attacked.read_canary() == attacked.canary, "stored data changed"


def _check_answer(method: str, error: grpc.aio.AioRpcError | None) -> None:
    if error is None:
        return
    failure = failure_of(error)
    assert failure.code in DELIBERATE, (method, failure)
    if failure.code == grpc.StatusCode.INVALID_ARGUMENT:
        assert failure.fields, (method, failure)
        assert all(field and len(field) < 2000 for field in failure.fields)
        assert len(failure.message) < 10_000, "error messages must not echo huge input back"


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(call=requests())
async def test_every_rpc_answers_fuzzed_fields_deliberately(target: Target, call: tuple[str, Any]) -> None:
    method, request = call
    try:
        await getattr(target.stub, method)(request, timeout=20)
    except grpc.aio.AioRpcError as error:
        _check_answer(method, error)
    else:
        if method == "DeleteSession" and request.app_name == CANARY_APP:
            await target.plant_canary()  # a legitimate delete of the canary is not a corruption


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_mutated_raw_requests_answer_deliberately(target: Target, data: st.DataObject) -> None:
    method, request = data.draw(requests())
    raw = bytearray(request.SerializeToString())
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        if raw and data.draw(st.booleans()):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
        else:
            raw[data.draw(st.integers(0, len(raw))) : 0] = data.draw(st.binary(min_size=1, max_size=8))
    call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = target.channel.unary_unary(
        f"/adk_grpc_sessions.v1.SessionService/{method}"
    )
    try:
        await call(bytes(raw), timeout=20)
    except grpc.aio.AioRpcError as error:
        _check_answer(method, error)
    if method == "DeleteSession":
        canary = await target.stub.ListSessions(pb.ListSessionsRequest(app_name=CANARY_APP))
        if not canary.sessions:
            await target.plant_canary()


async def test_oversized_request_is_refused_and_the_server_carries_on(target: Target) -> None:
    huge = '{"id":"e","timestamp":1,"blob":"' + "x" * (33 * 1024 * 1024) + '"}'
    request = pb.AppendEventRequest(
        app_name=CANARY_APP, user_id="u", session_id="canary", event_json=huge, expected_revision=1
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await target.stub.AppendEvent(request, timeout=30)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert await target.healthy()


# --- forged page tokens: every field of a token replaced, signed or not ------------------------------

PAGE_TOKEN_KEY = "hostile-input-page-token-key-" + "5a" * 16
PAGE_TOKEN_SIGNER = PageTokens(PageTokenKeys.parse(PAGE_TOKEN_KEY, "tests"))
OTHER_SIGNER = PageTokens(PageTokenKeys.parse("some-other-deployments-page-token-key-" + "0" * 20, "tests"))

token_values = st.one_of(
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**63, 2**63 - 1, 2**64, 0, -1, 10**30]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 5e-324, -0.0, 1_800_000_000.5]),
    st.booleans(),
    st.none(),
    nasty_text,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@dataclass(frozen=True)
class ForgedToken:
    """A page token and the listing it is sent to."""

    method: str
    request: Any


def _sessions_payload(user_id: str | None, cursor: list[Any]) -> list[Any]:
    return [2, "s", page_tokens._binding(CANARY_APP, user_id), *cursor]


def _events_payload(cursor: list[Any]) -> list[Any]:
    return [2, "e", page_tokens._binding(CANARY_APP, "u", "canary", None), *cursor]


@st.composite
def forged_tokens(draw: st.DrawFn) -> ForgedToken:
    """A well-formed token with one field (or the token's bytes) replaced, however it is signed."""
    listing = draw(st.sampled_from(["sessions-of-user", "sessions-of-app", "events"]))
    user_id = "u" if listing == "sessions-of-user" else None
    if listing == "events":
        payload = _events_payload([1])
    else:
        payload = _sessions_payload(user_id, [1_800_000_000.5, "u", "canary"])
    position = draw(st.integers(min_value=0, max_value=len(payload) - 1))
    if draw(st.booleans()):
        payload[position] = draw(token_values)
    else:
        payload = payload[: position + 1] + draw(st.lists(token_values, max_size=2))
    signer = draw(st.sampled_from(["server-key", "server-key", "other-key", "unsigned"]))
    if signer == "unsigned":
        token = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    else:
        token = (PAGE_TOKEN_SIGNER if signer == "server-key" else OTHER_SIGNER)._encode(payload)
    if draw(st.booleans()):
        raw = bytearray(token.encode())
        raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0x21, 0x7E))
        token = raw.decode()
    if listing == "events":
        return ForgedToken(
            "ListEvents",
            pb.ListEventsRequest(app_name=CANARY_APP, user_id="u", session_id="canary", page_token=token),
        )
    return ForgedToken(
        "ListSessions", pb.ListSessionsRequest(app_name=CANARY_APP, user_id=user_id or "", page_token=token)
    )


@pytest.fixture
async def keyed_target(backend_uri: str) -> AsyncIterator[Target]:
    """A server whose page-token key is known here, so forgeries can carry a valid signature."""
    server = SessionServer(
        ServerConfig(listen=["127.0.0.1:0"], backend=backend_uri, page_token_key=PAGE_TOKEN_KEY)
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.ports[0]}") as channel:
            attacked = Target(channel)
            await attacked.stub.DeleteSession(
                pb.DeleteSessionRequest(app_name=CANARY_APP, user_id="u", session_id="canary")
            )
            await attacked.plant_canary()
            yield attacked
            assert await attacked.healthy()
            assert await attacked.read_canary() == attacked.canary, "stored data changed"
    finally:
        await server.stop(grace=0)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(forged=forged_tokens())
async def test_forged_page_tokens_are_invalid_argument_naming_page_token(
    keyed_target: Target, forged: ForgedToken
) -> None:
    try:
        await getattr(keyed_target.stub, forged.method)(forged.request, timeout=20)
    except grpc.aio.AioRpcError as error:
        failure = failure_of(error)
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT, (forged, failure)
        assert failure.fields == ["page_token"], (forged, failure)
