"""The scale benchmark's rows: a bulk-loaded session is one our server serves as if appended to, at any size."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from google.adk.sessions import InMemorySessionService

from adk_grpc_sessions.server.backends.base import EventWindow, SessionKey
from adk_grpc_sessions.server.backends.event_json import parse_event
from adk_grpc_sessions.server.backends.sql import SqlBackend
from adk_grpc_sessions.server.backends.sql.schema import events
from bench import scale
from bench.workloads import model_event


async def test_a_bulk_loaded_session_reads_back_whole_and_takes_the_next_append(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'scale.db'}"
    await scale.load_events(uri, "loaded", 2_345)

    backend = SqlBackend.from_uri(uri)
    await backend.start()
    try:
        session = await backend.get_session(SessionKey(scale.APP, "big", "loaded"), EventWindow())
        assert session is not None
        assert [event.sequence for event in session.events] == list(range(1, 2_346))
        assert session.event_count == 2_345
        # The events' sizes as appends count them (each over 500 bytes), summed as appends sum them.
        async with backend.engine.connect() as connection:
            sizes = (await connection.execute(sa.select(sa.func.sum(events.c.size_bytes)))).scalar_one()
        assert session.stored_bytes == sizes > 2_345 * 500
        event = parse_event(model_event(0).model_dump_json(by_alias=True, exclude_none=True))
        appended = await backend.append_event(SessionKey(scale.APP, "big", "loaded"), event, session.revision)
        assert appended.event.sequence == 2_346
    finally:
        await backend.close()


async def test_every_scale_row_runs_through_a_server_and_is_judged(tmp_path: Path) -> None:
    small = scale.Scale(append_events=40, read_events=60, app_sessions=300, appends=6, reads=5)

    results = await scale.measure("sqlite", f"sqlite:///{tmp_path / 'scale.db'}", small)

    assert results["append_while_growing"]["appends"] == 40
    assert results["append_new_session"]["ops"] == 6
    assert results["append_40_event_session"]["ops"] == 6
    assert results["recent_20_of_60"]["ops"] == 5
    assert results["list_app_300"]["returned"] == 100
    lines = scale.targets("SQLite", results, small)
    assert len(lines) == 4 and all(line.endswith(("**met**", "**not met**")) for line in lines)


async def test_the_session_appended_to_grows_by_lone_appends_through_the_service() -> None:
    service = InMemorySessionService()

    grown = await scale.grow_by_appends(service, "grown", 25)

    assert len(grown.latencies) == 25
    assert scale.growth_summary(grown)["appends"] == 25

    session = await service.get_session(app_name=scale.APP, user_id="big", session_id="grown")
    assert session is not None and len(session.events) == 25
    # Each event went through append_event, which applied its state delta.
    assert session.state["turn"] == 24
