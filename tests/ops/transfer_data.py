"""Data for the copy, export and import tests: a source database of every kind of session, and its rows."""

from __future__ import annotations

import io
import json
from typing import Any

import sqlalchemy as sa
from rich.console import Console

from adk_grpc_sessions.server.backends.base import Expiry, Metadata, RestoredSession, ScopedState, SessionKey
from adk_grpc_sessions.server.backends.sql import SqlBackend, schema
from adk_grpc_sessions.server.cli.transfer import restorable_event

FAR = 4_000_000_000.0
"""An expiry that has not come (2096): expiring sessions are copied, not skipped."""
RICH_SESSIONS = 40 + 4
"""Sessions ``fill`` makes through the API's calls: 40, and 4 forks of them."""
RICH_EVENTS = 40 * 4 + 4 * 2


def quiet() -> Console:
    """A console that prints nowhere."""
    return Console(file=io.StringIO(), force_terminal=False)


def event_json(
    event_id: str, timestamp: float, invocation: str, text: str, delta: dict[str, Any] | None
) -> str:
    """An ADK event's JSON (``author`` "agent" for ids ending in "a", else "user")."""
    event: dict[str, Any] = {
        "id": event_id,
        "invocationId": invocation,
        "author": "agent" if event_id.endswith("a") else "user",
        "timestamp": timestamp,
        "content": {"role": "model", "parts": [{"text": text}]},
    }
    if delta:
        event["actions"] = {"stateDelta": delta}
    return json.dumps(event, ensure_ascii=False)


async def fill(backend: SqlBackend, small_sessions: int, big_session_events: int) -> None:
    """Rich sessions made through the API's calls, then ``small_sessions`` small ones and a big one, restored."""
    for number in range(40):
        app = ["café ☕", "shop", "zoo 🦓"][number % 3]
        key = SessionKey(app, f"ü-{number % 7} 😀", f"rich-{number}")
        record = await backend.create_session(
            key,
            ScopedState(
                app={"ver": str(number)}, user={"name": '"Zoë"'}, session={"big": str(2**70 + number)}
            ),
            1_700_000_000.0 + number,
            expiry=Expiry(FAR + number, 86_400.0 * (number % 2) or None) if number % 4 == 0 else Expiry(),
            metadata=Metadata(f"chat #{number} 💬", {"team": "search", "n": str(number)})
            if number % 3
            else Metadata(),
        )
        revision = record.revision
        for e in range(4):
            text = "日本語のテキスト " * (12_000 if (number, e) == (5, 2) else 3)  # one event of ~300 KB
            event = restorable_event(
                event_json(
                    f"{number}-{e}{'a' * (e % 2)}",
                    1_700_000_100.0 + number + e / 8,
                    f"inv-{e // 2}",
                    text,
                    {"k": e, "app:seen": number},
                )
            )
            revision = (await backend.append_event(key, event, revision)).revision
        if number % 10 == 1:
            await backend.fork_session(key, f"fork-{number}", 1_700_000_500.0, before_invocation_id="inv-1")
        if number % 5 == 2:
            await backend.close_session(key, 1_700_000_600.0, None)
    for number in range(small_sessions):
        key = SessionKey(f"app-{number % 4}", f"user-{number % 97}", f"s-{number:05}")
        events = [
            restorable_event(
                event_json(f"e{number}-{e}", 1_700_001_000.0 + number + e, "i", f"hi {number}", None)
            )
            for e in range(1 + number % 2)
        ]
        head = RestoredSession(
            key=key,
            create_time=1_700_001_000.0 + number,
            last_update_time=1_700_001_001.0 + number,
            revision=0,
            state={"n": str(number)},
            initial_state={},
            event_count=len(events),
            expiry=Expiry(FAR) if number % 50 == 0 else Expiry(),
        )
        await backend.restore_session(head, events)
    big = SessionKey("a-big", "user", "big")
    events = [
        restorable_event(event_json(f"b{n}", 1_700_002_000.0 + n / 1000, f"i{n // 100}", "x" * 800, {"n": n}))
        for n in range(big_session_events)
    ]
    await backend.restore_session(
        RestoredSession(
            big,
            1_700_002_000.0,
            1_700_002_003.0,
            0,
            {"n": str(big_session_events - 1)},
            {},
            big_session_events,
        ),
        events[:500],
    )
    for first in range(500, big_session_events, 500):
        await backend.restore_events(big, first + 1, events[first : first + 500])
    await backend.restore_shared_state("only-state", None, {"a": '"app only"'})
    await backend.restore_shared_state("only-state", "someone", {"u": "[1, 2]"})


async def table_rows(backend: SqlBackend) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, by names, without surrogate keys and revisions (derived from keys)."""
    s, e = schema.sessions, schema.events
    name = (s.c.app_name, s.c.user_id, s.c.session_id)
    session_columns = [c for c in s.c if c.name not in ("session_pk", "revision")]
    event_columns = [c for c in e.c if c.name not in ("event_pk", "session_pk")]
    queries = {
        "sessions": sa.select(*session_columns).order_by(*name),
        "events": sa.select(*name, *event_columns)
        .join(s, s.c.session_pk == e.c.session_pk)
        .order_by(*name, e.c.sequence),
        "session_state": sa.select(*name, *[c for c in schema.session_state.c if c.name != "session_pk"])
        .join(s, s.c.session_pk == schema.session_state.c.session_pk)
        .order_by(*name, schema.session_state.c.key_digest),
        "labels": sa.select(*name, schema.session_labels.c.label_key, schema.session_labels.c.label_value)
        .join(s, s.c.session_pk == schema.session_labels.c.session_pk)
        .order_by(*name, schema.session_labels.c.label_key),
        "user_state": sa.select(schema.user_state).order_by(*schema.user_state.primary_key.columns),
        "app_state": sa.select(schema.app_state).order_by(*schema.app_state.primary_key.columns),
        "user_state_size": sa.select(
            schema.user_state_size.c.app_name,
            schema.user_state_size.c.user_id,
            schema.user_state_size.c.state_bytes,
        )
        .where(schema.user_state_size.c.state_bytes > 0)
        .order_by(schema.user_state_size.c.app_name, schema.user_state_size.c.user_id),
        "app_state_size": sa.select(schema.app_state_size.c.app_name, schema.app_state_size.c.state_bytes)
        .where(schema.app_state_size.c.state_bytes > 0)
        .order_by(schema.app_state_size.c.app_name),
    }
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with backend.transaction(write=False) as connection:
        for table, query in queries.items():
            fetched = (await connection.execute(query)).all()
            # Names are ordered in code point order by every database (KeyString): no sort here.
            rows[table] = [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in fetched
            ]
    return rows


async def started_backend(uri: str) -> SqlBackend:
    """A started backend on ``uri``, its schema made."""
    backend = SqlBackend.from_uri(uri)
    await backend.upgrade_schema()
    await backend.start()
    return backend
