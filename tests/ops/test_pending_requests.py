"""``--max-pending-requests``: a burst up to the limit waits its turn; beyond it, calls are refused at once.

Calls pend in gRPC core while the server's event loop cannot pick them up.
The server runs on an event loop of its own (a thread), which the test blocks
on purpose, so every call of a burst is pending while the burst arrives.
Without the setting, gRPC core would start refusing or cancelling a burst at
its own defaults (1,000 pending calls).
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import Iterator

import grpc
import pytest

from adk_grpc_sessions.server.cli.main import build_parser
from adk_grpc_sessions.server.runtime.config import SETTINGS, config_from
from adk_grpc_sessions.server.runtime.serve import SessionServer
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc

LIMIT = 10
REFUSED = {"CANCELLED", "RESOURCE_EXHAUSTED", "UNAVAILABLE"}
"""How gRPC core refuses a call beyond the limit (clients retry all three)."""


class ServerOnItsOwnLoop:
    """A ``SessionServer`` on an event loop in a thread of its own, which the test can block."""

    def __init__(self, *argv: str) -> None:
        args = build_parser().parse_args(["serve", *argv])  # through the CLI's own flags
        flags = {setting.name: getattr(args, setting.name) for setting in SETTINGS}
        flags["listen"] = [address for group in flags["listen"] for address in group]
        self.config = config_from(flags, environ={})
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: SessionServer | None = None

    def start(self) -> None:
        self._thread.start()
        self._server = SessionServer(self.config)
        asyncio.run_coroutine_threadsafe(self._server.start(), self.loop).result(timeout=30)
        self.port = self._server.ports[0]

    def block(self, release: threading.Event) -> None:
        """Keeps the server's loop busy until ``release`` is set: no new call is picked up meanwhile."""
        self.loop.call_soon_threadsafe(release.wait, 60)

    def stop(self) -> None:
        assert self._server is not None
        asyncio.run_coroutine_threadsafe(self._server.stop(grace=0), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)


@pytest.fixture
def server() -> Iterator[ServerOnItsOwnLoop]:
    running = ServerOnItsOwnLoop(
        "--listen", "127.0.0.1:0", "--backend", "memory://", "--max-pending-requests", str(LIMIT)
    )
    running.start()
    yield running
    running.stop()


async def _burst(
    server: ServerOnItsOwnLoop, calls: int
) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """Sends ``calls`` calls at once while the server's loop is blocked.

    Returns:
        The status codes of the calls answered while it was blocked, and of all of them.
    """
    release = threading.Event()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = pb_grpc.SessionServiceStub(channel)
        request = pb.GetUserStateRequest(app_name="app", user_id="u1")
        await stub.GetUserState(request, timeout=10)  # connected before the loop is blocked

        async def call() -> str:
            try:
                await stub.GetUserState(request, timeout=30)
            except grpc.aio.AioRpcError as error:
                return str(error.code().name)
            return "OK"

        server.block(release)
        try:
            started = time.monotonic()
            answers = [asyncio.create_task(call()) for _ in range(calls)]
            # Long enough for every call to reach the server and for each refusal to come back
            # (they come back at once); the pending ones cannot be answered before the release.
            done, _ = await asyncio.wait(answers, timeout=3)
            early = collections.Counter(task.result() for task in done)
            assert time.monotonic() - started < 30
        finally:
            release.set()
        final = collections.Counter(await asyncio.gather(*answers))
    return early, final


async def test_a_burst_up_to_the_limit_waits_and_every_call_is_answered(server: ServerOnItsOwnLoop) -> None:
    early, final = await _burst(server, LIMIT)
    assert early == collections.Counter(), "answered while the server could not have served them"
    assert final == collections.Counter({"OK": LIMIT})


async def test_calls_beyond_the_limit_are_refused_at_once_and_the_rest_are_served(
    server: ServerOnItsOwnLoop,
) -> None:
    calls = 3 * LIMIT
    early, final = await _burst(server, calls)
    refused = sum(count for code, count in final.items() if code in REFUSED)
    assert set(final) <= {"OK", *REFUSED}, final
    # The limit counts calls waiting to be picked up; one more may already be picked up
    # (the server asks for its next call ahead), the one a blocked loop cannot start.
    assert LIMIT <= final["OK"] <= LIMIT + 2, final
    assert refused == calls - final["OK"]
    assert sum(early.values()) == refused and set(early) <= REFUSED, early
