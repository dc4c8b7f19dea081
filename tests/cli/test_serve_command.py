"""The documented command starts a server that ADK clients can use, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from adk_grpc_sessions.client import GrpcSessionService
from tests.net import free_port

CLI = str(Path(sys.executable).with_name("adk-grpc-sessions"))


async def _wait_serving(address: str) -> None:
    async with asyncio.timeout(20), grpc.aio.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.1)


async def test_serve_command_from_the_readme(app_name: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    process = await asyncio.create_subprocess_exec(
        CLI, "serve", "--listen", address, "--backend", "memory://", stderr=asyncio.subprocess.PIPE
    )
    try:
        await _wait_serving(address)
        async with GrpcSessionService(address) as client:
            session = await client.create_session(app_name=app_name, user_id="u1", state={"k": 1})
            assert (
                await client.get_session(app_name=app_name, user_id="u1", session_id=session.id)
            ) == session
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 0, stderr.decode()
    assert f"serving on {address}" in stderr.decode()


async def test_listen_address_can_come_from_the_environment(app_name: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "ADK_GRPC_SESSIONS_LISTEN": address, "ADK_GRPC_SESSIONS_BACKEND": "memory://"}
    process = await asyncio.create_subprocess_exec(CLI, "serve", env=env, stderr=asyncio.subprocess.PIPE)
    try:
        await _wait_serving(address)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 0


async def test_unknown_backend_scheme_exits_nonzero_with_a_clear_message() -> None:
    process = await asyncio.create_subprocess_exec(
        CLI,
        "serve",
        "--listen",
        f"127.0.0.1:{free_port()}",
        "--backend",
        "nosuch://x",
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 2
    assert "unknown backend URI scheme 'nosuch'" in stderr.decode()
