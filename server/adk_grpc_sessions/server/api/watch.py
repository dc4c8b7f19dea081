"""WatchSession: every watcher of a session fed from one shared read per change.

One ``_Hub`` per watched session in this process. The backend tells the
hubs which session changed (``Backend.changes``: keys and revisions); the
session's hub then reads the new events once, encodes them once, as one
message, and offers the same bytes to every watcher of the session (a
round, paced so that delivery takes a bounded share of the event loop: see
``DEFAULT_DELIVERY_SHARE``). An append made in this process hands the hub
the event it committed (``SessionChanges.appended``): a round of events the
hub holds, each following the last it offered by sequence, needs no read;
any gap (an append of another server, a change that came without its
event, an unknown starting point) is read from storage. A watcher
that is behind (it just joined, or resumes from an old revision) joins the
hub first and then reads its own backlog: the hub's feed holds every event
after the point where it stood when the backlog read began, the backlog
every event up to a point at or past it, and a watcher skips what it has
already sent by the events' sequence numbers, so the two meet with no gap
and no duplicate.

Each watcher has a bounded buffer of what it has not sent yet: the hub
never waits for a watcher's write (a slow one cannot hold up appends, the
hub, or other watchers; a round waits only for the watchers that were idle
to take it, a step of their task); a watcher whose buffer would pass its bound is cut off
(``WatcherTooSlowError``) and resumes from its last revision. Buffers hold
the hub's shared bytes, so what a thousand watchers of one session keep is
what the slowest of them keeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Final

from adk_grpc_sessions.server.api import messages
from adk_grpc_sessions.server.api.errors import ServerDrainingError, WatcherTooSlowError
from adk_grpc_sessions.server.backends.base import (
    Backend,
    BackendRefusedError,
    BackendUnavailableError,
    ReadBudget,
    Refusal,
    SessionEnd,
    SessionKey,
    SessionNotFoundError,
    WatchedEvent,
)
from adk_grpc_sessions.server.runtime.metrics import Metrics
from adk_grpc_sessions.v1 import session_service_pb2 as pb

_log = logging.getLogger(__name__)

_ENDED: Final = {
    SessionEnd.CLOSED: pb.WatchEnded.REASON_CLOSED,
    SessionEnd.DELETED: pb.WatchEnded.REASON_DELETED,
    SessionEnd.EXPIRED: pb.WatchEnded.REASON_EXPIRED,
}
_RETRY_FIRST_SECONDS: Final = 0.05
_RETRY_MOST_SECONDS: Final = 2.0
"""A hub whose read finds storage unreachable tries again after these (doubling) delays."""
_MESSAGE_BYTES: Final = 1024 * 1024
"""Events are sent in messages of about this size (an event larger goes alone, within the message
limit): a watcher's client need not accept the largest messages to follow a session of small events."""
DEFAULT_DELIVERY_SHARE: Final = 0.03
"""The share of the event loop's time one hub's delivery rounds may take, unless the server sets another.

See ``_DELIVERY_BURST_SECONDS`` for how it is spent. Only a session
appended to faster than its rounds can follow is paced: there a smaller
share costs its appends less and its watchers more latency (fewer, larger
messages)."""
_DELIVERY_BURST_SECONDS: Final = 0.005
"""The event loop's time one hub's deliveries take: its delivery share of it, in bursts of at most this.

A delivery round (the hub's new events offered to every watcher, each of
them writing its message) costs a write per watcher, the server's dearest
part of watching, and the appends that feed it wait behind those writes on
the same event loop. So a hub starts its next round only once the last one
has been taken by every watcher that was waiting for it, and only while its
rounds' cost stays within its share: the time the loop spent on a round is
spent from a budget that refills at the delivery share of the time passing,
up to this burst. Events committed meanwhile go together in the next round's
message. A session appended to now and then is delivered at once; one
appended to without pause gets fewer, larger messages (see also
``_PACED_ABOVE_WATCHERS``). A round is counted at the loop's own CPU time per
watcher that was waiting for it, until the last of them took it, times every
watcher it was offered to (one busy writing takes it later, in a write all
the same); the completions of the writes come after and are not counted,
which is why the share is well below what watching may cost appends."""
_PACED_ABOVE_WATCHERS: Final = 10
"""A hub of at most this many watchers delivers each change at once, unpaced: their few writes cost
about what the append that fed them did, and a pause would only add to their latency."""
_ROUND_MOST_SECONDS: Final = 1.0
"""A hub waits at most this long for its watchers to take a round (they take it at their next step),
and pauses at most this long after a round, however dear it was."""
_HELD_READS: Final = 4
"""A hub holds the committed events it was handed up to this many reads' budget; past it, it
forgets them and reads (a hub retrying an unreachable storage must not hold appends forever)."""
_KNOWN_REVISIONS: Final = 128
"""A hub remembers the revisions of this many events it was handed last: a notice of one of them (the
database's notification of this server's own append) tells it nothing new, and calls for no read. Such
a notice comes moments after its commit; one that comes later costs a read, never an event."""
_EXPIRY_SLACK_SECONDS: Final = 0.001
"""Read a session this long after its expire_time, so that the read finds it expired."""


@dataclass(frozen=True, slots=True)
class _Entry:
    """One event, encoded once for every watcher (a ``WatchedEvents.events`` entry)."""

    data: bytes
    sequence: int


def _entries(events: Sequence[WatchedEvent]) -> list[_Entry]:
    return [_Entry(messages.watched_event_entry(w.event, w.revision), w.event.sequence) for w in events]


class _Batch:
    """What one read of the hub found, offered as it is to every watcher of the session."""

    __slots__ = ("_message", "entries", "size")

    def __init__(self, entries: list[_Entry]) -> None:
        self.entries = entries
        self.size = sum(len(entry.data) for entry in entries)
        self._message: bytes | None = None

    def message(self) -> bytes:
        """The batch as one ``WatchSessionResponse``, encoded for the first watcher that sends it whole."""
        if self._message is None:
            self._message = messages.watch_events_response([entry.data for entry in self.entries])
        return self._message


class _Round:
    """One delivery of a hub: the watchers that were waiting for it and have not taken it yet."""

    __slots__ = ("done", "waiting")

    def __init__(self) -> None:
        self.waiting = 0
        self.done = asyncio.Event()

    def taken(self) -> None:
        """One of its watchers took the round (or left): the last one ends the round."""
        self.waiting -= 1
        if self.waiting == 0:
            self.done.set()


class _Watcher:
    """One WatchSession stream's queue of what the hub offered it and it has not sent yet."""

    __slots__ = ("bound", "failure", "idle", "pending", "queue", "round", "wake")

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.queue: deque[_Batch | SessionEnd] = deque()
        self.pending = 0
        """Bytes offered and not yet sent."""
        self.failure: Exception | None = None
        self.wake = asyncio.Event()
        self.idle = False
        """Live, everything sent, waiting for the hub: the hub's next round waits for it to take it."""
        self.round: _Round | None = None
        """The hub's round this watcher was waiting for and has not taken yet."""

    def offer(self, batch: _Batch, delivery: _Round) -> bool:
        """Queues the hub's new events (True); past the bound, cuts the watcher off instead (never waits)."""
        if self.failure is not None:
            return False
        # One batch is always taken, however large its events: the bound is on falling behind.
        if self.queue and self.pending + batch.size > self.bound:
            self.fail(WatcherTooSlowError(self.bound))
            return False
        self.queue.append(batch)
        self.pending += batch.size
        if self.idle and self.round is None:
            # A watcher busy writing is not waited for: it takes this batch with its next message.
            self.round = delivery
            delivery.waiting += 1
        self.wake.set()
        return True

    def took(self) -> None:
        """It took what it was offered (or is gone): the hub's round no longer waits for it."""
        if self.round is not None:
            delivery, self.round = self.round, None
            delivery.taken()

    def end(self, end: SessionEnd) -> None:
        """Queues the session's end, after every event offered before it."""
        if self.failure is None:
            self.queue.append(end)
            self.wake.set()

    def fail(self, error: Exception) -> None:
        """Ends the stream with ``error`` at its next step; what it held is dropped."""
        if self.failure is None:
            self.failure = error
            self.queue.clear()
            self.pending = 0
            self.took()
            self.wake.set()


class _Hub:
    """The watchers of one session, and the one task that reads its new events for all of them."""

    def __init__(self, owner: Watchers, key: SessionKey) -> None:
        self.owner = owner
        self.key = key
        self.watchers: set[_Watcher] = set()
        self.position: int | None = None
        """The revision the feed has offered every event up to; None until the head is read."""
        self.sequence: int | None = None
        """The sequence of the last event the feed offered (0: none); None until its first read."""
        self.ready = asyncio.Event()
        """Set once the head is read (or the read failed): the feed's starting point is known."""
        self.ended = False
        self._dirty = False
        self._must_read = False
        """Storage changed in a way no handed event tells (or some were forgotten): the next round reads."""
        self._held: dict[int, WatchedEvent] = {}
        """Committed events handed by this process's appends and not offered yet, by sequence."""
        self._held_bytes = 0
        self._known: dict[int, None] = {}
        """The revisions of the last events handed to the hub (held or offered), oldest first."""
        self._budget = _DELIVERY_BURST_SECONDS
        """Seconds of the loop's time this hub may spend on rounds now (see ``_DELIVERY_BURST_SECONDS``)."""
        self._budget_at = 0.0
        """The event loop's time when ``_budget`` was last refilled."""
        self._write_cost = 0.0
        """What the last round cost the event loop per watcher that was waiting for it (seconds)."""
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def poke(self, revision: int | None) -> None:
        """Storage says the session changed (to ``revision``, if known): read it, once, soon."""
        if self.ended or (revision is not None and (revision == self.position or revision in self._known)):
            return
        self._must_read = True
        self._start()

    def hand(self, watched: WatchedEvent) -> None:
        """An append of this process committed ``watched``: offer it soon, without a read if it follows on."""
        sequence = watched.event.sequence
        if self.ended or (self.sequence is not None and sequence <= self.sequence):
            return
        size = watched.event.size
        if self._held_bytes + size > _HELD_READS * self.owner.budget.bytes:
            # Storage has every one of them: the next round reads instead.
            self._held.clear()
            self._held_bytes = 0
            self._must_read = True
        elif sequence not in self._held:
            self._held[sequence] = watched
            self._held_bytes += size
        self._known[watched.revision] = None
        if len(self._known) > _KNOWN_REVISIONS:
            del self._known[next(iter(self._known))]
        self._start()

    def _start(self) -> None:
        self._dirty = True
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        delay = _RETRY_FIRST_SECONDS
        try:
            while self._dirty and not self.ended:
                self._dirty = False
                try:
                    await self._catch_up()
                    delay = _RETRY_FIRST_SECONDS
                except BackendUnavailableError as exc:
                    if self.position is None:
                        # Without its starting point the feed could not promise its watchers no gap:
                        # they end UNAVAILABLE and watch again.
                        self.fail(exc)
                        return
                    _log.warning("watch: storage unavailable, reading again in %.2f s: %s", delay, exc)
                    self._dirty = True
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _RETRY_MOST_SECONDS)
                except Exception as exc:  # a refusal or a bug: its watchers end with its status
                    self.fail(exc)
        finally:
            self._task = None
            self.ready.set()

    async def _catch_up(self) -> None:
        """Reads what follows ``position`` and offers it to every watcher, page by page."""
        backend = self.owner.backend
        loop = asyncio.get_running_loop()
        while not self.ended:
            if self.position is None:
                # The head alone: the feed starts here, its watchers' backlogs reach at least here.
                head_only = ReadBudget(self.owner.response_bytes, 0)
                head = await backend.read_watched(self.key, 0, budget=head_only)
                self.position = head.revision
                self.ready.set()
                self._expire_at(head.expire_time)
                return
            pause = self._refill(loop.time())
            if pause > 0:
                # Changes that land meanwhile share this read, and each watcher's next message.
                await asyncio.sleep(pause)
                self._refill(loop.time())
                if self.ended:
                    return
            held = None if self._must_read else self._take_held()
            if held is not None:
                if not held:
                    return
                self.position = held[-1].revision
                self.sequence = held[-1].event.sequence
                await self._deliver(_Batch(_entries(held)))
                continue
            self._must_read = False
            try:
                read = await backend.read_watched(self.key, self.position, budget=self.owner.budget)
            except SessionNotFoundError:
                self.end(SessionEnd.DELETED)
                return
            except BaseException:
                self._must_read = True  # what called for the read is still unknown: the next round reads
                raise
            if self.ended:
                return  # ended (deleted, drained) while reading: nothing more is offered
            if read.expired:
                self.end(SessionEnd.EXPIRED)
                return
            self.sequence = read.after_sequence + len(read.events)
            self._drop_held()
            if read.events:
                self.position = read.events[-1].revision
                await self._deliver(_Batch(_entries(read.events)))
            self._expire_at(read.expire_time)
            if not read.more:
                if read.closed:
                    self.end(SessionEnd.CLOSED)
                return

    def _take_held(self) -> list[WatchedEvent] | None:
        """The held events that follow the last one offered, within a read's budget ([]: none held).

        None when a read is needed instead: the held events do not follow on from what was offered.
        """
        if not self._held:
            return []
        if self.sequence is None:
            return None
        budget = self.owner.budget
        taken: list[WatchedEvent] = []
        size = 0
        following = self.sequence + 1
        while following in self._held and len(taken) < budget.max_events:
            watched = self._held[following]
            if taken and size + watched.event.size > budget.bytes:
                break
            del self._held[following]
            self._held_bytes -= watched.event.size
            taken.append(watched)
            size += watched.event.size
            following += 1
        return taken or None

    def _drop_held(self) -> None:
        """Forgets the held events that what was offered already covers."""
        offered = self.sequence or 0
        for sequence in [s for s in self._held if s <= offered]:
            self._held_bytes -= self._held.pop(sequence).event.size

    async def _deliver(self, batch: _Batch) -> None:
        """Offers ``batch`` to every watcher; a paced hub waits until those waiting for it took it."""
        delivery = _Round()
        offered = sum(watcher.offer(batch, delivery) for watcher in self.watchers)
        if len(self.watchers) <= _PACED_ABOVE_WATCHERS:
            return
        waiting = delivery.waiting
        if waiting:
            # The event loop's own CPU time: a machine busy with other processes does not lengthen it.
            started = time.thread_time()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_ROUND_MOST_SECONDS):
                    await delivery.done.wait()
            self._write_cost = (time.thread_time() - started) / waiting
        # Watchers busy writing take the round later, in a write each all the same: they count too.
        floor = -_ROUND_MOST_SECONDS * self.owner.delivery_share
        self._budget = max(floor, self._budget - self._write_cost * offered)

    def _refill(self, now: float) -> float:
        """Refills the rounds' budget up to ``now``; returns how long to wait until it is not negative."""
        share = self.owner.delivery_share
        self._budget = min(_DELIVERY_BURST_SECONDS, self._budget + (now - self._budget_at) * share)
        self._budget_at = now
        return -self._budget / share if self._budget < 0 else 0.0

    def _expire_at(self, expire_time: float | None) -> None:
        """Reads the session again when it expires: nothing in storage signals an expiry."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if expire_time is not None:
            delay = max(0.0, expire_time - self.owner.backend.clock()) + _EXPIRY_SLACK_SECONDS
            self._timer = asyncio.get_running_loop().call_later(delay, self.poke, None)

    def end(self, end: SessionEnd) -> None:
        """The session ended: every watcher ends after what it was offered; the hub is gone."""
        if not self.ended:
            for watcher in self.watchers:
                watcher.end(end)
            self._close()

    def fail(self, error: Exception) -> None:
        """Ends every watcher with ``error``; the hub is gone."""
        if not self.ended:
            for watcher in self.watchers:
                watcher.fail(error)
            self._close()

    def _close(self) -> None:
        self.ended = True
        self.ready.set()
        if self._timer is not None:
            self._timer.cancel()
        self.owner.forget(self)

    def stop(self) -> None:
        """No watcher is left: stop reading."""
        self.ended = True
        if self._timer is not None:
            self._timer.cancel()
        if self._task is not None:
            self._task.cancel()


class Watchers:
    """Every WatchSession stream of this server, by session: the ``ChangeListener`` of the backend."""

    def __init__(
        self,
        backend: Backend,
        *,
        response_bytes: int,
        buffer_bytes: int,
        delivery_share: float = DEFAULT_DELIVERY_SHARE,
        metrics: Metrics | None = None,
    ) -> None:
        """Serves watches of ``backend``'s sessions; messages carry at most ``response_bytes`` of events.

        ``buffer_bytes`` bounds what one watcher may leave unsent (see
        ``WatcherTooSlowError``); ``delivery_share`` is the share of the event
        loop's time one session's delivery rounds may take (see ``DEFAULT_DELIVERY_SHARE``).

        Raises:
            ValueError: ``delivery_share`` is not more than 0 and at most 1.
        """
        if not 0 < delivery_share <= 1:
            raise ValueError(f"a watch delivery share is more than 0 and at most 1, got {delivery_share}")
        self.backend = backend
        self.delivery_share = delivery_share
        self.response_bytes = response_bytes
        self.message_bytes = min(response_bytes, _MESSAGE_BYTES)
        self.budget = ReadBudget(response_bytes)
        self.buffer_bytes = buffer_bytes
        self.metrics = metrics
        self._hubs: dict[SessionKey, _Hub] = {}
        self._draining = False
        backend.changes.listen(self)

    def session_changed(self, key: SessionKey, revision: int | None) -> None:
        """See ``ChangeListener``."""
        hub = self._hubs.get(key)
        if hub is not None:
            hub.poke(revision)

    def session_appended(self, key: SessionKey, event: WatchedEvent) -> None:
        """See ``ChangeListener``."""
        hub = self._hubs.get(key)
        if hub is not None:
            hub.hand(event)

    def session_ended(self, key: SessionKey, end: SessionEnd) -> None:
        """See ``ChangeListener``."""
        hub = self._hubs.get(key)
        if hub is not None:
            hub.end(end)

    def everything_changed(self) -> None:
        """See ``ChangeListener``."""
        for hub in list(self._hubs.values()):
            hub.poke(None)

    def forget(self, hub: _Hub) -> None:
        """Drops an ended hub (new watchers of its session get a new one)."""
        if self._hubs.get(hub.key) is hub:
            del self._hubs[hub.key]
            self.backend.changes.unwatch(hub.key)

    def drain(self) -> None:
        """Ends every watch stream with ``ServerDrainingError``, and refuses new ones."""
        self._draining = True
        for hub in list(self._hubs.values()):
            hub.fail(ServerDrainingError())

    def _join(self, key: SessionKey, watcher: _Watcher) -> _Hub:
        hub = self._hubs.get(key)
        if hub is None:
            hub = self._hubs[key] = _Hub(self, key)
            # Registered before the head is read: no change after that read goes untold.
            self.backend.changes.watch(key)
            hub.poke(None)
        hub.watchers.add(watcher)
        return hub

    def _leave(self, hub: _Hub, watcher: _Watcher) -> None:
        hub.watchers.discard(watcher)
        watcher.took()
        if not hub.watchers and not hub.ended:
            hub.stop()
            self.forget(hub)

    async def stream(self, key: SessionKey, after_revision: int) -> AsyncIterator[bytes]:
        """The encoded ``WatchSessionResponse`` messages of one watch, until the session ends.

        Raises:
            SessionNotFoundError: no such session, or ``after_revision`` is not one of its.
            WatcherTooSlowError: the watcher fell behind by more than its buffer.
            ServerDrainingError: the server is stopping.
            BackendRefusedError: this storage cannot be watched.
        """
        if not self.backend.watchable:
            raise BackendRefusedError(
                Refusal.UNSUPPORTED, "this server's storage (Agent Engine) cannot be watched"
            )
        if self._draining:
            raise ServerDrainingError()
        watcher = _Watcher(self.buffer_bytes)
        hub = self._join(key, watcher)
        if self.metrics is not None:
            self.metrics.watchers.inc()
        try:
            await hub.ready.wait()
            async for message in self._serve(key, after_revision, watcher):
                yield message
        finally:
            self._leave(hub, watcher)
            if self.metrics is not None:
                self.metrics.watchers.dec()

    async def _serve(self, key: SessionKey, after_revision: int, watcher: _Watcher) -> AsyncIterator[bytes]:
        # The backlog: this watcher's own reads, from its revision to the session's head.
        position, first = after_revision, True
        while True:
            if watcher.failure is not None:
                raise watcher.failure
            try:
                read = await self.backend.read_watched(key, position, budget=self.budget)
            except SessionNotFoundError:
                if first:
                    raise
                yield messages.watch_ended_response(_ENDED[SessionEnd.DELETED])
                return
            if read.expired:
                if first:
                    raise SessionNotFoundError(key)
                yield messages.watch_ended_response(_ENDED[SessionEnd.EXPIRED])
                return
            first = False
            # The sequence of the last event sent: the hub's feed is taken after it.
            sent = read.after_sequence + len(read.events)
            if read.events:
                for message, count in self._messages(_entries(read.events)):
                    yield message
                    self._count(count)
                position = read.events[-1].revision
            if not read.more:
                break
        yield messages.watch_caught_up_response(read.revision)
        if read.closed:
            yield messages.watch_ended_response(_ENDED[SessionEnd.CLOSED])
            return
        # Live: the hub's feed, without what the backlog already sent.
        queue = watcher.queue
        while True:
            if watcher.failure is not None:
                raise watcher.failure
            if not queue:
                watcher.idle = True
                watcher.wake.clear()
                await watcher.wake.wait()
                watcher.idle = False
                continue
            watcher.took()
            item = queue[0]
            whole = isinstance(item, _Batch) and item.entries[0].sequence > sent
            if whole and isinstance(item, _Batch) and item.size <= self.message_bytes:
                # The usual case: the hub's batch whole, encoded once for all its watchers.
                queue.popleft()
                watcher.pending = max(0, watcher.pending - item.size)
                sent = item.entries[-1].sequence
                yield item.message()
                self._count(len(item.entries))
                continue
            merged, count, sent, end = self._take(queue, sent, watcher)
            if merged is not None:
                yield merged
                self._count(count)
            if end is not None:
                yield messages.watch_ended_response(_ENDED[end])
                return

    def _take(
        self, queue: deque[_Batch | SessionEnd], sent: int, watcher: _Watcher
    ) -> tuple[bytes | None, int, int, SessionEnd | None]:
        """One message of the queue's events after ``sent`` (at most ``message_bytes``, one event at least).

        Returns the message (None if every event was sent already), its events'
        count, the sequence of its last event and the session's end if it was reached.
        """
        batch: list[bytes] = []
        size = taken = 0
        end: SessionEnd | None = None
        while queue:
            item = queue[0]
            if isinstance(item, SessionEnd):
                queue.popleft()
                end = item
                break
            entries = item.entries
            used = 0
            for entry in entries:
                if entry.sequence <= sent:
                    used += 1
                    taken += len(entry.data)
                    continue
                if batch and size + len(entry.data) > self.message_bytes:
                    break
                batch.append(entry.data)
                size += len(entry.data)
                taken += len(entry.data)
                used += 1
                sent = entry.sequence
            queue.popleft()
            if used < len(entries):
                queue.appendleft(_Batch(entries[used:]))
                break
        watcher.pending = max(0, watcher.pending - taken)
        message = messages.watch_events_response(batch) if batch else None
        return message, len(batch), sent, end

    def _messages(self, entries: list[_Entry]) -> list[tuple[bytes, int]]:
        """``entries`` split into responses of about ``message_bytes`` of events (one event at least)."""
        out: list[tuple[bytes, int]] = []
        batch: list[bytes] = []
        size = 0
        for entry in entries:
            if batch and size + len(entry.data) > self.message_bytes:
                out.append((messages.watch_events_response(batch), len(batch)))
                batch, size = [], 0
            batch.append(entry.data)
            size += len(entry.data)
        if batch:
            out.append((messages.watch_events_response(batch), len(batch)))
        return out

    def _count(self, events: int) -> None:
        if self.metrics is not None:
            self.metrics.watched_events.inc(events)
