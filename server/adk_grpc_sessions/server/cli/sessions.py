"""``adk-grpc-sessions sessions``: apps, users and sessions of a server, through its API.

Tables for people (rich), ``--json`` for scripts (one JSON document on
stdout), one line on stderr for an error. Exit codes scripts can rely on:
0 done; 1 the server refused or could not be reached (the line names the
gRPC code); 2 bad usage; 3 ``show`` of a session that does not exist.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from datetime import UTC
from typing import Any, Final

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from rich.console import Console
from rich.table import Table

from adk_grpc_sessions.server.cli import erase_user
from adk_grpc_sessions.server.cli.remote import Remote
from adk_grpc_sessions.v1 import session_service_pb2 as pb

EXIT_OK: Final = 0
EXIT_REFUSED: Final = 1
EXIT_USAGE: Final = 2
EXIT_NOT_FOUND: Final = 3
SUMMARY_CHARACTERS: Final = 80
"""Longest text of an event shown in ``show``'s timeline (``--json`` has all of it)."""


class _NotFoundError(Exception):
    """The session to show does not exist."""


class _UsageError(Exception):
    """Flags that do not go together."""


def run(args: argparse.Namespace) -> int:
    """Runs ``sessions LIST|SHOW|DELETE|ERASE-USER``; its exit code."""
    if args.sessions_command == "erase-user":
        return erase_user.run(args)
    console = Console(soft_wrap=True)
    try:
        remote = Remote.from_args(args)
        if args.sessions_command == "list":
            output = asyncio.run(_list(remote, args))
        elif args.sessions_command == "show":
            output = asyncio.run(_show(remote, args))
        else:
            output = asyncio.run(_delete(remote, args))
    except grpc.aio.AioRpcError as error:
        print(
            f"adk-grpc-sessions: sessions {args.sessions_command}: {error.code().name}: {error.details()}",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    except _NotFoundError as missing:
        print(f"adk-grpc-sessions: sessions show: {missing}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except _UsageError as usage:
        print(f"adk-grpc-sessions: sessions {args.sessions_command}: {usage}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(output["json"], ensure_ascii=False))
    else:
        for part in output["people"]:
            console.print(part)
    return EXIT_OK


def _time(timestamp: Timestamp, present: bool = True) -> str | None:
    """RFC 3339 in UTC, to the microsecond; None where the field is unset."""
    if not present:
        return None
    return timestamp.ToDatetime(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _state(state: pb.State) -> dict[str, dict[str, Any]]:
    return {
        scope: {k: json.loads(v) for k, v in getattr(state, scope).items()}
        for scope in ("app", "user", "session")
    }


def _session(session: pb.Session) -> dict[str, Any]:
    """A session's fields as JSON: what the API returns, with times as RFC 3339 text."""
    return {
        "app_name": session.app_name,
        "user_id": session.user_id,
        "session_id": session.session_id,
        "display_name": session.display_name,
        "labels": dict(session.labels),
        "create_time": _time(session.create_time),
        "last_update_time": _time(session.last_update_time),
        "expire_time": _time(session.expire_time, session.HasField("expire_time")),
        "close_time": _time(session.close_time, session.HasField("close_time")),
        "revision": session.revision,
        "event_count": session.event_count if session.HasField("event_count") else None,
        "stored_bytes": session.stored_bytes if session.HasField("stored_bytes") else None,
        "forked_from": (
            {
                "session_id": session.forked_from.session_id,
                "event_count": session.forked_from.event_count,
                "before_invocation_id": session.forked_from.before_invocation_id,
                "fork_time": _time(session.forked_from.fork_time),
            }
            if session.HasField("forked_from")
            else None
        ),
    }


def _short(text: str | None) -> str:
    """An RFC 3339 time to the minute, for a table."""
    return "" if text is None else text.replace("T", " ")[:16]


async def _list(remote: Remote, args: argparse.Namespace) -> dict[str, Any]:
    if args.app is None:
        if args.user or args.every_user or args.filter or args.order_by:
            raise _UsageError("--user, --every-user, --filter and --order-by need --app")
        return await _list_names(remote, args, "apps")
    if args.user is None and not (args.every_user or args.filter or args.order_by):
        return await _list_names(remote, args, "users")
    return await _list_sessions(remote, args)


async def _list_names(remote: Remote, args: argparse.Namespace, kind: str) -> dict[str, Any]:
    """The apps (``kind`` "apps") or an app's users ("users"): a page, or all pages with ``--all``."""
    names: list[str] = []
    token = args.page_token or ""
    async with remote.stub() as stub:
        while True:
            if kind == "apps":
                apps = await stub.ListApps(
                    pb.ListAppsRequest(page_size=args.page_size, page_token=token),
                    metadata=remote.metadata,
                    timeout=remote.timeout,
                )
                names += apps.app_names
                token = apps.next_page_token
            else:
                users = await stub.ListUsers(
                    pb.ListUsersRequest(app_name=args.app, page_size=args.page_size, page_token=token),
                    metadata=remote.metadata,
                    timeout=remote.timeout,
                )
                names += users.user_ids
                token = users.next_page_token
            if not args.all or not token:
                break
    table = Table(title="apps" if kind == "apps" else f"users of app {args.app!r}")
    table.add_column("app" if kind == "apps" else "user", overflow="fold")
    for name in names:
        table.add_row(name)
    people: list[Any] = [table]
    if token:
        people.append(f"more: --page-token {token}  (or --all)")
    return {"json": {kind: names, "next_page_token": token}, "people": people}


async def _list_sessions(remote: Remote, args: argparse.Namespace) -> dict[str, Any]:
    request = pb.ListSessionsRequest(
        app_name=args.app,
        user_id=args.user or "",
        page_size=args.page_size,
        page_token=args.page_token or "",
        filter=args.filter or "",
        order_by=args.order_by or "",
    )
    sessions: list[pb.Session] = []
    async with remote.stub() as stub:
        while True:
            page = await stub.ListSessions(request, metadata=remote.metadata, timeout=remote.timeout)
            sessions += page.sessions
            request.page_token = page.next_page_token
            if not args.all or not page.next_page_token:
                break
    rows = [_session(s) for s in sessions]
    table = Table(title=f"sessions of app {args.app!r}" + (f", user {args.user!r}" if args.user else ""))
    # A column only where some session has something to show in it: tables stay narrow.
    columns: dict[str, Callable[[dict[str, Any]], str]] = {
        "user": lambda row: row["user_id"],
        "session": lambda row: row["session_id"],
        "name": lambda row: row["display_name"],
        "labels": lambda row: ", ".join(f"{k}={v}" for k, v in sorted(row["labels"].items())),
        "events": lambda row: "" if row["event_count"] is None else str(row["event_count"]),
        "updated (UTC)": lambda row: _short(row["last_update_time"]),
        "created (UTC)": lambda row: _short(row["create_time"]),
        "expires (UTC)": lambda row: _short(row["expire_time"]),
        "closed (UTC)": lambda row: _short(row["close_time"]),
    }
    always = ("user", "session", "updated (UTC)")
    shown = {name: cell for name, cell in columns.items() if name in always or any(map(cell, rows))}
    for name in shown:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(cell(row) for cell in shown.values()))
    people: list[Any] = [table]
    if request.page_token:
        people.append(f"more: --page-token {request.page_token}  (or --all)")
    return {"json": {"sessions": rows, "next_page_token": request.page_token}, "people": people}


def event_summary(event: dict[str, Any]) -> Iterator[str]:
    """What an event (its ADK JSON, parsed) says, part by part, as a person reads it (``show``, ``tail``)."""
    for part in (event.get("content") or {}).get("parts") or []:
        if part.get("text"):
            yield part["text"]
        elif part.get("functionCall"):
            call = part["functionCall"]
            yield f"call {call.get('name')}({json.dumps(call.get('args', {}), ensure_ascii=False)})"
        elif part.get("functionResponse"):
            answer = part["functionResponse"]
            yield f"answer {answer.get('name')}: {json.dumps(answer.get('response', {}), ensure_ascii=False)}"
    delta = (event.get("actions") or {}).get("stateDelta") or {}
    if delta:
        yield "state: " + ", ".join(sorted(delta))


async def _show(remote: Remote, args: argparse.Namespace) -> dict[str, Any]:
    request = pb.GetSessionRequest(app_name=args.app, user_id=args.user, session_id=args.session)
    if args.events is not None:
        request.num_recent_events = args.events
    async with remote.stub() as stub:
        try:
            response = await stub.GetSession(request, metadata=remote.metadata, timeout=remote.timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise _NotFoundError(error.details()) from None
            raise
        events = list(response.session.events)
        token = response.next_events_page_token
        while token:
            page = await stub.ListEvents(
                pb.ListEventsRequest(
                    app_name=args.app, user_id=args.user, session_id=args.session, page_token=token
                ),
                metadata=remote.metadata,
                timeout=remote.timeout,
            )
            events += page.events
            token = page.next_page_token
    session = response.session
    fields = _session(session)
    state = _state(session.state)
    parsed = [json.loads(e.event_json) for e in events]

    about = Table(title=f"session {session.session_id!r}", show_header=False)
    about.add_column("field")
    about.add_column("value", overflow="fold")
    for name, value in fields.items():
        if value not in (None, "", {}):
            about.add_row(name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    people: list[Any] = [about]
    for scope, values in state.items():
        if values:
            table = Table(title=f"{scope} state")
            table.add_column("key")
            table.add_column("value", overflow="fold")
            for key, value in sorted(values.items()):
                table.add_row(key, json.dumps(value, ensure_ascii=False))
            people.append(table)
    timeline = Table(title=f"events ({len(events)} shown)")
    for column in ("#", "time (UTC)", "author", "invocation", "what"):
        timeline.add_column(column, overflow="fold")
    for stored, event in zip(events, parsed, strict=True):
        what = " | ".join(event_summary(event))
        timeline.add_row(
            str(stored.sequence),
            (_time(stored.timestamp) or "").replace("T", " ")[:23],
            stored.author,
            stored.invocation_id,
            what if len(what) <= SUMMARY_CHARACTERS else what[: SUMMARY_CHARACTERS - 1] + "…",
        )
    people.append(timeline)
    return {"json": {**fields, "state": state, "events": parsed}, "people": people}


async def _delete(remote: Remote, args: argparse.Namespace) -> dict[str, Any]:
    async with remote.stub() as stub:
        await stub.DeleteSession(
            pb.DeleteSessionRequest(app_name=args.app, user_id=args.user, session_id=args.session),
            metadata=remote.metadata,
            timeout=remote.timeout,
        )
    key = {"app_name": args.app, "user_id": args.user, "session_id": args.session}
    return {
        "json": {**key, "deleted": True},
        "people": [f"deleted session {args.session!r} of user {args.user!r}"],
    }
