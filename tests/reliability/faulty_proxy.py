"""A TCP proxy that can cut connections at the worst moment: after a request went in, before its answer came out."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass
class FaultyProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream``; ``cut_responses`` connections lose their next response.

    A connection is cut when the server sends bytes after the client has sent
    at least ``request_bytes`` since the last cut check: the request reached
    the server, so it acted, but its answer never reaches the client.
    """

    upstream_host: str
    upstream_port: int
    request_bytes: int = 400
    cut_responses: int = 0
    cuts: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _connection(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except OSError:
            client_writer.close()
            return
        sent = [0]
        cut = asyncio.Event()

        async def upstream() -> None:
            while not cut.is_set() and (chunk := await client_reader.read(65536)):
                sent[0] += len(chunk)
                server_writer.write(chunk)
                await server_writer.drain()

        async def downstream() -> None:
            while chunk := await server_reader.read(65536):
                if self.cut_responses > 0 and sent[0] >= self.request_bytes:
                    self.cut_responses -= 1
                    self.cuts += 1
                    cut.set()
                    return  # the answer is dropped on the floor
                sent[0] = 0 if sent[0] >= self.request_bytes else sent[0]
                client_writer.write(chunk)
                await client_writer.drain()

        tasks = [asyncio.create_task(upstream()), asyncio.create_task(downstream())]
        self._tasks.update(tasks)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
                self._tasks.discard(task)
            for writer in (client_writer, server_writer):
                writer.close()
