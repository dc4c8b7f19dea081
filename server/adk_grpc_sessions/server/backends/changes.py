"""How a backend tells the watch layer that a watched session changed: plain keys and revisions.

Part of the boundary (``base`` re-exports ``SessionChanges`` and ``UserChange``).
A backend never holds events for watchers: it says *which* session changed
(and, where it knows it, its new revision, or that it ended); the watch
layer then reads the new events itself, once for every watcher of the
session. An append made in this process hands over the event it has just
committed as well (``appended``): the watch layer may deliver it without
reading storage, and reads whenever what it was handed leaves a gap (an
append of another server, a notice that carried no event). The watch
layer registers the sessions it watches here, and the users whose every
session it watches (WatchSessions), so that a backend's write path pays a
dictionary look-up or two for a session nobody watches, and a polling
backend knows what to poll.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from typing import Final, Protocol

from adk_grpc_sessions.server.backends.records import SessionEnd, SessionKey, StoredEvent, WatchedEvent


class ChangeListener(Protocol):
    """What the watch layer does when told of a change (called on the event loop, never awaits)."""

    def session_changed(self, key: SessionKey, revision: int | None) -> None:
        """``key`` changed and is now at ``revision`` (None: unknown, read it)."""

    def session_appended(self, key: SessionKey, event: WatchedEvent) -> None:
        """``event`` was appended to ``key`` and committed in this process (``key`` is at its revision)."""

    def session_ended(self, key: SessionKey, end: SessionEnd) -> None:
        """``key`` will have no more events (its events stored before the end are kept, if closed)."""

    def everything_changed(self) -> None:
        """Changes may have been missed (a lost notification connection): read every watched session."""


class UserChange(enum.Enum):
    """What happened to one session of a watched user (a WatchSessions notice's kind)."""

    CREATED = "created"
    UPDATED = "updated"
    CLOSED = "closed"
    DELETED = "deleted"
    EXPIRED = "expired"


_USER_CHANGE_OF_END: Final = {
    SessionEnd.CLOSED: UserChange.CLOSED,
    SessionEnd.DELETED: UserChange.DELETED,
    SessionEnd.EXPIRED: UserChange.EXPIRED,
}


class UserChangeListener(Protocol):
    """What the WatchSessions layer does when told of a change (called on the event loop, never awaits)."""

    def user_session_changed(self, key: SessionKey, change: UserChange) -> None:
        """``key``, a session of a watched user, was created, changed or ended as ``change`` says."""

    def user_erased(self, app_name: str, user_id: str) -> None:
        """Every session of a watched user is gone at once (EraseUser)."""

    def users_missed(self) -> None:
        """Changes may have been missed (a lost notification connection): list every watched user again."""


class SessionChanges:
    """The watched sessions and users, and the listeners told when one of them changes."""

    def __init__(self) -> None:
        self._listener: ChangeListener | None = None
        self._watched: dict[SessionKey, None] = {}
        self._user_listener: UserChangeListener | None = None
        self._users: dict[tuple[str, str], None] = {}

    def listen(self, listener: ChangeListener | None) -> None:
        """Sends every change to ``listener`` from now on (None: to nobody)."""
        self._listener = listener

    def listen_users(self, listener: UserChangeListener | None) -> None:
        """Sends every change of a watched user's sessions to ``listener`` from now on (None: to nobody)."""
        self._user_listener = listener

    def watch_user(self, app_name: str, user_id: str) -> None:
        """Starts telling the user listener of every change to the sessions of ``user_id`` in ``app_name``."""
        self._users[(app_name, user_id)] = None

    def unwatch_user(self, app_name: str, user_id: str) -> None:
        """Stops telling the user listener of that user's sessions."""
        self._users.pop((app_name, user_id), None)

    def watched_users(self) -> Collection[tuple[str, str]]:
        """The (app_name, user_id) pairs watched now (a copy: it may change while a poller reads them)."""
        return list(self._users)

    def is_user_watched(self, app_name: str, user_id: str) -> bool:
        """Whether anyone watches every session of that user (a write path's cheap test)."""
        return (app_name, user_id) in self._users

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
        """Tells the listeners that ``key`` changed (after the change is committed), if it is watched."""
        if self._listener is not None and key in self._watched:
            self._listener.session_changed(key, revision)
        self._tell_user(key, UserChange.UPDATED)

    def appended(self, key: SessionKey, event: StoredEvent, revision: int) -> None:
        """Tells the listeners that ``event`` was appended to ``key`` (after its commit), now at ``revision``.

        Only for an event this process stored and committed, never for one
        refused or a retry's original: a watcher may receive it as it is.
        """
        if self._listener is not None and key in self._watched:
            self._listener.session_appended(key, WatchedEvent(event, revision))
        self._tell_user(key, UserChange.UPDATED)

    def created(self, key: SessionKey) -> None:
        """Tells the user listener that ``key`` was created (or forked), after the commit, if watched."""
        self._tell_user(key, UserChange.CREATED)

    def closed(self, key: SessionKey) -> None:
        """Tells the listeners that ``key`` was closed (after the commit): its watchers read to its end."""
        if self._listener is not None and key in self._watched:
            self._listener.session_changed(key, None)
        self._tell_user(key, UserChange.CLOSED)

    def ended(self, key: SessionKey, end: SessionEnd) -> None:
        """Tells the listeners that ``key`` ended (after the end is committed), if it is watched."""
        if self._listener is not None and key in self._watched:
            self._listener.session_ended(key, end)
        self._tell_user(key, _USER_CHANGE_OF_END[end])

    def ended_for_user(self, app_name: str, user_id: str, end: SessionEnd, *, users: bool = True) -> None:
        """Tells the listeners that every session of one user ended (an erased user).

        ``users`` False tells only the session listener (a notification will tell the user listener).
        """
        if self._listener is not None:
            for key in self.watched():
                if key.app_name == app_name and key.user_id == user_id and key in self._watched:
                    self._listener.session_ended(key, end)
        if users and self._user_listener is not None and (app_name, user_id) in self._users:
            self._user_listener.user_erased(app_name, user_id)

    def resync(self) -> None:
        """Tells the listeners that changes may have been missed: every watcher reads from storage."""
        if self._listener is not None:
            self._listener.everything_changed()
        if self._user_listener is not None:
            self._user_listener.users_missed()

    def _tell_user(self, key: SessionKey, change: UserChange) -> None:
        if self._user_listener is not None and (key.app_name, key.user_id) in self._users:
            self._user_listener.user_session_changed(key, change)
