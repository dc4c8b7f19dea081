"""The contract's checks that Agent Engine does not make itself, made before a write is sent.

Agent Engine accepts any state size and rejects session ids and deep values
with errors that name none of the contract's limits; these checks refuse
such input first, as the contract's own errors, so nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from adk_grpc_sessions.server.backends.base import (
    BackendRefusedError,
    Refusal,
    ScopedState,
    StateSizeLimitError,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.vertex import mapping
from adk_grpc_sessions.wire import limits as wire_limits

_Data = TypeVar("_Data")
_Message = TypeVar("_Message")


def check_session_id(session_id: str) -> None:
    """Refuses a chosen session id that Agent Engine would not accept (difference 2).

    Raises:
        BackendRefusedError: INVALID_INPUT, reason ``INVALID_SESSION_ID``.
    """
    if not mapping.is_session_id(session_id):
        raise BackendRefusedError(
            Refusal.INVALID_INPUT,
            f"session_id {session_id!r} is not an Agent Engine session id: up to 63 of "
            "[a-z0-9-], starting with a letter, not ending with '-'",
            reason="INVALID_SESSION_ID",
        )


def state_size(state: ScopedState) -> int:
    """The bytes the contract counts for a session's state, every scope together."""
    return sum(map(wire_limits.state_bytes, (state.app, state.user, state.session)))


def check_state_sizes(state: ScopedState, limits: StorageLimits) -> None:
    """Refuses an initial state with a scope larger than ``limits.max_state_bytes``.

    Raises:
        StateSizeLimitError: naming the scope.
    """
    for scope, values in (("session", state.session), ("user", state.user), ("app", state.app)):
        size = wire_limits.state_bytes(values)
        if size > limits.max_state_bytes:
            raise StateSizeLimitError(scope, limits.max_state_bytes, size)


def check_state_growth(current: ScopedState, delta: ScopedState, limits: StorageLimits) -> None:
    """Refuses a delta that would grow a scope of the session's state past ``limits.max_state_bytes``.

    Raises:
        StateSizeLimitError: naming the scope.
    """
    for scope, held, changes in (
        ("session", current.session, delta.session),
        ("user", current.user, delta.user),
        ("app", current.app, delta.app),
    ):
        if not changes:
            continue
        growth = sum(
            wire_limits.state_entry_bytes(k, v)
            - (wire_limits.state_entry_bytes(k, held[k]) if k in held else 0)
            for k, v in changes.items()
        )
        size = wire_limits.state_bytes(held) + growth
        if growth > 0 and size > limits.max_state_bytes:
            raise StateSizeLimitError(scope, limits.max_state_bytes, size)


def stored(build: Callable[[_Data], _Message], data: _Data) -> _Message:
    """The message ``build`` makes of ``data``; a value Vertex cannot hold is refused as the storage's rule.

    Raises:
        BackendRefusedError: ``data`` nests deeper than Vertex's Struct storage holds.
    """
    try:
        return build(data)
    except mapping.TooDeepForStructError as exc:
        raise BackendRefusedError(Refusal.INVALID_INPUT, str(exc), reason="NESTING_TOO_DEEP") from None
