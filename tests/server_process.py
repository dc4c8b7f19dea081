"""Running ``adk-grpc-sessions`` as users do: a subprocess, started and stopped with signals."""

from __future__ import annotations

import asyncio
import json
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
    """One ``adk-grpc-sessions`` subprocess.

    Its stderr is read as it comes (a server that logs much never blocks on a
    full pipe), and the "serving on" record tells the addresses it bound: a
    server told ``--listen 127.0.0.1:0`` picks a free port itself, which no
    other process can take between a test's choice and the server's bind.
    """

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
        """Everything the process wrote to stderr (complete once it has exited)."""
        self.stdout = ""
        """Everything the process wrote to stdout (complete once it has exited)."""
        self._stderr_lines: list[str] = []
        self._stdout_chunks: list[str] = []
        self._readers: list[asyncio.Task[None]] = []
        self._listening: list[str] | None = None
        self._metrics_listening: str | None = None
        self._serving_logged = asyncio.Event()

    async def start(self) -> ServerProcess:
        """Starts the process (without waiting for it to serve)."""
        self.process = await asyncio.create_subprocess_exec(
            *self.args,
            env=self.env,
            cwd=self.cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=2**24,  # a record with a long traceback is still one line
        )
        assert self.process.stderr is not None and self.process.stdout is not None
        self._readers = [
            asyncio.create_task(self._read_stderr(self.process.stderr)),
            asyncio.create_task(self._read_stdout(self.process.stdout)),
        ]
        return self

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            line = raw.decode(errors="replace")
            self._stderr_lines.append(line)
            self.stderr = "".join(self._stderr_lines)
            if self._listening is None:
                self._note_serving(line)
        self._serving_logged.set()  # exited: nobody waits for a record that cannot come

    async def _read_stdout(self, stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            self._stdout_chunks.append(raw.decode(errors="replace"))
            self.stdout = "".join(self._stdout_chunks)

    def _note_serving(self, line: str) -> None:
        try:
            record = json.loads(line)
        except ValueError:
            return  # not a JSON record (a text-format log, a traceback)
        if isinstance(record, dict) and isinstance(record.get("listening"), list):
            self._listening = [str(address) for address in record["listening"]]
            metrics = record.get("metrics_listening")
            self._metrics_listening = str(metrics) if metrics else None
            self._serving_logged.set()

    async def listening(self, wait: float = 30.0) -> list[str]:
        """The addresses the server bound (ports the system chose filled in), once it serves.

        Raises:
            AssertionError: the process exited without serving, or did not serve within ``wait`` seconds.
        """
        try:
            await asyncio.wait_for(self._serving_logged.wait(), wait)
        except TimeoutError:
            raise AssertionError(f"not serving after {wait:.0f} s; stderr so far:\n{self.stderr}") from None
        assert self._listening is not None, f"exited without serving:\n{self.stderr}"
        return self._listening

    async def address(self, wait: float = 30.0) -> str:
        """The first address the server bound (``host:port``), once it serves."""
        return (await self.listening(wait))[0]

    async def metrics_address(self, wait: float = 30.0) -> str:
        """The ``host:port`` of its ``/metrics`` (for a server started with ``--metrics-listen``)."""
        await self.listening(wait)
        assert self._metrics_listening is not None, "the server serves no metrics"
        return self._metrics_listening

    async def stop(self, signum: int = signal.SIGTERM, wait: float = 30.0) -> int:
        """Sends ``signum`` and waits for the exit; returns the exit status and keeps stderr."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signum)
        return await self.wait(wait)

    async def wait(self, wait: float = 30.0) -> int:
        """Waits for the process to exit by itself; returns its status and keeps stderr."""
        assert self.process is not None
        await asyncio.wait_for(self.process.wait(), timeout=wait)
        await asyncio.wait_for(asyncio.gather(*self._readers), timeout=wait)
        if self._own_cwd is not None:
            shutil.rmtree(self._own_cwd, ignore_errors=True)
        assert self.process.returncode is not None
        return self.process.returncode
