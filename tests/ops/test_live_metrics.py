"""A server process on port 0 tells its bound ports, and its live ``/metrics`` counts appends inside batches."""

from __future__ import annotations

import asyncio
import pathlib
import urllib.request

from google.adk.errors import StaleSessionError
from google.adk.events.event import Event
from prometheus_client.parser import text_string_to_metric_families

from adk_grpc_sessions.client import GrpcSessionService
from tests.server_process import ServerProcess

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def _scrape(address: str) -> Samples:
    """Every sample of ``http://address/metrics``, by name and sorted labels."""
    body = await asyncio.to_thread(
        lambda: urllib.request.urlopen(f"http://{address}/metrics", timeout=10).read().decode()
    )
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


async def test_a_server_told_port_zero_reports_the_ports_it_bound(app_name: str) -> None:
    server = await ServerProcess(
        ["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--backend", "memory://"]
    ).start()
    try:
        address, metrics = await server.address(), await server.metrics_address()
        for bound in (address, metrics):
            host, _, port = bound.rpartition(":")
            assert host == "127.0.0.1" and int(port) > 0, bound
        assert f"serving on {address}" in server.stderr
        async with GrpcSessionService(address) as client:
            await client.create_session(app_name=app_name, user_id="u1")
        samples = await _scrape(metrics)
        assert samples[("adk_grpc_sessions_sessions_created_total", ())] == 1
    finally:
        assert await server.stop() == 0, server.stderr


async def test_appends_inside_batches_are_counted_by_their_own_codes_on_live_metrics(app_name: str) -> None:
    server = await ServerProcess(
        ["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--backend", "memory://"]
    ).start()
    try:
        address, metrics = await server.address(), await server.metrics_address()
        async with GrpcSessionService(address, stream_appends=False) as client:
            sessions = [await client.create_session(app_name=app_name, user_id=f"u{i}") for i in range(5)]
            stale = sessions[4].model_copy(deep=True)
            await client.append_event(sessions[4], Event(author="user"))
            # Made at once: the first goes alone, the other four wait for it and go in one batch,
            # where one of them, through an out-of-date session, fails on its own.
            outcomes = await asyncio.gather(
                *(client.append_event(s, Event(author="user")) for s in sessions[:4]),
                client.append_event(stale, Event(author="user")),
                return_exceptions=True,
            )
        assert [type(o) for o in outcomes] == [Event] * 4 + [StaleSessionError], outcomes
        samples = await _scrape(metrics)
    finally:
        assert await server.stop() == 0, server.stderr
    assert samples[("adk_grpc_sessions_rpcs_total", (("code", "OK"), ("method", "BatchAppendEvents")))] == 1
    assert samples[("adk_grpc_sessions_batched_appends_total", (("code", "OK"),))] == 3
    assert samples[("adk_grpc_sessions_batched_appends_total", (("code", "ABORTED"),))] == 1
    # The lone appends were calls of their own, counted as such and not as batched.
    assert samples[("adk_grpc_sessions_rpcs_total", (("code", "OK"), ("method", "AppendEvent")))] == 2
    assert samples[("adk_grpc_sessions_events_appended_total", ())] == 5


async def test_a_sqlite_server_exports_what_its_event_cache_keeps_and_serves(
    app_name: str, tmp_path: pathlib.Path
) -> None:
    backend = f"sqlite:///{tmp_path / 'sessions.db'}"
    server = await ServerProcess(
        ["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--backend", backend]
    ).start()
    try:
        address, metrics = await server.address(), await server.metrics_address()
        before = await _scrape(metrics)
        assert before[("adk_grpc_sessions_event_cache_bytes", ())] == 0
        async with GrpcSessionService(address) as client:
            session = await client.create_session(app_name=app_name, user_id="u1")
            for _ in range(3):
                await client.append_event(session, Event(author="user"))
            for _ in range(2):
                assert await client.get_session(app_name=app_name, user_id="u1", session_id=session.id)
        samples = await _scrape(metrics)
        assert samples[("adk_grpc_sessions_event_cache_events_total", (("source", "database"),))] == 3
        assert samples[("adk_grpc_sessions_event_cache_events_total", (("source", "memory"),))] == 3
        assert samples[("adk_grpc_sessions_event_cache_bytes", ())] > 0
    finally:
        assert await server.stop() == 0, server.stderr


async def test_a_server_that_keeps_no_events_exports_no_event_cache_metrics(app_name: str) -> None:
    server = await ServerProcess(
        ["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--backend", "memory://"]
    ).start()
    try:
        samples = await _scrape(await server.metrics_address())
        assert not any(name.startswith("adk_grpc_sessions_event_cache") for name, _ in samples)
    finally:
        assert await server.stop() == 0, server.stderr
