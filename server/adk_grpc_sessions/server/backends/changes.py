"""How a backend tells the watch layer that a watched session changed: plain keys and revisions.

Part of the boundary (``base`` re-exports ``SessionChanges``). A backend
never holds events for watchers: it only says *which* session changed (and,
where it knows it, its new revision, or that it ended); the watch layer then
reads the new events itself, once for every watcher of the session. The
watch layer registers the sessions it watches here, so that a backend's
write path pays one dictionary look-up for a session nobody watches, and a
polling backend knows what to poll.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from adk_grpc_sessions.server.backends.records import SessionEnd, SessionKey


class ChangeListener(Protocol):
    """What the watch layer does when told of a change (called on the event loop, never awaits)."""

    def session_changed(self, key: SessionKey, revision: int | None) -> None:
        """``key`` changed and is now at ``revision`` (None: unknown, read it)."""

    def session_ended(self, key: SessionKey, end: SessionEnd) -> None:
        """``key`` will have no more events (its events stored before the end are kept, if closed)."""

    def everything_changed(self) -> None:
        """Changes may have been missed (a lost notification connection): read every watched session."""


class SessionChanges:
    """The watched sessions, and the listener told when one of them changes."""

    def __init__(self) -> None:
        self._listener: ChangeListener | None = None
        self._watched: dict[SessionKey, None] = {}

    def listen(self, listener: ChangeListener | None) -> None:
        """Sends every change to ``listener`` from now on (None: to nobody)."""
        self._listener = listener

    def watch(self, key: SessionKey) -> None:
        """Starts telling the listener of ``key``'s changes."""
        self._watched[key] = None

    def unwatch(self, key: SessionKey) -> None:
        """Stops telling the listener of ``key``'s changes."""
        self._watched.pop(key, None)

    def watched(self) -> Collection[SessionKey]:
        """The sessions watched now (a copy: it may change while a poller reads them)."""
        return list(self._watched)

    def is_watched(self, key: SessionKey) -> bool:
        """Whether anyone watches ``key`` (a write path's cheap test before it signals)."""
        return key in self._watched

    def changed(self, key: SessionKey, revision: int | None = None) -> None:
        """Tells the listener that ``key`` changed (after the change is committed), if it is watched."""
        if self._listener is not None and key in self._watched:
            self._listener.session_changed(key, revision)

    def ended(self, key: SessionKey, end: SessionEnd) -> None:
        """Tells the listener that ``key`` ended (after the end is committed), if it is watched."""
        if self._listener is not None and key in self._watched:
            self._listener.session_ended(key, end)

    def ended_for_user(self, app_name: str, user_id: str, end: SessionEnd) -> None:
        """Tells the listener that every watched session of one user ended (an erased user)."""
        for key in self.watched():
            if key.app_name == app_name and key.user_id == user_id:
                self.ended(key, end)

    def resync(self) -> None:
        """Tells the listener that changes may have been missed: every watcher reads from storage."""
        if self._listener is not None:
            self._listener.everything_changed()
