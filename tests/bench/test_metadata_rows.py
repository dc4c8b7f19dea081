"""The benchmark's metadata rows: filtered first pages beside today's, and forks, on a small SQLite run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from adk_grpc_sessions.server.backends.sql import SqlBackend
from bench import metadata, report
from bench.plans import PLANS


async def _no_analyze(_: str) -> None:
    pass


async def test_every_metadata_row_runs_and_is_labelled(tmp_path: Path) -> None:
    plan = replace(PLANS["quick"], user_sessions=60, app_sessions=300, list_reads=4, forks=2, fork_events=20)
    rows = await metadata.run(f"sqlite:///{tmp_path / 'meta.db'}", plan, _no_analyze)

    assert sorted(rows) == sorted(
        [
            "backend_list_user_60",
            "filtered_list_user_60",
            "backend_list_app_300",
            "filtered_list_app_300",
            "fork_20_events",
            "fork_20_events_before_last_invocation",
        ]
    )
    for name, sample in rows.items():
        assert not sample.failures, (name, sample.failures)
        assert report._label(name) != name
    assert rows["backend_list_user_60"].detail["returned"] == 60
    assert rows["filtered_list_user_60"].detail["returned"] == 6  # one env value in ten
    assert rows["filtered_list_app_300"].detail["returned"] == 30
    assert len(rows["filtered_list_app_300"].latencies) == 4
    assert rows["fork_20_events"].detail["copied"] == 20
    assert rows["fork_20_events_before_last_invocation"].detail["copied"] == 19
    assert len(rows["fork_20_events"].latencies) == 2


async def test_the_filtered_page_holds_the_label_newest_created_first(tmp_path: Path) -> None:
    backend = SqlBackend.from_uri(f"sqlite:///{tmp_path / 'meta.db'}")
    await backend.upgrade_schema()
    await backend.start()
    try:
        await metadata.load_labelled_sessions(backend, "app", 3, 50)
        page = await backend.list_sessions("app", None, 100, None, query=metadata.FILTERED)
        assert len(page.items) == 5
        assert all(item.metadata.labels["env"] == "e3" for item in page.items)
        times = [item.create_time for item in page.items]
        assert times == sorted(times, reverse=True)
        everyone = await backend.list_sessions("app", None, 100, None)
        assert len(everyone.items) == 50
        assert [item.last_update_time for item in everyone.items] == sorted(
            i.last_update_time for i in everyone.items
        )
    finally:
        await backend.close()
