"""Servers with small limits, on every backend, for the tests of the contract's limits.

The limits are scaled down (a 4 MiB message limit, 1 MiB of state per scope)
so that sessions many times a response take seconds to build, not minutes.
Each test gets a server of its own on a fresh database (a reasoning engine
of its own on the Vertex AI stand-in), in this process, on a real socket.
"""

from __future__ import annotations

import itertools
import json
import pathlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.sql.conftest import new_database_uri
from tests.vertex_standin.server import serving
from tests.vertex_standin.service import SessionServiceStandIn

MIB: Final = 1024 * 1024
MESSAGE_LIMIT: Final = 4 * MIB
STATE_LIMIT: Final = MIB
BACKEND_KINDS: Final = ["memory", "sqlite", "postgresql", "mariadb", "vertex"]
SQL_KINDS: Final = ["sqlite", "postgresql", "mariadb"]
_ENGINES = itertools.count(1)


@dataclass
class LimitedServer:
    """A running server with small limits, and a raw stub on it (default channel: 4 MiB in, 4 MiB out)."""

    kind: str
    address: str
    config: ServerConfig
    stub: pb_grpc.SessionServiceAsyncStub
    big_stub: pb_grpc.SessionServiceAsyncStub
    """A stub that sends and receives messages up to the message limit (gRPC's default: 4 MiB)."""


StartLimited = Callable[..., Awaitable[LimitedServer]]


async def backend_uri(kind: str, tmp_path: pathlib.Path, standin: SessionServiceStandIn, address: str) -> str:
    """A fresh backend URI of ``kind``."""
    if kind == "memory":
        return "memory://"
    if kind == "vertex":
        engine = f"projects/limits/locations/us-central1/reasoningEngines/{next(_ENGINES)}"
        standin.engines.add(engine)
        return f"agentengine://{engine}?endpoint={address}&plaintext=true&timeout=20&operation_timeout=20"
    return await new_database_uri(kind, tmp_path)


@pytest.fixture
async def vertex_standin() -> AsyncIterator[tuple[SessionServiceStandIn, str]]:
    """A Vertex AI Sessions stand-in on this event loop, and its address."""
    standin = SessionServiceStandIn([], operation_polls=0)
    async with serving(standin) as address:
        yield standin, address


@pytest.fixture
async def start_limited(
    tmp_path: pathlib.Path, vertex_standin: tuple[SessionServiceStandIn, str]
) -> AsyncIterator[StartLimited]:
    """Starts servers on fresh backends of a kind, with small limits (``max_*`` override them)."""
    started: list[tuple[SessionServer, list[grpc.aio.Channel]]] = []

    async def start(kind: str, **limits: int) -> LimitedServer:
        directory = tmp_path / uuid.uuid4().hex
        directory.mkdir()
        uri = await backend_uri(kind, directory, *vertex_standin)
        config = ServerConfig(
            listen=["127.0.0.1:0"],
            backend=uri,
            max_message_bytes=limits.get("max_message_bytes", MESSAGE_LIMIT),
            max_state_bytes=limits.get("max_state_bytes", STATE_LIMIT),
            max_session_bytes=limits.get("max_session_bytes", 1024 * MIB),
        )
        server = SessionServer(config)
        await server.start()
        address = f"127.0.0.1:{server.ports[0]}"
        channel = grpc.aio.insecure_channel(address)
        limit = config.max_message_bytes
        big_channel = grpc.aio.insecure_channel(
            address,
            options=[("grpc.max_send_message_length", limit), ("grpc.max_receive_message_length", limit)],
        )
        started.append((server, [channel, big_channel]))
        return LimitedServer(
            kind,
            address,
            config,
            pb_grpc.SessionServiceStub(channel),
            pb_grpc.SessionServiceStub(big_channel),
        )

    yield start
    for server, channels in started:
        for channel in channels:
            await channel.close()
        await server.stop(grace=1.0)


def event_json(
    event_id: str, text_bytes: int, *, timestamp: float, delta: dict[str, Any] | None = None
) -> str:
    """An ADK event's JSON of about ``text_bytes`` of text (and the state delta given)."""
    event: dict[str, Any] = {
        "id": event_id,
        "invocationId": f"inv-{event_id}",
        "author": "agent",
        "timestamp": timestamp,
        "content": {"role": "model", "parts": [{"text": event_id[:1] * text_bytes}]},
    }
    if delta:
        event["actions"] = {"stateDelta": delta}
    return json.dumps(event, separators=(",", ":"))


def error_info(error: grpc.aio.AioRpcError | pb.Status) -> error_details_pb2.ErrorInfo:
    """The ``ErrorInfo`` a failed call (or an append's failure in a batch or a stream) carries."""
    if isinstance(error, pb.Status):
        status = status_pb2.Status.FromString(error.SerializeToString())
    else:
        found = rpc_status.from_call(error)
        assert found is not None, f"no status details in {error!r}"
        status = found
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info
    raise AssertionError(f"no ErrorInfo in {status}")
