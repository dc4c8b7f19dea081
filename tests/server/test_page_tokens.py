"""Page tokens are signed: forged, altered or replayed tokens are INVALID_ARGUMENT naming page_token.

Run on every backend, through real servers on real sockets: memory, a SQLite
file, PostgreSQL, MariaDB, and the agentengine:// backend against the Vertex
AI Sessions stand-in (whose tokens wrap the storage's own page token).

Some tokens here are signed with the server's own key, as if it had leaked:
what a signed token holds must still be checked, since a token the storage
chokes on would otherwise reach it (a NUL in an id on PostgreSQL, a time too
large for a float anywhere).
"""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from adk_grpc_sessions.server.api import page_tokens
from adk_grpc_sessions.server.api.page_tokens import PageTokenKeys, PageTokens
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests import databases
from tests.server.rpc_errors import failure_of
from tests.vertex_standin.server import serving_in_thread
from tests.vertex_standin.service import SessionServiceStandIn

KEY = "page-token-key-of-the-tests-" + "0123456789abcdef" * 2
OLD_KEY = "an-older-page-token-key-still-accepted-" + "f" * 16
OTHER_KEY = "a-key-of-some-other-deployment-entirely-" + "e" * 16
SIGNER = PageTokens(PageTokenKeys.parse(KEY, "tests"))
_ENGINES = itertools.count(1)

KEYSET_BACKENDS = ["memory", "sqlite", "postgresql", "mariadb"]
BACKENDS = [*KEYSET_BACKENDS, "vertex"]
keyset_backends = pytest.mark.parametrize("target", KEYSET_BACKENDS, indirect=True)
"""For tests of tokens holding a keyset position, which the vertex backend's never do."""


@dataclass
class Target:
    """A server whose page-token key is ``KEY`` (and ``OLD_KEY``), and names to use on it."""

    stub: pb_grpc.SessionServiceAsyncStub
    backend: str
    app_name: str

    @property
    def pages_by_storage_token(self) -> bool:
        return self.backend == "vertex"

    def session_id(self, number: int) -> str:
        # Vertex session ids are [a-z][a-z0-9-]*, unique per engine (each test has its own).
        return f"s{number}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def vertex_standin() -> Iterator[tuple[SessionServiceStandIn, str]]:
    standin = SessionServiceStandIn([])
    with serving_in_thread(standin) as address:
        yield standin, address


def _backend_uri(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('page-tokens') / 'sessions.db'}"
    if backend in ("postgresql", "mariadb"):
        return databases.create_database_blocking(databases.server_for_tests(backend))  # type: ignore[arg-type]
    standin, address = request.getfixturevalue("vertex_standin")
    engine = f"projects/tokens/locations/us-central1/reasoningEngines/{next(_ENGINES)}"
    standin.engines.add(engine)
    return f"agentengine://{engine}?endpoint={address}&plaintext=true"


@pytest.fixture(scope="module")
async def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """Starts (once per module) a server on a backend, its keys ``KEY`` (signing) and ``OLD_KEY``."""
    running: dict[str, tuple[SessionServer, str]] = {}

    async def start(backend: str) -> str:
        if backend not in running:
            uri = _backend_uri(backend, tmp_path_factory, request)
            server = SessionServer(
                ServerConfig(listen=["127.0.0.1:0"], backend=uri, page_token_key=f"{KEY};{OLD_KEY}")
            )
            await server.start()
            running[backend] = (server, f"127.0.0.1:{server.ports[0]}")
        return running[backend][1]

    yield start
    for server, _ in running.values():
        await server.stop(grace=0)


@pytest.fixture(params=BACKENDS)
async def target(
    request: pytest.FixtureRequest, servers: Callable[[str], Awaitable[str]]
) -> AsyncIterator[Target]:
    """The server on ``request.param``'s backend, and an app name of this test's own."""
    async with grpc.aio.insecure_channel(await servers(request.param)) as channel:
        yield Target(pb_grpc.SessionServiceStub(channel), request.param, f"app-{uuid.uuid4().hex[:10]}")


async def _sessions(target: Target, user_id: str, count: int) -> list[str]:
    ids = []
    for number in range(count):
        created = await target.stub.CreateSession(
            pb.CreateSessionRequest(
                app_name=target.app_name, user_id=user_id, session_id=target.session_id(number)
            )
        )
        ids.append(created.session.session_id)
    return ids


async def _session_with_events(target: Target, count: int) -> str:
    created = await target.stub.CreateSession(
        pb.CreateSessionRequest(app_name=target.app_name, user_id="u", session_id=target.session_id(0))
    )
    revision, session_id = created.session.revision, created.session.session_id
    for number in range(count):
        event = {"id": f"e{number}", "author": "user", "timestamp": 1_800_000_000.0 + number}
        appended = await target.stub.AppendEvent(
            pb.AppendEventRequest(
                app_name=target.app_name,
                user_id="u",
                session_id=session_id,
                event_json=json.dumps(event),
                expected_revision=revision,
            )
        )
        revision = appended.revision
    return session_id


async def _first_sessions_token(target: Target, user_id: str | None = "u") -> str:
    reply = await target.stub.ListSessions(
        pb.ListSessionsRequest(app_name=target.app_name, user_id=user_id or "", page_size=1)
    )
    assert reply.next_page_token
    return str(reply.next_page_token)


async def _first_events_token(target: Target, session_id: str, **fields: Any) -> str:
    reply = await target.stub.ListEvents(
        pb.ListEventsRequest(
            app_name=target.app_name, user_id="u", session_id=session_id, page_size=1, **fields
        )
    )
    assert reply.next_page_token
    return str(reply.next_page_token)


def _refused(error: grpc.aio.AioRpcError) -> None:
    failure = failure_of(error)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT, failure
    assert failure.fields == ["page_token"], failure


async def _list_sessions_refuses(target: Target, token: str, user_id: str = "u") -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await target.stub.ListSessions(
            pb.ListSessionsRequest(app_name=target.app_name, user_id=user_id, page_token=token)
        )
    _refused(caught.value)


async def _list_events_refuses(target: Target, session_id: str, token: str, **fields: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await target.stub.ListEvents(
            pb.ListEventsRequest(
                app_name=target.app_name, user_id="u", session_id=session_id, page_token=token, **fields
            )
        )
    _refused(caught.value)


def _sessions_binding(target: Target, user_id: str | None = "u") -> str:
    return page_tokens._binding(target.app_name, user_id)


def _unsigned(payload: list[Any]) -> str:
    """A token as the server wrote them before they were signed: anyone could make one."""
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


# --- what the server issues works -------------------------------------------------------------------


async def test_tokens_the_server_issues_page_through_every_session(target: Target) -> None:
    created = await _sessions(target, "u", 5)
    seen, token = [], ""
    for _ in range(10):
        reply = await target.stub.ListSessions(
            pb.ListSessionsRequest(app_name=target.app_name, user_id="u", page_size=2, page_token=token)
        )
        seen += [s.session_id for s in reply.sessions]
        token = reply.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted(created)


async def test_tokens_the_server_issues_page_through_every_event(target: Target) -> None:
    session_id = await _session_with_events(target, 5)
    seen, token = [], ""
    for _ in range(10):
        reply = await target.stub.ListEvents(
            pb.ListEventsRequest(
                app_name=target.app_name, user_id="u", session_id=session_id, page_size=2, page_token=token
            )
        )
        seen += [e.id for e in reply.events]
        token = reply.next_page_token
        if not token:
            break
    assert seen == [f"e{n}" for n in range(5)]


async def test_a_token_signed_with_an_older_accepted_key_still_pages(target: Target) -> None:
    await _sessions(target, "u", 3)
    issued = await _first_sessions_token(target)
    # The same position, signed with the second key of the server's list.
    reissued = PageTokens(PageTokenKeys.parse(OLD_KEY, "tests"))._encode(
        json.loads(base64.urlsafe_b64decode(issued + "=" * (-len(issued) % 4))[32:])
    )
    first = await target.stub.ListSessions(
        pb.ListSessionsRequest(app_name=target.app_name, user_id="u", page_size=1, page_token=issued)
    )
    second = await target.stub.ListSessions(
        pb.ListSessionsRequest(app_name=target.app_name, user_id="u", page_size=1, page_token=reissued)
    )
    assert [s.session_id for s in first.sessions] == [s.session_id for s in second.sessions]


# --- tokens anyone could make (the issue's forgeries) -------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param([10**400, "u", "s"], id="time-too-large-for-a-float"),
        pytest.param([10**30, "u", "s"], id="time-beyond-timestamp-range"),
        pytest.param([1.0, "u\x00", "s"], id="nul-in-user-id"),
        pytest.param([1.0, "u", "s\x00"], id="nul-in-session-id"),
        pytest.param([1.0, "u", "s"], id="well-formed"),
        pytest.param(["storage-token"], id="storage-token"),
    ],
)
async def test_unsigned_tokens_are_refused(target: Target, cursor: list[Any]) -> None:
    await _sessions(target, "u", 1)
    for version in (1, 2):
        await _list_sessions_refuses(target, _unsigned([version, "s", _sessions_binding(target), *cursor]))


async def test_unsigned_event_tokens_are_refused(target: Target) -> None:
    session_id = await _session_with_events(target, 2)
    binding = page_tokens._binding(target.app_name, "u", session_id, None)
    for cursor in (1, 10**400, "1:storage-token"):
        for version in (1, 2):
            await _list_events_refuses(target, session_id, _unsigned([version, "e", binding, cursor]))


async def test_a_token_signed_with_another_key_is_refused(target: Target) -> None:
    await _sessions(target, "u", 2)
    issued = await _first_sessions_token(target)
    body = base64.urlsafe_b64decode(issued + "=" * (-len(issued) % 4))[32:]
    foreign = PageTokens(PageTokenKeys.parse(OTHER_KEY, "tests"))._encode(json.loads(body))
    await _list_sessions_refuses(target, foreign)


async def test_altered_truncated_or_padded_tokens_are_refused(target: Target) -> None:
    await _sessions(target, "u", 2)
    issued = await _first_sessions_token(target)
    raw = base64.urlsafe_b64decode(issued + "=" * (-len(issued) % 4))

    def encoded(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def flipped(position: int) -> bytes:
        return raw[:position] + bytes([raw[position] ^ 0x01]) + raw[position + 1 :]

    variants = {
        "mac-bit-flipped": encoded(flipped(0)),
        "mac-last-bit-flipped": encoded(flipped(31)),
        "body-bit-flipped": encoded(flipped(len(raw) - 2)),
        "mac-truncated": encoded(raw[:16] + raw[32:]),
        "mac-missing": encoded(raw[32:]),
        "mac-only": encoded(raw[:32]),
        "last-character-dropped": issued[:-1],
        "character-appended": issued + "A",
        "padding-added": issued + "=" * (-len(issued) % 4 or 4),
        "standard-alphabet": issued.replace("-", "+").replace("_", "/") + "+",
        "junk-inside": issued[:10] + "!" + issued[10:],
        "non-ascii": issued[:10] + "é" + issued[10:],
        "whitespace": issued + "\n",
        "empty-json-body": encoded(raw[:32] + b"[]"),
        "huge": "A" * 5000,
    }
    for name, token in variants.items():
        assert token != issued, name
        await _list_sessions_refuses(target, token)
    # The genuine token still works.
    await target.stub.ListSessions(
        pb.ListSessionsRequest(app_name=target.app_name, user_id="u", page_token=issued)
    )


# --- tokens replayed for another query -----------------------------------------------------------------


async def test_a_sessions_token_works_only_for_its_own_listing(target: Target) -> None:
    await _sessions(target, "u", 2)
    await _sessions(target, "v", 2)
    issued = await _first_sessions_token(target, "u")
    await _list_sessions_refuses(target, issued, user_id="v")
    await _list_sessions_refuses(target, issued, user_id="")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await target.stub.ListSessions(
            pb.ListSessionsRequest(app_name=target.app_name + "-other", user_id="u", page_token=issued)
        )
    _refused(caught.value)
    every_user = await _first_sessions_token(target, None)
    await _list_sessions_refuses(target, every_user, user_id="u")


async def test_an_events_token_works_only_for_its_own_listing(target: Target) -> None:
    session_id = await _session_with_events(target, 3)
    other_session = await _session_with_events(target, 3)
    issued = await _first_events_token(target, session_id)
    await _list_events_refuses(target, other_session, issued)
    await _list_events_refuses(target, session_id, issued, after_timestamp=Timestamp(seconds=1))
    await _list_sessions_refuses(target, issued)
    sessions_token = await _first_sessions_token(target)
    await _list_events_refuses(target, session_id, sessions_token)


# --- signed with the server's own key, holding what no server writes (defence in depth) ---------------


_SIGNED_SESSION_CURSORS = [
    pytest.param([10**400, "u", "s"], id="time-too-large-for-a-float"),
    pytest.param([-(10**400), "u", "s"], id="time-too-small-for-a-float"),
    pytest.param([10**30, "u", "s"], id="time-beyond-timestamp-range"),
    pytest.param([1e300, "u", "s"], id="float-time-beyond-timestamp-range"),
    pytest.param([-1e12, "u", "s"], id="time-before-year-1"),
    pytest.param([True, "u", "s"], id="time-a-boolean"),
    pytest.param(["1.0", "u", "s"], id="time-a-string"),
    pytest.param([None, "u", "s"], id="time-null"),
    pytest.param([1.0, "u\x00", "s"], id="nul-in-user-id"),
    pytest.param([1.0, "u", "s\x00"], id="nul-in-session-id"),
    pytest.param([1.0, "u\x1f", "s"], id="control-character-in-user-id"),
    pytest.param([1.0, "u", "s\x7f"], id="delete-character-in-session-id"),
    pytest.param([1.0, "", "s"], id="empty-user-id"),
    pytest.param([1.0, "u", ""], id="empty-session-id"),
    pytest.param([1.0, "u" * 129, "s"], id="user-id-too-long"),
    pytest.param([1.0, "u", "s" * 129], id="session-id-too-long"),
    pytest.param([1.0, 7, "s"], id="user-id-a-number"),
    pytest.param([1.0, "u", ["s"]], id="session-id-a-list"),
    pytest.param([1.0, "u"], id="a-field-missing"),
    pytest.param([1.0, "u", "s", "x"], id="a-field-too-many"),
    pytest.param([], id="no-cursor"),
]


@keyset_backends
@pytest.mark.parametrize("cursor", _SIGNED_SESSION_CURSORS)
async def test_signed_session_cursors_no_server_writes_are_refused(target: Target, cursor: list[Any]) -> None:
    await _sessions(target, "u", 1)
    await _list_sessions_refuses(target, SIGNER._encode([2, "s", _sessions_binding(target), *cursor]))


@keyset_backends
@pytest.mark.parametrize(
    "cursor",
    [0, -1, 2**63, 2**64, 10**400, 1.5, True, "1", None, [1]],
    ids=lambda c: repr(c)[:20],
)
async def test_signed_event_cursors_no_server_writes_are_refused(target: Target, cursor: Any) -> None:
    session_id = await _session_with_events(target, 2)
    binding = page_tokens._binding(target.app_name, "u", session_id, None)
    await _list_events_refuses(target, session_id, SIGNER._encode([2, "e", binding, cursor]))


@pytest.mark.parametrize("target", ["vertex"], indirect=True)
@pytest.mark.parametrize(
    "cursor",
    [[""], ["to\x00ken"], ["to\nken"], [7], [None], ["a", "b"], []],
    ids=lambda c: repr(c)[:20],
)
async def test_signed_storage_tokens_no_server_writes_are_refused(target: Target, cursor: list[Any]) -> None:
    await _sessions(target, "u", 1)
    await _list_sessions_refuses(target, SIGNER._encode([2, "s", _sessions_binding(target), *cursor]))
    session_id = await _session_with_events(target, 2)
    binding = page_tokens._binding(target.app_name, "u", session_id, None)
    await _list_events_refuses(target, session_id, SIGNER._encode([2, "e", binding, *cursor]))


@pytest.mark.parametrize(
    "header",
    [[1, "s"], [3, "s"], [2, "e"], [2, "x"], ["2", "s"]],
    ids=lambda h: repr(h),
)
async def test_signed_tokens_of_another_version_or_kind_are_refused(
    target: Target, header: list[Any]
) -> None:
    await _sessions(target, "u", 1)
    cursor: list[Any] = ["storage-token"] if target.pages_by_storage_token else [1.0, "u", "s"]
    await _list_sessions_refuses(target, SIGNER._encode([*header, _sessions_binding(target), *cursor]))
