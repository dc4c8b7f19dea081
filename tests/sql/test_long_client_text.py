"""Client text of any length (authors, branches, invocation ids, state keys) is stored on every SQL backend.

The contract sets no limit on them; MySQL/MariaDB's TEXT stops at 64 KiB,
and such an append would fail there as INTERNAL: these columns are LONGTEXT.
"""

from __future__ import annotations

import pathlib

import pytest

from adk_grpc_sessions.server.backends.base import EventWindow, NewEvent, ScopedState, SessionKey
from adk_grpc_sessions.server.backends.sql import SqlBackend
from tests.sql.conftest import new_database_uri

LONG = "é" * 40_000 + "x" * 10_000
"""90,000 bytes of UTF-8: past 64 KiB."""


async def _append_long_text(backend: SqlBackend) -> None:
    key = SessionKey("a", "u", "s")
    created = await backend.create_session(key, ScopedState(), 1.0)
    delta = ScopedState(app={LONG: "1"}, user={LONG: "2"}, session={LONG: "3"})
    event = NewEvent(
        id="e1",
        invocation_id=LONG,
        author=LONG,
        branch=LONG,
        timestamp=2.0,
        state_delta=delta,
        event_json="{}",
    )
    await backend.append_event(key, event, created.revision)
    read = await backend.get_session(key, EventWindow())
    assert read is not None
    assert read.events == [event.stored_at(1)]
    assert read.state == delta


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
async def test_client_text_past_64_kib_is_stored_whole(kind: str, tmp_path: pathlib.Path) -> None:
    backend = SqlBackend.from_uri(await new_database_uri(kind, tmp_path))
    try:
        await backend.upgrade_schema()
        await backend.start()
        await _append_long_text(backend)
    finally:
        await backend.close()
