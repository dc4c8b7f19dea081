"""Watching one user's sessions live (``WatchSessions``): a listing, then a notice of each change.

Like a session's watch (``watching``), it is a chain of streams
(``watch_streams``), each opened as an operation of the client's retry
policy. A stream has no resume point: when one breaks (a lost connection, a
server that drains, "SERVER_DRAINING", or cuts off a watcher that fell
behind, "WATCHER_TOO_SLOW") the next one starts with a new listing,
announced as ``Relisting``, exactly as when the server itself starts over (an
erased user, notifications it lost). The watch keeps the user's sessions as
last heard of in ``sessions``: after a relisting's ``SessionsCaughtUp``, those
not listed again are dropped.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Final

import grpc
from google.adk.sessions.session import Session

from adk_grpc_sessions.client.connection import Connection
from adk_grpc_sessions.client.conversions import session_from_message
from adk_grpc_sessions.client.errors import SessionServiceUnavailableError
from adk_grpc_sessions.client.event_cache import EventCache
from adk_grpc_sessions.client.lifecycle import SessionInfo
from adk_grpc_sessions.client.retry import AttemptFailedError
from adk_grpc_sessions.client.watch_streams import StreamWatch
from adk_grpc_sessions.v1 import session_service_pb2 as pb


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


class UserSessionsWatch(StreamWatch[pb.WatchSessionsResponse, SessionsUpdate]):
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
        super().__init__(connection, "WatchSessions")
        self._events = events
        self._request = pb.WatchSessionsRequest(app_name=app_name, user_id=user_id)
        self.sessions: dict[str, SessionInfo] = {}
        """Every session of the user as last heard of, by id."""
        self.caught_up = False
        """Whether the current listing is complete (notices are live)."""
        self._relisted: set[str] | None = None
        """While a listing that follows a ``Relisting`` runs: the ids it listed so far."""

    def _start(self, wait_for_ready: bool) -> Any:
        """A stream from the start: the server sends the listing at once (it has no resume point)."""
        return self._connection.watch_sessions(self._request, wait_for_ready=wait_for_ready)

    def _closed(self) -> AttemptFailedError:
        """A stream that closed with OK: as a lost connection (the server never ends one; a proxy may)."""
        return AttemptFailedError(
            grpc.StatusCode.UNAVAILABLE,
            SessionServiceUnavailableError(
                "WatchSessions: the stream closed while it was watched", grpc.StatusCode.UNAVAILABLE
            ),
        )

    def _resumed(self) -> list[SessionsUpdate]:
        """A new stream lists every session again: announced as a ``Relisting``."""
        return [self._relisting()]

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
