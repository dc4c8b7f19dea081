"""Running ``adk-grpc-sessions`` as users do: a subprocess, started and stopped with signals."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

CLI = str(Path(sys.executable).with_name("adk-grpc-sessions"))


async def wait_until_serving(
    address: str, credentials: grpc.ChannelCredentials | None = None, wait: float = 20.0
) -> None:
    """Returns once the server at ``address`` reports SERVING.

    Raises:
        TimeoutError: it did not within ``wait`` seconds.
    """
    channel = (
        grpc.aio.secure_channel(address, credentials) if credentials else grpc.aio.insecure_channel(address)
    )
    async with asyncio.timeout(wait), channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.05)


class ServerProcess:
    """One ``adk-grpc-sessions`` subprocess."""

    def __init__(
        self, args: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> None:
        self.args = [CLI, *args]
        self.env = {**os.environ, **(env or {})}
        # A directory of its own by default: the default backend is a SQLite
        # file under the working directory, which must not be the repository's
        # nor shared between tests.
        self._own_cwd = None if cwd is not None else tempfile.mkdtemp(prefix="adk-grpc-sessions-serve-")
        self.cwd = cwd if cwd is not None else Path(self._own_cwd or ".")
        self.process: asyncio.subprocess.Process | None = None
        self.stderr = ""

    async def start(self) -> ServerProcess:
        """Starts the process (without waiting for it to serve)."""
        self.process = await asyncio.create_subprocess_exec(
            *self.args,
            env=self.env,
            cwd=self.cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return self

    async def stop(self, signum: int = signal.SIGTERM, wait: float = 30.0) -> int:
        """Sends ``signum`` and waits for the exit; returns the exit status and keeps stderr."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signum)
        return await self.wait(wait)

    async def wait(self, wait: float = 30.0) -> int:
        """Waits for the process to exit by itself; returns its status and keeps stderr."""
        assert self.process is not None
        _, stderr = await asyncio.wait_for(self.process.communicate(), timeout=wait)
        self.stderr = stderr.decode()
        if self._own_cwd is not None:
            shutil.rmtree(self._own_cwd, ignore_errors=True)
        assert self.process.returncode is not None
        return self.process.returncode
