"""The tokens file is read again when it changes, by a real server process: revoke, add, break, recover."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.rpc import status_pb2

from adk_grpc_sessions.server.runtime.auth import RELOAD_INTERVAL, grant_line
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.net import free_port
from tests.server.rpc_errors import failure_in, failure_of
from tests.server_process import CLI, wait_until_serving

APP = "billing"
TAKES_EFFECT_WITHIN = RELOAD_INTERVAL + 19.0
"""A change must show within one look at the file, plus headroom for a loaded machine."""


class Server:
    """A ``serve`` process on loopback with a tokens file, its log kept in a file to read while it runs."""

    def __init__(self, tmp_path: Path) -> None:
        self.tokens = tmp_path / "tokens.txt"
        self.log = tmp_path / "server.log"
        self.address = f"127.0.0.1:{free_port()}"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                CLI,
                "serve",
                "--listen",
                self.address,
                "--backend",
                "memory://",
                "--tokens-file",
                str(self.tokens),
                cwd=self.tokens.parent,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        await wait_until_serving(self.address, wait=120)

    async def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        assert await asyncio.wait_for(self.process.wait(), 60) == 0

    def errors(self) -> list[str]:
        """The messages of the ERROR lines logged so far."""
        lines = [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]
        return [line["message"] for line in lines if line["level"] == "ERROR"]


def write_grants(path: Path, **tokens: str) -> None:
    """Writes the file the way an editor saving in place does; ``name=token``, each granted APP."""
    path.write_text("".join(grant_line(name, token, [APP]) + "\n" for name, token in tokens.items()))


async def code_for(channel: grpc.aio.Channel, token: str | None) -> grpc.StatusCode:
    """What a call with ``token`` (or none) gets."""
    metadata = [("authorization", f"Bearer {token}")] if token else []
    try:
        await pb_grpc.SessionServiceStub(channel).ListSessions(
            pb.ListSessionsRequest(app_name=APP), metadata=metadata, timeout=5
        )
    except grpc.aio.AioRpcError as error:
        return failure_of(error).code
    return grpc.StatusCode.OK


async def wait_for_code(channel: grpc.aio.Channel, token: str, code: grpc.StatusCode) -> float:
    """Seconds until a call with ``token`` gets ``code``, asked again and again."""
    started = time.monotonic()
    while (await code_for(channel, token)) != code:
        assert time.monotonic() - started < TAKES_EFFECT_WITHIN, f"{token}: never {code.name}"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def wait_for_errors(server: Server, count: int) -> None:
    """Until the server has logged ``count`` error lines (it looks at the file when called)."""
    started = time.monotonic()
    async with grpc.aio.insecure_channel(server.address) as channel:
        while len(server.errors()) < count:
            assert time.monotonic() - started < TAKES_EFFECT_WITHIN, f"logged only {server.errors()}"
            await code_for(channel, "token-probe")  # any presented token makes it look
            await asyncio.sleep(0.05)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    running = Server(tmp_path)
    write_grants(running.tokens, alice="token-alice")
    await running.start()
    yield running
    await running.stop()


async def test_a_revoked_token_is_refused_and_an_added_one_works_without_a_restart(server: Server) -> None:
    async with grpc.aio.insecure_channel(server.address) as channel:
        assert await code_for(channel, "token-alice") == grpc.StatusCode.OK
        assert await code_for(channel, "token-bob") == grpc.StatusCode.UNAUTHENTICATED

        write_grants(server.tokens, bob="token-bob")
        revoked_after = await wait_for_code(channel, "token-alice", grpc.StatusCode.UNAUTHENTICATED)
        assert await code_for(channel, "token-bob") == grpc.StatusCode.OK
        assert revoked_after < TAKES_EFFECT_WITHIN

        server.tokens.write_text(grant_line("bob", "token-bob", ["another-app"]) + "\n")  # narrowed
        await wait_for_code(channel, "token-bob", grpc.StatusCode.PERMISSION_DENIED)
    assert server.errors() == []


async def test_a_broken_or_missing_tokens_file_keeps_the_last_good_grants(server: Server) -> None:
    async with grpc.aio.insecure_channel(server.address) as channel:
        assert await code_for(channel, "token-alice") == grpc.StatusCode.OK

        # A token pasted in clear instead of its digest: the line does not parse.
        server.tokens.write_text(grant_line("alice", "token-alice", [APP]) + "\nbob token-bob billing\n")
        await wait_for_errors(server, 1)
        (error,) = server.errors()
        assert "keeping the last good tokens file" in error and "line 2" in error
        assert "token-bob" not in server.log.read_text(), "a secret pasted by mistake is never logged"
        # Looked at again and again, still the same broken file: one error line, not one per look.
        until = time.monotonic() + 2.5 * RELOAD_INTERVAL
        while time.monotonic() < until:
            assert await code_for(channel, "token-alice") == grpc.StatusCode.OK
            assert await code_for(channel, None) == grpc.StatusCode.UNAUTHENTICATED
            assert await code_for(channel, "token-bob") == grpc.StatusCode.UNAUTHENTICATED
            await asyncio.sleep(0.1)
        assert len(server.errors()) == 1

        server.tokens.unlink()
        await wait_for_errors(server, 2)
        assert "cannot read tokens file" in server.errors()[1]
        assert await code_for(channel, "token-alice") == grpc.StatusCode.OK
        assert await code_for(channel, None) == grpc.StatusCode.UNAUTHENTICATED

        write_grants(server.tokens, carol="token-carol")  # fixed: the new grants take over
        await wait_for_code(channel, "token-alice", grpc.StatusCode.UNAUTHENTICATED)
        assert await code_for(channel, "token-carol") == grpc.StatusCode.OK
    assert len(server.errors()) == 2


async def test_a_revoked_token_is_refused_on_an_append_stream_opened_before(server: Server) -> None:
    metadata = [("authorization", "Bearer token-alice")]
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = pb_grpc.SessionServiceStub(channel)
        created = await stub.CreateSession(
            pb.CreateSessionRequest(app_name=APP, user_id="u1"), metadata=metadata
        )
        stream = stub.AppendEventStream(metadata=metadata)
        revision, appended = created.session.revision, 0

        async def append() -> pb.AppendEventResult:
            nonlocal appended
            appended += 1
            request = pb.AppendEventRequest(
                app_name=APP,
                user_id="u1",
                session_id=created.session.session_id,
                event_json=json.dumps({"id": f"e{appended}", "author": "user", "timestamp": appended}),
                expected_revision=revision,
            )
            await stream.write(pb.AppendEventStreamRequest(append=request))
            answer = await stream.read()
            assert isinstance(answer, pb.AppendEventStreamResponse)
            return answer.result

        first = await append()
        assert first.HasField("response")
        revision = first.response.revision

        write_grants(server.tokens, bob="token-bob")
        started = time.monotonic()
        while (result := await append()).HasField("response"):
            assert time.monotonic() - started < TAKES_EFFECT_WITHIN, "the stream's token was never revoked"
            revision = result.response.revision
            await asyncio.sleep(0.05)
        error = status_pb2.Status.FromString(result.error.SerializeToString())
        assert failure_in(error).code == grpc.StatusCode.UNAUTHENTICATED
        await stream.done_writing()
