"""Serving the stand-in on a loopback port: on the caller's event loop, or on a thread of its own."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator

import grpc

from tests.vertex_standin.service import SessionServiceStandIn


@contextlib.asynccontextmanager
async def serving(standin: SessionServiceStandIn) -> AsyncIterator[str]:
    """Serves ``standin`` on the running event loop; yields its ``127.0.0.1:PORT``."""
    server = grpc.aio.server(
        options=[("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
    )
    server.add_generic_rpc_handlers(standin.handlers())
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(grace=None)


@contextlib.contextmanager
def serving_in_thread(standin: SessionServiceStandIn) -> Iterator[str]:
    """Serves ``standin`` from a thread with its own event loop; yields its ``127.0.0.1:PORT``.

    For callers that cannot await (synchronous fixtures). The stand-in's data
    belongs to that thread's loop while it runs.
    """
    loop = asyncio.new_event_loop()
    started: asyncio.Future[str] = loop.create_future()
    stopping = asyncio.Event()

    async def run() -> None:
        try:
            async with serving(standin) as address:
                started.set_result(address)
                await stopping.wait()
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            raise

    thread = threading.Thread(
        target=loop.run_until_complete, args=(run(),), name="vertex-standin", daemon=True
    )
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(_wait(started), loop).result(timeout=30)
    finally:
        loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout=30)
        loop.close()


async def _wait(started: asyncio.Future[str]) -> str:
    return await started
