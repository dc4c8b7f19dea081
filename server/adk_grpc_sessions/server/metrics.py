"""Prometheus metrics: calls by method and code, latencies, backend latency, writes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Self, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from adk_grpc_sessions.server.backends.base import (
    DEFAULT_BUDGET,
    DEFAULT_LIMITS,
    AppendResult,
    Backend,
    EventCursor,
    EventWindow,
    NewEvent,
    Page,
    ReadBudget,
    ScopedState,
    SessionCursor,
    SessionKey,
    SessionRecord,
    StateMap,
    StorageLimits,
    StoredEvent,
)

T = TypeVar("T")
# From 0.5 ms (an in-memory read) to 10 s (a call waiting on a slow database).
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Every metric the server exports, in one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.rpcs = Counter(
            "adk_grpc_sessions_rpcs",
            "RPCs finished, by method and status code.",
            ["method", "code"],
            registry=self.registry,
        )
        self.rpc_seconds = Histogram(
            "adk_grpc_sessions_rpc_duration_seconds",
            "Time from receiving an RPC to answering it, by method.",
            ["method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batched_appends = Counter(
            "adk_grpc_sessions_batched_appends",
            "Appends served inside BatchAppendEvents calls, by their own status code.",
            ["code"],
            registry=self.registry,
        )
        self.streamed_appends = Counter(
            "adk_grpc_sessions_streamed_appends",
            "Appends served on AppendEventStream streams, by their own status code "
            "(each is also timed as method AppendEventStream).",
            ["code"],
            registry=self.registry,
        )
        self.backend_seconds = Histogram(
            "adk_grpc_sessions_backend_duration_seconds",
            "Time spent in the storage backend, by operation.",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.sessions_created = Counter(
            "adk_grpc_sessions_sessions_created", "Sessions created.", registry=self.registry
        )
        self.events_appended = Counter(
            "adk_grpc_sessions_events_appended",
            "Events stored (retries of stored events not counted).",
            registry=self.registry,
        )
        self.backend_up = Gauge(
            "adk_grpc_sessions_backend_up",
            "1 while the backend answers health checks.",
            registry=self.registry,
        )

    def serve(self, address: str) -> tuple[Callable[[], None], int]:
        """Serves ``/metrics`` over HTTP on ``HOST:PORT`` (port 0: one the system picks).

        Returns:
            A function that stops serving, and the bound port.

        Raises:
            ValueError: the address is malformed or cannot be bound.
        """
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"metrics address must be HOST:PORT, got {address!r}")
        try:
            server, thread = start_http_server(int(port), addr=host.strip("[]"), registry=self.registry)
        except OSError as exc:
            raise ValueError(f"cannot serve metrics on {address}: {exc.strerror}") from None

        def stop() -> None:
            server.shutdown()
            thread.join(timeout=5)

        return stop, int(server.server_port)


class InstrumentedBackend(Backend):
    """A backend wrapped to time each operation and count what it writes."""

    def __init__(self, inner: Backend, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics
        # How the servicer must talk to the inner backend.
        self.assigns_session_ids = inner.assigns_session_ids
        self.pages_by_token = inner.pages_by_token

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
        self, key: SessionKey, state: ScopedState, now: float, *, limits: StorageLimits = DEFAULT_LIMITS
    ) -> SessionRecord:
        """See ``Backend.create_session``."""
        record = await self._timed(
            "create_session", self._inner.create_session(key, state, now, limits=limits)
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
        after: SessionCursor | None,
        *,
        budget: ReadBudget = DEFAULT_BUDGET,
    ) -> Page[SessionRecord, SessionCursor]:
        """See ``Backend.list_sessions``."""
        return await self._timed(
            "list_sessions", self._inner.list_sessions(app_name, user_id, page_size, after, budget=budget)
        )

    async def delete_session(self, key: SessionKey) -> None:
        """See ``Backend.delete_session``."""
        await self._timed("delete_session", self._inner.delete_session(key))

    async def append_event(
        self,
        key: SessionKey,
        event: NewEvent,
        expected_revision: int,
        *,
        limits: StorageLimits = DEFAULT_LIMITS,
    ) -> AppendResult:
        """See ``Backend.append_event``."""
        result = await self._timed(
            "append_event", self._inner.append_event(key, event, expected_revision, limits=limits)
        )
        if not result.already_applied:
            self._metrics.events_appended.inc()
        return result

    async def list_events(
        self,
        key: SessionKey,
        after_timestamp: float | None,
        page_size: int,
        after: EventCursor | None,
        *,
        budget: ReadBudget = DEFAULT_BUDGET,
    ) -> Page[StoredEvent, EventCursor]:
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
