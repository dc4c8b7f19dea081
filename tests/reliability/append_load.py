"""Appends under load on the Python client's default paths, counted on the wire, checked against storage.

For the crash tests. ``AppendLoad`` runs one writer per session, each
appending one event at a time and trying the same event again while the
server is away, as an agent's turn does. One client holds a single session,
so its appends go alone, on the append stream; another holds many sessions
appending at once, so theirs go together in ``BatchAppendEvents`` calls.

``Wire`` counts the appends handed to gRPC and not yet answered (or failed),
by method, where the client's stub sends them: a test kills a process when
appends are in flight, and says how many were. The writers can be paused (no
new append starts; those under way go on until answered), so that storage
can be compared with what was acknowledged: each acknowledged event stored
exactly once, in order, any unacknowledged one at most once, and the state
exactly what the stored events' deltas make it.
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import grpc
import pytest
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.session import Session

from adk_grpc_sessions.client import (
    GrpcSessionService,
    RetryPolicy,
    SessionServiceTimeoutError,
    SessionServiceUnavailableError,
)
from adk_grpc_sessions.server.backends.base import EventWindow, SessionKey
from adk_grpc_sessions.server.backends.sql import SqlBackend
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc

APP: Final = "crash"
STREAM: Final = "AppendEventStream"
BATCH: Final = "BatchAppendEvents"
RETRIES: Final = RetryPolicy(initial_backoff=0.05, max_backoff=0.5)
CHANNEL_OPTIONS: Final = (
    # gRPC waits up to two minutes between reconnection attempts to a server
    # that went away; a restarted one should be found at once.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
)


class Wire:
    """Appends handed to gRPC and not yet answered, by method; ``changed`` is set when one is answered."""

    def __init__(self) -> None:
        self.in_flight: collections.Counter[str] = collections.Counter()
        """Appends in flight now, by method."""
        self.event_ids: collections.Counter[str] = collections.Counter()
        """The ids of the events in flight now."""
        self.sent: collections.Counter[str] = collections.Counter()
        """Appends sent so far, by method (retries included)."""
        self.answered = asyncio.Event()
        self.flight_seconds = 0.0
        """How long an append has lately been in flight, on average (0 until one was answered)."""
        self._sent_at: dict[str, float] = {}

    def send(self, method: str, event_ids: Sequence[str]) -> None:
        """Counts appends handed to gRPC."""
        self.in_flight[method] += len(event_ids)
        self.sent[method] += len(event_ids)
        self.event_ids.update(event_ids)
        now = time.monotonic()
        self._sent_at.update((event_id, now) for event_id in event_ids)

    def done(self, method: str, event_ids: Sequence[str]) -> None:
        """Counts appends answered, or failed with their call or stream."""
        self.in_flight[method] -= len(event_ids)
        self.event_ids.subtract(event_ids)
        now = time.monotonic()
        for event_id in event_ids:
            sent_at = self._sent_at.pop(event_id, None)
            if sent_at is not None:
                self.flight_seconds += (now - sent_at - self.flight_seconds) / 8
        self.answered.set()

    def in_flight_ids(self) -> set[str]:
        """The ids of the events in flight now."""
        return {event_id for event_id, count in self.event_ids.items() if count > 0}


def _event_id(request: pb.AppendEventRequest) -> str:
    event_id: str = json.loads(request.event_json)["id"]
    return event_id


class _CountedStream:
    """An ``AppendEventStream`` call whose appends ``Wire`` counts (see ``CountingStub``)."""

    def __init__(self, call: Any, wire: Wire) -> None:
        self._call = call
        self._wire = wire
        self._unanswered: collections.deque[str | None] = collections.deque()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._call, name)

    async def write(self, request: pb.AppendEventStreamRequest) -> None:
        await self._call.write(request)
        # A create shares the stream and its order of answers, but is no append to count.
        event_id = _event_id(request.append) if request.WhichOneof("request") == "append" else None
        self._unanswered.append(event_id)
        if event_id is not None:
            self._wire.send(STREAM, [event_id])

    async def read(self) -> Any:
        try:
            result = await self._call.read()
        except BaseException:
            self._forget_all()
            raise
        if result is grpc.aio.EOF:
            self._forget_all()
        elif self._unanswered:
            answered = self._unanswered.popleft()
            if answered is not None:
                self._wire.done(STREAM, [answered])
        return result

    def cancel(self) -> bool:
        self._forget_all()
        return bool(self._call.cancel())

    def _forget_all(self) -> None:
        if self._unanswered:
            self._wire.done(STREAM, [event_id for event_id in self._unanswered if event_id is not None])
            self._unanswered.clear()


class CountingStub:
    """``SessionServiceStub`` whose append methods count what they send on ``wire``."""

    def __init__(self, channel: grpc.aio.Channel, wire: Wire) -> None:
        self._stub = _REAL_STUB(channel)
        self._wire = wire

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._stub, name)
        if name == "BatchAppendEvents":
            return self._unary(name, method, lambda r: [_event_id(a) for a in r.requests])
        if name == "AppendEvent":
            return self._unary(name, method, lambda r: [_event_id(r)])
        if name == STREAM:
            return lambda *args, **kwargs: _CountedStream(method(*args, **kwargs), self._wire)
        return method

    def _unary(self, name: str, method: Any, ids: Callable[[Any], list[str]]) -> Any:
        async def call(request: Any, **kwargs: Any) -> Any:
            event_ids = ids(request)
            self._wire.send(name, event_ids)
            try:
                return await method(request, **kwargs)
            finally:
                self._wire.done(name, event_ids)

        return call


_REAL_STUB = pb_grpc.SessionServiceStub


def count_appends_on_the_wire(monkeypatch: pytest.MonkeyPatch) -> Wire:
    """Makes every client built from now on (in this test) count its appends on the returned ``Wire``."""
    wire = Wire()
    monkeypatch.setattr(pb_grpc, "SessionServiceStub", lambda channel: CountingStub(channel, wire))
    return wire


def delta(writer: int, number: int) -> dict[str, Any]:
    """The state delta of writer ``writer``'s append number ``number``: session, user and app keys."""
    return {"n": number, f"k{number}": number, "user:total": number, f"app:last-{writer}": number}


@dataclass
class Writer:
    """One session and what its appends came to."""

    index: int
    service: GrpcSessionService
    session: Session
    acknowledged: list[str] = field(default_factory=list)
    """Ids of the events acknowledged, in order."""
    pending: str | None = None
    """The id of the event being appended now (sent, maybe more than once, not acknowledged)."""
    numbers: dict[str, int] = field(default_factory=dict)
    """Each appended event's number (``delta``), by id."""


class AppendLoad:
    """Writers appending until ``total`` appends are acknowledged in all (see the module's docstring)."""

    def __init__(self, writers: list[Writer], total: int) -> None:
        self.writers = writers
        self.total = total
        self.acknowledged = 0
        self._go = asyncio.Event()
        self._go.set()
        self._changed = asyncio.Event()
        """Set when a writer's append ends (acknowledged, or failed for good)."""
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    async def start(cls, address: str, *, batched_sessions: int, total: int) -> AppendLoad:
        """One session alone on a client (the append stream) and ``batched_sessions`` on another."""
        alone, together = (
            GrpcSessionService(address, retry_policy=RETRIES, timeout=20, channel_options=CHANNEL_OPTIONS)
            for _ in range(2)
        )
        services = [alone] + [together] * batched_sessions
        writers = [
            Writer(index, service, await service.create_session(app_name=APP, user_id=f"user-{index}"))
            for index, service in enumerate(services)
        ]
        load = cls(writers, total)
        load._tasks = [asyncio.create_task(load._write(writer)) for writer in writers]
        for task in load._tasks:
            task.add_done_callback(lambda _: load._changed.set())
        return load

    async def _write(self, writer: Writer) -> None:
        number = 0
        while True:
            await self._go.wait()
            if self.acknowledged >= self.total:
                return
            number += 1
            event = Event(
                author="user",
                invocation_id=f"w{writer.index}",
                actions=EventActions(state_delta=delta(writer.index, number)),
            )
            writer.pending = event.id
            writer.numbers[event.id] = number
            while True:  # as an application keeps trying while the server is away
                try:
                    await writer.service.append_event(writer.session, event)
                    break
                except (SessionServiceUnavailableError, SessionServiceTimeoutError):
                    await asyncio.sleep(0.1)
            writer.pending = None
            writer.acknowledged.append(event.id)
            self.acknowledged += 1
            self._changed.set()

    def pause(self) -> None:
        """No writer starts a new append until ``resume``; those under way go on."""
        self._go.clear()

    def resume(self) -> None:
        """Writers start new appends again."""
        self._go.set()

    async def settled(self, wait: float) -> list[BaseException]:
        """Returns once no append is under way (acknowledged, or failed for good); the writers' failures."""
        async with asyncio.timeout(wait):
            while any(
                writer.pending is not None and not task.done()
                for writer, task in zip(self.writers, self._tasks, strict=True)
            ):
                self._changed.clear()
                await self._changed.wait()
        return [error for task in self._tasks if task.done() and (error := task.exception()) is not None]

    async def outcomes(self, wait: float) -> list[BaseException | None]:
        """Lets the writers go on until each has reached the total or failed; what each failed with."""
        self.resume()
        async with asyncio.timeout(wait):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        return [task.exception() for task in self._tasks]

    async def finish(self, wait: float) -> None:
        """Waits for the writers to reach the total, then closes the clients."""
        self.resume()
        async with asyncio.timeout(wait):
            await asyncio.gather(*self._tasks)
        for service in {id(w.service): w.service for w in self.writers}.values():
            await service.close()

    async def stop(self) -> None:
        """Stops the writers where they are (after a failure) and closes the clients."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for service in {id(w.service): w.service for w in self.writers}.values():
            await service.close()

    @property
    def stored_keys(self) -> Iterator[tuple[Writer, SessionKey]]:
        """Each writer with its session's key."""
        for writer in self.writers:
            yield writer, SessionKey(APP, writer.session.user_id, writer.session.id)


@dataclass(frozen=True)
class StoredSession:
    """A session as read back: its events' ids in order, and its state by scope (values decoded)."""

    event_ids: list[str]
    app: dict[str, Any]
    user: dict[str, Any]
    session: dict[str, Any]


async def read_through_server(load: AppendLoad, address: str) -> dict[int, StoredSession]:
    """Every writer's session as a new client reads it from the server at ``address``."""
    found = {}
    async with GrpcSessionService(address, timeout=30, channel_options=CHANNEL_OPTIONS) as reader:
        for writer, key in load.stored_keys:
            stored = await reader.get_session(
                app_name=key.app_name, user_id=key.user_id, session_id=key.session_id
            )
            assert stored is not None, f"session of writer {writer.index} lost"
            app = {k.removeprefix("app:"): v for k, v in stored.state.items() if k.startswith("app:")}
            user = {k.removeprefix("user:"): v for k, v in stored.state.items() if k.startswith("user:")}
            own = {k: v for k, v in stored.state.items() if ":" not in k}
            found[writer.index] = StoredSession([e.id for e in stored.events], app, user, own)
    return found


async def read_from_database(load: AppendLoad, backend_uri: str) -> dict[int, StoredSession]:
    """Every writer's session as it is in the database itself (no server in between)."""
    backend = SqlBackend.from_uri(backend_uri)
    found = {}
    try:
        await backend.start()
        for writer, key in load.stored_keys:
            stored = await backend.get_session(key, EventWindow())
            assert stored is not None, f"session of writer {writer.index} lost"
            found[writer.index] = StoredSession(
                [e.id for e in stored.events],
                {k: json.loads(v) for k, v in stored.state.app.items()},
                {k: json.loads(v) for k, v in stored.state.user.items()},
                {k: json.loads(v) for k, v in stored.state.session.items()},
            )
    finally:
        await backend.close()
    return found


def check_stored(load: AppendLoad, stored: dict[int, StoredSession], *, pending_allowed: bool) -> list[str]:
    """Asserts storage agrees with what was acknowledged; returns the pending events found stored.

    Every acknowledged event is stored exactly once, in order; an event not
    acknowledged (the one each writer has under way, if ``pending_allowed``)
    at most once, after them; nothing else. The state is exactly what the
    stored events' deltas make it: each session's own and its user's keys,
    and the app's keys of every writer.
    """
    landed = []
    expected_app: dict[str, Any] = {}
    for writer in load.writers:
        event_ids = stored[writer.index].event_ids
        expected = list(writer.acknowledged)
        if pending_allowed and writer.pending is not None and event_ids == [*expected, writer.pending]:
            expected.append(writer.pending)
            landed.append(writer.pending)
        assert event_ids == expected, (
            f"writer {writer.index}: stored {len(event_ids)} events ({len(set(event_ids))} distinct), "
            f"{len(writer.acknowledged)} acknowledged, pending {writer.pending}; "
            f"first difference at {_first_difference(event_ids, expected)}"
        )
        session_state: dict[str, Any] = {}
        for event_id in event_ids:
            applied = delta(writer.index, writer.numbers[event_id])
            session_state |= {k: v for k, v in applied.items() if ":" not in k}
            expected_app[f"last-{writer.index}"] = applied[f"app:last-{writer.index}"]
        assert stored[writer.index].session == session_state, f"writer {writer.index}: session state"
        last = writer.numbers[event_ids[-1]] if event_ids else None
        assert stored[writer.index].user == ({"total": last} if last else {}), (
            f"writer {writer.index}: user state"
        )
    for writer in load.writers:
        assert stored[writer.index].app == expected_app, (
            f"app state read with writer {writer.index}'s session"
        )
    return landed


def _first_difference(found: list[str], expected: list[str]) -> int:
    for index, (a, b) in enumerate(zip(found, expected, strict=False)):
        if a != b:
            return index
    return min(len(found), len(expected))


async def until(condition: Callable[[], bool], wire: Wire, wait: float, what: str) -> None:
    """Returns as soon as ``condition()`` holds when an append is answered.

    Raises:
        AssertionError: it did not within ``wait`` seconds.
    """
    try:
        async with asyncio.timeout(wait):
            while not condition():
                wire.answered.clear()
                await wire.answered.wait()
    except TimeoutError:
        raise AssertionError(f"no moment {what} within {wait} s") from None
