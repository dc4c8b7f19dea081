"""WatchSessions: every watcher of one user's sessions fed from one shared read per change.

One ``_UserHub`` per watched user in this process. The backend tells the
hubs which session of a watched user was created, changed or ended
(``SessionChanges``' user listener: keys and what happened, never
sessions); the user's hub then reads that session's head once (state and
metadata, no events) and offers the same notice to every watcher of the
user. A watcher joins its hub first and then lists the user's sessions
itself, in pages, through the ordinary listing: a change committed while it
lists is in its queue once the listing is done, so it misses none (it may
hear of a session both in the listing and in a notice).

Each watcher queues at most one notice per session: a later change of a
session whose notice is not sent yet replaces it (``_coalesced``), so a
session appended to without pause costs a slow watcher one entry, not one
per append. A watcher that leaves more sessions waiting than its bound is
cut off (``SessionsWatcherTooSlowError``): the hub never waits for a
watcher's write, so a slow one holds up no writer and no other watcher.

Nothing in storage signals an expiry: the hub sets a timer for the soonest
expiries it knows of (from the listings of its watchers and the heads it
reads; at most ``_EXPIRY_TIMERS``), reads each such session when its time
comes, and lists the user itself for the next ones once the timers it kept
have run out. When the server cannot tell what changed (an erased user,
lost notifications), every watcher starts over with a new listing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Final

from sortedcontainers import SortedList

from adk_grpc_sessions.server.api import messages
from adk_grpc_sessions.server.api.errors import ServerDrainingError, SessionsWatcherTooSlowError
from adk_grpc_sessions.server.backends.base import (
    Backend,
    BackendRefusedError,
    BackendUnavailableError,
    Cursor,
    EventWindow,
    ReadBudget,
    Refusal,
    SessionKey,
    SessionRecord,
    UserChange,
)
from adk_grpc_sessions.v1 import session_service_pb2 as pb

_log = logging.getLogger(__name__)

LISTING_PAGE: Final = 100
"""Sessions in one listing message (and one listing read)."""
_EXPIRY_TIMERS: Final = 1000
"""The soonest expiries a hub keeps a timer for; past them, it lists the user again when they ran out."""
_EXPIRY_SLACK_SECONDS: Final = 0.001
"""Read a session this long after its expire_time, so that the read finds it expired."""
_RETRY_FIRST_SECONDS: Final = 0.05
_RETRY_MOST_SECONDS: Final = 2.0
"""A hub whose read finds storage unreachable tries again after these (doubling) delays."""
_MESSAGE_BYTES: Final = 1024 * 1024
"""Live notices are sent in messages of about this size at most (a larger notice goes alone)."""

_KIND: Final = {
    UserChange.CREATED: pb.SessionNotice.KIND_CREATED,
    UserChange.UPDATED: pb.SessionNotice.KIND_UPDATED,
    UserChange.CLOSED: pb.SessionNotice.KIND_CLOSED,
    UserChange.DELETED: pb.SessionNotice.KIND_DELETED,
    UserChange.EXPIRED: pb.SessionNotice.KIND_EXPIRED,
}
_GONE: Final = (UserChange.DELETED, UserChange.EXPIRED)
_ALL: Final = ""
"""Stands for every session of the user in a hub's reads (no session has an empty id)."""
_TOLD_KEPT: Final = 10_000
"""Sessions whose last notice a hub remembers, to tell a change told twice from a new one."""
_UNTOLD: Final = ("untold",)
_RELISTING: Final = pb.WatchSessionsResponse(relisting=pb.WatchSessionsRelisting()).SerializeToString()


class _Notice:
    """One session's change as a watcher will send it: its head as read after it (None once gone)."""

    __slots__ = ("_entry", "change", "session", "session_id")

    def __init__(self, change: UserChange, session_id: str, session: SessionRecord | None) -> None:
        self.change = change
        self.session_id = session_id
        self.session = session
        self._entry: bytes | None = None

    def entry(self) -> bytes:
        """The notice as one ``SessionNotices.notices`` entry, encoded once for every watcher sending it."""
        if self._entry is None:
            message = pb.SessionNotice(kind=_KIND[self.change], session_id=self.session_id)
            if self.session is not None:
                message.session.CopyFrom(messages.session_message(self.session))
            self._entry = message.SerializeToString()
        return self._entry


@dataclass(frozen=True, slots=True)
class _Due:
    """A session the hub is to read: what happened to it, and whether its expiry came."""

    change: UserChange | None
    """None: nothing was told of it, only its expiry came."""
    expiry: bool
    serial: int
    """Tells a read's entry from one put there again while it was read."""


def _coalesced(queued: _Notice, later: _Notice) -> _Notice | None:
    """The one notice that says both ``queued`` and then ``later`` (None: nothing to say at all)."""
    if later.change in _GONE:
        # Created and gone before the watcher heard of it: it never needs to.
        return None if queued.change is UserChange.CREATED else later
    if queued.change is UserChange.CREATED:
        return _Notice(UserChange.CREATED, later.session_id, later.session)
    if queued.change is UserChange.CLOSED and later.change is UserChange.UPDATED:
        return _Notice(UserChange.CLOSED, later.session_id, later.session)
    return later


def _notices_response(entries: Iterable[bytes]) -> bytes:
    """The encoded ``WatchSessionsResponse`` carrying ``SessionNotices`` of encoded entries."""
    notices = pb.SessionNotices()
    for entry in entries:
        notices.notices.add().MergeFromString(entry)
    return pb.WatchSessionsResponse(notices=notices).SerializeToString()


def _listed_response(records: Iterable[SessionRecord]) -> bytes:
    """The encoded ``WatchSessionsResponse`` listing ``records`` (LISTED)."""
    notices = pb.SessionNotices(
        notices=[
            pb.SessionNotice(
                kind=pb.SessionNotice.KIND_LISTED,
                session_id=record.key.session_id,
                session=messages.session_message(record),
            )
            for record in records
        ]
    )
    return pb.WatchSessionsResponse(notices=notices).SerializeToString()


def _caught_up_response(listed: int) -> bytes:
    return pb.WatchSessionsResponse(caught_up=pb.WatchSessionsCaughtUp(listed=listed)).SerializeToString()


def _head_of(record: SessionRecord) -> tuple[object, ...]:
    """What a notice of ``record`` would tell a watcher: the same twice is told once."""
    return (
        record.revision,
        record.last_update_time,
        record.close_time,
        record.expiry.expire_time,
        record.metadata.display_name,
        tuple(sorted(record.metadata.labels.items())),
    )


class _Watcher:
    """One WatchSessions stream's notices not sent yet, one per session, in the order they came."""

    __slots__ = ("bound", "failure", "pending", "relist", "wake")

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.pending: dict[str, _Notice] = {}
        self.failure: Exception | None = None
        self.relist = False
        """Set when the hub lost track: the stream starts over with a new listing."""
        self.wake = asyncio.Event()

    def offer(self, notice: _Notice) -> None:
        """Queues ``notice``, folded into its session's queued one; past the bound, cuts the watcher off."""
        if self.failure is not None:
            return
        queued = self.pending.pop(notice.session_id, None)
        merged = notice if queued is None else _coalesced(queued, notice)
        if merged is None:
            return
        if len(self.pending) >= self.bound:
            self.fail(SessionsWatcherTooSlowError(self.bound))
            return
        self.pending[notice.session_id] = merged
        self.wake.set()

    def start_over(self) -> None:
        """Drops what is queued: the new listing says it all."""
        if self.failure is None:
            self.pending.clear()
            self.relist = True
            self.wake.set()

    def fail(self, error: Exception) -> None:
        """Ends the stream with ``error`` at its next step; what it held is dropped."""
        if self.failure is None:
            self.failure = error
            self.pending.clear()
            self.wake.set()


class _UserHub:
    """The watchers of one user's sessions, and the one task that reads the changed sessions for them."""

    def __init__(self, owner: SessionNotices, app_name: str, user_id: str) -> None:
        self.owner = owner
        self.app_name = app_name
        self.user_id = user_id
        self.watchers: set[_Watcher] = set()
        self._dirty: dict[str, _Due] = {}
        """Sessions to read, in the order they were told of (``_ALL``: list the user for its expiries)."""
        self._serial = 0
        self._reading: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._expiries: dict[str, float] = {}
        self._expiry_order: SortedList[tuple[float, str]] = SortedList()
        self._expiries_dropped = False
        """Some expiries were past the ``_EXPIRY_TIMERS`` kept: list the user for them once these ran out."""
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._closed: set[str] = set()
        """The sessions known closed (from listings and reads): another server's close is told as a change."""
        self._told: dict[str, tuple[object, ...] | None] = {}
        """What the watchers were last told of recent sessions (None: gone), oldest first."""
        self.stopped = False

    def changed(self, session_id: str, change: UserChange | None) -> None:
        """A session of the user changed (None: its expiry came): read it and tell every watcher, soon."""
        if self.stopped:
            return
        self._serial += 1
        earlier = self._dirty.pop(session_id, None)
        if (
            earlier is not None
            and earlier.change is UserChange.CREATED
            and change in _GONE
            and session_id != self._reading
        ):
            # Created and gone before it was read: no watcher ever needs to hear of it.
            self.note_expiry(session_id, None)
            return
        expiry = change is None
        if earlier is not None and change not in _GONE:
            expiry = expiry or earlier.expiry
            if session_id == self._reading:
                # The read under way tells of the earlier change; the next read of this one.
                change = change or earlier.change
            elif earlier.change is not None and change is not None:
                folded = _coalesced(
                    _Notice(earlier.change, session_id, None), _Notice(change, session_id, None)
                )
                change = change if folded is None else folded.change
            else:
                change = change or earlier.change
        self._dirty[session_id] = _Due(change, expiry and change not in _GONE, self._serial)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def start_over(self) -> None:
        """The user's sessions changed in ways not told one by one: every watcher lists them again."""
        self._dirty.clear()
        for watcher in self.watchers:
            watcher.start_over()

    def note_expiry(self, session_id: str, expire_time: float | None) -> None:
        """Remembers when a session expires (None: never), keeping a timer for the soonest ones."""
        if self.stopped:
            return
        before = self._expiries.pop(session_id, None)
        if before is not None:
            self._expiry_order.discard((before, session_id))
        if expire_time is not None:
            self._expiries[session_id] = expire_time
            self._expiry_order.add((expire_time, session_id))
            if len(self._expiry_order) > _EXPIRY_TIMERS:
                _, dropped = self._expiry_order.pop()
                del self._expiries[dropped]
                self._expiries_dropped = True
        self._arm()

    def _arm(self) -> None:
        soonest = self._expiry_order[0][0] if self._expiry_order else None
        if soonest == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = soonest
        if soonest is not None:
            delay = max(0.0, soonest - self.owner.backend.clock()) + _EXPIRY_SLACK_SECONDS
            self._timer = asyncio.get_running_loop().call_later(delay, self._expiries_due)

    def _expiries_due(self) -> None:
        self._timer = None
        self._timer_at = None
        now = self.owner.backend.clock()
        while self._expiry_order and self._expiry_order[0][0] <= now:
            _, session_id = self._expiry_order.pop(0)
            del self._expiries[session_id]
            self.changed(session_id, None)
        if not self._expiry_order and self._expiries_dropped:
            self._expiries_dropped = False
            self.changed(_ALL, None)
        self._arm()

    async def _run(self) -> None:
        delay = _RETRY_FIRST_SECONDS
        try:
            while self._dirty and not self.stopped:
                session_id, due = next(iter(self._dirty.items()))
                self._reading = session_id
                try:
                    if session_id == _ALL:
                        await self._list_expiries()
                    else:
                        await self._read(session_id, due)
                    delay = _RETRY_FIRST_SECONDS
                except BackendUnavailableError as exc:
                    _log.warning("watch sessions: storage unavailable, again in %.2f s: %s", delay, exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _RETRY_MOST_SECONDS)
                    continue
                except Exception as exc:  # a refusal or a bug: its watchers end with its status
                    for watcher in self.watchers:
                        watcher.fail(exc)
                    return
                finally:
                    self._reading = None
                # Done with it, unless it was told of again while it was read.
                now_due = self._dirty.get(session_id)
                if now_due is not None and now_due.serial == due.serial:
                    del self._dirty[session_id]
        finally:
            self._task = None

    async def _read(self, session_id: str, due: _Due) -> None:
        """Reads one changed session once and offers its notice to every watcher (if it says anything new)."""
        change = due.change
        if change in _GONE:
            self._gone(session_id, change)
            return
        key = SessionKey(self.app_name, self.user_id, session_id)
        # The head only: what a listing gives.
        record = await self.owner.backend.get_session(
            key, EventWindow(num_recent_events=0), budget=self.owner.budget
        )
        if self.stopped:
            return
        if record is None:
            # Gone since: a delete or a purge tells of it on its own; an expiry is told by nobody.
            if due.expiry:
                self._gone(session_id, UserChange.EXPIRED)
            self.note_expiry(session_id, None)
            return
        was_closed = session_id in self._closed
        self.note_listed(record)
        if change is None:
            return
        if change is UserChange.UPDATED and record.close_time is not None and not was_closed:
            # Told only that it changed (another server's close): its head says it closed.
            change = UserChange.CLOSED
        if self._remember(session_id, _head_of(record)):
            self._offer(_Notice(change, session_id, record))

    def _gone(self, session_id: str, change: UserChange) -> None:
        self.note_expiry(session_id, None)
        self._closed.discard(session_id)
        if self._remember(session_id, None):
            self._offer(_Notice(change, session_id, None))

    def _remember(self, session_id: str, head: tuple[object, ...] | None) -> bool:
        """Records ``head`` as what the watchers were last told of the session; False if they were already.

        A change may be told twice (by the server that wrote it and by the
        storage's notification or poll of it): the second finds nothing new.
        """
        told = self._told.pop(session_id, _UNTOLD)
        self._told[session_id] = head
        if len(self._told) > _TOLD_KEPT:
            del self._told[next(iter(self._told))]
        return told != head

    def note_listed(self, record: SessionRecord) -> None:
        """Remembers what a read or a listing found of a session: its expiry, and whether it is closed."""
        session_id = record.key.session_id
        self.note_expiry(session_id, record.expiry.expire_time)
        if record.close_time is None:
            self._closed.discard(session_id)
        else:
            self._closed.add(session_id)

    async def _list_expiries(self) -> None:
        """Lists the user's sessions for the expiries past those the hub kept timers for."""
        after: Cursor | None = None
        while not self.stopped:
            page = await self.owner.backend.list_sessions(
                self.app_name, self.user_id, LISTING_PAGE, after, budget=self.owner.listing_budget
            )
            for record in page.items:
                self.note_listed(record)
            after = page.next_cursor
            if after is None:
                return

    def _offer(self, notice: _Notice) -> None:
        for watcher in self.watchers:
            watcher.offer(notice)

    def stop(self) -> None:
        """No watcher is left (or the server drains): stop reading, drop the timers."""
        self.stopped = True
        if self._timer is not None:
            self._timer.cancel()
        if self._task is not None:
            self._task.cancel()


class SessionNotices:
    """Every WatchSessions stream of this server, by user: the backend's ``UserChangeListener``."""

    def __init__(self, backend: Backend, *, response_bytes: int, pending_sessions: int) -> None:
        """Serves watches of ``backend``'s users; a message carries at most ``response_bytes`` of sessions.

        ``pending_sessions`` bounds how many sessions one watcher may leave waiting
        for their notice (see ``SessionsWatcherTooSlowError``).
        """
        self.backend = backend
        self.message_bytes = min(response_bytes, _MESSAGE_BYTES)
        self.budget = ReadBudget(response_bytes, 0)
        self.listing_budget = ReadBudget(response_bytes, LISTING_PAGE)
        self.pending_sessions = pending_sessions
        self._hubs: dict[tuple[str, str], _UserHub] = {}
        self._draining = False
        backend.changes.listen_users(self)

    def user_session_changed(self, key: SessionKey, change: UserChange) -> None:
        """See ``UserChangeListener``."""
        hub = self._hubs.get((key.app_name, key.user_id))
        if hub is not None:
            hub.changed(key.session_id, change)

    def user_erased(self, app_name: str, user_id: str) -> None:
        """See ``UserChangeListener``."""
        hub = self._hubs.get((app_name, user_id))
        if hub is not None:
            hub.start_over()

    def users_missed(self) -> None:
        """See ``UserChangeListener``."""
        for hub in list(self._hubs.values()):
            hub.start_over()

    def drain(self) -> None:
        """Ends every WatchSessions stream with ``ServerDrainingError``, and refuses new ones."""
        self._draining = True
        for hub in list(self._hubs.values()):
            for watcher in hub.watchers:
                watcher.fail(ServerDrainingError())

    async def stream(self, app_name: str, user_id: str) -> AsyncIterator[bytes]:
        """The encoded ``WatchSessionsResponse`` messages of one watch, until the caller ends it.

        Raises:
            SessionsWatcherTooSlowError: the watcher left more sessions waiting than its bound.
            ServerDrainingError: the server is stopping.
            BackendRefusedError: this storage cannot be watched.
        """
        if not self.backend.watchable:
            raise BackendRefusedError(
                Refusal.UNSUPPORTED, "this server's storage (Agent Engine) cannot be watched"
            )
        if self._draining:
            raise ServerDrainingError()
        watcher = _Watcher(self.pending_sessions)
        hub = self._join(app_name, user_id, watcher)
        try:
            # Other servers' changes are heard of before the listing is read: none after it goes untold.
            await self.backend.follow_changes()
            async for message in self._serve(hub, watcher):
                yield message
        finally:
            self._leave(hub, watcher)

    def _join(self, app_name: str, user_id: str, watcher: _Watcher) -> _UserHub:
        hub = self._hubs.get((app_name, user_id))
        if hub is None:
            hub = self._hubs[(app_name, user_id)] = _UserHub(self, app_name, user_id)
            # Registered before the listing is read: no change after that read goes untold.
            self.backend.changes.watch_user(app_name, user_id)
        hub.watchers.add(watcher)
        return hub

    def _leave(self, hub: _UserHub, watcher: _Watcher) -> None:
        hub.watchers.discard(watcher)
        if not hub.watchers:
            hub.stop()
            if self._hubs.get((hub.app_name, hub.user_id)) is hub:
                del self._hubs[(hub.app_name, hub.user_id)]
                self.backend.changes.unwatch_user(hub.app_name, hub.user_id)

    async def _serve(self, hub: _UserHub, watcher: _Watcher) -> AsyncIterator[bytes]:
        first = True
        while True:
            if not first:
                yield _RELISTING
            first = False
            watcher.relist = False
            listed = 0
            async for message, count in self._listing(hub, watcher):
                yield message
                listed += count
            if watcher.relist:
                continue
            yield _caught_up_response(listed)
            async for message in self._live(watcher):
                yield message

    async def _listing(self, hub: _UserHub, watcher: _Watcher) -> AsyncIterator[tuple[bytes, int]]:
        """The user's sessions as they are, a page per message (stopping if the watcher must start over)."""
        after: Cursor | None = None
        while True:
            if watcher.failure is not None:
                raise watcher.failure
            page = await self.backend.list_sessions(
                hub.app_name, hub.user_id, LISTING_PAGE, after, budget=self.listing_budget
            )
            if watcher.relist:
                return
            for record in page.items:
                hub.note_listed(record)
            if page.items:
                yield _listed_response(page.items), len(page.items)
            after = page.next_cursor
            if after is None:
                return

    async def _live(self, watcher: _Watcher) -> AsyncIterator[bytes]:
        """The watcher's notices as they come, until it must start over."""
        pending = watcher.pending
        while True:
            if watcher.failure is not None:
                raise watcher.failure
            if watcher.relist:
                return
            if not pending:
                watcher.wake.clear()
                await watcher.wake.wait()
                continue
            entries: list[bytes] = []
            size = 0
            while pending:
                session_id = next(iter(pending))
                entry = pending[session_id].entry()
                if entries and size + len(entry) > self.message_bytes:
                    break
                del pending[session_id]
                entries.append(entry)
                size += len(entry)
            yield _notices_response(entries)
