"""Why the database refused to store an append: found out afterwards, in a read transaction.

A refused append wrote nothing (see ``appends``); what refused it (the
event already stored, the session gone, a stale caller, a limit, or a
shared scope of state changed by another server meanwhile) is found by
reading the session as it is now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    AppendResult,
    EventIdConflictError,
    NewEvent,
    SessionClosedError,
    SessionKey,
    SessionNotFoundError,
    SessionSizeLimitError,
    StaleRevisionError,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.sql import state_limit
from adk_grpc_sessions.server.backends.sql.queries import sizes as size_queries
from adk_grpc_sessions.server.backends.sql.queries.events import select_event_by_id
from adk_grpc_sessions.server.backends.sql.queries.rows import retried_event, revision_after
from adk_grpc_sessions.server.backends.sql.queries.sessions import select_session
from adk_grpc_sessions.server.backends.sql.state_limit import Growth


@dataclass(frozen=True, slots=True)
class TryAgain:
    """``refused_append``'s answer when nothing explains the refusal any more: store the append again.

    After making the size rows of the shared scopes named here: the append
    sets keys in them, and they have none yet.
    """

    missing_users: Sequence[tuple[str, str]] = ()
    missing_apps: Sequence[str] = ()


TRY_AGAIN: Final = TryAgain()


def refused_append(
    connection: sa.Connection,
    key: SessionKey,
    event: NewEvent,
    expected_revision: int,
    limits: StorageLimits,
    judged: Growth | None,
    clock: float,
) -> AppendResult | TryAgain:
    """Why the database refused to store ``event``: the original result if it is a retry, else the error.

    ``TRY_AGAIN`` if a shared scope of state it sets has changed since it
    was ``judged`` (or it was refused by a judgement that no longer holds):
    store it again.

    Raises:
        SessionNotFoundError: no such session, or it has expired by ``clock``.
        EventIdConflictError: another event with this id is stored.
        SessionClosedError: the session is closed (and does not hold the event).
        StaleRevisionError: the caller's revision is not the session's.
        SessionSizeLimitError: the event would take the session past ``limits.max_session_bytes``.
        StateSizeLimitError: the state it sets would take a scope past ``limits.max_state_bytes``.
    """
    # The order of ``Backend.append_event``: a stored event answers before
    # the closed check and the revision check (a retry of an event stored
    # before the close is answered as applied).
    row = connection.execute(*select_session(key, clock)).first()
    if row is None:
        raise SessionNotFoundError(key)
    stored = connection.execute(*select_event_by_id(row.session_pk, event.id)).first()
    if stored is not None:
        if stored.event_json != event.event_json:
            raise EventIdConflictError(key, event.id)
        return AppendResult(
            event=retried_event(stored),
            revision=revision_after(stored),
            last_update_time=stored.timestamp,
            already_applied=True,
        )
    if row.close_time is not None:
        raise SessionClosedError(key)
    if row.revision != expected_revision:
        raise StaleRevisionError(key, expected_revision, row.revision)
    if row.events_bytes + event.size > limits.max_session_bytes:
        raise SessionSizeLimitError(key, limits.max_session_bytes, row.events_bytes, event.size)
    wanted = state_limit.wanted([(key, event.state_delta)])
    if not state_limit.is_empty(wanted):
        found = state_limit.sizes_from_rows(
            connection.execute(*size_queries.select_sizes(connection.dialect, wanted))
        )
        try:
            now = state_limit.judge(key, event.state_delta, found, limits)
        except LookupError:
            if judged is None:  # a shared scope without its size row yet: made before the next try
                return TryAgain(*found.missing(wanted))
            now = judged  # the row it was judged against went with the failed transaction
        if judged is None or (now.user_version, now.app_version) != (judged.user_version, judged.app_version):
            return TRY_AGAIN
    # Revisions are never reused, so the one refused cannot have come back.
    raise RuntimeError(f"append to {key} was refused, yet the revision matches and the event is absent")
