"""Apps and users listed by name, in code point order, paged by key, on memory and every SQL database."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from adk_grpc_sessions.server.backends.base import (
    Backend,
    Expiry,
    InvalidCursorError,
    NewEvent,
    ScopedState,
    SessionKey,
)
from adk_grpc_sessions.server.backends.sql import SqlBackend
from adk_grpc_sessions.server.backends.sql.driver_sql import DriverStatement
from adk_grpc_sessions.server.backends.sql.queries import names
from tests.sql.conftest import new_database_uri

# Code point order: upper case before lower, then accented Latin, CJK, and a
# character outside the Basic Multilingual Plane (after U+FFFF in code points,
# though UTF-16 would put it before U+E000..U+FFFF).
_APPS = ["A", "Zeta", "a", "a b", "ab", "é", "中", "\ue000", "😀"]


@pytest.fixture
def backend(any_backend: Backend) -> Backend:
    """Memory, SQLite, PostgreSQL, MariaDB."""
    return any_backend


async def _all_pages(backend: Backend, page_size: int, app_name: str | None = None) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        if app_name is None:
            page = await backend.list_apps(page_size, cursor)
        else:
            page = await backend.list_users(app_name, page_size, cursor)
        pages.append(list(page.items))
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def _event(event_id: str, app_delta: dict[str, str]) -> NewEvent:
    return NewEvent(
        event_id, "inv", "user", "", 5.0, ScopedState(app=app_delta), json.dumps({"id": event_id}), size=10
    )


async def test_apps_are_listed_in_code_point_order_once_each_across_pages(backend: Backend) -> None:
    for number, app in enumerate(reversed(_APPS)):
        await backend.create_session(SessionKey(app, "u", "s1"), ScopedState(), 1.0)
        await backend.create_session(SessionKey(app, f"v{number}", "s2"), ScopedState(), 1.0)
    for page_size in (1, 2, 4, 100):
        pages = await _all_pages(backend, page_size)
        assert [app for page in pages for app in page] == _APPS
        assert all(0 < len(page) <= page_size for page in pages)
    assert len(await _all_pages(backend, 3)) == 3  # an exact multiple ends without an empty page


async def test_an_app_holding_only_shared_state_is_listed_and_one_without_anything_is_not(
    backend: Backend,
) -> None:
    # App state and user state of an app whose sessions are all deleted keep it listed.
    session = await backend.create_session(SessionKey("shared", "u", "s"), ScopedState(app={"k": "1"}), 1.0)
    await backend.append_event(session.key, _event("e1", {"k": "2"}), session.revision)
    await backend.delete_session(session.key)
    await backend.create_session(SessionKey("users", "bob", "s"), ScopedState(user={"k": "1"}), 1.0)
    await backend.delete_session(SessionKey("users", "bob", "s"))
    await backend.create_session(SessionKey("gone", "u", "s"), ScopedState(), 1.0)
    await backend.delete_session(SessionKey("gone", "u", "s"))
    assert await _all_pages(backend, 10) == [["shared", "users"]]
    assert await _all_pages(backend, 10, "users") == [["bob"]]
    assert await _all_pages(backend, 10, "shared") == [[]]


async def test_users_of_one_app_are_listed_in_order_and_other_apps_users_are_not(backend: Backend) -> None:
    users = sorted(["alice", "Bob", "bob", "ünal", "李", "🦊", "u" * 128])
    for user in reversed(users):
        await backend.create_session(SessionKey("app", user, "s1"), ScopedState(), 1.0)
        await backend.create_session(SessionKey("app", user, "s2"), ScopedState(), 1.0)
    await backend.create_session(SessionKey("other", "carol", "s1"), ScopedState(), 1.0)
    await backend.create_session(SessionKey("other", "dave", "s1"), ScopedState(user={"k": "1"}), 1.0)
    await backend.delete_session(SessionKey("other", "dave", "s1"))  # user state keeps dave
    for page_size in (1, 3, 1000):
        assert [u for page in await _all_pages(backend, page_size, "app") for u in page] == users
    assert await _all_pages(backend, 10, "other") == [["carol", "dave"]]
    assert await _all_pages(backend, 10, "nobody") == [[]]


async def test_expired_sessions_hold_no_name(backend: Backend) -> None:
    now = backend.clock()
    await backend.create_session(
        SessionKey("expired", "u", "s"), ScopedState(), 1.0, expiry=Expiry(expire_time=now + 0.5)
    )
    await backend.create_session(SessionKey("live", "u", "s"), ScopedState(), 1.0)
    await backend.create_session(
        SessionKey("live", "gone", "s"), ScopedState(), 1.0, expiry=Expiry(expire_time=now + 0.5)
    )
    assert await _all_pages(backend, 10) == [["expired", "live"]]
    backend.clock = lambda: now + 1  # type: ignore[method-assign]
    assert await _all_pages(backend, 10) == [["live"]]
    assert await _all_pages(backend, 10, "live") == [["u"]]


async def test_a_page_resumes_after_its_last_name_when_names_come_and_go(backend: Backend) -> None:
    for app in ("b", "d", "f"):
        await backend.create_session(SessionKey(app, "u", "s"), ScopedState(), 1.0)
    first = await backend.list_apps(2, None)
    assert list(first.items) == ["b", "d"]
    await backend.create_session(SessionKey("a", "u", "s"), ScopedState(), 1.0)  # before the cursor
    await backend.create_session(SessionKey("e", "u", "s"), ScopedState(), 1.0)  # after it
    await backend.delete_session(SessionKey("d", "u", "s"))  # the cursor's own name
    rest = await backend.list_apps(2, first.next_cursor)
    assert list(rest.items) == ["e", "f"]
    assert rest.next_cursor is None


@pytest.mark.parametrize(
    "cursor", ["", "[]", "[1]", '["a","b"]', '["\\u0000"]', '["' + "x" * 129 + '"]', "{"]
)
async def test_a_cursor_that_is_not_a_name_is_refused(backend: Backend, cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        await backend.list_apps(10, cursor)
    with pytest.raises(InvalidCursorError):
        await backend.list_users("app", 10, cursor)


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


async def test_a_page_of_names_on_postgresql_reads_index_entries_in_proportion_to_the_page(
    tmp_path: pathlib.Path,
) -> None:
    backend = SqlBackend.from_uri(await new_database_uri("postgresql", tmp_path))
    await backend.upgrade_schema()
    await backend.start()
    try:
        # 50 apps of 2,000 sessions each, of 20 users each: a DISTINCT would read all 100,000 rows.
        async with backend.transaction(write=True) as connection:
            await connection.exec_driver_sql(
                "INSERT INTO ags_sessions (app_name, user_id, session_id, create_time, last_update_time, "
                "revision, last_sequence) SELECT 'app' || lpad((i % 50)::text, 2, '0'), 'u' || (i % 1000), "
                "'s' || i, 1.0, 1.0 + i, 1, 0 FROM generate_series(1, 100000) i"
            )
            await connection.exec_driver_sql("ANALYZE")
        async with backend.transaction(write=False) as connection:
            for statement, values in (
                names.select_app_names(connection.dialect, "app10", 11, 1.0),
                names.select_user_names(connection.dialect, "app07", "u1", 11, 1.0),
            ):
                assert isinstance(values, dict)
                compiled = DriverStatement(statement, connection.dialect)  # type: ignore[arg-type]
                result = await connection.exec_driver_sql(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + compiled.sql, compiled.parameters(values)
                )
                plan = result.scalar_one()
                plan = json.loads(plan) if isinstance(plan, str) else plan
                scans = [n for n in _nodes(plan[0]["Plan"]) if n.get("Relation Name") == "ags_sessions"]
                assert scans and all("Index" in n["Node Type"] for n in scans), plan
                # Rows each probe read, times how often it ran: a few per name listed.
                read = sum(
                    n["Actual Rows"] * n["Actual Loops"] + n.get("Rows Removed by Filter", 0) for n in scans
                )
                assert read < 200, plan
        page = await backend.list_apps(3, None)
        assert list(page.items) == ["app00", "app01", "app02"]
        users = await backend.list_users("app07", 3, None)
        assert list(users.items) == ["u107", "u157", "u207"]
    finally:
        await backend.close()
