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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, Self, TypeVar

StateMap = dict[str, str]
"""State keys (without their scope prefix) mapped to values as JSON text."""

StoragePageToken = str
"""A page token of the storage's own API, for a backend that pages through one (``pages_by_token``)."""

SessionPosition = tuple[float, str, str]
"""Position in a session listing: (last_update_time, user_id, session_id) of the last item."""

EventPosition = int
"""Position in an event listing: the sequence number of the last event returned."""

SessionCursor = SessionPosition | StoragePageToken
"""Where a session listing resumes: a position, or (``pages_by_token``) the storage's page token."""

EventCursor = EventPosition | StoragePageToken
"""Where an event listing resumes: a position, or (``pages_by_token``) the storage's page token."""

T_co = TypeVar("T_co", covariant=True)
C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class SessionKey:
    """The name of a session: unique per (app_name, user_id, session_id)."""

    app_name: str
    user_id: str
    session_id: str


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
    async def create_session(self, key: SessionKey, state: ScopedState, now: float) -> SessionRecord:
        """Creates a session created at ``now``, merging ``state.app``/``state.user`` into shared state.

        ``key.session_id`` is empty only for a backend that ``assigns_session_ids``.

        Raises:
            SessionExistsError: the key is taken.
        """

    @abc.abstractmethod
    async def get_session(self, key: SessionKey, window: EventWindow) -> SessionRecord | None:
        """Reads a session with the events ``window`` selects, oldest first; None if missing."""

    @abc.abstractmethod
    async def list_sessions(
        self, app_name: str, user_id: str | None, page_size: int, after: SessionCursor | None
    ) -> Page[SessionRecord, SessionCursor]:
        """Lists sessions (no events) ordered by (last_update_time, user_id, session_id).

        ``user_id`` None lists every user of the app; ``after`` resumes after that position.
        """

    @abc.abstractmethod
    async def delete_session(self, key: SessionKey) -> None:
        """Deletes a session and its events; a missing session is not an error."""

    @abc.abstractmethod
    async def append_event(self, key: SessionKey, event: NewEvent, expected_revision: int) -> AppendResult:
        """Stores an event and applies its state delta atomically.

        An event whose id is already stored with identical JSON returns the
        original result with ``already_applied`` set, whatever the revision.

        Raises:
            SessionNotFoundError: no such session.
            EventIdConflictError: a different event with this id is stored.
            StaleRevisionError: ``expected_revision`` is not the stored revision.
        """

    @abc.abstractmethod
    async def list_events(
        self,
        key: SessionKey,
        after_timestamp: float | None,
        page_size: int,
        after: EventCursor | None,
    ) -> Page[StoredEvent, EventCursor]:
        """Lists events in append order, with ``EventWindow``'s after_timestamp meaning.

        Raises:
            SessionNotFoundError: no such session.
        """

    @abc.abstractmethod
    async def get_user_state(self, app_name: str, user_id: str) -> StateMap:
        """Returns the user-scoped state (empty if none)."""

    @abc.abstractmethod
    async def get_app_state(self, app_name: str) -> StateMap:
        """Returns the app-scoped state (empty if none)."""
