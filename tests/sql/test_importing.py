"""``SessionImporter``: what an import writes into the SQL backend's tables, on every SQL database."""

from __future__ import annotations

from adk_grpc_sessions.server.backends.base import EventWindow, Expiry, NewEvent, ScopedState, SessionKey
from adk_grpc_sessions.server.backends.sql import SqlBackend
from adk_grpc_sessions.server.backends.sql.importing import ImportedSession, SessionImporter

KEY = SessionKey("app", "u", "s")


def _session(state: str, event_ids: list[str]) -> ImportedSession:
    events = [
        NewEvent(
            id=event_id,
            invocation_id="inv",
            author="agent",
            branch="",
            timestamp=float(n),
            state_delta=ScopedState(),
            event_json=f'{{"id": "{event_id}", "timestamp": {n}}}',
        )
        for n, event_id in enumerate(event_ids, start=1)
    ]
    return ImportedSession(KEY, 1.0, float(len(events)), {"k": state}, events)


async def test_an_imported_session_reads_back_with_its_state_and_events(backend: SqlBackend) -> None:
    importer = SessionImporter(backend)
    assert await importer.import_session(_session('"a"', ["e1", "e2"]))
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None
    assert read.state == ScopedState(session={"k": '"a"'})
    assert [event.id for event in read.events] == ["e1", "e2"]
    assert await importer.stored_event_count(KEY) == 2


async def test_importing_a_session_whose_name_is_taken_changes_nothing(backend: SqlBackend) -> None:
    importer = SessionImporter(backend)
    assert await importer.import_session(_session('"first"', ["e1"]))
    before = await backend.get_session(KEY, EventWindow())
    assert not await importer.import_session(_session('"second"', ["x1", "x2", "x3"]))
    assert await backend.get_session(KEY, EventWindow()) == before
    assert await importer.stored_event_count(KEY) == 1


async def test_imported_app_and_user_state_is_stored_and_counted(backend: SqlBackend) -> None:
    importer = SessionImporter(backend)
    await importer.import_app_state("app", {"a": "1"})
    await importer.import_user_state("app", "u", {"b": "2"})
    assert await importer.stored_app_state("app") == {"a": "1"}
    assert await importer.stored_user_state("app", "u") == {"b": "2"}


async def test_importing_over_an_expired_session_replaces_it(backend: SqlBackend) -> None:
    importer = SessionImporter(backend)
    await backend.create_session(KEY, ScopedState(session={"old": "1"}), 1.0, expiry=Expiry(2.0))
    assert await importer.stored_event_count(KEY) is None  # the backend's clock is past 2.0
    assert await importer.import_session(_session('"new"', ["e1"]))
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None
    assert (read.state.session, [event.id for event in read.events]) == ({"k": '"new"'}, ["e1"])
