"""Raw-stub access to a real server, for testing the wire contract itself."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.conftest import StartServer


@pytest.fixture
async def channel(grpc_server: StartServer) -> AsyncIterator[grpc.aio.Channel]:
    """A plain channel to a memory-backed server."""
    async with grpc.aio.insecure_channel(await grpc_server("memory://")) as opened:
        yield opened


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> pb_grpc.SessionServiceAsyncStub:
    """The generated stub, as a client in any language would use it."""
    return pb_grpc.SessionServiceStub(channel)
