"""A backend wrapped to time each operation and count what it writes, for the server's metrics."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Sequence
from typing import Protocol, Self, TypeVar

from prometheus_client import Counter, Gauge, Histogram

from adk_grpc_sessions.server.backends.base import (
    ALL_SESSIONS,
    DEFAULT_BUDGET,
    DEFAULT_LIMITS,
    NEVER,
    NO_METADATA,
    AppendResult,
    Backend,
    Cursor,
    EventCacheStats,
    EventWindow,
    Expiry,
    Metadata,
    NewEvent,
    Page,
    PurgeBatch,
    ReadBudget,
    RestoredSession,
    ScopedState,
    SessionChanges,
    SessionKey,
    SessionQuery,
    SessionRecord,
    SessionUpdate,
    StateMap,
    StorageLimits,
    StoredEvent,
    WatchRead,
)

T = TypeVar("T")


class BackendMetrics(Protocol):
    """The metrics a wrapped backend feeds (the server's ``runtime.metrics.Metrics`` holds them)."""

    backend_seconds: Histogram
    sessions_created: Counter
    events_appended: Counter
    backend_up: Gauge


class InstrumentedBackend(Backend):
    """A backend wrapped to time each operation and count what it writes."""

    def __init__(self, inner: Backend, metrics: BackendMetrics) -> None:
        self._inner = inner
        self._metrics = metrics
        # How the servicer must talk to the inner backend.
        self.assigns_session_ids = inner.assigns_session_ids
        self.watchable = inner.watchable

    @functools.cached_property
    def changes(self) -> SessionChanges:
        """The inner backend's (see ``Backend.changes``)."""
        return self._inner.changes

    def clock(self) -> float:
        """The inner backend's clock (see ``Backend.clock``)."""
        return self._inner.clock()

    def event_cache_stats(self) -> EventCacheStats | None:
        """The inner backend's (see ``Backend.event_cache_stats``)."""
        return self._inner.event_cache_stats()

    @classmethod
    def from_uri(cls, uri: str) -> Self:
        """Not a storage backend of its own: wrap one instead."""
        raise TypeError("InstrumentedBackend wraps a backend; it is not built from a URI")

    async def _timed(self, operation: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            return await call
        finally:
            self._metrics.backend_seconds.labels(operation).observe(time.perf_counter() - started)

    async def upgrade_schema(self) -> str | None:
        """See ``Backend.upgrade_schema``."""
        return await self._inner.upgrade_schema()

    async def start(self) -> None:
        """See ``Backend.start``."""
        await self._inner.start()

    async def close(self) -> None:
        """See ``Backend.close``."""
        await self._inner.close()

    async def check(self) -> None:
        """See ``Backend.check``; also sets the backend_up gauge."""
        try:
            await self._timed("check", self._inner.check())
        except BaseException:
            self._metrics.backend_up.set(0)
            raise
        self._metrics.backend_up.set(1)

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
        """See ``Backend.create_session``."""
        record = await self._timed(
            "create_session",
            self._inner.create_session(key, state, now, expiry=expiry, metadata=metadata, limits=limits),
        )
        self._metrics.sessions_created.inc()
        return record

    async def get_session(
        self, key: SessionKey, window: EventWindow, *, budget: ReadBudget = DEFAULT_BUDGET
    ) -> SessionRecord | None:
        """See ``Backend.get_session``."""
        return await self._timed("get_session", self._inner.get_session(key, window, budget=budget))

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
        """See ``Backend.list_sessions``."""
        return await self._timed(
            "list_sessions",
            self._inner.list_sessions(app_name, user_id, page_size, after, query=query, budget=budget),
        )

    async def list_apps(
        self, page_size: int, after: Cursor | None, *, among: frozenset[str] | None = None
    ) -> Page[str]:
        """See ``Backend.list_apps``."""
        return await self._timed("list_apps", self._inner.list_apps(page_size, after, among=among))

    async def list_users(self, app_name: str, page_size: int, after: Cursor | None) -> Page[str]:
        """See ``Backend.list_users``."""
        return await self._timed("list_users", self._inner.list_users(app_name, page_size, after))

    async def delete_session(self, key: SessionKey) -> None:
        """See ``Backend.delete_session``."""
        await self._timed("delete_session", self._inner.delete_session(key))

    async def append_event(
        self,
        key: SessionKey,
        event: NewEvent,
        expected_revision: int,
        *,
        refresh_expiry: bool = False,
        limits: StorageLimits = DEFAULT_LIMITS,
    ) -> AppendResult:
        """See ``Backend.append_event``."""
        result = await self._timed(
            "append_event",
            self._inner.append_event(
                key, event, expected_revision, refresh_expiry=refresh_expiry, limits=limits
            ),
        )
        if not result.already_applied:
            self._metrics.events_appended.inc()
        return result

    async def list_events(
        self,
        key: SessionKey,
        after_timestamp: float | None,
        page_size: int,
        after: Cursor | None,
        *,
        budget: ReadBudget = DEFAULT_BUDGET,
    ) -> Page[StoredEvent]:
        """See ``Backend.list_events``."""
        return await self._timed(
            "list_events", self._inner.list_events(key, after_timestamp, page_size, after, budget=budget)
        )

    async def get_user_state(self, app_name: str, user_id: str) -> StateMap:
        """See ``Backend.get_user_state``."""
        return await self._timed("get_user_state", self._inner.get_user_state(app_name, user_id))

    async def get_app_state(self, app_name: str) -> StateMap:
        """See ``Backend.get_app_state``."""
        return await self._timed("get_app_state", self._inner.get_app_state(app_name))

    async def update_session(self, key: SessionKey, update: SessionUpdate) -> SessionRecord:
        """See ``Backend.update_session``."""
        return await self._timed("update_session", self._inner.update_session(key, update))

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
        """See ``Backend.fork_session``; a fork counts as a session created."""
        record = await self._timed(
            "fork_session",
            self._inner.fork_session(
                source,
                session_id,
                now,
                before_invocation_id=before_invocation_id,
                expiry=expiry,
                metadata=metadata,
            ),
        )
        self._metrics.sessions_created.inc()
        return record

    async def close_session(self, key: SessionKey, now: float, closed_ttl: float | None) -> SessionRecord:
        """See ``Backend.close_session``."""
        return await self._timed("close_session", self._inner.close_session(key, now, closed_ttl))

    async def erase_user(self, app_name: str, user_id: str) -> None:
        """See ``Backend.erase_user``."""
        await self._timed("erase_user", self._inner.erase_user(app_name, user_id))

    async def purge_expired(
        self, limit: int, *, app_name: str | None = None, user_id: str | None = None
    ) -> PurgeBatch:
        """See ``Backend.purge_expired``."""
        return await self._timed(
            "purge_expired", self._inner.purge_expired(limit, app_name=app_name, user_id=user_id)
        )

    async def follow_changes(self) -> None:
        """See ``Backend.follow_changes`` (not timed: it waits for a connection once)."""
        await self._inner.follow_changes()

    async def read_watched(self, key: SessionKey, after_revision: int, *, budget: ReadBudget) -> WatchRead:
        """See ``Backend.read_watched``."""
        return await self._timed("read_watched", self._inner.read_watched(key, after_revision, budget=budget))

    async def read_session_head(self, key: SessionKey) -> RestoredSession | None:
        """See ``Backend.read_session_head``."""
        return await self._inner.read_session_head(key)

    async def restore_session(self, session: RestoredSession, events: Sequence[NewEvent] = ()) -> None:
        """See ``Backend.restore_session``."""
        await self._inner.restore_session(session, events)

    async def restore_events(self, key: SessionKey, first_sequence: int, events: Sequence[NewEvent]) -> None:
        """See ``Backend.restore_events``."""
        await self._inner.restore_events(key, first_sequence, events)

    async def restore_shared_state(self, app_name: str, user_id: str | None, state: StateMap) -> None:
        """See ``Backend.restore_shared_state``."""
        await self._inner.restore_shared_state(app_name, user_id, state)

    async def count_expired(self) -> int:
        """See ``Backend.count_expired``."""
        return await self._timed("count_expired", self._inner.count_expired())

    async def list_expired(self, limit: int) -> list[SessionKey]:
        """See ``Backend.list_expired``."""
        return await self._timed("list_expired", self._inner.list_expired(limit))
