"""The ``Backend`` calls Agent Engine cannot serve, each refused (UNSUPPORTED) with its reason.

Kept apart from ``VertexBackend`` so that the backend reads as what it does;
each refusal's message says why, and the package doc's differences (and
docs/backends.md) say the same to users.
"""

from __future__ import annotations

from typing import Final

from adk_grpc_sessions.server.backends.base import (
    NEVER,
    NO_METADATA,
    Backend,
    BackendRefusedError,
    Cursor,
    Expiry,
    Metadata,
    Page,
    PurgeBatch,
    Refusal,
    SessionKey,
    SessionRecord,
    StateMap,
)

_NO_SHARED_STATE: Final = (
    "Vertex AI Agent Engine keeps state per session only: app- and user-scoped state "
    "cannot be read on their own (as in ADK's VertexAiSessionService)"
)
NO_NEVER: Final = (
    "Vertex AI Agent Engine gives every session an expire_time: an expiry cannot be removed, only moved"
)
_NO_CLOSE: Final = (
    "Vertex AI Agent Engine has no closed sessions: CloseSession is not supported on it; see docs/backends.md"
)
_NO_NAMES: Final = (
    "Vertex AI Agent Engine cannot list the {} of a reasoning engine: its ListSessions has no distinct "
    "and no order by {}, and apps are told apart by a label that holds a digest of most names; see "
    "docs/backends.md"
)
_NO_ERASE: Final = (
    "Vertex AI Agent Engine cannot make all of a user's sessions invisible at once: EraseUser is not "
    "supported on it (delete the user's sessions one by one instead); see docs/backends.md"
)
_NO_PURGE: Final = (
    "Vertex AI Agent Engine deletes expired sessions itself, and its listings cannot select them by "
    "expiry: there is nothing for this server to purge"
)
_NO_FORK: Final = (
    "Vertex AI Agent Engine cannot copy a session: ForkSession is not supported on it (a copy made by "
    "this server would read and write every event through the API, neither atomic nor bounded); "
    "see docs/backends.md"
)


class UnsupportedOnAgentEngine(Backend):
    """The refusals of ``VertexBackend``: listing names, shared state, lifecycle calls, forks."""

    async def list_apps(
        self, page_size: int, after: Cursor | None, *, among: frozenset[str] | None = None
    ) -> Page[str]:
        """Refused (UNSUPPORTED): the API cannot list apps (difference 12).

        The ``adk_app`` label holds a digest of any name that is not a valid label
        value, so most names cannot even be read back, and listing them would read
        every session of the engine.
        """
        raise BackendRefusedError(
            Refusal.UNSUPPORTED, _NO_NAMES.format("apps", "label"), reason="NO_LIST_APPS"
        )

    async def list_users(self, app_name: str, page_size: int, after: Cursor | None) -> Page[str]:
        """Refused (UNSUPPORTED): the API orders sessions by time only, so users cannot be paged by name.

        Listing them would read every session of the app (difference 12).
        """
        raise BackendRefusedError(
            Refusal.UNSUPPORTED, _NO_NAMES.format("users", "user_id"), reason="NO_LIST_USERS"
        )

    async def get_user_state(self, app_name: str, user_id: str) -> StateMap:
        """Not possible on Vertex AI Agent Engine (see difference 1 in the package doc)."""
        raise BackendRefusedError(Refusal.UNSUPPORTED, _NO_SHARED_STATE, reason="NO_USER_STATE")

    async def get_app_state(self, app_name: str) -> StateMap:
        """Not possible on Vertex AI Agent Engine (see difference 1 in the package doc)."""
        raise BackendRefusedError(Refusal.UNSUPPORTED, _NO_SHARED_STATE, reason="NO_APP_STATE")

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
        """Refused (UNSUPPORTED): Agent Engine cannot copy a session's events itself (difference 10).

        A copy through this server would read every event and append each again:
        neither one transaction nor bounded in the work it does, which the
        contract's fork promises.
        """
        raise BackendRefusedError(Refusal.UNSUPPORTED, _NO_FORK, reason="NO_FORK")

    async def close_session(self, key: SessionKey, now: float, closed_ttl: float | None) -> SessionRecord:
        """Refused (UNSUPPORTED): Agent Engine has no closed sessions (difference 9)."""
        raise BackendRefusedError(Refusal.UNSUPPORTED, _NO_CLOSE, reason="NO_CLOSE")

    async def erase_user(self, app_name: str, user_id: str) -> None:
        """Refused (UNSUPPORTED): Agent Engine cannot hide a user's sessions at once (difference 9).

        Its expire_time cannot be set to now (at least 24 hours after creation)
        and it has no transactions, so deleting them one by one would show a
        half-erased user to readers meanwhile, which the contract forbids.
        """
        raise BackendRefusedError(Refusal.UNSUPPORTED, _NO_ERASE, reason="NO_ERASE_USER")

    async def purge_expired(
        self, limit: int, *, app_name: str | None = None, user_id: str | None = None
    ) -> PurgeBatch:
        """Refused (UNSUPPORTED): Agent Engine deletes what it expires itself (the sweeper then stops)."""
        raise BackendRefusedError(Refusal.UNSUPPORTED, _NO_PURGE, reason="NO_PURGE")

    async def count_expired(self) -> int:
        """Refused (UNSUPPORTED): its listings cannot select sessions by expiry, so no count is known."""
        raise BackendRefusedError(Refusal.UNSUPPORTED, _NO_PURGE, reason="NO_PURGE")

    async def list_expired(self, limit: int) -> list[SessionKey]:
        """Refused (UNSUPPORTED): see ``count_expired``."""
        raise BackendRefusedError(Refusal.UNSUPPORTED, _NO_PURGE, reason="NO_PURGE")

    async def restore_shared_state(self, app_name: str, user_id: str | None, state: StateMap) -> None:
        """Refused (UNSUPPORTED): app and user state live in each session here (``keeps_shared_state``)."""
        raise BackendRefusedError(Refusal.UNSUPPORTED, _NO_SHARED_STATE, reason="NO_RESTORE")
