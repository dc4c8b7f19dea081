"""Fixtures every test area shares: unique names, and real servers on real sockets."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer

StartServer = Callable[[str], Awaitable[str]]
"""Starts (or reuses) a server on a backend URI; returns its ``host:port``."""


@pytest.fixture
def app_name() -> str:
    """An app name no other test uses, so tests sharing a server never see each other's data."""
    return f"app-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
async def grpc_server() -> AsyncIterator[StartServer]:
    """Starts one in-process server per backend URI, on a free TCP port, for the whole run."""
    running: dict[str, tuple[SessionServer, str]] = {}

    async def start(backend_uri: str) -> str:
        if backend_uri not in running:
            server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend=backend_uri))
            await server.start()
            running[backend_uri] = (server, f"127.0.0.1:{server.ports[0]}")
        return running[backend_uri][1]

    yield start
    for server, _ in running.values():
        await server.stop(grace=1.0)
