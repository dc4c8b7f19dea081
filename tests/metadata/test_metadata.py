"""Session metadata: display names and labels set at create, changed by UpdateSession, read back with facts."""

from __future__ import annotations

import re
import time

import pytest
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions

from adk_grpc_sessions.client import GrpcSessionService, SessionInfo
from adk_grpc_sessions.wire.limits import MAX_DISPLAY_NAME_LENGTH, MAX_LABELS
from tests.metadata.conftest import Serve

APP, USER = "app", "u1"


async def _info(client: GrpcSessionService, session_id: str) -> SessionInfo:
    info = await client.get_session_info(app_name=APP, user_id=USER, session_id=session_id)
    assert info is not None
    return info


async def test_metadata_set_at_create_is_read_back_by_every_read(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        before = time.time()
        await client.create_session(
            app_name=APP,
            user_id=USER,
            session_id="s1",
            display_name="Trip to Lisbon — día 1",
            labels={"team": "search", "env": "", "tier-2": "gold_1"},
        )
        info = await _info(client, "s1")
        assert info.display_name == "Trip to Lisbon — día 1"
        assert info.labels == {"team": "search", "env": "", "tier-2": "gold_1"}
        assert before - 1 <= info.create_time <= time.time() + 1
        assert info.forked_from is None
        listed = [i async for i in client.iter_session_infos(app_name=APP, user_id=USER)]
        assert listed == [info]


async def test_a_session_created_without_metadata_has_none(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await client.create_session(app_name=APP, user_id=USER, session_id="s1")
        info = await _info(client, "s1")
        assert (info.display_name, dict(info.labels), info.forked_from) == ("", {}, None)


async def test_event_count_and_stored_bytes_follow_the_appends(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await client.create_session(app_name=APP, user_id=USER, session_id="s1", state={"k": 1})
        empty = await _info(client, "s1")
        assert empty.event_count == 0
        assert empty.stored_bytes is not None and empty.stored_bytes > 0  # the state's key and value
        for number in range(3):
            delta = {"k": "x" * 100, f"k{number}": number}
            await client.append_event(session, Event(author="user", actions=EventActions(state_delta=delta)))
        grown = await _info(client, "s1")
        assert grown.event_count == 3
        assert grown.stored_bytes is not None and grown.stored_bytes > empty.stored_bytes + 300


async def test_update_session_changes_metadata_without_changing_the_revision(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        session = await client.create_session(
            app_name=APP, user_id=USER, session_id="s1", display_name="old", labels={"a": "1"}
        )
        await client.append_event(session, Event(author="user"))
        before = await _info(client, "s1")

        named = await client.update_session_metadata(
            app_name=APP, user_id=USER, session_id="s1", display_name="new name"
        )
        assert (named.display_name, dict(named.labels)) == ("new name", {"a": "1"})
        labelled = await client.update_session_metadata(
            app_name=APP, user_id=USER, session_id="s1", labels={"b": "2", "c": ""}
        )
        assert (labelled.display_name, dict(labelled.labels)) == ("new name", {"b": "2", "c": ""})

        after = await _info(client, "s1")
        assert after == labelled
        assert (after.revision, after.last_update_time) == (before.revision, before.last_update_time)
        # The agent's session object, read before the updates, is still current.
        await client.append_event(session, Event(author="user"))


async def test_update_session_clears_metadata_given_empty(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await client.create_session(
            app_name=APP, user_id=USER, session_id="s1", display_name="x", labels={"a": "1"}
        )
        cleared = await client.update_session_metadata(
            app_name=APP, user_id=USER, session_id="s1", display_name="", labels={}
        )
        assert (cleared.display_name, dict(cleared.labels)) == ("", {})
        assert await _info(client, "s1") == cleared


async def test_update_session_metadata_of_a_missing_session_is_not_found(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        with pytest.raises(SessionNotFoundError):
            await client.update_session_metadata(
                app_name=APP, user_id=USER, session_id="nope", display_name="x"
            )


_BAD_METADATA = (  # (display_name, labels, the field the error names)
    ("x" * (MAX_DISPLAY_NAME_LENGTH + 1), None, "display_name"),
    (None, {"adk_app": "x"}, "labels['adk_app']"),
    (None, {"Team": "x"}, "labels['Team']"),
    (None, {"1team": "x"}, "labels['1team']"),
    (None, {"team": "Search"}, "labels['team']"),
    (None, {"team": "x" * 64}, "labels['team']"),
    (None, {f"k{n}": "" for n in range(MAX_LABELS + 1)}, "labels"),
)


async def test_bad_metadata_is_invalid_argument_naming_the_field(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        await client.create_session(app_name=APP, user_id=USER, session_id="kept", display_name="k")
        for display_name, labels, field in _BAD_METADATA:
            with pytest.raises(ValueError, match=f"^{re.escape(field)}: "):
                await client.create_session(
                    app_name=APP, user_id=USER, session_id="s1", display_name=display_name, labels=labels
                )
            with pytest.raises(ValueError, match=f"^session\\.{re.escape(field)}: "):
                await client.update_session_metadata(
                    app_name=APP, user_id=USER, session_id="kept", display_name=display_name, labels=labels
                )
        assert await client.get_session(app_name=APP, user_id=USER, session_id="s1") is None
        info = await _info(client, "kept")
        assert (info.display_name, dict(info.labels)) == ("k", {})


async def test_the_longest_metadata_fits(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        labels = {f"k{n:02d}" + "x" * 60: "v" * 63 for n in range(MAX_LABELS)}
        name = "ñ" * MAX_DISPLAY_NAME_LENGTH
        await client.create_session(
            app_name=APP, user_id=USER, session_id="s1", display_name=name, labels=labels
        )
        info = await _info(client, "s1")
        assert (info.display_name, dict(info.labels)) == (name, labels)
        page = await client.list_session_infos_page(app_name=APP, page_size=1000)
        assert page.sessions == [info]
