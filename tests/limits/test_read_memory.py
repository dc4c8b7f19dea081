"""One read of a session many times a response costs the server a few responses of memory, not the session.

Measured on a real server process: its peak resident memory is reset
(``/proc/PID/clear_refs``) just before the read and read back
(``VmHWM``) just after, against its resident memory before.
"""

from __future__ import annotations

import json
import pathlib
import sys
from collections.abc import Awaitable, Callable
from typing import Final

import grpc
import pytest
from google.protobuf.message import Message

from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.limits.conftest import MESSAGE_LIMIT, MIB, event_json
from tests.net import free_port
from tests.server_process import ServerProcess, wait_until_serving
from tests.sql.conftest import new_database_uri

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux only)")

EVENTS: Final = 14
EVENT_TEXT: Final = 3_500_000
"""Fourteen events of 3.5 MB: a session of 49 MB, twelve times the 4 MiB message limit."""
MOST_GROWTH: Final = 6 * MESSAGE_LIMIT
"""What one read may add to the server's resident memory at its peak: a few responses' worth (the rows
read, the events' text and bytes, the response, gRPC's copy of it)."""


def _reset_peak(pid: int) -> None:
    """Makes the process's peak resident memory (VmHWM) its resident memory now."""
    with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def _status_kib(pid: int, field: str) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


async def _serve(address: str, backend: str, directory: pathlib.Path) -> ServerProcess:
    server = await ServerProcess(
        [
            "serve",
            "--listen",
            address,
            "--backend",
            backend,
            "--max-message-bytes",
            str(MESSAGE_LIMIT),
            "--max-state-bytes",
            str(MIB),
            "--grace-seconds",
            "0",
        ],
        cwd=directory,
    ).start()
    await wait_until_serving(address)
    return server


async def _grow(stub: pb_grpc.SessionServiceAsyncStub) -> None:
    created = await stub.CreateSession(pb.CreateSessionRequest(app_name="app", user_id="u", session_id="big"))
    revision = created.session.revision
    for n in range(EVENTS):
        appended = await stub.AppendEvent(
            pb.AppendEventRequest(
                app_name="app",
                user_id="u",
                session_id="big",
                event_json=event_json(f"e{n}", EVENT_TEXT, timestamp=1e9 + n),
                expected_revision=revision,
            )
        )
        revision = appended.revision


async def _measured_reads(stub: pb_grpc.SessionServiceAsyncStub, pid: int) -> dict[str, dict[str, int]]:
    """Each read's response size, and how far the server's peak memory went above its memory before it."""
    get = pb.GetSessionRequest(app_name="app", user_id="u", session_id="big")
    listing = pb.ListEventsRequest(app_name="app", user_id="u", session_id="big")
    reads: dict[str, Callable[[], Awaitable[Message]]] = {
        "GetSession": lambda: stub.GetSession(get),
        "ListEvents": lambda: stub.ListEvents(listing),
    }
    measured: dict[str, dict[str, int]] = {}
    for name, read in reads.items():
        before = _status_kib(pid, "VmRSS")
        _reset_peak(pid)
        response = await read()
        peak = _status_kib(pid, "VmHWM")
        measured[name] = {"response_bytes": response.ByteSize(), "peak_growth_bytes": (peak - before) * 1024}
    return measured


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "memory"])
async def test_one_read_of_a_session_twelve_times_a_response_costs_a_few_responses_of_memory(
    kind: str, tmp_path: pathlib.Path
) -> None:
    address = f"127.0.0.1:{free_port()}"
    backend = "memory://" if kind == "memory" else await new_database_uri(kind, tmp_path)
    options = [("grpc.max_send_message_length", MESSAGE_LIMIT), ("grpc.max_receive_message_length", -1)]
    server = await _serve(address, backend, tmp_path)
    try:
        async with grpc.aio.insecure_channel(address, options=options) as channel:
            await _grow(pb_grpc.SessionServiceStub(channel))
        if kind != "memory":
            # A new process, so that memory freed after the appends cannot hide what the read takes.
            await server.stop()
            server = await _serve(address, backend, tmp_path)
        assert server.process is not None
        async with grpc.aio.insecure_channel(address, options=options) as channel:
            measured = await _measured_reads(pb_grpc.SessionServiceStub(channel), server.process.pid)
    finally:
        await server.stop()
    print(json.dumps({"backend": kind, "session_bytes": EVENTS * EVENT_TEXT, **measured}))
    assert all(read["response_bytes"] <= MESSAGE_LIMIT for read in measured.values()), measured
    assert all(read["peak_growth_bytes"] <= MOST_GROWTH for read in measured.values()), measured
