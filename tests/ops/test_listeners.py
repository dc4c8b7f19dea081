"""Which listeners may serve unprotected, and TLS on more than one of them: real processes, real sockets."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from pathlib import Path

import pytest
import trustme

from adk_grpc_sessions.server.cli.health import ProbeTls, check
from adk_grpc_sessions.server.runtime.auth import grant_line
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from tests.server_process import CLI, ServerProcess, wait_until_serving


def _abstract_name() -> str:
    return f"adk-grpc-sessions-test-{uuid.uuid4().hex[:12]}"


def _someone_listens(name: str) -> bool:
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect("\0" + name)
        except OSError:
            return False
        return True


async def _health(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    probe = await asyncio.create_subprocess_exec(
        CLI,
        "health",
        *args,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(probe.communicate(), 90)  # start-up on a loaded machine
    assert probe.returncode is not None
    return probe.returncode, output.decode()


def _tls_files(directory: Path) -> tuple[trustme.CA, Path, Path]:
    ca = trustme.CA()
    issued = ca.issue_cert("sessions.example.internal")
    cert, key = directory / "server.pem", directory / "server.key"
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(key))
    return ca, cert, key


async def test_an_abstract_socket_is_refused_without_tls_and_tokens() -> None:
    name = _abstract_name()
    server = await ServerProcess(
        ["serve", "--listen", f"unix-abstract:{name}", "--backend", "memory://"]
    ).start()
    assert await server.wait() == 2
    assert server.stderr.count("\n") == 1, server.stderr
    assert f"refusing to serve sessions unprotected on unix-abstract:{name}" in server.stderr
    assert "abstract Unix socket has no file permissions" in server.stderr
    assert not _someone_listens(name)


async def test_an_abstract_socket_serves_when_told_to_allow_unauthenticated() -> None:
    address = f"unix-abstract:{_abstract_name()}"
    server = await ServerProcess(
        ["serve", "--listen", address, "--backend", "memory://", "--allow-unauthenticated"]
    ).start()
    try:
        await wait_until_serving(address, wait=120)
        assert await _health("--address", address) == (0, "SERVING\n")
    finally:
        exit_status = await server.stop()
    assert exit_status == 0, server.stderr


async def test_a_socket_file_still_serves_unprotected(tmp_path: Path) -> None:
    address = f"unix:{tmp_path / 'sessions.sock'}"
    server = await ServerProcess(["serve", "--listen", address, "--backend", "memory://"]).start()
    try:
        await wait_until_serving(address, wait=120)
    finally:
        exit_status = await server.stop()
    assert exit_status == 0, server.stderr


async def test_an_abstract_socket_serves_with_tls_and_tokens_next_to_a_tcp_address(tmp_path: Path) -> None:
    _, cert, key = _tls_files(tmp_path)
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(grant_line("agents", "agent-token", ["*"]) + "\n")
    abstract = f"unix-abstract:{_abstract_name()}"
    env = {
        "ADK_GRPC_SESSIONS_LISTEN": f"{abstract},127.0.0.1:0",
        "ADK_GRPC_SESSIONS_BACKEND": "memory://",
        "ADK_GRPC_SESSIONS_TLS_CERT": str(cert),
        "ADK_GRPC_SESSIONS_TLS_KEY": str(key),
        "ADK_GRPC_SESSIONS_TOKENS_FILE": str(tokens),
    }
    server = await ServerProcess(["serve"], env=env).start()
    try:
        started = time.monotonic()
        while time.monotonic() - started < 120:
            status, output = await _health(env=env)  # the probe reads the server's own settings
            if status == 0 or (server.process and server.process.returncode is not None):
                break
            await asyncio.sleep(0.1)
        assert (status, output) == (0, "SERVING\n")
        assert (await check(abstract, wait=2)).startswith("UNAVAILABLE"), "TLS, not plaintext"
    finally:
        exit_status = await server.stop()
    assert exit_status == 0, server.stderr


async def test_tls_serves_on_every_address_it_listens_on(tmp_path: Path) -> None:
    ca, cert, key = _tls_files(tmp_path)
    server = SessionServer(
        ServerConfig(listen=["127.0.0.1:0", "127.0.0.1:0"], backend="memory://", tls_cert=cert, tls_key=key)
    )
    await server.start()
    try:
        tls = ProbeTls(ca.cert_pem.bytes(), server_name="sessions.example.internal")
        for port in server.ports:
            assert await check(f"127.0.0.1:{port}", tls=tls) == "SERVING"
    finally:
        await server.stop(grace=0)


@pytest.mark.parametrize("address", ["127.0.0.1:0", "localhost:0", "[::1]:0", "unix:/tmp/x.sock"])
def test_loopback_and_socket_files_need_no_protection(address: str) -> None:
    ServerConfig(listen=[address]).check()


def test_an_abstract_socket_needs_protection_like_a_public_address() -> None:
    with pytest.raises(ValueError, match="abstract Unix socket has no file permissions"):
        ServerConfig(listen=["unix-abstract:sessions"]).check()
    ServerConfig(listen=["unix-abstract:sessions"], allow_unauthenticated=True).check()
