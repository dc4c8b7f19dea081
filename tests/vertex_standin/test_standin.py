"""The stand-in behaves as the Vertex AI Sessions API documents, seen through the real client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.api_core import exceptions as google_errors
from google.cloud.aiplatform_v1 import types as vertex
from google.cloud.aiplatform_v1.services.session_service import SessionServiceAsyncClient
from google.cloud.aiplatform_v1.services.session_service.transports.grpc_asyncio import (
    SessionServiceGrpcAsyncIOTransport,
)
from google.protobuf import field_mask_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from tests.vertex_standin.server import serving
from tests.vertex_standin.service import SessionServiceStandIn

ENGINE = "projects/p/locations/us-central1/reasoningEngines/42"


@pytest.fixture
async def standin() -> SessionServiceStandIn:
    return SessionServiceStandIn([ENGINE], operation_polls=2)


@pytest.fixture
async def client(standin: SessionServiceStandIn) -> AsyncIterator[SessionServiceAsyncClient]:
    async with serving(standin) as address:
        transport = SessionServiceGrpcAsyncIOTransport(channel=grpc.aio.insecure_channel(address))
        client = SessionServiceAsyncClient(transport=transport)
        yield client
        await transport.close()  # type: ignore[no-untyped-call]


async def _create(client: SessionServiceAsyncClient, user_id: str = "u1", **session: Any) -> Any:
    operation: Any = await client.create_session(
        request=vertex.CreateSessionRequest(
            parent=ENGINE, session=vertex.Session(user_id=user_id, **session), session_id=""
        )
    )
    while not await operation.done():
        pass
    return await operation.result()


def _stamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


async def _append(client: SessionServiceAsyncClient, session: str, seconds: float, **event: Any) -> None:
    await client.append_event(
        request=vertex.AppendEventRequest(
            name=session,
            event=vertex.SessionEvent(author="user", invocation_id="i", timestamp=_stamp(seconds), **event),
        )
    )


async def test_create_is_an_operation_finished_by_polling(
    client: SessionServiceAsyncClient, standin: SessionServiceStandIn
) -> None:
    operation: Any = await client.create_session(
        request=vertex.CreateSessionRequest(parent=ENGINE, session=vertex.Session(user_id="u1"))
    )
    assert not operation.operation.done
    assert standin.sessions == {}
    assert not await operation.done()
    assert await operation.done()
    session = await operation.result()
    assert session.name.startswith(f"{ENGINE}/sessions/")
    assert session.name.rsplit("/", 1)[1].isdigit()
    assert session.user_id == "u1"
    assert session.create_time == session.update_time
    assert session.expire_time > session.create_time
    assert isinstance(operation.metadata, vertex.CreateSessionOperationMetadata)
    assert standin.calls.count("GetOperation") == 2
    assert (await client.get_session(name=session.name)).name == session.name


async def test_chosen_session_id_is_used_once_and_must_be_well_formed(
    client: SessionServiceAsyncClient,
) -> None:
    request = vertex.CreateSessionRequest(
        parent=ENGINE, session=vertex.Session(user_id="u1"), session_id="s-1"
    )
    operation: Any = await client.create_session(request=request)
    await operation.done()
    await operation.done()
    assert (await operation.result()).name == f"{ENGINE}/sessions/s-1"
    with pytest.raises(google_errors.AlreadyExists):
        await client.create_session(request=request)
    for bad in ("1abc", "Upper", "ends-", "x" * 64, "under_score"):
        with pytest.raises(google_errors.InvalidArgument):
            await client.create_session(
                request=vertex.CreateSessionRequest(
                    parent=ENGINE, session=vertex.Session(user_id="u1"), session_id=bad
                )
            )


async def test_unknown_engine_and_session_are_not_found(client: SessionServiceAsyncClient) -> None:
    other_engine = ENGINE.replace("/42", "/43")
    with pytest.raises(google_errors.NotFound):
        await client.list_sessions(parent=other_engine)
    with pytest.raises(google_errors.NotFound):
        await client.get_session(name=f"{ENGINE}/sessions/nope")
    with pytest.raises(google_errors.NotFound):
        await client.delete_session(name=f"{ENGINE}/sessions/nope")
    with pytest.raises(google_errors.InvalidArgument):
        await client.create_session(
            request=vertex.CreateSessionRequest(parent=ENGINE, session=vertex.Session(user_id=""))
        )


async def test_delete_is_an_operation_that_removes_the_session(client: SessionServiceAsyncClient) -> None:
    session = await _create(client)
    operation: Any = await client.delete_session(name=session.name)
    assert (await client.get_session(name=session.name)).name == session.name
    while not await operation.done():
        pass
    await operation.result()
    with pytest.raises(google_errors.NotFound):
        await client.get_session(name=session.name)


async def test_list_sessions_pages_with_tokens_bound_to_the_request(
    client: SessionServiceAsyncClient,
) -> None:
    names = [(await _create(client)).name for _ in range(5)]
    first = await client.list_sessions(request=vertex.ListSessionsRequest(parent=ENGINE, page_size=2))
    assert [s.name for s in first.sessions] == names[:2]
    pages = [page async for page in first.pages]
    assert [len(page.sessions) for page in pages] == [2, 2, 1]
    assert pages[-1].next_page_token == ""
    with pytest.raises(google_errors.InvalidArgument):
        await client.list_sessions(
            request=vertex.ListSessionsRequest(
                parent=ENGINE, page_size=2, page_token=pages[0].next_page_token, filter='user_id="u2"'
            )
        )


async def test_page_size_is_capped_at_one_hundred(client: SessionServiceAsyncClient) -> None:
    for _ in range(101):
        await _create(client)
    page = await client.list_sessions(request=vertex.ListSessionsRequest(parent=ENGINE, page_size=1000))
    assert len(page.sessions) == 100 and page.next_page_token


async def test_list_sessions_filters_on_user_and_labels(client: SessionServiceAsyncClient) -> None:
    a = await _create(client, "u1", labels={"app": "x"})
    await _create(client, "u2", labels={"app": "x"})
    await _create(client, "u1", labels={"app": "y"})
    listed = await client.list_sessions(
        request=vertex.ListSessionsRequest(parent=ENGINE, filter='user_id="u1" AND labels.app="x"')
    )
    assert [s.name for s in listed.sessions] == [a.name]
    for unsupported in ('create_time="x"', 'user_id!="u1"', "user_id=u1", 'user_id="u1" OR user_id="u2"'):
        with pytest.raises(google_errors.InvalidArgument):
            await client.list_sessions(request=vertex.ListSessionsRequest(parent=ENGINE, filter=unsupported))


async def test_list_sessions_orders_by_update_time(client: SessionServiceAsyncClient) -> None:
    first, second = await _create(client), await _create(client)
    await _append(client, first.name, 1_800_000_000.0)
    by_update = await client.list_sessions(
        request=vertex.ListSessionsRequest(parent=ENGINE, order_by="update_time")
    )
    assert [s.name for s in by_update.sessions] == [second.name, first.name]
    newest_first = await client.list_sessions(
        request=vertex.ListSessionsRequest(parent=ENGINE, order_by="update_time desc")
    )
    assert [s.name for s in newest_first.sessions] == [first.name, second.name]


async def test_append_assigns_an_id_applies_the_delta_and_moves_update_time(
    client: SessionServiceAsyncClient,
) -> None:
    session = await _create(client, session_state={"keep": 1, "change": "old"})
    await _append(
        client,
        session.name,
        1_700_000_000.0,
        actions=vertex.EventActions(state_delta={"change": "new", "add": True}),
    )
    updated = await client.get_session(name=session.name)
    assert dict(updated.session_state) == {"keep": 1, "change": "new", "add": True}
    assert updated.update_time > session.update_time
    events = await client.list_events(parent=session.name)
    assert [e.name.rsplit("/", 1)[1].isdigit() for e in events.session_events] == [True]


async def test_append_requires_author_invocation_and_timestamp(client: SessionServiceAsyncClient) -> None:
    session = await _create(client)
    for event in (
        vertex.SessionEvent(invocation_id="i", timestamp=_stamp(1.0)),
        vertex.SessionEvent(author="a", timestamp=_stamp(1.0)),
        vertex.SessionEvent(author="a", invocation_id="i"),
    ):
        with pytest.raises(google_errors.InvalidArgument):
            await client.append_event(request=vertex.AppendEventRequest(name=session.name, event=event))
    with pytest.raises(google_errors.NotFound):
        await _append(client, f"{ENGINE}/sessions/gone", 1.0)


async def test_events_are_listed_by_timestamp_and_filtered_by_range(
    client: SessionServiceAsyncClient,
) -> None:
    session = await _create(client)
    for seconds, author in ((30.0, "c"), (10.0, "a"), (20.0, "b"), (20.0, "b2")):
        await _append(client, session.name, 1_800_000_000 + seconds, error_code=author)
    listed = await client.list_events(parent=session.name)
    assert [e.error_code for e in listed.session_events] == ["a", "b", "b2", "c"]
    bounded = await client.list_events(
        request=vertex.ListEventsRequest(
            parent=session.name,
            filter='timestamp>="2027-01-15T08:00:20Z" AND timestamp<"2027-01-15T08:00:30Z"',
        )
    )
    assert [e.error_code for e in bounded.session_events] == ["b", "b2"]
    newest_first = await client.list_events(
        request=vertex.ListEventsRequest(parent=session.name, order_by="timestamp desc")
    )
    newest_first_codes = [e.error_code for e in newest_first.session_events]
    assert newest_first_codes[0] == "c" and newest_first_codes[-1] == "a"  # ties: undocumented
    with pytest.raises(google_errors.InvalidArgument):
        await client.list_events(request=vertex.ListEventsRequest(parent=session.name, filter='author="a"'))


async def test_injected_failures_carry_their_reason(
    client: SessionServiceAsyncClient, standin: SessionServiceStandIn
) -> None:
    standin.fail_next("ListSessions", grpc.StatusCode.PERMISSION_DENIED, "no", reason="IAM_PERMISSION_DENIED")
    with pytest.raises(google_errors.PermissionDenied) as denied:
        await client.list_sessions(parent=ENGINE)
    assert denied.value.reason == "IAM_PERMISSION_DENIED"
    assert denied.value.domain == "aiplatform.googleapis.com"
    session = await _create(client)
    standin.fail_next("AppendEvent", grpc.StatusCode.UNAVAILABLE, "dropped", after_applying=True)
    with pytest.raises(google_errors.ServiceUnavailable):
        await _append(client, session.name, 1.0)
    assert len((await client.list_events(parent=session.name)).session_events) == 1


# --- expiry (Session.expire_time / ttl: a oneof; expire_time always on output; 24 hours at least) ------

_DAY = 24 * 3600


async def test_a_ttl_sets_expire_time_from_the_create_time_and_is_not_returned(
    client: SessionServiceAsyncClient,
) -> None:
    session = vertex.Session.pb(await _create(client, ttl={"seconds": 2 * _DAY}))
    assert not session.HasField("ttl")  # input only
    expires = session.expire_time.ToNanoseconds() - session.create_time.ToNanoseconds()
    assert expires == 2 * _DAY * 10**9


async def test_an_expire_time_is_kept_as_given_and_none_given_is_a_default(
    client: SessionServiceAsyncClient,
) -> None:
    at = _stamp(time.time() + 3 * _DAY)
    given = vertex.Session.pb(await _create(client, expire_time=at))
    assert given.expire_time == at
    default = vertex.Session.pb(await _create(client))
    assert default.HasField("expire_time")  # always provided on output


@pytest.mark.parametrize(
    "expiration",
    [{"ttl": {"seconds": _DAY - 1}}, {"expire_time": _stamp(time.time() + _DAY - 60)}],
    ids=["ttl", "expire_time"],
)
async def test_an_expiration_under_24_hours_is_invalid_argument(
    client: SessionServiceAsyncClient, standin: SessionServiceStandIn, expiration: dict[str, Any]
) -> None:
    with pytest.raises(google_errors.InvalidArgument, match="24 hours"):
        await _create(client, **expiration)
    assert standin.sessions == {}


async def test_update_session_moves_the_expiry_and_the_update_time(client: SessionServiceAsyncClient) -> None:
    created = vertex.Session.pb(await _create(client, labels={"k": "v"}))
    request = vertex.UpdateSessionRequest(
        session=vertex.Session(name=created.name, ttl={"seconds": 5 * _DAY}),
        update_mask=field_mask_pb2.FieldMask(paths=["ttl"]),
    )
    updated = vertex.Session.pb(await client.update_session(request=request))
    assert updated.expire_time.ToSeconds() == pytest.approx(time.time() + 5 * _DAY, abs=5)
    assert updated.update_time.ToNanoseconds() > created.update_time.ToNanoseconds()
    assert dict(updated.labels) == {"k": "v"}  # not named in the mask: kept
    too_soon = vertex.UpdateSessionRequest(
        session=vertex.Session(name=created.name, expire_time=_stamp(time.time() + 60)),
        update_mask=field_mask_pb2.FieldMask(paths=["expire_time"]),
    )
    with pytest.raises(google_errors.InvalidArgument, match="24 hours"):
        await client.update_session(request=too_soon)


async def test_expired_sessions_stay_until_agent_engine_deletes_them(
    client: SessionServiceAsyncClient, standin: SessionServiceStandIn
) -> None:
    session = vertex.Session.pb(await _create(client, ttl={"seconds": _DAY}))
    kept = vertex.Session.pb(await _create(client, ttl={"seconds": 2 * _DAY}))
    # As if a day had passed: the stand-in's own clock decides, as Agent Engine's does.
    standin.sessions[session.name].session.expire_time.FromSeconds(int(time.time()) - 1)
    assert (await client.get_session(name=session.name)).name == session.name
    assert standin.delete_expired() == [session.name]
    with pytest.raises(google_errors.NotFound):
        await client.get_session(name=session.name)
    assert (await client.get_session(name=kept.name)).name == kept.name


async def test_update_session_replaces_display_name_and_labels_as_the_mask_names(
    client: SessionServiceAsyncClient,
) -> None:
    created = vertex.Session.pb(await _create(client, display_name="old", labels={"a": "1", "b": "2"}))
    request = vertex.UpdateSessionRequest(
        session=vertex.Session(name=created.name, display_name="new", labels={"c": "3"}),
        update_mask=field_mask_pb2.FieldMask(paths=["labels"]),
    )
    updated = vertex.Session.pb(await client.update_session(request=request))
    assert (updated.display_name, dict(updated.labels)) == ("old", {"c": "3"})
    request.update_mask.paths[:] = ["display_name"]
    updated = vertex.Session.pb(await client.update_session(request=request))
    assert updated.display_name == "new"


async def test_labels_are_lowercase_letters_digits_underscores_and_dashes_of_at_most_64(
    client: SessionServiceAsyncClient,
) -> None:
    allowed = {"k_-9": "v", "schlüssel": "wert", "a" * 64: "b" * 64, "empty": ""}
    created = vertex.Session.pb(await _create(client, labels=allowed))
    assert dict(created.labels) == allowed
    for labels in ({"Key": "v"}, {"k": "V"}, {"k.x": "v"}, {"a" * 65: "v"}, {"k": "b" * 65}):
        with pytest.raises(google_errors.InvalidArgument, match="labels"):
            await _create(client, labels=labels)
        with pytest.raises(google_errors.InvalidArgument, match="labels"):
            await client.update_session(
                request=vertex.UpdateSessionRequest(
                    session=vertex.Session(name=created.name, labels=labels),
                    update_mask=field_mask_pb2.FieldMask(paths=["labels"]),
                )
            )


async def test_list_sessions_filters_on_display_name_and_orders_by_create_time_either_way(
    client: SessionServiceAsyncClient,
) -> None:
    first = await _create(client, display_name="Trip to Paris")
    second = await _create(client, display_name="Trip to Paris")
    await _create(client, display_name="other")
    request = vertex.ListSessionsRequest(
        parent=ENGINE, filter='display_name="Trip to Paris"', order_by="create_time desc"
    )
    listed = await client.list_sessions(request=request)
    assert [s.name for s in listed.sessions] == [second.name, first.name]
    request.order_by = "create_time"
    listed = await client.list_sessions(request=request)
    assert [s.name for s in listed.sessions] == [first.name, second.name]
    for unsupported in ("display_name", "create_time asc desc", "user_id"):
        with pytest.raises(google_errors.InvalidArgument):
            await client.list_sessions(
                request=vertex.ListSessionsRequest(parent=ENGINE, order_by=unsupported)
            )
