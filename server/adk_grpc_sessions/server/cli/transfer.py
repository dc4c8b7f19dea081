"""What ``copy``, ``export`` and ``import`` share: a stream of what a store holds, written into a backend.

A source (a backend, ADK's own database, an export file) yields its data as
a stream of ``SharedState`` and ``SessionCopy`` items, each session's events
in bounded chunks, so nothing of a session's size is held in memory. A
destination is any backend that restores (``Backend.restore_*``, the one
write path of restored data). Writing is resumable: a session already at
the destination keeps the events it holds, and receives those that follow
(its stored event count says how many it holds); state is set key by key,
so writing it again changes nothing. Each session is verified as soon as it
is written: its events' JSON in order and its state, hashed at the source as
they stream by and again as the destination returns them, and its metadata
compared; at the end the destination's counts of the apps written are
compared with the source's.

A destination that keeps app and user state only inside sessions (Agent
Engine: ``Backend.keeps_shared_state`` False) receives them that way: each
session is written with its app's and user's state, as the source holds
them when the session is read, beside its own keys (prefixed ``app:`` and
``user:``), and is verified by what that storage keeps of them
(``Backend.kept_state``, ``Backend.restored_fields``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import pydantic_core
from rich.console import Console

from adk_grpc_sessions.server.api import wire_cache
from adk_grpc_sessions.server.backends.base import (
    Backend,
    BackendRefusedError,
    NewEvent,
    Refusal,
    RestoredSession,
    SessionExistsError,
    SessionKey,
    SessionRecord,
    StateMap,
    StoredEvent,
)
from adk_grpc_sessions.server.backends.event_json import APP_PREFIX, USER_PREFIX, parse_event
from adk_grpc_sessions.server.cli.transfer_report import Progress, Report, Totals, print_summary

__all__ = [
    "BackendSource",
    "Item",
    "Progress",
    "Report",
    "SessionCopy",
    "SharedState",
    "Source",
    "Totals",
    "chunked",
    "count_check",
    "print_summary",
    "restorable_event",
    "stored_events",
    "write_all",
]

EVENT_CHUNK: Final = 500
"""Most events read or written at once (and at most ``CHUNK_BYTES`` of their JSON)."""
CHUNK_BYTES: Final = 4 * 1024 * 1024
_PAGE: Final = 1000
_BATCH_SESSIONS: Final = 50
"""Most small sessions written together (and at most about ``CHUNK_BYTES`` of their events' JSON)."""
_PARALLEL: Final = 4
"""Batches of small sessions written at once."""
_VERIFIED_AT_ONCE: Final = 4
"""Sessions of a batch read back at once to be verified."""


@dataclass(frozen=True, slots=True)
class SharedState:
    """An app's state (``user_id`` None) or a user's."""

    app_name: str
    user_id: str | None
    state: StateMap


@dataclass(slots=True)
class SessionCopy:
    """A session: everything but its events, and its events in order, in chunks (consumed once)."""

    head: RestoredSession
    events: AsyncIterator[list[NewEvent]]


Item = SharedState | SessionCopy


class Source(Protocol):
    """Where copied data comes from."""

    def items(self) -> AsyncIterator[Item]:
        """Every app state, user state and session, each session's events read as it is consumed."""
        ...

    async def totals(self) -> Totals | None:
        """How many sessions and events ``items`` will yield; None if unknown."""
        ...


def state_json(state: StateMap) -> str:
    """A scope of state as canonical JSON text: keys sorted, each value its JSON text."""
    return pydantic_core.to_json(dict(sorted(state.items()))).decode()


class _Checksum:
    """``session_checksum`` computed as events stream by."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def add(self, event_json: str) -> None:
        self._digest.update(event_json.encode())
        self._digest.update(b"\n")

    def finish(self, state: StateMap) -> str:
        self._digest.update(state_json(state).encode())
        return self._digest.hexdigest()


def restorable_event(event_json: str) -> NewEvent:
    """A stored event's JSON as ``restore_events`` takes it: typed fields, cache, size as appends make them.

    Raises:
        InvalidArgumentError: the JSON is not an event the server would store.
    """
    event = parse_event(event_json)
    wire_cache.attach(event)
    return event


def chunked(events: Iterable[NewEvent]) -> Iterable[list[NewEvent]]:
    """``events`` in chunks of at most ``EVENT_CHUNK`` events and about ``CHUNK_BYTES`` of JSON."""
    chunk: list[NewEvent] = []
    size = 0
    for event in events:
        if chunk and (len(chunk) >= EVENT_CHUNK or size + len(event.event_json) > CHUNK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(event)
        size += len(event.event_json)
    if chunk:
        yield chunk


class BackendSource:
    """A backend's data, read through the boundary: apps, users, sessions, events, in name order.

    ``apps``: only these apps (in the order given), as named, not listed.
    """

    def __init__(self, backend: Backend, apps: Sequence[str] | None = None) -> None:
        self.backend = backend
        self.apps = apps

    async def totals(self) -> Totals | None:
        """Counts sessions and events by listing every session (no events are read)."""
        sessions = events = 0
        async for app_name in self.names(None):
            async for user_id in self.names(app_name):
                cursor = None
                while True:
                    page = await self.backend.list_sessions(app_name, user_id, _PAGE, cursor)
                    sessions += len(page.items)
                    events += sum(record.event_count or 0 for record in page.items)
                    if page.next_cursor is None:
                        break
                    cursor = page.next_cursor
        return Totals(sessions, events)

    async def items(self) -> AsyncIterator[Item]:
        """See ``Source.items``."""
        async for app_name in self.names(None):
            app_state = await self.backend.get_app_state(app_name)
            if app_state:
                yield SharedState(app_name, None, app_state)
            async for user_id in self.names(app_name):
                user_state = await self.backend.get_user_state(app_name, user_id)
                if user_state:
                    yield SharedState(app_name, user_id, user_state)
                async for key in self.session_keys(app_name, user_id):
                    head = await self.backend.read_session_head(key)
                    if head is not None:
                        yield SessionCopy(head, self._events(key))

    async def all_session_keys(self) -> AsyncIterator[SessionKey]:
        """Every session, app by app, user by user."""
        async for app_name in self.names(None):
            async for user_id in self.names(app_name):
                async for key in self.session_keys(app_name, user_id):
                    yield key

    async def names(self, app_name: str | None) -> AsyncIterator[str]:
        """The apps (``app_name`` None) or the users of ``app_name``, every page."""
        if app_name is None and self.apps is not None:
            for name in self.apps:
                yield name
            return
        cursor = None
        while True:
            if app_name is None:
                page = await self.backend.list_apps(_PAGE, cursor)
            else:
                page = await self.backend.list_users(app_name, _PAGE, cursor)
            for name in page.items:
                yield name
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def session_keys(self, app_name: str, user_id: str | None) -> AsyncIterator[SessionKey]:
        """The sessions of one user (``user_id`` None: of every user of the app), every page."""
        async for record in self.session_records(app_name, user_id):
            yield record.key

    async def session_records(self, app_name: str, user_id: str | None) -> AsyncIterator[SessionRecord]:
        """The sessions of one user (``user_id`` None: of every user) as listed, every page."""
        cursor = None
        while True:
            page = await self.backend.list_sessions(app_name, user_id, _PAGE, cursor)
            for record in page.items:
                yield record
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def _events(self, key: SessionKey) -> AsyncIterator[list[NewEvent]]:
        async for stored in stored_events(self.backend, key):
            yield [restorable_event(event.event_json) for event in stored]


async def stored_events(backend: Backend, key: SessionKey) -> AsyncIterator[list[StoredEvent]]:
    """A session's events as stored, page by page, oldest first."""
    cursor = None
    while True:
        page = await backend.list_events(key, None, EVENT_CHUNK, cursor)
        if page.items:
            yield list(page.items)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def write_all(
    source: Source, destination: Backend, *, console: Console, what: str = "copying"
) -> Report:
    """Writes everything ``source`` yields into ``destination``, verifying each session; then counts.

    Safe to run again after an interruption, or after it finished: it writes
    only what is missing.
    """
    report = Report()
    started = time.monotonic()
    # Sessions whose events fit in one chunk are written in batches, each batch in one transaction
    # where the destination can (``Backend.restore_sessions``), ``_PARALLEL`` batches at a time. A
    # larger session is written on its own, as it is read.
    room = asyncio.Semaphore(_PARALLEL)
    batch: list[tuple[RestoredSession, list[NewEvent]]] = []
    batch_bytes = 0
    held = None if destination.keeps_shared_state else _HeldState(report)

    async def write_batch(sessions: list[tuple[RestoredSession, list[NewEvent]]]) -> None:
        try:
            await _write_small_sessions(sessions, destination, report)
            progress.update(report)
        finally:
            room.release()

    async def flush() -> None:
        nonlocal batch, batch_bytes
        if batch:
            await room.acquire()
            writers.create_task(write_batch(batch))
            batch, batch_bytes = [], 0

    with Progress(console, await source.totals(), what) as progress, _first_failure():
        async with asyncio.TaskGroup() as writers:
            async for item in source.items():
                if isinstance(item, SharedState):
                    report.apps.add(item.app_name)
                    if held is None:
                        await _write_state(item, destination, report)
                    else:
                        held.hold(item)
                    continue
                report.apps.add(item.head.key.app_name)
                if held is not None:
                    item.head = held.carried_by(item.head)
                first = await anext(item.events, None)
                second = await anext(item.events, None) if first is not None else None
                if second is None:
                    batch.append((item.head, first or []))
                    batch_bytes += sum(len(event.event_json) for event in first or [])
                    if len(batch) >= _BATCH_SESSIONS or batch_bytes >= CHUNK_BYTES:
                        await flush()
                else:
                    item.events = _replayed([first or [], second], item.events)
                    await _write_session(item, destination, report)
                    progress.update(report)
            await flush()
    if held is not None:
        held.finish()
    report.seconds = time.monotonic() - started
    return report


class _HeldState:
    """App and user state for a destination that keeps them only in sessions: held for the sessions.

    Sources yield an app's state before its sessions, and a user's before
    theirs; state of one scope yielded again (a source that reads it from
    sessions) is set key by key, as ``restore_shared_state`` sets it. One app's
    and one user's state are held at a time; one that no session carried is
    reported, since the destination then has nowhere to keep it.
    """

    def __init__(self, report: Report) -> None:
        self._report = report
        self._held: dict[bool, SharedState] = {}
        """The app's state (key False) and the user's (True) held now."""
        self._carried: set[bool] = set()

    def hold(self, item: SharedState) -> None:
        """Holds ``item``'s state for the sessions of its scope that follow."""
        scope = item.user_id is not None
        held = self._held.get(scope)
        if held is not None and (held.app_name, held.user_id) == (item.app_name, item.user_id):
            held.state.update(item.state)
            return
        self._release(scope)
        self._held[scope] = SharedState(item.app_name, item.user_id, dict(item.state))

    def carried_by(self, head: RestoredSession) -> RestoredSession:
        """``head`` with its app's and user's held state beside its own, prefixed."""
        state = dict(head.state)
        for scope, prefix in ((False, APP_PREFIX), (True, USER_PREFIX)):
            held = self._held.get(scope)
            if (
                held is not None
                and held.app_name == head.key.app_name
                and held.user_id in (None, head.key.user_id)
            ):
                state.update({prefix + name: value for name, value in held.state.items()})
                self._carried.add(scope)
        return dataclasses.replace(head, state=state)

    def finish(self) -> None:
        """Reports what no session carried."""
        self._release(False)
        self._release(True)

    def _release(self, scope: bool) -> None:
        held = self._held.pop(scope, None)
        if scope in self._carried:
            self._carried.discard(scope)
        elif held is not None and held.state:
            what = "app" if held.user_id is None else f"user {held.user_id!r}"
            self._report.problems.append(
                f"the {what} state of {held.app_name!r} is not kept: the destination keeps app and user "
                "state only in sessions, and no session of it was copied"
            )


@contextlib.contextmanager
def _first_failure() -> Iterator[None]:
    """Raises the first failure of a task group as itself: what the command's error line names."""
    try:
        yield
    except BaseExceptionGroup as group:
        first: BaseException = group
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None


async def _replayed(
    chunks: list[list[NewEvent]], rest: AsyncIterator[list[NewEvent]] | None = None
) -> AsyncIterator[list[NewEvent]]:
    """``chunks`` already read, then ``rest``."""
    for chunk in chunks:
        yield chunk
    if rest is not None:
        async for chunk in rest:
            yield chunk


async def _write_state(item: SharedState, destination: Backend, report: Report) -> None:
    await destination.restore_shared_state(item.app_name, item.user_id, item.state)
    if item.user_id is None:
        report.app_states += 1
        stored = await destination.get_app_state(item.app_name)
        what = f"app state of {item.app_name!r}"
    else:
        report.user_states += 1
        stored = await destination.get_user_state(item.app_name, item.user_id)
        what = f"user state of {item.user_id!r} in {item.app_name!r}"
    differing = sorted(key for key, value in item.state.items() if stored.get(key) != value)
    if differing:
        report.problems.append(f"{what}: keys {differing!r} differ at the destination")


def _name(key: SessionKey) -> str:
    return f"session {key.session_id!r} of user {key.user_id!r} in app {key.app_name!r}"


async def _write_small_sessions(
    sessions: list[tuple[RestoredSession, list[NewEvent]]], destination: Backend, report: Report
) -> None:
    """Writes sessions of one chunk of events each, together; then verifies each, a few at a time."""
    try:
        held = set(await destination.restore_sessions(sessions))
    except BackendRefusedError as refusal:
        if refusal.refusal is not Refusal.INVALID_INPUT:
            raise
        # One of them cannot be held there: each on its own, which reports that one and
        # resumes any the batch wrote before it.
        held = {head.key for head, _ in sessions}
    room = asyncio.Semaphore(_VERIFIED_AT_ONCE)

    async def verify(head: RestoredSession, events: list[NewEvent]) -> None:
        checksum = _Checksum()
        for event in events:
            checksum.add(event.event_json)
        async with room:
            expected = checksum.finish(destination.kept_state(head.state))
            await _verify(destination, head, len(events), expected, report)

    written = []
    for head, events in sessions:
        if head.key in held:  # there already (a resumed run), or an expired namesake: one by one
            item = SessionCopy(head, _replayed([events] if events else []))
            await _write_session(item, destination, report)
            continue
        report.sessions += 1
        report.sessions_written += 1
        report.events_written += len(events)
        report.events += len(events)
        written.append(verify(head, events))
    # Each verification is a few reads of one session: their round trips overlap.
    await asyncio.gather(*written)


async def _write_session(item: SessionCopy, destination: Backend, report: Report) -> None:
    head, key = item.head, item.head.key
    report.sessions += 1
    # Written with its first chunk of events, in one transaction, unless it is there (a resumed run).
    pending: list[NewEvent] = await anext(item.events, [])
    held: RestoredSession | None = None
    try:
        await destination.restore_session(head, pending)
    except BackendRefusedError as refusal:
        if refusal.refusal is not Refusal.INVALID_INPUT:  # the destination cannot restore at all
            raise
        # A session the destination cannot hold (an id or a nesting Agent Engine does not take).
        report.problems.append(f"{_name(key)}: the destination refused it ({refusal}); left out")
        async for _ in item.events:  # a source read in order moves past this session's events
            pass
        return
    except SessionExistsError:
        held = await destination.read_session_head(key)
        if held is None:  # it expired meanwhile: the restore can take its name now
            await destination.restore_session(head, pending)
    if held is None:
        report.sessions_written += 1
        report.events_written += len(pending)
        held_count = len(pending)
    elif held.create_time != head.create_time:
        report.problems.append(
            f"{_name(key)}: another session of that name is at the destination; left alone"
        )
        async for _ in item.events:  # a source read in order moves past this session's events
            pass
        return
    else:
        held_count = held.event_count
    checksum = _Checksum()
    sequence = 0
    async for chunk in _replayed([pending] if pending else [], item.events):
        missing = []
        for event in chunk:
            sequence += 1
            checksum.add(event.event_json)
            if sequence > held_count:
                missing.append(event)
        if missing:
            try:
                await destination.restore_events(key, sequence - len(missing) + 1, missing)
            except BackendRefusedError as refusal:
                if refusal.refusal is not Refusal.INVALID_INPUT:
                    raise
                report.problems.append(
                    f"{_name(key)}: the destination refused its events from the {sequence - len(missing) + 1}"
                    f"th on ({refusal}); it holds those before"
                )
                async for _ in item.events:
                    pass
                return
            report.events_written += len(missing)
    report.events += sequence
    await _verify(destination, head, sequence, checksum.finish(destination.kept_state(head.state)), report)


async def _verify(
    destination: Backend, head: RestoredSession, event_count: int, expected: str, report: Report
) -> None:
    """Reads the session back from ``destination``: its events' checksum and its fields must match."""
    key = head.key
    stored = await destination.read_session_head(key)
    if stored is None:
        report.problems.append(f"{_name(key)}: not at the destination after it was written")
        return
    checksum = _Checksum()
    async for page in stored_events(destination, key):
        for event in page:
            checksum.add(event.event_json)
    if checksum.finish(stored.state) != expected:
        report.problems.append(f"{_name(key)}: its events or state differ at the destination (checksum)")
    kept = [name for name in destination.restored_fields if name != "initial_state"]
    differing = [name for name in kept if getattr(stored, name) != getattr(head, name)]
    if stored.event_count != event_count:
        differing.append(f"event_count ({stored.event_count} there, {event_count} here)")
    if (
        "initial_state" in destination.restored_fields
        and head.initial_state is not None
        and stored.initial_state != head.initial_state
    ):
        differing.append("initial_state")
    if differing:
        report.problems.append(f"{_name(key)}: {', '.join(differing)} differ at the destination")


async def count_check(destination: Backend, report: Report) -> None:
    """The final pass: the destination's sessions and events in the apps written, against the source's.

    A destination that held other sessions of those apps before counts more: reported as a problem
    too, since the copy is then not the source's alone.
    """
    counted = BackendSource(destination)
    sessions = events = 0
    for app_name in sorted(report.apps):
        async for record in counted.session_records(app_name, None):
            if record.event_count is not None:  # the listing counts them: no read per session
                sessions += 1
                events += record.event_count
                continue
            head = await destination.read_session_head(record.key)
            if head is not None:
                sessions += 1
                events += head.event_count
    if (sessions, events) != (report.sessions, report.events):
        report.problems.append(
            f"count check: the destination holds {sessions} sessions with {events} events in the apps "
            f"copied, the source {report.sessions} with {report.events}"
        )
