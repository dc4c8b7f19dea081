"""Filtered, ordered listings: each filter term, both orders in both directions, ties, paging, bad filters."""

from __future__ import annotations

import time
from dataclasses import dataclass

import grpc
import pytest
from google.adk.events.event import Event
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from adk_grpc_sessions.client import GrpcSessionService, SessionFilterError, SessionInfo
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from adk_grpc_sessions.wire.timestamps import to_timestamp
from tests.metadata.conftest import Serve

APP = "app"


@dataclass
class Listed:
    """Four sessions of two users, updated at known times (b and d tie), b closed."""

    client: GrpcSessionService
    base: float
    infos: dict[str, SessionInfo]

    def time_text(self, seconds: float) -> str:
        return to_timestamp(seconds).ToJsonString()

    async def ids(
        self, filter_text: str = "", order_by: str = "", user_id: str | None = None, page_size: int = 100
    ) -> list[str]:
        listed: list[str] = []
        token = None
        while True:
            page = await self.client.list_session_infos_page(
                app_name=APP,
                user_id=user_id,
                page_size=page_size,
                page_token=token,
                filter=filter_text,
                order_by=order_by,
            )
            listed += [info.session_id for info in page.sessions]
            if page.next_page_token is None:
                return listed
            token = page.next_page_token


_SESSIONS = {  # id: (user, display name, labels, seconds after base of its one event)
    "a": ("u1", "Alpha", {"team": "search"}, 30.0),
    "b": ("u1", "Beta", {"team": "ads", "env": "prod"}, 10.0),
    "c": ("u2", "Alpha", {}, 20.0),
    "d": ("u2", "", {"env": "dev"}, 10.0),
}


async def _listed(client: GrpcSessionService, *, close_b: bool = True) -> Listed:
    base = float(int(time.time()) - 3600)
    for session_id, (user, name, labels, after) in _SESSIONS.items():
        session = await client.create_session(
            app_name=APP, user_id=user, session_id=session_id, display_name=name, labels=labels
        )
        await client.append_event(session, Event(author="user", timestamp=base + after))
    if close_b:
        closing = await client.get_session(app_name=APP, user_id="u1", session_id="b")
        assert closing is not None
        await client.close_session(session=closing)
    infos = {i.session_id: i async for i in client.iter_session_infos(app_name=APP)}
    return Listed(client, base, infos)


_TERMS = (  # (filter, the ids it keeps)
    ('display_name = "Alpha"', "ac"),
    ('display_name != "Alpha"', "bd"),
    ('display_name = ""', "d"),
    ("labels.team = search", "a"),
    ('labels.team = "ads"', "b"),
    ("labels.team != search", "bcd"),
    ("labels.env:*", "bd"),
    ("labels.env : *", "bd"),
    ("labels.nothing:*", ""),
    ("closed = true", "b"),
    ("closed = false", "acd"),
    ('closed = "false"', "acd"),
    ('labels.env:* AND display_name = "Beta"', "b"),
    ('display_name = "Alpha" AND labels.team != search AND closed = false', "c"),
)


async def test_each_metadata_filter_term_keeps_exactly_the_matching_sessions(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        listed = await _listed(client)
        kept = {filter_text: "".join(sorted(await listed.ids(filter_text))) for filter_text, _ in _TERMS}
        assert kept == dict(_TERMS)


async def test_each_create_time_comparison_keeps_exactly_the_matching_sessions(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        listed = await _listed(client)
        at = listed.time_text(listed.infos["c"].create_time)
        expected = {"=": "c", "!=": "abd", "<": "ab", "<=": "abc", ">": "d", ">=": "cd"}
        kept = {op: "".join(sorted(await listed.ids(f'create_time {op} "{at}"'))) for op in expected}
        assert kept == expected


async def test_each_update_time_comparison_keeps_exactly_the_matching_sessions(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        listed = await _listed(client, close_b=False)
        at = listed.time_text(listed.base + 10)
        expected = {"=": "bd", "!=": "ac", "<": "", "<=": "bd", ">": "ac", ">=": "abcd"}
        kept = {op: "".join(sorted(await listed.ids(f'update_time {op} "{at}"'))) for op in expected}
        assert kept == expected


async def test_a_time_with_an_offset_is_the_same_instant(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        listed = await _listed(client, close_b=False)
        # base + 15 s written in UTC+02:00.
        instant = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(listed.base + 15 + 7200)) + "+02:00"
        assert sorted(await listed.ids(f'update_time > "{instant}"')) == ["a", "c"]


_ORDERS = {  # order_by: the ids in its order (b and d tie on update_time: user u1 before u2)
    "": "bdca",
    "update_time": "bdca",
    "update_time asc": "bdca",
    "update_time desc": "acdb",
    "create_time": "abcd",
    "create_time desc": "dcba",
}


@pytest.mark.parametrize("page_size", [1, 2, 3, 100])
async def test_orders_list_in_either_direction_with_ties_by_user_then_session_across_pages(
    serve: Serve, page_size: int
) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        listed = await _listed(client)
        orders = {o: "".join(await listed.ids(order_by=o, page_size=page_size)) for o in _ORDERS}
        assert orders == _ORDERS
        # A filter keeps the order of what it keeps.
        filtered = {
            o: "".join(await listed.ids("labels.team != search", o, page_size=page_size)) for o in _ORDERS
        }
        assert filtered == {o: ids.replace("a", "") for o, ids in _ORDERS.items()}


async def test_a_user_s_filtered_listing_holds_only_their_sessions(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        listed = await _listed(client)
        assert await listed.ids('display_name = "Alpha"', "create_time desc", user_id="u2") == ["c"]
        assert await listed.ids("labels.env:*", "update_time desc", user_id="u1") == ["b"]


async def test_a_session_updated_while_paging_newest_first_is_listed_at_most_once(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        listed = await _listed(client, close_b=False)
        first = await client.list_session_infos_page(app_name=APP, page_size=2, order_by="update_time desc")
        assert [i.session_id for i in first.sessions] == ["a", "c"]
        # a (listed) and b (not yet) move to the front, behind the page already read.
        for session_id, user in (("a", "u1"), ("b", "u1")):
            session = await client.get_session(app_name=APP, user_id=user, session_id=session_id)
            assert session is not None
            await client.append_event(session, Event(author="user", timestamp=listed.base + 100))
        rest = await client.list_session_infos_page(
            app_name=APP, page_size=2, order_by="update_time desc", page_token=first.next_page_token
        )
        assert [i.session_id for i in rest.sessions] == ["d"]
        assert rest.next_page_token is None


async def test_a_session_updated_while_paging_oldest_first_is_listed_again_at_its_new_key(
    serve: Serve,
) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        listed = await _listed(client, close_b=False)
        first = await client.list_session_infos_page(app_name=APP, page_size=2)
        assert [i.session_id for i in first.sessions] == ["b", "d"]
        session = await client.get_session(app_name=APP, user_id="u1", session_id="b")
        assert session is not None
        await client.append_event(session, Event(author="user", timestamp=listed.base + 100))
        rest: list[str] = []
        token = first.next_page_token
        while token is not None:
            page = await client.list_session_infos_page(app_name=APP, page_size=2, page_token=token)
            rest += [i.session_id for i in page.sessions]
            token = page.next_page_token
        # Every unchanged session exactly once, in order; b where its key now is (paging is by key).
        assert rest == ["c", "a", "b"]


_BAD_FILTERS = (  # (filter, the 1-based column of its error)
    ('display_name = "a" OR closed = true', 20),
    ("colour = red", 1),
    ("labels.Team = x", 8),
    ("labels.adk_app = x", 8),
    ('display_name < "a"', 14),
    ("display_name = Alpha", 16),
    ('create_time > "yesterday"', 15),
    ('create_time > "2026-01-02T03:04:05"', 15),
    ("closed = maybe", 10),
    ("closed != true", 8),
    ("labels.team", 12),
    ('display_name = "unterminated', 16),
    ("(closed = true)", 1),
    ("NOT closed = true", 5),
)


async def test_a_bad_filter_is_invalid_argument_naming_filter_and_the_position(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        positions = {}
        for filter_text, _ in _BAD_FILTERS:
            with pytest.raises(SessionFilterError, match=r"^filter: at column ") as raised:
                await client.list_sessions(app_name=APP, filter=filter_text)
            positions[filter_text] = raised.value.position
        assert positions == dict(_BAD_FILTERS)
        async with grpc.aio.insecure_channel(running.address) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await pb_grpc.SessionServiceStub(channel).ListSessions(
                    pb.ListSessionsRequest(app_name=APP, filter="colour = red")
                )
        assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        status = rpc_status.from_call(failed.value)
        assert status is not None
        info, bad_request = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
        assert any(d.Unpack(info) for d in status.details)
        assert any(d.Unpack(bad_request) for d in status.details)
        assert (info.reason, dict(info.metadata)) == ("INVALID_ARGUMENT", {"position": "1"})
        assert [v.field for v in bad_request.field_violations] == ["filter"]
        assert "column 1" in (failed.value.details() or "")


async def test_a_bad_order_by_is_invalid_argument_naming_it(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        for order_by in ("name", "create_time descending", "update_time desc, create_time", "desc"):
            with pytest.raises(ValueError, match=r"^order_by: "):
                await client.list_sessions(app_name=APP, order_by=order_by)


async def test_a_page_token_is_good_only_for_the_same_filter_and_order(serve: Serve) -> None:
    async with serve() as running, GrpcSessionService(running.address) as client:
        listed = await _listed(client)
        first = await client.list_session_infos_page(
            app_name=APP, page_size=1, filter="labels.env:*", order_by="create_time"
        )
        token = first.next_page_token
        assert token is not None
        for filter_text, order_by in (
            ("labels.team:*", "create_time"),
            ("", "create_time"),
            ("labels.env:*", "create_time desc"),
            ("labels.env:*", ""),
        ):
            with pytest.raises(ValueError, match=r"^page_token: "):
                await client.list_session_infos_page(
                    app_name=APP, page_size=1, page_token=token, filter=filter_text, order_by=order_by
                )
        # The same query, written with other spacing, is the same query.
        same = await client.list_session_infos_page(
            app_name=APP, page_size=1, page_token=token, filter="  labels.env :*", order_by="create_time  asc"
        )
        assert [i.session_id for i in same.sessions] == ["d"]
        assert listed.infos["d"] == same.sessions[0]
