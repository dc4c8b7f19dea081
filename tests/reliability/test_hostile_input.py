"""Hostile input: every RPC's fields fuzzed, and raw bytes mutated; the server answers and survives.

Each answer must be a deliberate one (OK, or INVALID_ARGUMENT naming a field,
or NOT_FOUND / ALREADY_EXISTS / ABORTED / PERMISSION_DENIED where the request
says so), never INTERNAL or UNKNOWN; the server must stay healthy; and data
stored before the onslaught must be exactly as it was.
"""

from __future__ import annotations

import base64
import collections
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import code_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from adk_grpc_sessions.server.api import page_tokens
from adk_grpc_sessions.server.api.page_tokens import PageTokenKeys, PageTokens
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.conftest import StartServer
from tests.reliability.storage_model import StorageModel
from tests.server.rpc_errors import failure_in, failure_of

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
    server_signed: bool = False
    """Signed with the server's own key and left intact: only a key holder makes such a token."""


_CURSOR = object()
"""Where a payload holds the backend's cursor: its fields as JSON text, as memory and SQL write them."""


def _sessions_payload(user_id: str | None) -> list[Any]:
    return [3, "s", page_tokens._binding(CANARY_APP, user_id), _CURSOR]


def _events_payload() -> list[Any]:
    return [3, "e", page_tokens._binding(CANARY_APP, "u", "canary", None), _CURSOR]


@st.composite
def forged_tokens(draw: st.DrawFn) -> ForgedToken:
    """A well-formed token with one field (of the token, or of the cursor it wraps) or its bytes replaced.

    However it is signed: with the server's key, some fields reach the backend's parsing of its cursor.
    """
    listing = draw(st.sampled_from(["sessions-of-user", "sessions-of-app", "events"]))
    user_id = "u" if listing == "sessions-of-user" else None
    cursor: list[Any]
    if listing == "events":
        payload, cursor = _events_payload(), [1]
    else:
        payload, cursor = _sessions_payload(user_id), [1_800_000_000.5, "u", "canary"]
    fields = draw(st.sampled_from([payload, cursor]))
    position = draw(st.integers(min_value=0, max_value=len(fields) - 1))
    if draw(st.booleans()):
        fields[position] = draw(token_values)
    else:
        fields[position + 1 :] = draw(st.lists(token_values, max_size=2))
    payload = [json.dumps(cursor) if field is _CURSOR else field for field in payload]
    signer = draw(st.sampled_from(["server-key", "server-key", "other-key", "unsigned"]))
    if signer == "unsigned":
        token = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    else:
        token = (PAGE_TOKEN_SIGNER if signer == "server-key" else OTHER_SIGNER)._encode(payload)
    intact = True
    if draw(st.booleans()):
        raw = bytearray(token.encode())
        raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0x21, 0x7E))
        intact = raw.decode() == token
        token = raw.decode()
    if listing == "events":
        return ForgedToken(
            "ListEvents",
            pb.ListEventsRequest(app_name=CANARY_APP, user_id="u", session_id="canary", page_token=token),
            server_signed=signer == "server-key" and intact,
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
        if forged.server_signed and failure.code == grpc.StatusCode.NOT_FOUND:
            # A well-formed cursor under the server's own signature that continues a read
            # of another incarnation of the session: what a genuine token of a session
            # deleted and created again meanwhile gets (the contract's NOT_FOUND).
            assert failure.reason == "SESSION_NOT_FOUND", (forged, failure)
            return
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT, (forged, failure)
        assert failure.fields == ["page_token"], (forged, failure)


# --- Live sessions: every RPC, every append path, each write checked against storage ------------
#
# The tests above aim at names no session has, so storage is hardly reached.
# These draw keys from live sessions, with their current revisions, so valid
# but hostile events and deltas are stored; after each call the whole app is
# read back and must equal a model of it (``storage_model``): an accepted
# append stored exactly as requested and acknowledged, a refused call (or a
# read) changing nothing.

LIVE_USERS = ("ada", "bob")
LIVE_BACKENDS = ("memory", "sqlite", "postgres", "mariadb")
_SERVICE = "/adk_grpc_sessions.v1.SessionService"
LIVE_EXAMPLES = 15
APPEND_PATHS = ("AppendEvent", "BatchAppendEvents", "AppendEventStream")
OTHER_METHODS = (
    "CreateSession",
    "DeleteSession",
    "GetSession",
    "ListEvents",
    "ListSessions",
    "GetUserState",
    "GetAppState",
)
LIVE_DELIBERATE = DELIBERATE | {grpc.StatusCode.RESOURCE_EXHAUSTED}
HOSTILE_TEXT = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "'; DROP TABLE ags_sessions; --",
    '"',
    "\\",
    "%",
    "_",
    "\u202e",
    "\ufeff",
    "e\u0301",
    "\u00e9",
    "ß",
    "\U0001f600",
    "__proto__",
    "constructor",
    "app:",
    "user:",
    "temp:",
)

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(HOSTILE_TEXT),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
)
delta_keys = st.one_of(
    st.builds(
        lambda prefix, name: prefix + name,
        st.sampled_from(["", "app:", "user:", "temp:"]),
        st.text(max_size=12),
    ),
    st.sampled_from(HOSTILE_TEXT),
    st.sampled_from(["APP:x", "app:user:x", "user:app:x", "k" * 300, "app:" + "k" * 300]),
)
event_texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(HOSTILE_TEXT),
    # Past what a 64 KiB text column holds (as MySQL's TEXT): no database may cut it short.
    st.sampled_from([70_000]).map(lambda n: "b" * n),
)
valid_json_timestamps = st.one_of(
    st.floats(min_value=-62_135_596_800.0, max_value=253_402_300_799.0, allow_nan=False),
    st.integers(min_value=-62_135_596_800, max_value=253_402_300_799),
    st.sampled_from([0, -0.0, 1e-9, 5e-324, 1_700_000_000.123456789, 253_402_300_799.99997]),
)
json_timestamps = valid_json_timestamps | st.sampled_from([1e20, -1e20, "1", None, True, [1]])
valid_keys = st.text(alphabet=st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=128)


def _draw_event_json(data: st.DataObject, stored: list[pb.Event], *, valid: bool) -> str:
    """A hostile event: new, a retry of a stored one, or another event under a stored id.

    ``valid``: one the contract takes (any text, any JSON values and keys,
    times across the whole range); else anything, mostly malformed somewhere.
    """
    choice = data.draw(st.sampled_from(["new", "new", "new", "retry", "conflict"] if stored else ["new"]))
    if choice == "retry":
        return data.draw(st.sampled_from(stored)).event_json
    if choice == "conflict":
        event_id = data.draw(st.sampled_from(stored)).id
    elif valid:
        event_id = data.draw(st.one_of(st.uuids().map(str), valid_keys))
    else:
        event_id = data.draw(st.one_of(valid_keys, st.sampled_from(["", "x" * 129, "a\x00b", "\t", " "])))
    deltas = st.dictionaries(delta_keys, json_values, max_size=5)
    event = data.draw(
        st.fixed_dictionaries(
            {"id": st.just(event_id), "timestamp": valid_json_timestamps if valid else json_timestamps},
            optional={
                "author": event_texts
                if valid
                else st.one_of(event_texts, st.integers(), st.lists(st.text())),
                "invocationId": event_texts,
                "branch": event_texts,
                "actions": st.one_of(
                    st.fixed_dictionaries({"stateDelta": deltas}),
                    st.fixed_dictionaries({"stateDelta": deltas, "skipSummarization": st.booleans()}),
                    st.none(),
                    *(
                        []
                        if valid
                        else [st.fixed_dictionaries({"stateDelta": st.lists(st.integers(), max_size=2)})]
                    ),
                ),
                "content": st.fixed_dictionaries(
                    {
                        "role": st.text(max_size=5),
                        "parts": st.lists(st.fixed_dictionaries({"text": st.text()}), max_size=2),
                    }
                ),
                "partial": st.sampled_from([False, None] if valid else [False, None, True, "yes"]),
                "customMetadata": json_values,
                "aFieldFromTheFuture": json_values,
            },
        )
    )
    if valid and not _now_and_then(data, 4, "without a delta"):
        # Most events change state, in every scope: what a refusal must leave untouched.
        event["actions"] = {
            "stateDelta": data.draw(st.dictionaries(delta_keys, json_values, min_size=1, max_size=5))
        }
    return json.dumps(event, ensure_ascii=data.draw(st.booleans()))


class LiveTarget:
    """An app of one test case's own, with live sessions, on a server; and the model of what storage holds.

    Every test case starts from the same sessions (fixed names, one event
    each), so that a case Hypothesis draws again (from its database of
    failures) makes the same calls.
    """

    def __init__(self, channel: grpc.aio.Channel, stored_by: collections.Counter[str]) -> None:
        self.channel = channel
        self.stub = pb_grpc.SessionServiceStub(channel)
        self.app = f"live-{uuid.uuid4().hex[:12]}"
        self.model = StorageModel(self.app)
        self.stored_by = stored_by
        """New events stored, by append path: proof that fuzzed events reached storage."""

    async def plant(self) -> None:
        """Creates the sessions, with state in every scope and an event each."""
        for index in range(4):
            user = LIVE_USERS[index % len(LIVE_USERS)]
            state = pb.StateDelta(app={"shared": "1"}, user={"mine": f'"{index}"'}, session={"s": "[1,2]"})
            created = await self.stub.CreateSession(
                pb.CreateSessionRequest(app_name=self.app, user_id=user, session_id=f"s{index}", state=state)
            )
            event = json.dumps({"id": "first", "timestamp": 1_800_000_000.5, "author": "user"})
            await self.stub.AppendEvent(
                pb.AppendEventRequest(
                    app_name=self.app,
                    user_id=user,
                    session_id=f"s{index}",
                    event_json=event,
                    expected_revision=created.session.revision,
                )
            )
        self.model = await StorageModel.read(self.stub, self.app, set(LIVE_USERS))

    async def check_storage(self, expected: StorageModel) -> None:
        """Reads the whole app back: it must be ``expected``, which becomes the model."""
        expected.assert_stored(await StorageModel.read(self.stub, self.app, expected.users()))
        self.model = expected

    def draw_key(self, data: st.DataObject, *, valid: bool) -> tuple[str, str, str]:
        """A session name: a live session's (its id sometimes padded), or (unless ``valid``) a hostile one."""
        live = sorted(self.model.sessions) or [(LIVE_USERS[0], "s0")]
        named = st.sampled_from(live).map(lambda key: (self.app, key[0], key[1]))
        padded = st.sampled_from(live).map(lambda key: (self.app, key[0], f" {key[1]}\t"))
        hostile = st.one_of(
            st.tuples(st.just(self.app), st.sampled_from(LIVE_USERS), nasty_text),
            st.tuples(nasty_text, nasty_text, nasty_text),
        )
        key: tuple[str, str, str] = data.draw(
            st.one_of(named, padded) if valid else st.one_of(named, hostile)
        )
        return key

    def draw_append(self, data: st.DataObject) -> pb.AppendEventRequest:
        """An append to a drawn session with a hostile event.

        Mostly one the contract takes, at the session's revision; else the
        same at a stale revision (refused, and must leave no trace); else
        anything, mostly malformed somewhere.
        """
        mode = data.draw(st.sampled_from(["valid", "valid", "stale", "anything"]), label="mode")
        app, user, session_id = self.draw_key(data, valid=mode != "anything")
        session = self.model.sessions.get((user, session_id.strip())) if app == self.app else None
        current = session.revision if session else 1
        if mode == "valid":
            revision = current
        else:
            revision = data.draw(
                st.one_of(
                    st.sampled_from([current - 2, current + 2, 1, 2**63 - 1]),
                    st.integers(min_value=1, max_value=2**63 - 1),
                    *([] if mode == "stale" else [st.just(current), st.sampled_from([0, -1, -(2**63)])]),
                )
            )
        return pb.AppendEventRequest(
            app_name=app,
            user_id=user,
            session_id=session_id,
            event_json=_draw_event_json(data, session.events if session else [], valid=mode != "anything"),
            expected_revision=revision,
        )

    def settle_append(
        self,
        expected: StorageModel,
        path: str,
        request: pb.AppendEventRequest,
        outcome: pb.AppendEventResponse | status_pb2.Status,
        batch: dict[tuple[str, str, str], dict[tuple[str, str], Any]] | None = None,
    ) -> None:
        """Checks one append's outcome and applies an accepted one to ``expected``."""
        if isinstance(outcome, status_pb2.Status):
            _check_failure(path, failure_in(outcome))
            return
        expected.apply_append(request, outcome, batch)
        if not outcome.already_applied:
            self.stored_by[path] += 1


def _check_failure(method: str, failure: Any) -> None:
    """A failure must be deliberate: a canonical code with its reason, bad input naming its field."""
    assert failure.code in LIVE_DELIBERATE, (method, failure)
    if failure.code == grpc.StatusCode.INVALID_ARGUMENT:
        assert failure.fields and all(f and len(f) < 2000 for f in failure.fields), (method, failure)
    elif failure.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        assert failure.reason, (method, failure)
    assert len(failure.message) < 10_000, "error messages must not echo huge input back"


def _as_status(error: pb.Status) -> status_pb2.Status:
    """An append's failure in a batch or stream result, as the google.rpc.Status it is on the wire."""
    return status_pb2.Status.FromString(error.SerializeToString())


@dataclass
class LiveServer:
    """The server the live-session tests aim at, and what they stored on it, by append path."""

    channel: grpc.aio.Channel
    stored_by: collections.Counter[str]

    async def healthy(self) -> bool:
        """Whether the server reports SERVING."""
        reply = await health_pb2_grpc.HealthStub(self.channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


@pytest.fixture(params=LIVE_BACKENDS)
async def live_server(grpc_server: StartServer, request: pytest.FixtureRequest) -> AsyncIterator[LiveServer]:
    """The shared server on each backend, MariaDB included (whose columns have limits of their own)."""
    backend_uri: str = request.getfixturevalue(f"{request.param}_uri")
    options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
    async with grpc.aio.insecure_channel(await grpc_server(backend_uri), options=options) as channel:
        server = LiveServer(channel, collections.Counter())
        yield server
        assert await server.healthy()
        # Fuzzed events reached storage on every path: the checks were not of refusals only.
        assert all(server.stored_by[path] > 0 for path in APPEND_PATHS), server.stored_by


def _now_and_then(data: st.DataObject, one_in: int, label: str) -> bool:
    """True about once in ``one_in`` draws (Hypothesis draws its first choice most, hence last here)."""
    return bool(data.draw(st.sampled_from([False] * (one_in - 1) + [True]), label=label))


def _mutated(data: st.DataObject, raw: bytes) -> bytes:
    """``raw`` with a few bytes overwritten or inserted.

    Positions are drawn as fractions of the length: the length varies with
    the revisions in the request, and what is drawn must not.
    """
    edited = bytearray(raw)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        where = data.draw(st.integers(min_value=0, max_value=1023))
        if edited and data.draw(st.booleans()):
            edited[where * len(edited) // 1024] = data.draw(st.integers(0, 255))
        else:
            at = where * (len(edited) + 1) // 1024
            edited[at:at] = data.draw(st.binary(min_size=1, max_size=4))
    return bytes(edited)


def _parsed(message_type: Any, raw: bytes) -> Any:
    """``raw`` parsed as the server parses it; None if it is not a valid message."""
    try:
        return message_type.FromString(raw)
    except DecodeError:
        return None


async def _call_append_path(live: LiveTarget, data: st.DataObject, expected: StorageModel, path: str) -> None:
    """Sends drawn appends on ``path`` and settles each outcome into ``expected``.

    Batches and stream messages go as bytes, a quarter of them mutated: what
    the server makes of them is what the same bytes parse as here (or, if
    they do not parse, INVALID_ARGUMENT).
    """
    count = data.draw(st.integers(min_value=1, max_value=5 if path == "BatchAppendEvents" else 3))
    if path == "AppendEvent":
        for _ in range(count):  # one call after another, as a client with one session makes them
            request = live.draw_append(data)
            try:
                response = await live.stub.AppendEvent(request, timeout=30)
            except grpc.aio.AioRpcError as error:
                _check_failure(path, failure_of(error))
            else:
                live.settle_append(expected, path, request, response)
        return
    if path == "BatchAppendEvents" and _now_and_then(data, 10, "empty batch"):
        count = 0  # an empty batch, refused as a whole
    requests = [live.draw_append(data) for _ in range(count)]
    if requests and _now_and_then(data, 5, "empty append"):
        requests.insert(data.draw(st.integers(0, len(requests))), pb.AppendEventRequest())  # an empty append
    if path == "BatchAppendEvents":
        raw = pb.BatchAppendEventsRequest(requests=requests).SerializeToString()
        if _now_and_then(data, 4, "mutated"):
            raw = _mutated(data, raw)
        sent = _parsed(pb.BatchAppendEventsRequest, raw)
        call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = live.channel.unary_unary(f"{_SERVICE}/{path}")
        try:
            reply = pb.BatchAppendEventsResponse.FromString(await call(raw, timeout=30))
        except grpc.aio.AioRpcError as error:
            _check_failure(path, failure_of(error))
            assert sent is None or not sent.requests, (
                "a batch fails as a whole only for what concerns it as a whole"
            )
            return
        assert sent is not None and len(reply.results) == len(sent.requests)
        batch: dict[tuple[str, str, str], dict[tuple[str, str], Any]] = {}
        for request, result in zip(sent.requests, reply.results, strict=True):
            outcome = result.response if result.HasField("response") else _as_status(result.error)
            live.settle_append(expected, path, request, outcome, batch)
        expected.end_batch(batch)
        return
    stream: grpc.aio.StreamStreamCall[bytes, bytes] = live.channel.stream_stream(f"{_SERVICE}/{path}")(
        timeout=30
    )
    for request in requests:  # one at a time, each answered before the next, as the client sends them
        raw = pb.AppendEventStreamRequest(append=request).SerializeToString()
        if _now_and_then(data, 4, "mutated"):
            raw = _mutated(data, raw)
        await stream.write(raw)
        answer = await stream.read()
        assert isinstance(answer, bytes), "the stream ended before answering"
        result = pb.AppendEventStreamResponse.FromString(answer).result
        outcome = result.response if result.HasField("response") else _as_status(result.error)
        sent = _parsed(pb.AppendEventStreamRequest, raw)
        if sent is None:
            assert isinstance(outcome, status_pb2.Status) and outcome.code == code_pb2.INVALID_ARGUMENT, (
                outcome
            )
        live.settle_append(expected, path, sent.append if sent is not None else request, outcome)
    await stream.done_writing()
    assert await stream.read() is grpc.aio.EOF
    assert await stream.code() == grpc.StatusCode.OK


async def _call_other(live: LiveTarget, data: st.DataObject, expected: StorageModel, method: str) -> None:
    """Sends one drawn request of a method that is not an append, keyed on a live session mostly."""
    app, user, session_id = live.draw_key(data, valid=data.draw(st.booleans()))
    request: Any
    if method == "CreateSession":
        scopes = {
            scope: data.draw(st.dictionaries(delta_keys, json_values.map(json.dumps), max_size=3))
            for scope in ("app", "user", "session")
        }
        if data.draw(st.booleans()):
            session_id = data.draw(st.sampled_from(["", "   ", str(uuid.uuid4()), f" {uuid.uuid4()} "]))
        request = pb.CreateSessionRequest(
            app_name=app, user_id=user, session_id=session_id, state=pb.StateDelta(**scopes)
        )
    elif method == "DeleteSession":
        request = pb.DeleteSessionRequest(app_name=app, user_id=user, session_id=session_id)
    elif method == "GetSession":
        request = pb.GetSessionRequest(
            app_name=app,
            user_id=user,
            session_id=session_id,
            num_recent_events=data.draw(st.none() | st.integers(min_value=-2, max_value=5)),
            after_timestamp=data.draw(
                st.none() | timestamps | st.builds(Timestamp, seconds=st.sampled_from([0, 1_800_000_000]))
            ),
        )
    elif method == "ListEvents":
        request = pb.ListEventsRequest(
            app_name=app,
            user_id=user,
            session_id=session_id,
            page_size=data.draw(page_sizes),
            page_token=data.draw(tokens),
        )
    elif method == "ListSessions":
        request = pb.ListSessionsRequest(
            app_name=app, user_id=data.draw(st.sampled_from(["", user])), page_size=data.draw(page_sizes)
        )
    elif method == "GetUserState":
        request = pb.GetUserStateRequest(app_name=app, user_id=user)
    else:
        request = pb.GetAppStateRequest(app_name=app)
    try:
        response = await getattr(live.stub, method)(request, timeout=30)
    except grpc.aio.AioRpcError as error:
        _check_failure(method, failure_of(error))
        return
    if method == "CreateSession":
        expected.apply_create(request, response)
    elif method == "DeleteSession":
        expected.apply_delete(request)
    else:
        expected.check_read(method, request, response)


# No shrinking: a case replays its calls against a server whose revisions have moved on (and bytes
# mutated at a drawn fraction of a request whose size follows them), so a shrunk case may not fail
# the same way; a failure names the session, the call and what differs as it is.
@settings(
    max_examples=LIVE_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(data=st.data())
async def test_every_rpc_on_live_sessions_stores_exactly_what_it_acknowledges(
    live_server: LiveServer, data: st.DataObject
) -> None:
    live = LiveTarget(live_server.channel, live_server.stored_by)
    await live.plant()
    # Every append path in every case, in a drawn order, among up to two other calls.
    others = data.draw(st.lists(st.sampled_from(OTHER_METHODS), max_size=2), label="other calls")
    for method in data.draw(st.permutations([*APPEND_PATHS, *others]), label="calls"):
        expected = live.model.copy()
        if method in APPEND_PATHS:
            await _call_append_path(live, data, expected, method)
        else:
            await _call_other(live, data, expected, method)
        await live.check_storage(expected)
