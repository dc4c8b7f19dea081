"""Session metadata, filtered listings and forks on Agent Engine, against the Vertex AI Sessions stand-in.

Display names and labels are the API's own fields (the caller's labels
beside the server's ``adk_*`` ones); a listing's filter and order are the
API's ``filter`` and ``order_by``, and what those cannot express is refused
rather than evaluated here over every session; forks are refused.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from adk_grpc_sessions.client import GrpcSessionService, SessionServiceError
from adk_grpc_sessions.server.backends.base import (
    ALL_SESSIONS,
    BackendRefusedError,
    Condition,
    EventWindow,
    Expiry,
    Field,
    Metadata,
    NewEvent,
    Operator,
    OrderBy,
    Refusal,
    ScopedState,
    SessionKey,
    SessionNotFoundError,
    SessionQuery,
    SessionRecord,
    SessionUpdate,
)
from adk_grpc_sessions.server.backends.event_json import parse_event
from adk_grpc_sessions.server.backends.vertex import VertexBackend, mapping
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from tests.vertex_standin.server import serving
from tests.vertex_standin.service import SessionServiceStandIn

ENGINE = "projects/p/locations/us-central1/reasoningEngines/7"
DAY = 24 * 3600.0
KEY = SessionKey("app", "u1", "s1")
TRIP = Metadata(display_name="Trip to Paris", labels={"topic": "travel", "tier": "gold"})


@pytest.fixture
def standin() -> SessionServiceStandIn:
    return SessionServiceStandIn([ENGINE], operation_polls=0)


@pytest.fixture
async def uri(standin: SessionServiceStandIn) -> AsyncIterator[str]:
    async with serving(standin) as address:
        yield f"agentengine://{ENGINE}?endpoint={address}&plaintext=true&timeout=5&operation_timeout=5"


@pytest.fixture
async def backend(uri: str) -> AsyncIterator[VertexBackend]:
    backend = VertexBackend.from_uri(uri)
    await backend.start()
    yield backend
    await backend.close()


@pytest.fixture
async def client(uri: str) -> AsyncIterator[GrpcSessionService]:
    """The Python client of a real server on the stand-in's engine."""
    server = SessionServer(ServerConfig(listen=["127.0.0.1:0"], backend=uri))
    await server.start()
    try:
        async with GrpcSessionService(f"127.0.0.1:{server.ports[0]}") as client:
            yield client
    finally:
        await server.stop()


def _stored(standin: SessionServiceStandIn, session_id: str = "s1") -> Any:
    return standin.sessions[f"{ENGINE}/sessions/{session_id}"].session


def _event(event_id: str) -> NewEvent:
    return parse_event(f'{{"id": "{event_id}", "author": "user", "invocationId": "i", "timestamp": 1.0}}')


def _ids(records: list[SessionRecord] | Any) -> list[str]:
    return [record.key.session_id for record in records]


async def _create(
    backend: VertexBackend, session_id: str, metadata: Metadata, user_id: str = "u1"
) -> SessionRecord:
    return await backend.create_session(
        SessionKey("app", user_id, session_id), ScopedState(), 0.0, metadata=metadata
    )


async def _list(backend: VertexBackend, query: SessionQuery, user_id: str | None = "u1") -> list[str]:
    """Every page of a listing, by session id, in order."""
    ids: list[str] = []
    cursor = None
    while True:
        page = await backend.list_sessions("app", user_id, 2, cursor, query=query)
        ids += _ids(page.items)
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def _where(
    *conditions: Condition, order_by: OrderBy = OrderBy.UPDATE_TIME, descending: bool = False
) -> SessionQuery:
    return SessionQuery(conditions, order_by, descending)


# --- metadata -----------------------------------------------------------------------------------------


async def test_display_name_and_labels_are_the_api_s_own_fields_beside_the_server_s_labels(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    created = await backend.create_session(KEY, ScopedState(), 0.0, expiry=Expiry(None, DAY), metadata=TRIP)
    stored = _stored(standin)
    assert stored.display_name == "Trip to Paris"
    assert dict(stored.labels) == {"topic": "travel", "tier": "gold", "adk_app": "app", "adk_ttl": "86400"}
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None
    for record in (created, read):
        assert record.metadata == TRIP  # the server's own labels are not the caller's


async def test_event_count_and_stored_bytes_are_unknown_and_nothing_is_forked(backend: VertexBackend) -> None:
    created = await backend.create_session(KEY, ScopedState(), 0.0)
    appended = await backend.append_event(KEY, _event("e1"), created.revision)
    read = await backend.get_session(KEY, EventWindow())
    listed = (await backend.list_sessions("app", "u1", 10, None)).items
    assert read is not None and read.revision == appended.revision
    for record in (created, read, *listed):
        assert (record.event_count, record.stored_bytes, record.forked_from) == (None, None, None)


async def test_labels_another_writer_kept_under_the_reserved_prefix_are_not_the_caller_s(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    await backend.create_session(KEY, ScopedState(), 0.0, metadata=TRIP)
    _stored(standin).labels["adk_other"] = "x"
    read = await backend.get_session(KEY, EventWindow())
    assert read is not None and read.metadata.labels == {"topic": "travel", "tier": "gold"}


async def test_a_display_name_update_sends_only_display_name_in_the_mask(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    await backend.create_session(KEY, ScopedState(), 0.0, expiry=Expiry(None, DAY), metadata=TRIP)
    updated = await backend.update_session(KEY, SessionUpdate(display_name="Trip to Rome"))
    assert updated.metadata == Metadata("Trip to Rome", TRIP.labels)
    assert dict(_stored(standin).labels) == {
        "topic": "travel",
        "tier": "gold",
        "adk_app": "app",
        "adk_ttl": "86400",
    }
    removed = await backend.update_session(KEY, SessionUpdate(display_name=""))
    assert removed.metadata.display_name == "" and _stored(standin).display_name == ""


async def test_a_labels_update_replaces_the_caller_s_labels_and_keeps_the_server_s(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    await backend.create_session(KEY, ScopedState(), 0.0, expiry=Expiry(None, DAY), metadata=TRIP)
    updated = await backend.update_session(KEY, SessionUpdate(labels={"topic": "work"}))
    assert updated.metadata == Metadata("Trip to Paris", {"topic": "work"})
    assert dict(_stored(standin).labels) == {"topic": "work", "adk_app": "app", "adk_ttl": "86400"}
    cleared = await backend.update_session(KEY, SessionUpdate(labels={}))
    assert cleared.metadata.labels == {}
    assert dict(_stored(standin).labels) == {"adk_app": "app", "adk_ttl": "86400"}
    # Still the app's session, with its sliding ttl: the server's labels survived.
    assert await backend.get_session(KEY, EventWindow()) is not None


async def test_expiry_and_metadata_change_in_one_update_session(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    await backend.create_session(KEY, ScopedState(), 0.0, expiry=Expiry(None, DAY), metadata=TRIP)
    standin.calls.clear()
    at = round(time.time() + 3 * DAY, 6)
    updated = await backend.update_session(
        KEY, SessionUpdate(expiry=Expiry(at, None), display_name="Rome", labels={"topic": "work"})
    )
    assert standin.calls.count("UpdateSession") == 1
    assert updated.expiry == Expiry(at, None)
    assert updated.metadata == Metadata("Rome", {"topic": "work"})
    assert dict(_stored(standin).labels) == {"topic": "work", "adk_app": "app"}  # no ttl: its label goes


async def test_a_metadata_update_moves_agent_engine_s_update_time_hence_the_revision(
    backend: VertexBackend,
) -> None:
    created = await backend.create_session(KEY, ScopedState(), 0.0, metadata=TRIP)
    updated = await backend.update_session(KEY, SessionUpdate(display_name="Rome"))
    # Difference 10: Agent Engine stamps every update; the other backends keep the revision.
    assert updated.revision > created.revision
    assert updated.last_update_time > created.last_update_time


async def test_an_update_that_changes_nothing_sends_no_update_session(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    created = await backend.create_session(KEY, ScopedState(), 0.0, metadata=TRIP)
    standin.calls.clear()
    unchanged = await backend.update_session(KEY, SessionUpdate())
    assert "UpdateSession" not in standin.calls  # an empty mask would mean "every field" to the API
    assert (unchanged.revision, unchanged.metadata) == (created.revision, TRIP)


async def test_updating_a_missing_or_another_user_s_session_is_not_found(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    await backend.create_session(KEY, ScopedState(), 0.0, metadata=TRIP)
    for key in (
        SessionKey("app", "u1", "gone"),
        SessionKey("app", "u2", "s1"),
        SessionKey("other", "u1", "s1"),
    ):
        with pytest.raises(SessionNotFoundError):
            await backend.update_session(key, SessionUpdate(display_name="stolen"))
    assert _stored(standin).display_name == "Trip to Paris"


# --- filtered, ordered listings -----------------------------------------------------------------------


async def test_display_name_and_label_equalities_are_the_api_s_filter(backend: VertexBackend) -> None:
    await _create(backend, "paris", TRIP)
    await _create(backend, "rome", Metadata("Trip to Rome", {"topic": "travel"}))
    await _create(backend, "work", Metadata("Trip to Paris", {"topic": "work", "tier": "gold"}))
    await _create(backend, "theirs", TRIP, user_id="u2")
    by_name = Condition(Field.DISPLAY_NAME, Operator.EQ, "Trip to Paris")
    travel = Condition(Field.LABEL, Operator.EQ, "travel", "topic")
    assert await _list(backend, _where(by_name)) == ["paris", "work"]
    assert await _list(backend, _where(travel)) == ["paris", "rome"]
    assert await _list(backend, _where(by_name, travel)) == ["paris"]
    assert await _list(backend, _where(by_name, travel), user_id=None) == ["paris", "theirs"]
    empty_value = Condition(Field.LABEL, Operator.EQ, "", "topic")
    assert await _list(backend, _where(empty_value)) == []


async def test_a_filtered_listing_is_filtered_by_the_api_not_by_reading_every_session(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    for number in range(120):
        await _create(backend, f"s{number}", Metadata(labels={"topic": "rare" if number == 77 else "common"}))
    standin.calls.clear()
    rare = Condition(Field.LABEL, Operator.EQ, "rare", "topic")
    page = await backend.list_sessions("app", "u1", 10, None, query=_where(rare))
    assert _ids(page.items) == ["s77"] and page.next_cursor is None
    assert standin.calls == ["ListSessions"]


async def test_filter_values_are_quoted_for_the_api(backend: VertexBackend) -> None:
    tricky = 'say "hi" \\ AND user_id="u2"'
    await _create(backend, "tricky", Metadata(display_name=tricky))
    await _create(backend, "plain", Metadata(display_name="say"))
    assert await _list(backend, _where(Condition(Field.DISPLAY_NAME, Operator.EQ, tricky))) == ["tricky"]


async def test_closed_is_false_for_every_session_agent_engine_keeps(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    await _create(backend, "a", TRIP)
    await _create(backend, "b", TRIP)
    assert await _list(backend, _where(Condition(Field.CLOSED, Operator.EQ, False))) == ["a", "b"]
    standin.calls.clear()
    assert await _list(backend, _where(Condition(Field.CLOSED, Operator.EQ, True))) == []
    assert standin.calls == []  # no session of Agent Engine is closed: nothing to ask


async def test_a_condition_on_a_reserved_label_matches_no_session(
    backend: VertexBackend, standin: SessionServiceStandIn
) -> None:
    await _create(backend, "a", TRIP)
    own_label = Condition(Field.LABEL, Operator.EQ, "app", mapping.APP_LABEL)
    assert await _list(backend, _where(own_label)) == []  # the server's labels are not the caller's


async def test_listings_are_ordered_by_the_api_s_order_by_either_way(backend: VertexBackend) -> None:
    for session_id in ("a", "b", "c"):
        await _create(backend, session_id, TRIP)
    record = await backend.get_session(SessionKey("app", "u1", "a"), EventWindow())
    assert record is not None
    await backend.append_event(SessionKey("app", "u1", "a"), _event("e1"), record.revision)
    assert await _list(backend, ALL_SESSIONS) == ["b", "c", "a"]
    assert await _list(backend, _where(descending=True)) == ["a", "c", "b"]
    assert await _list(backend, _where(order_by=OrderBy.CREATE_TIME)) == ["a", "b", "c"]
    assert await _list(backend, _where(order_by=OrderBy.CREATE_TIME, descending=True)) == ["c", "b", "a"]


async def test_an_ordered_listing_pages_through_the_api_s_pages(backend: VertexBackend) -> None:
    for number in range(5):
        await _create(backend, f"s{number}", TRIP)
    newest_first = _where(
        Condition(Field.LABEL, Operator.EQ, "gold", "tier"), order_by=OrderBy.CREATE_TIME, descending=True
    )
    first = await backend.list_sessions("app", "u1", 2, None, query=newest_first)
    assert _ids(first.items) == ["s4", "s3"] and first.next_cursor is not None
    assert await _list(backend, newest_first) == ["s4", "s3", "s2", "s1", "s0"]


@pytest.mark.parametrize(
    "condition",
    [
        Condition(Field.DISPLAY_NAME, Operator.NE, "Trip to Paris"),
        Condition(Field.LABEL, Operator.NE, "travel", "topic"),
        Condition(Field.LABEL, Operator.HAS, None, "topic"),
        Condition(Field.CREATE_TIME, Operator.GT, 1_700_000_000.0),
        Condition(Field.UPDATE_TIME, Operator.LE, 1_700_000_000.0),
        Condition(Field.CLOSED, Operator.NE, True),
    ],
    ids=["display_name!=", "labels!=", "labels:*", "create_time>", "update_time<=", "closed!="],
)
async def test_a_condition_the_api_cannot_filter_by_is_refused_without_reading_sessions(
    backend: VertexBackend, standin: SessionServiceStandIn, condition: Condition
) -> None:
    await _create(backend, "a", TRIP)
    standin.calls.clear()
    with pytest.raises(BackendRefusedError) as refused:
        await backend.list_sessions("app", "u1", 10, None, query=_where(condition))
    assert (refused.value.refusal, refused.value.reason) == (Refusal.UNSUPPORTED, "FILTER_NOT_SUPPORTED")
    assert "docs/backends.md" in str(refused.value)
    assert standin.calls == []


# --- forks --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("before_invocation_id", ["", "i"])
async def test_a_fork_is_refused_and_creates_nothing(
    backend: VertexBackend, standin: SessionServiceStandIn, before_invocation_id: str
) -> None:
    created = await backend.create_session(KEY, ScopedState(), 0.0, metadata=TRIP)
    await backend.append_event(KEY, _event("e1"), created.revision)
    standin.calls.clear()
    with pytest.raises(BackendRefusedError) as refused:
        await backend.fork_session(KEY, "copy", 0.0, before_invocation_id=before_invocation_id, metadata=TRIP)
    assert (refused.value.refusal, refused.value.reason) == (Refusal.UNSUPPORTED, "NO_FORK")
    assert standin.calls == [] and list(standin.sessions) == [f"{ENGINE}/sessions/s1"]


# --- through the server -------------------------------------------------------------------------------


async def test_through_the_server_metadata_and_the_filters_agent_engine_serves_round_trip(
    client: GrpcSessionService,
) -> None:
    for session_id, user, name, labels in (
        ("a", "u1", "Alpha", {"team": "search"}),
        ("b", "u1", "Beta", {"team": "search", "env": "prod"}),
        ("c", "u1", "Alpha", {"team": "ads"}),
        ("d", "u2", "Alpha", {"team": "search"}),
    ):
        await client.create_session(
            app_name="app", user_id=user, session_id=session_id, display_name=name, labels=labels
        )
    info = await client.get_session_info(app_name="app", user_id="u1", session_id="b")
    assert info is not None
    assert (info.display_name, dict(info.labels)) == ("Beta", {"team": "search", "env": "prod"})
    assert (info.event_count, info.stored_bytes, info.forked_from) == (None, None, None)

    async def ids(filter_text: str, order_by: str, user_id: str | None = "u1") -> list[str]:
        infos = client.iter_session_infos(
            app_name="app", user_id=user_id, filter=filter_text, order_by=order_by
        )
        return [i.session_id async for i in infos]

    assert await ids('display_name = "Alpha" AND labels.team = search', "create_time desc", None) == [
        "d",
        "a",
    ]
    assert await ids("labels.team = search AND closed = false", "create_time") == ["a", "b"]
    assert await ids("closed = true", "") == []
    relabelled = await client.update_session_metadata(
        app_name="app", user_id="u1", session_id="a", display_name="Gamma", labels={"team": "ads"}
    )
    assert (relabelled.display_name, dict(relabelled.labels)) == ("Gamma", {"team": "ads"})
    assert await ids("labels.team = ads", "update_time desc") == ["a", "c"]


async def test_through_the_server_what_agent_engine_cannot_do_is_unimplemented_with_its_reason(
    client: GrpcSessionService, standin: SessionServiceStandIn
) -> None:
    await client.create_session(app_name="app", user_id="u1", session_id="a", labels={"team": "search"})
    standin.calls.clear()
    for filter_text in ("labels.team != search", "labels.team:*", 'create_time > "2026-01-01T00:00:00Z"'):
        with pytest.raises(SessionServiceError) as refused:
            await client.list_session_infos_page(app_name="app", user_id="u1", filter=filter_text)
        assert (refused.value.code, refused.value.reason) == (
            grpc.StatusCode.UNIMPLEMENTED,
            "NOT_SUPPORTED_BY_BACKEND",
        )
    with pytest.raises(SessionServiceError) as refused:
        await client.fork_session(app_name="app", user_id="u1", session_id="a", new_session_id="copy")
    assert refused.value.code == grpc.StatusCode.UNIMPLEMENTED and "cannot copy a session" in str(
        refused.value
    )
    assert "ListSessions" not in standin.calls and "CreateSession" not in standin.calls
