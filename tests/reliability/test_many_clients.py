"""500 clients at once, and clients that stall, neither starve the others nor grow the server's memory without bound."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import textwrap
import time
from pathlib import Path

from google.adk.events.event import Event
from google.genai import types

from adk_grpc_sessions.client import GrpcSessionService
from bench.worker import rss_mib
from tests.net import free_port
from tests.server_process import ServerProcess, wait_until_serving

SLOW_READER = textwrap.dedent(
    """
    import asyncio, sys
    from adk_grpc_sessions.client import GrpcSessionService

    async def main() -> None:
        async with GrpcSessionService(sys.argv[1], timeout=None) as client:
            print("reading", flush=True)
            while True:
                await client.get_session(app_name=sys.argv[2], user_id="u", session_id="big")

    asyncio.run(main())
    """
)


async def _one_client(address: str, app_name: str, index: int) -> float:
    started = time.perf_counter()
    async with GrpcSessionService(address, timeout=60) as client:
        session = await client.create_session(app_name=app_name, user_id=f"user-{index}")
        await client.append_event(
            session, Event(author="user", content=types.Content(parts=[types.Part(text="hi")]))
        )
        read = await client.get_session(app_name=app_name, user_id=f"user-{index}", session_id=session.id)
        assert read is not None and len(read.events) == 1
    return time.perf_counter() - started


async def test_many_clients_and_stalled_ones_do_not_starve_anyone(
    backend_uri: str, app_name: str, tmp_path: Path
) -> None:
    address = f"127.0.0.1:{free_port()}"
    server = await ServerProcess(
        ["serve", "--listen", address, "--backend", backend_uri, "--log-level", "WARNING"]
    ).start()
    assert server.process is not None
    stalled_sockets: list[socket.socket] = []
    reader = None
    try:
        await wait_until_serving(address)
        # A session large enough that a reader who stops reading leaves the server with unsent data.
        async with GrpcSessionService(address) as setup:
            big = await setup.create_session(app_name=app_name, user_id="u", session_id="big")
            blob = types.Part(
                inline_data=types.Blob(mime_type="application/octet-stream", data=b"x" * 1_000_000)
            )
            for _ in range(8):
                await setup.append_event(big, Event(author="user", content=types.Content(parts=[blob])))
        script = tmp_path / "slow_reader.py"
        script.write_text(SLOW_READER)
        reader = await asyncio.create_subprocess_exec(
            sys.executable, str(script), address, app_name, stdout=asyncio.subprocess.PIPE
        )
        assert reader.stdout is not None
        assert await asyncio.wait_for(reader.stdout.readline(), 30) == b"reading\n"
        await asyncio.sleep(1.0)
        reader.send_signal(signal.SIGSTOP)  # stops reading mid-stream, connection left open
        # Connections that open and never speak HTTP/2 properly.
        host, port = address.rsplit(":", 1)
        for _ in range(50):
            stalled = socket.create_connection((host, int(port)))
            stalled.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")  # the preface, then silence
            stalled_sockets.append(stalled)

        baseline = rss_mib(server.process.pid)
        for round_number in range(2):
            durations = await asyncio.wait_for(
                asyncio.gather(
                    *(_one_client(address, app_name, 1000 * round_number + i) for i in range(500))
                ),
                timeout=180,
            )
            assert max(durations) < 120, f"a client waited {max(durations):.1f} s"
            if round_number == 0:
                after_first = rss_mib(server.process.pid)
        after_second = rss_mib(server.process.pid)
        assert after_first - baseline < 400, f"500 clients cost {after_first - baseline:.0f} MiB"
        assert after_second - after_first < 0.25 * (after_first - baseline) + 40, (
            baseline,
            after_first,
            after_second,
        )
    finally:
        for stalled in stalled_sockets:
            stalled.close()
        if reader is not None:
            reader.send_signal(signal.SIGCONT)
            reader.kill()
            await reader.wait()
        assert await server.stop() == 0, server.stderr
