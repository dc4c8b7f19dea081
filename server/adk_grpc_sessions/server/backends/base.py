"""The backend interface: the one boundary between the servicer and storage.

Plain data crosses it in both directions: no gRPC types below it, no SQL above
it. A backend stores sessions, their events (as the client's JSON text, kept
verbatim) and app/user/session state (each value as JSON text), and enforces
the contract's rules that need storage to decide them: revisions, idempotent
appends, atomic state merges. Everything that can be decided from a request
alone (validation, id generation, JSON parsing, page tokens, the encoding of
responses) happens above it.

The boundary is three modules: this one (the ``Backend`` class), ``records``
(what crosses it) and ``errors`` (what a backend raises). Every name of the
other two is importable from here too.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import time
from collections.abc import Sequence
from typing import Final, Self

from adk_grpc_sessions.server.backends.changes import SessionChanges, UserChange
from adk_grpc_sessions.server.backends.errors import (
    BackendError,
    BackendRefusedError,
    BackendUnavailableError,
    EventIdConflictError,
    ForkPointNotFoundError,
    ForkPointUnknownError,
    InvalidCursorError,
    Refusal,
    ResponseTooLargeError,
    SessionClosedError,
    SessionExistsError,
    SessionNotFoundError,
    SessionSizeLimitError,
    StaleRevisionError,
    StateSizeLimitError,
)
from adk_grpc_sessions.server.backends.records import (
    DEFAULT_BUDGET,
    DEFAULT_LIMITS,
    NEVER,
    NO_METADATA,
    AppendResult,
    Cursor,
    EventWindow,
    Expiry,
    ForkOrigin,
    Metadata,
    NewEvent,
    Page,
    PurgeBatch,
    ReadBudget,
    RestoredSession,
    ScopedState,
    SessionEnd,
    SessionKey,
    SessionRecord,
    SessionUpdate,
    StateMap,
    StorageLimits,
    StoredEvent,
    WatchedEvent,
    WatchRead,
)
from adk_grpc_sessions.server.backends.session_query import (
    ALL_SESSIONS,
    Condition,
    Field,
    Operator,
    OrderBy,
    SessionQuery,
)

__all__ = [  # the boundary's every name, importable from here
    "ALL_SESSIONS",
    "DEFAULT_BUDGET",
    "DEFAULT_EVENT_CACHE_BYTES",
    "DEFAULT_LIMITS",
    "NEVER",
    "NO_METADATA",
    "AppendResult",
    "Backend",
    "BackendError",
    "BackendRefusedError",
    "BackendUnavailableError",
    "Condition",
    "Cursor",
    "EventCacheStats",
    "EventIdConflictError",
    "EventWindow",
    "Expiry",
    "Field",
    "ForkOrigin",
    "ForkPointNotFoundError",
    "ForkPointUnknownError",
    "InvalidCursorError",
    "Metadata",
    "NewEvent",
    "Operator",
    "OrderBy",
    "Page",
    "PurgeBatch",
    "ReadBudget",
    "Refusal",
    "ResponseTooLargeError",
    "RestoredSession",
    "ScopedState",
    "SessionChanges",
    "SessionClosedError",
    "SessionEnd",
    "SessionExistsError",
    "SessionKey",
    "SessionNotFoundError",
    "SessionQuery",
    "SessionRecord",
    "SessionSizeLimitError",
    "SessionUpdate",
    "StaleRevisionError",
    "StateMap",
    "StateSizeLimitError",
    "StorageLimits",
    "StoredEvent",
    "UserChange",
    "WatchRead",
    "WatchedEvent",
]


@dataclasses.dataclass(frozen=True, slots=True)
class EventCacheStats:
    """What a backend's cache of stored events holds and has done (``Backend.event_cache_stats``)."""

    kept_bytes: int
    """What the events kept take now (as the cache counts them against its bound)."""
    served: int
    """Events reads have taken from the cache since the server started."""
    fetched: int
    """Events reads have fetched from storage instead (not kept, or newer than those kept)."""


DEFAULT_EVENT_CACHE_BYTES: Final = 64 * 1024 * 1024
"""``Backend.event_cache_bytes`` unless the server is told otherwise: the recent sessions of a busy server."""

_NO_RESTORE = (
    "this storage cannot {}: copy, export and import need the memory, a SQL or the Agent Engine backend"
)


class Backend(abc.ABC):
    """Storage for sessions, events and state. Every method is safe to call concurrently.

    Implementations must make each mutating call atomic, and must decide
    revision checks in storage (not with in-process locks) wherever several
    server processes can share the storage.
    """

    assigns_session_ids: bool = False
    """True if the storage names new sessions itself: ``create_session`` then gets an
    empty ``session_id`` when the caller chose none, and returns the assigned one."""

    event_cache_bytes: int = DEFAULT_EVENT_CACHE_BYTES
    """Most bytes of stored events kept in memory to answer reads, where storage keeps any (SQLite;
    the server's ``--event-cache-bytes``; set before ``start``; 0 keeps none)."""
    watch_poll_interval: float = 0.25
    """Seconds between polls of the watched sessions, where storage cannot notify (the server's
    ``--watch-poll-interval``; set before ``start``)."""
    watchable: bool = True
    """Whether ``read_watched`` is served and ``changes`` is told of every change (see ``changes``)."""

    keeps_shared_state: bool = True
    """Whether app and user state are kept apart from sessions (``restore_shared_state``). Where
    not (Agent Engine keeps ``app:``/``user:`` keys in each session), a restored session's
    ``state`` carries them, prefixed, beside its own keys."""
    restored_fields: tuple[str, ...] = (
        "create_time",
        "last_update_time",
        "expiry",
        "close_time",
        "metadata",
        "forked_from",
        "initial_state",
    )
    """The ``RestoredSession`` fields a restore keeps exactly: what a copy's verification compares."""

    def kept_state(self, state: StateMap) -> StateMap:
        """``state`` as storage gives it back once restored (JSON text per key): what a copy verifies."""
        return state

    @functools.cached_property
    def changes(self) -> SessionChanges:
        """Where this backend tells the watch layer which watched sessions changed.

        In-process storage (memory, an SQLite file served by this process)
        tells it after each commit that changes a watched session; shared
        storage tells it what other processes committed too (PostgreSQL's
        notifications, MySQL/MariaDB's polling of the watched sessions).
        """
        return SessionChanges()

    def clock(self) -> float:
        """The time expiry is judged by, in seconds since the epoch.

        A session whose ``expire_time <= clock()`` is gone for every call (absent,
        never listed, refusing appends, its id free for a new session), whether or
        not it has been purged yet. Tests replace it to move time.
        """
        return time.time()

    def event_cache_stats(self) -> EventCacheStats | None:
        """What the backend's cache of stored events holds and has served; None where it keeps none."""
        return None

    @classmethod
    @abc.abstractmethod
    def from_uri(cls, uri: str) -> Self:
        """Builds the backend for a backend URI of its scheme (no I/O yet).

        Raises:
            ValueError: the URI is malformed for this backend.
        """

    async def upgrade_schema(self) -> str | None:
        """Creates or migrates storage's schema to what this code expects; safe to repeat.

        Called before ``start`` when the server may migrate (and by ``db upgrade``).
        Returns a one-line account of what it did, or None for a backend without a schema.

        Raises:
            BackendUnavailableError: storage cannot be reached.
        """
        return None

    async def start(self) -> None:  # noqa: B027 - optional hook with a no-op default
        """Connects and prepares storage; called once before any other call."""

    async def close(self) -> None:  # noqa: B027 - optional hook with a no-op default
        """Releases connections; no call follows."""

    async def check(self) -> None:  # noqa: B027 - optional hook with a no-op default
        """Returns if storage answers now; raises ``BackendUnavailableError`` if not."""

    @abc.abstractmethod
    async def create_session(
        self,
        key: SessionKey,
        state: ScopedState,
        now: float,
        *,
        expiry: Expiry = NEVER,
        metadata: Metadata = NO_METADATA,
        limits: StorageLimits = DEFAULT_LIMITS,
    ) -> SessionRecord:
        """Creates a session created at ``now``, merging ``state.app``/``state.user`` into shared state.

        ``key.session_id`` is empty only for a backend that ``assigns_session_ids``. An
        expired session of the same name (not yet purged) is purged in the same
        transaction; the new one's revisions never repeat the old one's. The
        session's initial session-scoped state is kept as it was given, where
        storage can keep it, for ``fork_session`` before an invocation.

        Raises:
            SessionExistsError: the key is taken.
            StateSizeLimitError: a scope the state grows would pass ``limits.max_state_bytes``
                (nothing is stored).
        """

    @abc.abstractmethod
    async def get_session(
        self, key: SessionKey, window: EventWindow, *, budget: ReadBudget = DEFAULT_BUDGET
    ) -> SessionRecord | None:
        """Reads a session with the events ``window`` selects, oldest first; None if missing.

        The state and as many of the selected events as fit in ``budget``
        (at least none): if some do not, ``rest`` says where ``list_events``
        resumes, within this read's selection as it stands now.

        Raises:
            ResponseTooLargeError: the state alone does not fit in ``budget``.
        """

    @abc.abstractmethod
    async def list_sessions(
        self,
        app_name: str,
        user_id: str | None,
        page_size: int,
        after: Cursor | None,
        *,
        query: SessionQuery = ALL_SESSIONS,
        budget: ReadBudget = DEFAULT_BUDGET,
    ) -> Page[SessionRecord]:
        """Lists the sessions (no events) ``query`` keeps, in its order: (time, user_id, session_id).

        ``user_id`` None lists every user of the app; ``after`` (a page's
        ``next_cursor`` for the same query) resumes after the key that page
        ended at, so a session changed between pages is listed at most once
        and an unchanged one exactly once. A backend evaluates the query where
        its data is (through indexes), never by reading every session. A page holds at most
        ``page_size`` sessions and what fits in ``budget``, and at least one
        if any remain.

        Raises:
            InvalidCursorError: ``after`` is not a cursor of this backend's session listings.
            ResponseTooLargeError: the next session alone does not fit in ``budget``.
        """

    @abc.abstractmethod
    async def list_apps(
        self, page_size: int, after: Cursor | None, *, among: frozenset[str] | None = None
    ) -> Page[str]:
        """Lists the apps holding any unexpired session, app state or user state, by name in code point order.

        ``among``: only these names (a caller's token's apps; None = every app).
        ``after`` (a page's ``next_cursor``) resumes after the name that page
        ended at: an app added meanwhile is listed if its name sorts after it.
        A page holds at most ``page_size`` names, at least one if any remain;
        a backend finds them through its indexes, never by reading every session.

        Raises:
            InvalidCursorError: ``after`` is not a cursor of this backend's name listings.
            BackendRefusedError: UNSUPPORTED, where storage cannot list apps.
        """

    @abc.abstractmethod
    async def list_users(self, app_name: str, page_size: int, after: Cursor | None) -> Page[str]:
        """Lists the users of ``app_name`` holding an unexpired session or user state, as ``list_apps`` does.

        Raises:
            InvalidCursorError: ``after`` is not a cursor of this backend's name listings.
            BackendRefusedError: UNSUPPORTED, where storage cannot list users.
        """

    @abc.abstractmethod
    async def delete_session(self, key: SessionKey) -> None:
        """Deletes a session and its events; a missing session is not an error."""

    @abc.abstractmethod
    async def append_event(
        self,
        key: SessionKey,
        event: NewEvent,
        expected_revision: int,
        *,
        refresh_expiry: bool = False,
        limits: StorageLimits = DEFAULT_LIMITS,
    ) -> AppendResult:
        """Stores an event and applies its state delta atomically.

        An event whose id is already stored with identical JSON returns the
        original result with ``already_applied`` set, whatever the revision.
        The checks come in this order: the event id, closed, the revision, the limits.
        With ``refresh_expiry``, a session that has a ttl gets ``expire_time =
        clock() + ttl`` in the same transaction (not on an ``already_applied`` retry).

        Raises:
            SessionNotFoundError: no such session (or it has expired).
            EventIdConflictError: a different event with this id is stored.
            SessionClosedError: the session is closed.
            StaleRevisionError: ``expected_revision`` is not the stored revision.
            SessionSizeLimitError: the event would take the session past ``limits.max_session_bytes``.
            StateSizeLimitError: a scope the delta grows would pass ``limits.max_state_bytes``.
        """

    @abc.abstractmethod
    async def list_events(
        self,
        key: SessionKey,
        after_timestamp: float | None,
        page_size: int,
        after: Cursor | None,
        *,
        budget: ReadBudget = DEFAULT_BUDGET,
    ) -> Page[StoredEvent]:
        """Lists events in append order, with ``EventWindow``'s after_timestamp meaning.

        At most ``page_size`` events and what fits in ``budget.bytes``, at
        least one if any remain. ``after`` is a page's ``next_cursor``, or a
        session read's ``rest``: then the page holds the rest of that read's
        selection (``after_timestamp`` is then None), and its next cursor
        continues that selection too.

        Raises:
            InvalidCursorError: ``after`` is not a cursor of this backend's event listings.
            SessionNotFoundError: no such session, or not the one whose read ``after`` continues.
            ResponseTooLargeError: the next event alone does not fit in ``budget``.
        """

    @abc.abstractmethod
    async def get_user_state(self, app_name: str, user_id: str) -> StateMap:
        """Returns the user-scoped state (empty if none)."""

    @abc.abstractmethod
    async def get_app_state(self, app_name: str) -> StateMap:
        """Returns the app-scoped state (empty if none)."""

    @abc.abstractmethod
    async def update_session(self, key: SessionKey, update: SessionUpdate) -> SessionRecord:
        """Changes a session's expiry and metadata as ``update`` says, in one transaction.

        Revision, last update time, state and events are untouched. Returns the
        session as it is now, with state and no events.

        Raises:
            SessionNotFoundError: no such session (or it has expired).
        """

    @abc.abstractmethod
    async def fork_session(
        self,
        source: SessionKey,
        session_id: str,
        now: float,
        *,
        before_invocation_id: str = "",
        expiry: Expiry = NEVER,
        metadata: Metadata = NO_METADATA,
    ) -> SessionRecord:
        """Copies ``source``'s events into a new session ``session_id`` of the same user, in one transaction.

        Every event, or (``before_invocation_id``) those before the first event
        of that invocation. The copies keep their ids, JSON, caches, sizes and
        sequence numbers; the new session's session-scoped state is the
        source's after the last copied event (its initial state plus the
        copied events' session deltas), its revision is new (never one any
        session had), it is open, created at ``now``, and its ``forked_from``
        says where it came from. Storage copies the events itself: nothing of
        their size passes through the server's memory. The source is not
        changed. ``session_id`` is empty only for a backend that
        ``assigns_session_ids``. Returns the new session with state and no
        events.

        Raises:
            SessionNotFoundError: no such source (or it has expired).
            SessionExistsError: ``session_id`` is taken.
            ForkPointNotFoundError: no event of the source has ``before_invocation_id``.
            ForkPointUnknownError: a fork before an invocation of a session whose initial
                state storage does not hold.
        """

    @abc.abstractmethod
    async def close_session(self, key: SessionKey, now: float, closed_ttl: float | None) -> SessionRecord:
        """Marks a session closed at ``now``; closing a closed session keeps its first close time.

        With ``closed_ttl`` (seconds), the session's ``expire_time`` becomes at most
        ``close_time + closed_ttl`` (its ttl is then cleared: appends no longer refresh
        it). Revision, last update time and events are untouched. Returns the session
        as it is now, with state and no events.

        Raises:
            SessionNotFoundError: no such session (or it has expired).
        """

    @abc.abstractmethod
    async def erase_user(self, app_name: str, user_id: str) -> None:
        """Makes every session of one user expire now and deletes the user's state, in one transaction.

        From its return no call sees any of it, on any server on this storage; the
        sessions' rows go by ``purge_expired`` (the caller's, or the sweeper's).
        Sessions the user creates later are new. Idempotent.
        """

    @abc.abstractmethod
    async def purge_expired(
        self, limit: int, *, app_name: str | None = None, user_id: str | None = None
    ) -> PurgeBatch:
        """Deletes up to ``limit`` expired sessions (their events and session state) in one short transaction.

        A backend may delete fewer to keep the transaction short (bounded by the
        events and bytes it deletes too): a session too large for one
        transaction loses its newest events a batch at a time, then goes whole.
        Every batch deletes something while any expired session is left that no
        other server is purging: a batch that is ``done`` means none is, and
        callers loop until one is.

        Optionally only those of one app, or one user of it. Safe with several
        servers on one storage: each session is deleted by one of them (the
        others skip rows being deleted rather than wait), and a crash mid-batch
        deletes nothing of that batch (the next call takes them again).
        """

    @abc.abstractmethod
    async def count_expired(self) -> int:
        """How many expired sessions wait to be purged (for the backlog metric and ``purge --dry-run``)."""

    @abc.abstractmethod
    async def list_expired(self, limit: int) -> list[SessionKey]:
        """Up to ``limit`` expired sessions waiting to be purged, oldest first (``purge --dry-run``)."""

    async def read_watched(self, key: SessionKey, after_revision: int, *, budget: ReadBudget) -> WatchRead:
        """The events of a session after ``after_revision`` (0: from the first), and the session's head.

        One page: as many events as ``budget`` holds (none with ``budget.max_events``
        0, to learn the head), each with its resume point (``WatchedEvent.revision``).
        The page and the head are one snapshot of storage. An expired session
        comes back ``expired`` with no events.

        Raises:
            SessionNotFoundError: no such session, or ``after_revision`` is none of its
                resume points (not 0, its creation revision, nor one delivered with its events).
            ResponseTooLargeError: the next event alone does not fit in ``budget``.
            BackendRefusedError: this storage cannot be watched (``watchable`` is False).
        """
        raise BackendRefusedError(Refusal.UNSUPPORTED, f"{type(self).__name__} cannot be watched")

    async def follow_changes(self) -> None:  # noqa: B027 - optional hook with a no-op default
        """Makes sure ``changes`` hears of other servers' writes from now on (before a watch's first read).

        A no-op where no other server writes (memory, SQLite) or where each
        watched read starts it (``read_watched``).

        Raises:
            BackendUnavailableError: storage's change feed could not be started in time.
        """

    # Restoring: writing sessions exactly as they were elsewhere (copy, import), and reading them so.
    # Restored data was accepted where it comes from: no limit refuses it, and state deltas are not
    # applied again (the state restored is what they made).

    async def read_session_head(self, key: SessionKey) -> RestoredSession | None:
        """The session as ``restore_session`` takes it (its events are ``list_events``'s); None if missing.

        Its ``event_count`` is how many events are stored: where a restore of it resumes.

        Raises:
            BackendRefusedError: UNSUPPORTED, where storage cannot tell all of it.
        """
        raise BackendRefusedError(
            Refusal.UNSUPPORTED, _NO_RESTORE.format("read sessions whole"), reason="NO_RESTORE"
        )

    async def restore_session(self, session: RestoredSession, events: Sequence[NewEvent] = ()) -> None:
        """Writes a session with every field of ``session`` (its revision where storage can), atomically.

        With its first ``events`` (at sequences 1, 2, ...), as ``restore_events`` stores them: a small
        session is restored in one transaction.

        An expired session of that name is purged first, as a create purges it.

        Raises:
            SessionExistsError: the name is taken (nothing is written).
            BackendRefusedError: UNSUPPORTED, where storage cannot write sessions as they were.
        """
        raise BackendRefusedError(
            Refusal.UNSUPPORTED, _NO_RESTORE.format("restore sessions"), reason="NO_RESTORE"
        )

    async def restore_sessions(
        self, sessions: Sequence[tuple[RestoredSession, Sequence[NewEvent]]]
    ) -> list[SessionKey]:
        """Writes each of ``sessions`` with its first events as ``restore_session`` does: at once if it can.

        A copy's small sessions, so that each costs less than a transaction of its own.

        Returns the keys of the sessions not written because their name is held (by a session that
        may have expired): ``restore_session`` each of them, which purges an expired namesake or
        raises ``SessionExistsError``. The others are written whole.

        Raises:
            BackendRefusedError: UNSUPPORTED, where storage cannot write sessions as they were.
        """
        held: list[SessionKey] = []
        for session, events in sessions:
            try:
                await self.restore_session(session, events)
            except SessionExistsError:
                held.append(session.key)
        return held

    async def restore_events(self, key: SessionKey, first_sequence: int, events: Sequence[NewEvent]) -> None:
        """Stores ``events`` (JSON, typed fields, cache, sizes as given) at ``first_sequence`` on, atomically.

        Their state deltas are not applied. The session's update time and state
        stay as ``restore_session`` wrote them; its stored size grows by theirs.

        Raises:
            SessionNotFoundError: no such session (or it has expired).
            StaleRevisionError: the session does not hold exactly ``first_sequence - 1`` events
                (another restore of it runs, or it is not the one being restored).
            BackendRefusedError: UNSUPPORTED, where storage cannot write events as they were.
        """
        raise BackendRefusedError(
            Refusal.UNSUPPORTED, _NO_RESTORE.format("restore events"), reason="NO_RESTORE"
        )

    async def restore_shared_state(self, app_name: str, user_id: str | None, state: StateMap) -> None:
        """Sets every key of ``state`` in the app's state (``user_id`` None) or the user's; other keys stay.

        Raises:
            BackendRefusedError: UNSUPPORTED, where storage keeps no shared state.
        """
        raise BackendRefusedError(
            Refusal.UNSUPPORTED, _NO_RESTORE.format("restore state"), reason="NO_RESTORE"
        )
