"""The backend interface: the one boundary between the servicer and storage.

Plain data crosses it in both directions: no gRPC types below it, no SQL above
it. A backend stores sessions, their events (as the client's JSON text, kept
verbatim) and app/user/session state (each value as JSON text), and enforces
the contract's rules that need storage to decide them: revisions, idempotent
appends, atomic state merges. Everything that can be decided from a request
alone (validation, id generation, JSON parsing, page tokens) happens above it.
"""

from __future__ import annotations

import abc
import enum
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Generic, Self, TypeVar

from adk_grpc_sessions.wire import limits

StateMap = dict[str, str]
"""State keys (without their scope prefix) mapped to values as JSON text."""

StoragePageToken = str
"""A page token of the storage's own API, for a backend that pages through one (``pages_by_token``)."""

SessionPosition = tuple[float, str, str]
"""Position in a session listing: (last_update_time, user_id, session_id) of the last item."""

EventPosition = int
"""Position in an event listing: the sequence number of the last event returned."""


@dataclass(frozen=True, slots=True)
class EventSpan:
    """The rest of a session read's selection, as it stood at that read (``SessionRecord.rest``).

    A session read returns what fits in one response; the events after
    ``after`` up to ``upto`` (sequence numbers, both as of the read) are the
    rest. ``generation`` names the session that was read, not just its name:
    a session deleted and created again under that name has another, so its
    events are never mixed into the rest of the first one's read.
    """

    generation: int
    after: int
    upto: int


SessionCursor = SessionPosition | StoragePageToken
"""Where a session listing resumes: a position, or (``pages_by_token``) the storage's page token."""

EventCursor = EventPosition | EventSpan | StoragePageToken
"""Where an event listing resumes: a position, the rest of a session read, or (``pages_by_token``)
the storage's page token (which then stands for either)."""


@dataclass(frozen=True, slots=True)
class ReadBudget:
    """What one read may return: what fits in one response (``wire.limits``).

    ``bytes`` bounds the state and the events of a session read (state by
    ``limits.state_bytes`` of each scope, events by their ``size``), the
    events of an event page, or the sessions of a session page (each
    ``limits.SESSION_HEAD_BYTES`` plus its three scopes of state). A backend
    reads within it too: never all of a large selection to cut it afterwards.
    """

    bytes: int = limits.DEFAULT_MAX_MESSAGE_BYTES - limits.RESPONSE_ENVELOPE_BYTES
    max_events: int = limits.MAX_EVENTS_PER_SESSION_READ
    """Most events a session read returns (an event page's is its page size)."""


@dataclass(frozen=True, slots=True)
class StorageLimits:
    """What storage may hold, checked by every write (the server's ``--max-*-bytes`` settings)."""

    max_state_bytes: int = limits.DEFAULT_MAX_STATE_BYTES
    """Most one scope of state (an app's, a user's, a session's) may hold, by ``limits.state_bytes``."""
    max_session_bytes: int = limits.DEFAULT_MAX_SESSION_BYTES
    """Most the events of one session may take, summing their ``size``."""


T_co = TypeVar("T_co", covariant=True)
C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class SessionKey:
    """The name of a session: unique per (app_name, user_id, session_id)."""

    app_name: str
    user_id: str
    session_id: str


@dataclass(frozen=True, slots=True)
class Expiry:
    """When a session expires: an instant, and the ttl that set it (for sliding expiry).

    ``expire_time`` None = never. ``ttl`` (seconds) is set only when the
    expiry was given as a duration: appends that refresh expiry then move
    ``expire_time`` to the append's time plus ``ttl``.
    """

    expire_time: float | None = None
    ttl: float | None = None


NEVER: Final = Expiry()


@dataclass(slots=True)
class ScopedState:
    """State (or a change to it) split into ADK's three stored scopes."""

    app: StateMap = field(default_factory=dict)
    user: StateMap = field(default_factory=dict)
    session: StateMap = field(default_factory=dict)

    def is_empty(self) -> bool:
        """Whether no scope holds any key."""
        return not (self.app or self.user or self.session)


@dataclass(slots=True)
class NewEvent:
    """An event to append, as parsed from its JSON by the layer above."""

    id: str
    invocation_id: str
    author: str
    branch: str
    timestamp: float
    state_delta: ScopedState
    event_json: str
    """The complete ADK event JSON, stored and returned verbatim."""
    encoded_fields: bytes = b""
    """The layer above's own encoding of the fields other than the JSON and the
    sequence, made once at append time. Opaque here: stored with the event and
    returned as given, so reads need not encode every event again."""
    size: int = 0
    """The bytes the event takes in a response, as the layer above measured it: what it
    counts towards its session's size, and what a read budgets for it. Stored and returned."""

    def stored_at(self, sequence: int) -> EventRecord:
        """The record of this event once stored at ``sequence``."""
        return EventRecord(
            id=self.id,
            invocation_id=self.invocation_id,
            author=self.author,
            branch=self.branch,
            timestamp=self.timestamp,
            state_delta=self.state_delta,
            event_json=self.event_json,
            sequence=sequence,
            encoded_fields=self.encoded_fields,
            size=self.size,
        )


@dataclass(slots=True)
class EventRecord:
    """A stored event."""

    id: str
    invocation_id: str
    author: str
    branch: str
    timestamp: float
    state_delta: ScopedState
    event_json: str
    sequence: int
    """1-based position in the session's append order."""
    encoded_fields: bytes = b""
    """``NewEvent.encoded_fields`` as it was given, or empty if the backend keeps none."""
    size: int = 0
    """``NewEvent.size`` as it was given (or, where storage keeps none, the backend's upper bound)."""


@dataclass(slots=True)
class EncodedEvent:
    """A stored event as a read may return it: as the layer above encoded it at append.

    The layer above answers reads from ``NewEvent.encoded_fields``, the JSON
    and the sequence alone, so a backend that keeps the encoding may return
    this instead of an ``EventRecord`` and never read or decode the typed
    fields. (Only for events appended with a non-empty encoding.)
    """

    id: str
    sequence: int
    """1-based position in the session's append order."""
    event_json: str
    encoded_fields: bytes
    size: int = 0
    """``NewEvent.size`` as it was given."""


StoredEvent = EventRecord | EncodedEvent
"""An event as a read returns it."""


@dataclass(slots=True)
class SessionRecord:
    """A stored session as read: merged state by scope, and the selected events."""

    key: SessionKey
    state: ScopedState
    events: Sequence[StoredEvent]
    create_time: float
    last_update_time: float
    revision: int
    rest: EventCursor | None = None
    """Where the rest of the selected events resume (through ``list_events``) when not all
    of them fit in the read's budget; None when ``events`` holds them all."""
    expiry: Expiry = NEVER
    close_time: float | None = None
    """When the session was closed; None while it is open."""


@dataclass(frozen=True, slots=True)
class EventWindow:
    """Which events a session read returns, with ADK's ``GetSessionConfig`` meaning.

    ``num_recent_events`` keeps the last N events (0 keeps none). Then
    ``after_timestamp`` keeps only the events after the last remaining event
    whose timestamp is before it (so, for timestamps in append order, exactly
    the events at or after it). Both None = every event.
    """

    num_recent_events: int | None = None
    after_timestamp: float | None = None


@dataclass(slots=True)
class AppendResult:
    """What storing an event did (or, for a retry, what the original append did)."""

    event: EventRecord
    revision: int
    last_update_time: float
    already_applied: bool


@dataclass(slots=True)
class Page(Generic[T_co, C]):
    """One page of a listing; ``next_cursor`` is None on the last page."""

    items: Sequence[T_co]
    next_cursor: C | None


class BackendError(Exception):
    """Base of the errors a backend raises; the servicer maps each to a status."""


class SessionNotFoundError(BackendError):
    """The named session does not exist."""

    def __init__(self, key: SessionKey) -> None:
        super().__init__(
            f"session {key.session_id!r} of user {key.user_id!r} in app {key.app_name!r} not found"
        )
        self.key = key


class SessionExistsError(BackendError):
    """A session with the requested id already exists."""

    def __init__(self, key: SessionKey) -> None:
        super().__init__(
            f"session {key.session_id!r} of user {key.user_id!r} in app {key.app_name!r} already exists"
        )
        self.key = key


class StaleRevisionError(BackendError):
    """The caller's revision of the session is not the stored one."""

    def __init__(self, key: SessionKey, expected: int, current: int) -> None:
        super().__init__(
            f"session {key.session_id!r} has changed since it was read (caller has revision {expected}, "
            f"stored revision is {current}); reload the session before appending"
        )
        self.key = key
        self.expected = expected
        self.current = current


class EventIdConflictError(BackendError):
    """A different event with the same id is already stored in the session."""

    def __init__(self, key: SessionKey, event_id: str) -> None:
        super().__init__(
            f"session {key.session_id!r} already holds a different event with id {event_id!r}; "
            "event ids are idempotency keys and must be unique per session"
        )
        self.key = key
        self.event_id = event_id


class SessionSizeLimitError(BackendError):
    """Storing an event would take its session's events past ``StorageLimits.max_session_bytes``."""

    def __init__(self, key: SessionKey, limit: int, size: int, event_size: int) -> None:
        super().__init__(
            f"session {key.session_id!r} holds {size} bytes of events, and this event's {event_size} "
            f"would take it past the limit of {limit} bytes per session"
        )
        self.key = key
        self.limit = limit
        self.size = size
        """The session's events now, in bytes."""
        self.event_size = event_size


class StateSizeLimitError(BackendError):
    """A write would leave a scope of state it grows above ``StorageLimits.max_state_bytes``."""

    def __init__(self, scope: str, limit: int, size: int) -> None:
        super().__init__(
            f"the {scope} state would hold {size} bytes, past the limit of {limit} bytes per scope "
            "(each key counts its text, its JSON value and 16)"
        )
        self.scope = scope
        """``app``, ``user`` or ``session``."""
        self.limit = limit
        self.size = size
        """What the scope would hold after the write."""


class ResponseTooLargeError(BackendError):
    """Something stored does not fit in one response on its own (it was stored under larger limits)."""

    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(
            f"{what} takes {size} bytes, and a response holds at most {limit}: "
            "it was stored under larger limits than the server's"
        )
        self.limit = limit


class SessionClosedError(BackendError):
    """The session is closed: it refuses appends."""

    def __init__(self, key: SessionKey) -> None:
        super().__init__(
            f"session {key.session_id!r} of user {key.user_id!r} in app {key.app_name!r} is closed "
            "and accepts no more events"
        )
        self.key = key


class BackendUnavailableError(BackendError):
    """Storage cannot be reached or did not answer; the call may be retried."""


class Refusal(enum.Enum):
    """Why storage refused a call it understood (each kind becomes one canonical status)."""

    PERMISSION_DENIED = "PERMISSION_DENIED"
    """The server's own identity may not do this (or storage did not accept its credentials)."""
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    """A quota or rate limit of the storage; the call may succeed later."""
    INVALID_INPUT = "INVALID_INPUT"
    """The input breaks a rule of the storage's own (an id format, a size limit)."""
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    """Storage is not in a state to serve the call (e.g. the configured container does not exist)."""
    UNSUPPORTED = "UNSUPPORTED"
    """The storage cannot do this at all."""


class BackendRefusedError(BackendError):
    """Storage refused the call, for a reason it names; retrying the same call will not help."""

    def __init__(self, refusal: Refusal, message: str, *, reason: str = "", domain: str = "") -> None:
        super().__init__(message)
        self.refusal = refusal
        self.reason = reason
        """The storage's own machine-readable reason (e.g. ``RATE_LIMIT_EXCEEDED``), if it gave one."""
        self.domain = domain
        """Who defines ``reason`` (e.g. ``googleapis.com``), if known."""


DEFAULT_LIMITS: Final = StorageLimits()
DEFAULT_BUDGET: Final = ReadBudget()


class Backend(abc.ABC):
    """Storage for sessions, events and state. Every method is safe to call concurrently.

    Implementations must make each mutating call atomic, and must decide
    revision checks in storage (not with in-process locks) wherever several
    server processes can share the storage.
    """

    assigns_session_ids: bool = False
    """True if the storage names new sessions itself: ``create_session`` then gets an
    empty ``session_id`` when the caller chose none, and returns the assigned one."""

    pages_by_token: bool = False
    """True if the list calls page with the storage's own page tokens (a ``StoragePageToken``
    as cursor) rather than with positions."""

    def clock(self) -> float:
        """The time expiry is judged by, in seconds since the epoch.

        A session whose ``expire_time <= clock()`` is gone for every call (absent,
        never listed, refusing appends, its id free for a new session), whether or
        not it has been purged yet. Tests replace it to move time.
        """
        return time.time()

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
        limits: StorageLimits = DEFAULT_LIMITS,
    ) -> SessionRecord:
        """Creates a session created at ``now``, merging ``state.app``/``state.user`` into shared state.

        ``key.session_id`` is empty only for a backend that ``assigns_session_ids``. An
        expired session of the same name (not yet purged) is purged in the same
        transaction; the new one's revisions never repeat the old one's.

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
        after: SessionCursor | None,
        *,
        budget: ReadBudget = DEFAULT_BUDGET,
    ) -> Page[SessionRecord, SessionCursor]:
        """Lists sessions (no events) ordered by (last_update_time, user_id, session_id).

        ``user_id`` None lists every user of the app; ``after`` resumes after
        that position. A page holds at most ``page_size`` sessions and what fits
        in ``budget``, and at least one if any remain.

        Raises:
            ResponseTooLargeError: the next session alone does not fit in ``budget``.
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
        after: EventCursor | None,
        *,
        budget: ReadBudget = DEFAULT_BUDGET,
    ) -> Page[StoredEvent, EventCursor]:
        """Lists events in append order, with ``EventWindow``'s after_timestamp meaning.

        At most ``page_size`` events and what fits in ``budget.bytes``, at
        least one if any remain. With an ``EventSpan`` (a session read's
        ``rest``) as ``after``, the events of that span (``after_timestamp``
        is then None): its next cursors are spans too.

        Raises:
            SessionNotFoundError: no such session, or not the one an ``EventSpan`` was read from.
            ResponseTooLargeError: the next event alone does not fit in ``budget``.
        """

    @abc.abstractmethod
    async def get_user_state(self, app_name: str, user_id: str) -> StateMap:
        """Returns the user-scoped state (empty if none)."""

    @abc.abstractmethod
    async def get_app_state(self, app_name: str) -> StateMap:
        """Returns the app-scoped state (empty if none)."""

    @abc.abstractmethod
    async def update_expiry(self, key: SessionKey, expiry: Expiry) -> SessionRecord:
        """Sets a session's expiry (``NEVER`` removes it); revision and events untouched.

        Returns the session as it is now, with state and no events.

        Raises:
            SessionNotFoundError: no such session (or it has expired).
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
    ) -> list[SessionKey]:
        """Deletes up to ``limit`` expired sessions (their events and session state) in one short transaction.

        Optionally only those of one app, or one user of it. Returns which were
        deleted. Safe with several servers on one storage: each session is deleted
        by one of them (the others skip rows being deleted rather than wait), and a
        crash mid-batch deletes nothing (the next call takes them again).
        """

    @abc.abstractmethod
    async def count_expired(self) -> int:
        """How many expired sessions wait to be purged (for the backlog metric and ``purge --dry-run``)."""

    @abc.abstractmethod
    async def list_expired(self, limit: int) -> list[SessionKey]:
        """Up to ``limit`` expired sessions waiting to be purged, oldest first (``purge --dry-run``)."""
