"""Watching a session live (``WatchSession``): the events appended to it, resumed by revision across failures.

A watch is one long stream, so it is not one retried call: it is a chain of
streams (``watch_streams``), each opened after the last revision received.
Opening one is an operation of the client's retry policy (``retry``): within
the client's time budget it rides out a server that is down, backing off, and
a server that stays unreachable for the whole budget ends the watch with
``SessionServiceUnavailableError``. Once a stream is open it has no deadline;
when it breaks (the connection is lost, the server drains, "SERVER_DRAINING",
or cuts off a watcher that fell behind, "WATCHER_TOO_SLOW") the next stream is
opened with a fresh budget after the last revision received, which the
contract guarantees gives no gap and no duplicate.

Two forms: ``SessionWatch`` yields typed updates (each event with its
revision, the caught-up marker, the end and why), and ``EventWatch``, what
``GrpcSessionService.watch_session`` returns, yields only ADK ``Event``s and
keeps the rest as attributes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Self

import grpc
from google.adk.events.event import Event

from adk_grpc_sessions.client.connection import Connection
from adk_grpc_sessions.client.errors import SessionServiceUnavailableError
from adk_grpc_sessions.client.event_cache import EventCache
from adk_grpc_sessions.client.retry import AttemptFailedError
from adk_grpc_sessions.client.watch_streams import StreamWatch
from adk_grpc_sessions.v1 import session_service_pb2 as pb


class WatchEndReason(enum.StrEnum):
    """Why a watched session ended (the server's ``WatchEnded.Reason``)."""

    CLOSED = "closed"
    """``close_session`` closed it; every event stored before the close was delivered."""
    DELETED = "deleted"
    """It was deleted (``delete_session``, ``erase_user``). Also what a watch that resumes finds
    when the session is gone, or was deleted and created again, meanwhile."""
    EXPIRED = "expired"
    """Its expiry passed."""
    UNKNOWN = "unknown"
    """A reason newer than this client."""


_REASONS: Final = {
    pb.WatchEnded.REASON_CLOSED: WatchEndReason.CLOSED,
    pb.WatchEnded.REASON_DELETED: WatchEndReason.DELETED,
    pb.WatchEnded.REASON_EXPIRED: WatchEndReason.EXPIRED,
}


@dataclass(frozen=True, slots=True)
class WatchedEvent:
    """An event of the watched session, as stored."""

    event: Event
    revision: int
    """The session's revision right after this event: a resume point (``after_revision``)."""
    event_json: str
    """The event exactly as stored (ADK's camelCase JSON), to forward without decoding it again."""


@dataclass(frozen=True, slots=True)
class CaughtUp:
    """Every event stored when the stream opened has been delivered; the next ones come as appended.

    Sent after each (re)connection's backlog, even an empty one.
    """

    revision: int
    """The session's revision then: the revision to append with if no event follows, and a resume point."""


@dataclass(frozen=True, slots=True)
class WatchEnded:
    """The session ended; nothing follows."""

    reason: WatchEndReason


WatchUpdate = WatchedEvent | CaughtUp | WatchEnded
"""What ``SessionWatch`` yields."""


@dataclass(frozen=True, slots=True)
class WatchTarget:
    """The session to watch."""

    app_name: str
    user_id: str
    session_id: str


class SessionWatch(StreamWatch[pb.WatchSessionResponse, WatchUpdate]):
    """A live watch of one session: an async iterator of ``WatchUpdate``, resuming by itself.

    Use it as ``async for update in watch`` (``async with`` closes it on
    exit; so does ``aclose()``); the iteration stops after a ``WatchEnded``.
    ``revision``, ``caught_up``, ``ended`` and ``reconnects`` say where it stands.

    Raises (from the iteration):
        SessionNotFoundError: the session does not exist (when the watch starts).
        SessionServiceUnavailableError: the server could not be reached within the client's budget.
        ValueError: ``after_revision`` was refused (negative).
        SessionServiceError: any other refusal (a token not valid for the app, say).
    """

    def __init__(
        self, connection: Connection, events: EventCache, target: WatchTarget, after_revision: int = 0
    ) -> None:
        """Watches ``target`` after ``after_revision`` (0: every event); nothing is sent until iterated."""
        super().__init__(connection, "WatchSession")
        self._events = events
        self._target = target
        self.revision = after_revision
        """The last revision received (an event's or a caught-up's): where a reconnection resumes."""
        self.caught_up = False
        """Whether the backlog has been delivered at least once (live since)."""
        self.ended: WatchEndReason | None = None
        """Why the session ended, once it has; None while it is watched (or if the watch failed)."""

    def _start(self, wait_for_ready: bool) -> Any:
        """A stream after ``revision``: the server sends the backlog, or ``caught_up``, at once."""
        target = self._target
        request = pb.WatchSessionRequest(
            app_name=target.app_name,
            user_id=target.user_id,
            session_id=target.session_id,
            after_revision=self.revision,
        )
        return self._connection.watch(request, wait_for_ready=wait_for_ready)

    def _closed(self) -> AttemptFailedError:
        """A stream that closed with OK but no ``ended``: as a lost connection (a proxy may cut streams)."""
        return AttemptFailedError(
            grpc.StatusCode.UNAVAILABLE,
            SessionServiceUnavailableError(
                "WatchSession: the stream closed before the session ended", grpc.StatusCode.UNAVAILABLE
            ),
        )

    def _done(self) -> bool:
        """Whether the session ended (``WatchEnded`` was the last update)."""
        return self.ended is not None

    def _gone(self) -> WatchUpdate:
        """Gone while the watch was reconnecting: it ended unseen (deleted, or expired)."""
        self.ended = WatchEndReason.DELETED
        return WatchEnded(self.ended)

    def _updates_of(self, message: pb.WatchSessionResponse) -> list[WatchUpdate]:
        """The updates one message of the stream carries, with the watch's position moved past them."""
        kind = message.WhichOneof("kind")
        if kind == "events":
            watched = message.events.events
            target = self._target
            scope = (target.app_name, target.user_id, target.session_id)
            events = self._events.decode(scope, [w.event for w in watched])
            updates: list[WatchUpdate] = [
                WatchedEvent(event, w.revision, w.event.event_json)
                for event, w in zip(events, watched, strict=True)
            ]
            if watched:
                self.revision = watched[-1].revision
            return updates
        if kind == "caught_up":
            self.revision = message.caught_up.revision
            self.caught_up = True
            return [CaughtUp(message.caught_up.revision)]
        if kind == "ended":
            self.ended = _REASONS.get(message.ended.reason, WatchEndReason.UNKNOWN)
            return [WatchEnded(self.ended)]
        return []  # a kind newer than this client: nothing it can use


class EventWatch:
    """A live watch yielding only ADK ``Event``s: ``async for event in service.watch_session(...)``.

    The iteration ends normally when the session ends (``ended`` says why);
    it resumes by itself across reconnections (see ``SessionWatch``, whose
    errors it raises, and which ``updates`` is).
    """

    def __init__(self, updates: SessionWatch) -> None:
        """The events of ``updates``."""
        self.updates = updates
        """The typed watch underneath (revisions, caught-up state, reconnections)."""

    @property
    def ended(self) -> WatchEndReason | None:
        """Why the session ended, once the iteration has stopped because it did; else None."""
        return self.updates.ended

    @property
    def revision(self) -> int:
        """The revision right after the last event (or caught-up marker) received."""
        return self.updates.revision

    def __aiter__(self) -> Self:
        """Returns the watch itself."""
        return self

    async def __anext__(self) -> Event:
        """The next event."""
        async for update in self.updates:
            if isinstance(update, WatchedEvent):
                return update.event
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Stops watching."""
        await self.updates.aclose()

    async def __aenter__(self) -> Self:
        """Returns the watch itself, closed on exit."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Closes the watch."""
        await self.aclose()
