"""The session lifecycle's requests: the server's settings, UpdateSession's field mask, erasing a user.

The servicer's lifecycle RPCs adapt these, as its appends adapt ``append``:
what a field mask may name and how an erase spends its call's time are
decided here, once; expiry itself is the backend's (``Backend.clock``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Final

from adk_grpc_sessions.server.api import validation
from adk_grpc_sessions.server.backends.base import (
    NEVER,
    Backend,
    EventWindow,
    Expiry,
    SessionNotFoundError,
    SessionRecord,
    SessionUpdate,
)
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError
from adk_grpc_sessions.v1 import session_service_pb2 as pb

_EXPIRY_PATHS: Final = ("expire_time", "ttl")
_UPDATABLE_PATHS: Final = (*_EXPIRY_PATHS, "display_name", "labels")
"""UpdateSession's field mask paths."""
_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """The server's lifecycle settings (see the proto's "Lifecycle"; flags of the same names)."""

    session_ttl: float | None = None
    """Seconds a session created without an expiry lives (its ttl); None: it never expires."""
    refresh_on_append: bool = False
    """Each stored append moves a session's expiry to now plus its ttl."""
    closed_session_ttl: float | None = None
    """Seconds a closed session lives on after its close at most; None: as before its close."""
    purge_batch_size: int = 100
    """Sessions one purge transaction deletes at most (EraseUser's steps, the sweeper's batches)."""


async def update_session(backend: Backend, request: pb.UpdateSessionRequest) -> SessionRecord:
    """Applies an UpdateSession request: the session as it is afterwards, with state and no events.

    Raises:
        InvalidArgumentError: the mask names a path that is unknown or not updatable, both expiry
            paths, or a value the path's rules refuse.
        SessionNotFoundError: no such session (or it has expired).
    """
    session = request.session
    key = validation.session_key(session, "session.")
    paths = set(request.update_mask.paths)
    for path in paths:
        if path not in _UPDATABLE_PATHS:
            raise InvalidArgumentError.single(
                "update_mask", f"{path!r} cannot be updated; updatable: {', '.join(_UPDATABLE_PATHS)}"
            )
    if len(paths & set(_EXPIRY_PATHS)) > 1:
        raise InvalidArgumentError.single("update_mask", "name at most one of 'expire_time' and 'ttl'")
    if not paths:
        # AIP-134: an empty mask updates what the request sets.
        which = session.WhichOneof("expiration")
        paths = {which} if which is not None else set()
        if session.display_name:
            paths.add("display_name")
        if session.labels:
            paths.add("labels")
    if not paths:
        record = await backend.get_session(key, EventWindow(num_recent_events=0))
        if record is None:
            raise SessionNotFoundError(key)
        return record
    update = SessionUpdate(
        expiry=_expiry_update(backend, session, paths),
        display_name=(
            validation.display_name("session.display_name", session.display_name)
            if "display_name" in paths
            else None
        ),
        labels=validation.labels("session.labels", session.labels) if "labels" in paths else None,
    )
    return await backend.update_session(key, update)


def _expiry_update(backend: Backend, session: pb.Session, paths: set[str]) -> Expiry | None:
    """The expiry an update sets: None if the mask names none; a named field left unset clears it."""
    named = paths & set(_EXPIRY_PATHS)
    if not named:
        return None
    if session.WhichOneof("expiration") in named:
        return validation.expiry(session, "session.", backend.clock(), None)
    return NEVER


async def erase_user(
    backend: Backend, app_name: str, user_id: str, *, batch_size: int, seconds: float
) -> int:
    """Erases one user: invisible at once, then deleted in batches for at most about ``seconds``.

    The backend's ``erase_user`` makes the whole user invisible in one
    transaction; the batches after it are the sweeper's own purge,
    restricted to the user, so what this call leaves (its time ran short,
    the server stopped) the sweeper deletes, and a repeated call too.
    Returns how many sessions this call deleted.
    """
    await backend.erase_user(app_name, user_id)
    stop_at = time.monotonic() + seconds
    deleted = 0
    while True:
        batch = await backend.purge_expired(batch_size, app_name=app_name, user_id=user_id)
        deleted += len(batch.purged)
        if batch.done or time.monotonic() >= stop_at:
            break
    finished = batch.done
    # An audit line: who was erased and how much, never what they had stored.
    _log.info(
        "erased user %r of app %r: %d sessions deleted%s",
        user_id,
        app_name,
        deleted,
        "" if finished else "; the rest are invisible and left to the sweeper",
        extra={"app_name": app_name, "user_id": user_id, "sessions_deleted": deleted, "finished": finished},
    )
    return deleted
