"""Watching one user's sessions live (``WatchSessions``): a listing, then a notice of each change.

Like a session's watch (``watching``), it is a chain of streams, each opened
as an operation of the client's retry policy. A stream has no resume point:
when one breaks (a lost connection, a server that drains, "SERVER_DRAINING",
or cuts off a watcher that fell behind, "WATCHER_TOO_SLOW") the next one
starts with a new listing, announced as ``Relisting``, exactly as when the
server itself starts over (an erased user, notifications it lost). The
watch keeps the user's sessions as last heard of in ``sessions``: after a
relisting's ``SessionsCaughtUp``, those not listed again are dropped.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Self

import grpc
from google.adk.sessions.session import Session

from adk_grpc_sessions.client.connection import Connection
from adk_grpc_sessions.client.conversions import session_from_message
from adk_grpc_sessions.client.errors import SessionServiceUnavailableError
from adk_grpc_sessions.client.event_cache import EventCache
from adk_grpc_sessions.client.lifecycle import SessionInfo
from adk_grpc_sessions.client.retry import RETRIED_CODES, AttemptFailedError
from adk_grpc_sessions.client.watching import StoppedError, failed_stream, first_message
from adk_grpc_sessions.v1 import session_service_pb2 as pb

_METHOD: Final = "WatchSessions"


class SessionNoticeKind(enum.StrEnum):
    """What a notice says of a session (the server's ``SessionNotice.Kind``)."""

    LISTED = "listed"
    """It exists: part of a listing (before ``SessionsCaughtUp``)."""
    CREATED = "created"
    """Created or forked; for a session id already held, it replaces it (deleted and created again)."""
    UPDATED = "updated"
    """An event was appended, or its metadata or expiry changed."""
    CLOSED = "closed"
    """It was closed."""
    DELETED = "deleted"
    """It was deleted."""
    EXPIRED = "expired"
    """Its expiry passed."""
    UNKNOWN = "unknown"
    """A kind newer than this client."""


_KINDS: Final = {
    pb.SessionNotice.KIND_LISTED: SessionNoticeKind.LISTED,
    pb.SessionNotice.KIND_CREATED: SessionNoticeKind.CREATED,
    pb.SessionNotice.KIND_UPDATED: SessionNoticeKind.UPDATED,
    pb.SessionNotice.KIND_CLOSED: SessionNoticeKind.CLOSED,
    pb.SessionNotice.KIND_DELETED: SessionNoticeKind.DELETED,
    pb.SessionNotice.KIND_EXPIRED: SessionNoticeKind.EXPIRED,
}
_GONE: Final = (SessionNoticeKind.DELETED, SessionNoticeKind.EXPIRED)


@dataclass(frozen=True, slots=True)
class SessionNotice:
    """One session listed, or changed since the last notice of it."""

    kind: SessionNoticeKind
    session_id: str
    session: Session | None
    """The session as read after the change (its state, no events); None once deleted or expired."""
    info: SessionInfo | None
    """Its metadata, expiry and close time as read then; None once deleted or expired."""


@dataclass(frozen=True, slots=True)
class SessionsCaughtUp:
    """A listing is complete: ``listed`` sessions; notices of changes follow as they are committed."""

    listed: int


@dataclass(frozen=True, slots=True)
class Relisting:
    """The watch starts over: a new listing follows; what it does not list again is gone."""


SessionsUpdate = SessionNotice | SessionsCaughtUp | Relisting
"""What ``UserSessionsWatch`` yields."""


def _closed_without_error() -> AttemptFailedError:
    """A stream that closed with OK: as a lost connection (the server never ends one; a proxy may)."""
    return AttemptFailedError(
        grpc.StatusCode.UNAVAILABLE,
        SessionServiceUnavailableError(
            "WatchSessions: the stream closed while it was watched", grpc.StatusCode.UNAVAILABLE
        ),
    )


class UserSessionsWatch:
    """A live watch of one user's sessions: an async iterator of ``SessionsUpdate``, reconnecting by itself.

    Use it as ``async for update in watch`` (``async with`` closes it on exit;
    so does ``aclose()``). The iteration goes on until it is closed.
    ``sessions`` holds the user's sessions as last heard of; ``caught_up``
    and ``reconnects`` say where it stands.

    Raises (from the iteration):
        SessionServiceUnavailableError: the server could not be reached within the client's budget.
        SessionServiceError: any other refusal (a token not valid for the app, say).
    """

    def __init__(self, connection: Connection, events: EventCache, app_name: str, user_id: str) -> None:
        """Watches the sessions of ``user_id`` in ``app_name``; nothing is sent until iterated."""
        self._connection = connection
        self._events = events
        self._request = pb.WatchSessionsRequest(app_name=app_name, user_id=user_id)
        self.sessions: dict[str, SessionInfo] = {}
        """Every session of the user as last heard of, by id."""
        self.caught_up = False
        """Whether the current listing is complete (notices are live)."""
        self.reconnects = 0
        """How many times a broken stream was replaced by a new one."""
        self._relisted: set[str] | None = None
        """While a listing that follows a ``Relisting`` runs: the ids it listed so far."""
        self._opened = False
        self._stopped = False
        self._iterating = False
        self._call: Any = None
        self._updates: AsyncGenerator[SessionsUpdate] | None = None

    def __aiter__(self) -> Self:
        """Returns the watch itself."""
        return self

    async def __anext__(self) -> SessionsUpdate:
        """The next update."""
        if self._updates is None:
            self._updates = _finished() if self._stopped else self._run()
        self._iterating = True
        try:
            return await anext(self._updates)
        finally:
            self._iterating = False

    async def aclose(self) -> None:
        """Stops watching: the open stream is cancelled, and an iteration under way ends normally."""
        self._stopped = True
        if self._call is not None:
            self._call.cancel()
        updates = self._updates
        if updates is None:
            return
        if not self._iterating:
            self._updates = _finished()
            await updates.aclose()

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

    async def _open(self, seconds: float | None, wait_for_ready: bool) -> tuple[Any, Any]:
        """One attempt at a stream: the call and its first message (the server sends one at once)."""
        if self._stopped:
            raise StoppedError
        call = self._call = self._connection.watch_sessions(self._request, wait_for_ready=wait_for_ready)
        first = await first_message(call, _METHOD, seconds, lambda: self._stopped, _closed_without_error)
        return call, first

    async def _run(self) -> AsyncGenerator[SessionsUpdate]:
        """Streams one after another, each starting with a listing, until the watch is closed."""
        failed: AttemptFailedError | None = None
        while not self._stopped:
            try:
                call, message = await self._connection.attempts(_METHOD).run(self._open, failed)
            except StoppedError:
                return
            except asyncio.CancelledError:
                if self._stopped_here():
                    return
                raise
            if self._opened:
                self.reconnects += 1
                yield self._relisting()  # a new stream lists every session again
            self._opened = True
            self._call = call
            try:
                while message is not grpc.aio.EOF:
                    for update in self._updates_of(message):
                        yield update
                    message = await call.read()
                failed = _closed_without_error()
            except asyncio.CancelledError:
                if self._stopped_here():
                    return
                raise
            except grpc.aio.AioRpcError as error:
                if self._stopped:
                    return
                failed = failed_stream(error)
                if failed.code not in RETRIED_CODES:
                    raise failed.error from error
            finally:
                self._call = None
                call.cancel()

    def _stopped_here(self) -> bool:
        """Whether a cancellation came from ``aclose`` cancelling the stream, not from the task's own."""
        task = asyncio.current_task()
        return self._stopped and (task is None or task.cancelling() == 0)

    def _updates_of(self, message: pb.WatchSessionsResponse) -> list[SessionsUpdate]:
        """The updates one message carries, with ``sessions`` brought up to date by them."""
        kind = message.WhichOneof("kind")
        if kind == "notices":
            return [self._noticed(notice) for notice in message.notices.notices]
        if kind == "caught_up":
            if self._relisted is not None:
                for session_id in self.sessions.keys() - self._relisted:
                    del self.sessions[session_id]
                self._relisted = None
            self.caught_up = True
            return [SessionsCaughtUp(message.caught_up.listed)]
        if kind == "relisting":
            return [self._relisting()]
        return []  # a kind newer than this client: nothing it can use

    def _relisting(self) -> Relisting:
        self._relisted = set()
        self.caught_up = False
        return Relisting()

    def _noticed(self, notice: pb.SessionNotice) -> SessionNotice:
        kind = _KINDS.get(notice.kind, SessionNoticeKind.UNKNOWN)
        session_id = notice.session_id
        if kind in _GONE or not notice.HasField("session"):
            self.sessions.pop(session_id, None)
            return SessionNotice(kind, session_id, None, None)
        info = SessionInfo.from_message(notice.session)
        self.sessions[session_id] = info
        if self._relisted is not None and kind is SessionNoticeKind.LISTED:
            self._relisted.add(session_id)
        return SessionNotice(kind, session_id, session_from_message(notice.session, self._events), info)


async def _finished() -> AsyncGenerator[SessionsUpdate]:
    """An iteration that has ended (of a closed watch)."""
    return
    yield  # an async generator that yields nothing
