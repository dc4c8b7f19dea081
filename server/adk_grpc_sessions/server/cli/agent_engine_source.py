"""The source of ``copy --from agentengine://...`` and ``export``: named apps' sessions, state read from them.

Agent Engine cannot list apps or users (docs/backends.md, difference 12), so
the apps are named (``--app``); each app's sessions are listed across every
user, oldest update first. It keeps no app or user state apart either
(difference 1): every session holds the ``app:`` and ``user:`` keys that
its own events set. The app's and user's state a copy writes are therefore
read from the sessions: for each key, its value in the most recently
updated session that holds it (each session's keys are yielded before the
session, and later ones are set over earlier ones, key by key). A session's
own state is its keys without those prefixes.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator, Sequence

from adk_grpc_sessions.server.backends.base import Backend, StateMap
from adk_grpc_sessions.server.backends.event_json import APP_PREFIX, USER_PREFIX
from adk_grpc_sessions.server.cli.transfer import BackendSource, Item, SessionCopy, SharedState, Totals


class AgentEngineSource(BackendSource):
    """Every session of ``apps`` in a backend that keeps app and user state in sessions."""

    def __init__(self, backend: Backend, apps: Sequence[str]) -> None:
        super().__init__(backend, apps)

    async def totals(self) -> Totals | None:
        """Unknown: Agent Engine keeps no event counts, and counting would read every event twice."""
        return None

    async def items(self) -> AsyncIterator[Item]:
        """See ``Source.items``: per session, its app's and user's keys if they changed, then the session."""
        for app_name in self.apps or ():
            app_digest = ""
            user_digests: dict[str, str] = {}
            async for key in self.session_keys(app_name, None):
                head = await self.backend.read_session_head(key)
                if head is None:  # deleted or expired since it was listed
                    continue
                app_state, user_state, own = _split(head.state)
                digest = _digest(app_state)
                if app_state and digest != app_digest:
                    app_digest = digest
                    yield SharedState(app_name, None, app_state)
                digest = _digest(user_state)
                if user_state and digest != user_digests.get(key.user_id):
                    user_digests[key.user_id] = digest
                    yield SharedState(app_name, key.user_id, user_state)
                yield SessionCopy(dataclasses.replace(head, state=own), self._events(key))


def _split(state: StateMap) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """A session's whole state as its app's keys, its user's and its own, prefixes removed."""
    app_state: dict[str, str] = {}
    user_state: dict[str, str] = {}
    own: dict[str, str] = {}
    for key, value in state.items():
        if key.startswith(APP_PREFIX):
            app_state[key.removeprefix(APP_PREFIX)] = value
        elif key.startswith(USER_PREFIX):
            user_state[key.removeprefix(USER_PREFIX)] = value
        else:
            own[key] = value
    return app_state, user_state, own


def _digest(state: StateMap) -> str:
    digest = hashlib.sha256()
    for key, value in sorted(state.items()):
        digest.update(f"{len(key)}:{key}{len(value)}:{value}".encode())
    return digest.hexdigest()
