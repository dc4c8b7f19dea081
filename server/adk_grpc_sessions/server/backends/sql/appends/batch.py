"""What every way of storing a batch shares: the pending append, judging its state, its result."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    DEFAULT_LIMITS,
    AppendResult,
    NewEvent,
    SessionKey,
    StateSizeLimitError,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.sql import state_limit
from adk_grpc_sessions.server.backends.sql.queries import sizes as size_queries
from adk_grpc_sessions.server.backends.sql.queries.sizes import SizesWanted
from adk_grpc_sessions.server.backends.sql.queries.state import StateChange
from adk_grpc_sessions.server.backends.sql.schema import event_revision
from adk_grpc_sessions.server.backends.sql.state_limit import NO_GROWTH, Growth

BATCH_LIMIT: Final = 64
"""The most appends one batch takes."""


@dataclass(slots=True)
class PendingAppend:
    """An append waiting to be stored: the event for the session ``key`` at ``expected_revision``."""

    key: SessionKey
    event: NewEvent
    expected_revision: int
    limits: StorageLimits = DEFAULT_LIMITS
    refresh_expiry: bool = False
    """Whether storing it moves a session with a ttl to expire that long after ``now`` (sliding expiry)."""
    now: float = 0.0
    """The clock expiry is judged by, set as the batch is stored (the same for every append of a batch)."""
    judged: Growth | None = None
    """Its growth as last judged before it was stored (None: refused by the judgement, or not judged)."""


def expiry_params(appends: list[PendingAppend]) -> dict[str, Any]:
    """The parameters of ``claims.NOW`` and ``claims.REFRESH`` for a batch (whose appends agree on both)."""
    return {"b_now": appends[0].now, "b_refresh": appends[0].refresh_expiry}


def group_keys(append: PendingAppend) -> tuple[Hashable, ...]:
    """What a batch holds one append of at most: its session, and each shared scope of state it changes.

    So that the appends of a batch change distinct scopes (each judged
    against the scope as it is), and one server never stores two changes of
    a scope at the same time.
    """
    key, delta = append.key, append.event.state_delta
    keys: tuple[Hashable, ...] = (key,)
    if delta.user:
        keys += (("user", key.app_name, key.user_id),)
    if delta.app:
        keys += (("app", key.app_name),)
    return keys


@dataclass(frozen=True, slots=True)
class Stored:
    """Where a claimed append's event went."""

    append: PendingAppend
    growth: Growth
    session_pk: int
    sequence: int
    event_pk: int


SizesReader = Callable[[sa.Connection, SizesWanted], state_limit.Sizes]
"""How a way of storing reads the sizes it judges appends by."""


def growths(
    connection: sa.Connection,
    appends: list[PendingAppend],
    limits: StorageLimits,
    read_sizes: SizesReader,
) -> list[Growth | None]:
    """Each append's growth (``state_limit.judge``), or None for one that would pass the state limit.

    The sizes come from ``read_sizes``. A shared scope without its size row
    yet gets one first.
    """
    wanted = state_limit.wanted((a.key, a.event.state_delta) for a in appends)
    if state_limit.is_empty(wanted):
        for append in appends:
            append.judged = NO_GROWTH
        return [NO_GROWTH] * len(appends)
    found = sizes_with_shared_rows(connection, wanted, read_sizes)
    return [judge_append(append, found, limits) for append in appends]


def sizes_with_shared_rows(
    connection: sa.Connection, wanted: SizesWanted, read_sizes: SizesReader
) -> state_limit.Sizes:
    """What ``wanted`` names, read by ``read_sizes``; a shared scope without a size row gets one first."""
    found = read_sizes(connection, wanted)
    missing_users, missing_apps = found.missing(wanted)
    if missing_users or missing_apps:
        for bound in size_queries.ensure_shared_sizes(connection.dialect, missing_users, missing_apps):
            connection.execute(*bound)
        found = read_sizes(connection, wanted)
    return found


def judge_append(append: PendingAppend, found: state_limit.Sizes, limits: StorageLimits) -> Growth | None:
    """The append's growth judged against ``found`` (also kept as ``append.judged``); None if refused."""
    try:
        append.judged = state_limit.judge(append.key, append.event.state_delta, found, limits)
    except (StateSizeLimitError, LookupError):
        append.judged = None  # refused: why is found out afterwards, as for any refusal
    return append.judged


def state_changes(stored: list[Stored]) -> list[StateChange]:
    """The state each stored append sets, for ``queries.state.upsert_state``."""
    return [
        StateChange(s.append.key.app_name, s.append.key.user_id, s.session_pk, s.append.event.state_delta)
        for s in stored
    ]


def shared_growths(stored: list[Stored]) -> tuple[list[tuple[str, str, int]], list[tuple[str, int]]]:
    """What stored appends add to the shared scopes' size rows, where writers lock them or there is one.

    (Not PostgreSQL, whose batches judge state with versions, in the statement.)
    """
    return state_limit.shared_growths(((s.append.key, s.growth) for s in stored), versioned=False)


def results(appends: list[PendingAppend], stored: list[Stored]) -> list[AppendResult | None]:
    """The result of each append, in order: None for one that was refused."""
    by_key = {s.append.key: s for s in stored}
    return [
        appended(s.append.event, s.sequence, s.event_pk) if (s := by_key.get(a.key)) else None
        for a in appends
    ]


def appended(event: NewEvent, sequence: int, event_pk: int) -> AppendResult:
    """The result of an append whose ``event`` was stored at ``sequence`` with the key ``event_pk``."""
    return AppendResult(
        event=event.stored_at(sequence),
        revision=event_revision(event_pk),
        last_update_time=event.timestamp,
        already_applied=False,
    )
