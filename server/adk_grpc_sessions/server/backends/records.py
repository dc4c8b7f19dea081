"""What crosses the Backend boundary: plain records of sessions, events and state, and read limits.

Part of the boundary (``base`` re-exports every name): no protobuf, no SQL.
Two things a backend holds without knowing what they are: an event's
``wire_cache`` (the API layer's bytes, stored and returned as given) and a
listing's ``Cursor`` (the backend's own text, which the API layer wraps in a
signed page token and hands back unread).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

from adk_grpc_sessions.wire import limits

StateMap = dict[str, str]
"""State keys (without their scope prefix) mapped to values as JSON text."""

Cursor = str
"""Where a listing resumes, as the backend that returned it wrote it.

Opaque above the boundary: the API layer only carries it, inside a page
token signed and bound to the request, back to the same kind of backend.
A backend parses its own cursors (strictly: see ``InvalidCursorError``).
"""


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


@dataclass(frozen=True, slots=True)
class Metadata:
    """What people name and group a session by: set at create or fork, changed by ``update_session``.

    Validated above the boundary (``wire.limits``): a backend stores it as given.
    """

    display_name: str = ""
    """Empty = none."""
    labels: Mapping[str, str] = field(default_factory=dict)


NO_METADATA: Final = Metadata()


@dataclass(frozen=True, slots=True)
class ForkOrigin:
    """Where a forked session came from (``fork_session``)."""

    session_id: str
    """The source session (same app and user)."""
    event_count: int
    """How many of the source's events were copied: its first ``event_count``."""
    before_invocation_id: str
    """The invocation the copy stopped before; empty = every event was copied."""
    fork_time: float


@dataclass(frozen=True, slots=True)
class SessionUpdate:
    """What ``update_session`` changes; a field left None is left as it is."""

    expiry: Expiry | None = None
    """The new expiry (``NEVER`` removes it)."""
    display_name: str | None = None
    """The new display name (empty removes it)."""
    labels: Mapping[str, str] | None = None
    """The new labels, replacing all of them (empty removes them)."""


@dataclass(frozen=True, slots=True)
class PurgeBatch:
    """What one ``purge_expired`` transaction deleted.

    ``purged``: the sessions it deleted whole. ``events_deleted``: the events
    it deleted, theirs and those of a session too large for one transaction,
    whose newest events it deleted without the session (that session stays,
    expired and invisible, for the next batch). A batch that deleted nothing
    (``done``) means nothing is left that no other server is purging.
    """

    purged: list[SessionKey]
    events_deleted: int

    @property
    def done(self) -> bool:
        """Whether this batch deleted nothing: no expired session was left to take."""
        return not self.purged and not self.events_deleted


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
    """An event to append, as parsed from its JSON by the layer above.

    The typed fields are what a backend works with (the id for idempotency,
    the timestamp for ``after_timestamp`` and the session's update time, the
    delta for state); a read returns none of them (``StoredEvent``).
    """

    id: str
    invocation_id: str
    author: str
    branch: str
    timestamp: float
    state_delta: ScopedState
    event_json: str
    """The complete ADK event JSON, stored and returned verbatim."""
    wire_cache: bytes = b""
    """The layer above's cache of the event's response form, made at append time. Opaque here:
    stored with the event and returned as given (the layer above checks it on every read)."""
    size: int = 0
    """The bytes the event takes in a response, as the layer above measured it: what it
    counts towards its session's size, and what a read budgets for it. Stored and returned."""

    def stored_at(self, sequence: int) -> StoredEvent:
        """The event as a read returns it once stored at ``sequence``."""
        return StoredEvent(self.id, sequence, self.event_json, self.wire_cache, self.size)


@dataclass(slots=True)
class StoredEvent:
    """A stored event as a read returns it: everything a response needs, nothing more.

    The JSON is authoritative: the layer above answers from it, the sequence
    and its own ``wire_cache`` (rebuilding the cache from the JSON whenever
    it is not one it can use), so a backend never reads or decodes an
    event's typed fields for a read.
    """

    id: str
    sequence: int
    """1-based position in the session's append order."""
    event_json: str
    wire_cache: bytes = b""
    """``NewEvent.wire_cache`` as it was given; empty where the backend keeps none."""
    size: int = 0
    """``NewEvent.size`` as it was given (where storage keeps none, the backend's upper bound). The
    backend's to budget reads with; a read that budgets by sizes kept elsewhere may leave it 0."""


@dataclass(slots=True)
class SessionRecord:
    """A stored session as read: merged state by scope, and the selected events."""

    key: SessionKey
    state: ScopedState
    events: Sequence[StoredEvent]
    create_time: float
    last_update_time: float
    revision: int
    rest: Cursor | None = None
    """Where the rest of the selected events resume (through ``list_events``) when not all
    of them fit in the read's budget; None when ``events`` holds them all."""
    expiry: Expiry = NEVER
    close_time: float | None = None
    """When the session was closed; None while it is open."""
    metadata: Metadata = NO_METADATA
    event_count: int | None = None
    """How many events the session holds; None where storage cannot tell without reading them."""
    stored_bytes: int | None = None
    """The sizes of its events and of its session-scoped state, summed (as ``StorageLimits`` counts
    them); None where storage does not keep them."""
    forked_from: ForkOrigin | None = None
    """Where it was forked from; None if it was created."""


@dataclass(slots=True)
class RestoredSession:
    """A session as it was somewhere else, to be written again exactly (``Backend.restore_session``).

    Everything of a session but its events, which follow in order
    (``Backend.restore_events``), and its app's and user's state, restored apart.
    """

    key: SessionKey
    create_time: float
    last_update_time: float
    revision: int
    """The revision it had; kept where storage can keep it (0 = none known)."""
    state: StateMap
    """Its own (session-scoped) state as it stands after its last event."""
    initial_state: StateMap | None
    """The session-scoped state it was created with; None where its source did not keep it."""
    event_count: int
    """How many events it holds (where it is read), or will hold once restored (where it is written)."""
    expiry: Expiry = NEVER
    close_time: float | None = None
    metadata: Metadata = NO_METADATA
    forked_from: ForkOrigin | None = None


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

    event: StoredEvent
    revision: int
    last_update_time: float
    already_applied: bool


@dataclass(slots=True)
class Page(Generic[T_co]):
    """One page of a listing; ``next_cursor`` is None on the last page."""

    items: Sequence[T_co]
    next_cursor: Cursor | None


class SessionEnd(enum.Enum):
    """Why a watched session will have no more events."""

    CLOSED = "closed"
    DELETED = "deleted"
    EXPIRED = "expired"


@dataclass(slots=True)
class WatchedEvent:
    """An event as a watch delivers it: with the session's revision right after it (its resume point)."""

    event: StoredEvent
    revision: int
    """Unique among every revision any session ever had: ``read_watched`` resumes after it. For an
    appended event, the session's revision after it; for an event a fork copied, one of its own."""


@dataclass(slots=True)
class WatchRead:
    """One page of the events of a session after a revision (``Backend.read_watched``), and its head."""

    events: Sequence[WatchedEvent]
    """The next events after the revision read after, oldest first (at most what the budget holds)."""
    after_sequence: int
    """The sequence of the event the read started after (0: before the first): ``events`` are
    ``after_sequence + 1`` onwards."""
    revision: int
    """The session's revision when read: a resume point after every event it held then."""
    more: bool
    """Whether events follow the last of ``events`` (the budget held no more)."""
    closed: bool
    """Whether the session is closed (no event will follow the ones it holds)."""
    expired: bool = False
    """Whether the session has expired (then ``events`` is empty: it is gone for every read)."""
    expire_time: float | None = None
    """When it expires, if it has an expiry (by ``Backend.clock``)."""


DEFAULT_LIMITS: Final = StorageLimits()
DEFAULT_BUDGET: Final = ReadBudget()
