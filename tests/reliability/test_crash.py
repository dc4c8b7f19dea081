"""SIGKILL of the server while appends are in flight, again and again: nothing acknowledged is lost or doubled.

Each kill comes at a point of progress (a fifth, two fifths, ... of the run's
appends acknowledged), when appends are in flight on both of the Python
client's default paths: the append stream (a session appending alone) and
``BatchAppendEvents`` (many sessions appending at once); see ``append_load``.
It comes at a random moment within about two appends' time in flight after
an answer, so that kills find the appends in flight at different points: not
yet read, mid-transaction, or committed with their answers not yet sent.

While the server is down, the database itself is read: every acknowledged
event is there exactly once and in order, the one each writer had under way
at most once, and the state is exactly what the stored events' deltas make
it. After each restart, once the writers' retries have finished what they had
under way, the same holds through the server, with nothing left
unacknowledged.

A memory server keeps nothing across a kill; its test shows the restarted
server says so (the session is not found) rather than serve part of it.
"""

from __future__ import annotations

import asyncio
import functools
import random
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest
from google.adk.errors.session_not_found_error import SessionNotFoundError

from adk_grpc_sessions.client import GrpcSessionService
from tests.net import free_port
from tests.reliability.append_load import (
    APP,
    BATCH,
    STREAM,
    AppendLoad,
    Wire,
    check_stored,
    count_appends_on_the_wire,
    read_from_database,
    read_through_server,
    until,
)
from tests.server_process import ServerProcess, wait_until_serving

pytestmark = pytest.mark.slow

KILLS: Final = 4
TOTAL: Final = 600
"""Appends acknowledged in all; the kills come after a fifth, two fifths, ... of them."""
BATCHED_SESSIONS: Final = 8


@dataclass(frozen=True)
class Kill:
    """What one kill interrupted."""

    acknowledged: int
    """Appends acknowledged before the kill."""
    in_flight: dict[str, int]
    """Appends sent and not answered at the kill, by method."""
    stored_unanswered: int
    """Appends under way at the kill that the database held afterwards (committed, answer lost)."""


def _ready_to_kill(load: AppendLoad, wire: Wire, progress: int) -> bool:
    """``progress`` appends acknowledged, and appends in flight on the stream and in batches."""
    return load.acknowledged >= progress and wire.in_flight[STREAM] > 0 and wire.in_flight[BATCH] > 0


def _serve(address: str, backend_uri: str, cwd: Path) -> ServerProcess:
    return ServerProcess(
        ["serve", "--listen", address, "--backend", backend_uri, "--log-level", "WARNING"], cwd=cwd
    )


async def test_acknowledged_appends_survive_kills_mid_write(
    durable_backend_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wire = count_appends_on_the_wire(monkeypatch)
    address = f"127.0.0.1:{free_port()}"
    server = await _serve(address, durable_backend_uri, tmp_path).start()
    await wait_until_serving(address, wait=60)
    load = await AppendLoad.start(address, batched_sessions=BATCHED_SESSIONS, total=TOTAL)
    kills: list[Kill] = []
    try:
        for number in range(1, KILLS + 1):
            progress = TOTAL * number // (KILLS + 1)
            ready = functools.partial(_ready_to_kill, load, wire, progress)
            while True:
                await until(
                    ready,
                    wire,
                    wait=120,
                    what=f"after {progress} acknowledged with appends in flight on the stream and in batches",
                )
                # A moment later, up to about two appends' time in flight, so that
                # kills land at different points of an append's life: not yet
                # read, mid-transaction, committed with the answer not yet sent.
                await asyncio.sleep(random.uniform(0, 2 * wire.flight_seconds))
                if ready():
                    break
            in_flight = {method: wire.in_flight[method] for method in (STREAM, BATCH)}
            assert server.process is not None
            server.process.send_signal(signal.SIGKILL)
            load.pause()
            acknowledged = load.acknowledged
            await server.wait()
            landed = check_stored(
                load, await read_from_database(load, durable_backend_uri), pending_allowed=True
            )
            kills.append(Kill(acknowledged, in_flight, len(landed)))

            server = await _serve(address, durable_backend_uri, tmp_path).start()
            await wait_until_serving(address, wait=60)
            failures = await load.settled(wait=120)
            # Storage first: a lost acknowledged append also fails its writer's next one (as stale).
            check_stored(load, await read_through_server(load, address), pending_allowed=bool(failures))
            assert failures == []
            load.resume()
        await load.finish(wait=240)
        check_stored(load, await read_through_server(load, address), pending_allowed=False)
    finally:
        await load.stop()
        exit_status = await server.stop()
    print(f"kills: {kills}; appends sent: {dict(wire.sent)}")
    assert len(kills) == KILLS and all(k.in_flight[STREAM] > 0 and k.in_flight[BATCH] > 0 for k in kills)
    assert load.acknowledged >= TOTAL
    assert exit_status == 0, server.stderr


async def test_a_killed_memory_server_comes_back_empty_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wire = count_appends_on_the_wire(monkeypatch)
    address = f"127.0.0.1:{free_port()}"
    server = await _serve(address, "memory://", tmp_path).start()
    await wait_until_serving(address, wait=60)
    load = await AppendLoad.start(address, batched_sessions=4, total=TOTAL)
    try:
        await until(
            functools.partial(_ready_to_kill, load, wire, TOTAL // 5),
            wire,
            wait=120,
            what="with appends in flight on the stream and in batches",
        )
        assert server.process is not None
        server.process.send_signal(signal.SIGKILL)
        load.pause()
        await server.wait()
        server = await _serve(address, "memory://", tmp_path).start()
        await wait_until_serving(address, wait=60)
        # Each writer's next append (or its retry of the one under way) is
        # refused for good: its session is gone.
        outcomes = await load.outcomes(wait=120)
        assert all(isinstance(outcome, SessionNotFoundError) for outcome in outcomes), outcomes
        async with GrpcSessionService(address) as reader:
            for writer in load.writers:
                assert (
                    await reader.get_session(
                        app_name=APP, user_id=writer.session.user_id, session_id=writer.session.id
                    )
                    is None
                )
    finally:
        await load.stop()
        exit_status = await server.stop()
    assert exit_status == 0, server.stderr
