"""Prometheus metrics: the one registry of everything the server counts, and its ``/metrics`` endpoint.

Calls by method and code, latencies, appends inside batches and streams by
their own codes, backend latency, writes, the sweeper's purges. The calls are counted where they
are served (``api``), the backend's work by ``backends.instrumented``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from adk_grpc_sessions.server.backends.base import EventCacheStats

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
        self.batched_creates = Counter(
            "adk_grpc_sessions_batched_creates",
            "Creates served inside BatchCreateSessions calls, by their own status code.",
            ["code"],
            registry=self.registry,
        )
        self.streamed_creates = Counter(
            "adk_grpc_sessions_streamed_creates",
            "Creates served on AppendEventStream streams, by their own status code.",
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
        self.watchers = Gauge(
            "adk_grpc_sessions_watchers",
            "WatchSession streams open on this server.",
            registry=self.registry,
        )
        self.watched_events = Counter(
            "adk_grpc_sessions_watched_events",
            "Events delivered to watchers (an event delivered to N watchers counts N times).",
            registry=self.registry,
        )

        self.sessions_purged = Counter(
            "adk_grpc_sessions_sessions_purged",
            "Expired sessions the sweeper deleted from storage (with their events and session state).",
            registry=self.registry,
        )
        self.events_purged = Counter(
            "adk_grpc_sessions_events_purged",
            "Events the sweeper deleted (of whole sessions, and of sessions too large for one batch).",
            registry=self.registry,
        )
        self.purge_backlog = Gauge(
            "adk_grpc_sessions_purge_backlog",
            "Expired sessions waiting to be purged, as of the sweeper's last run.",
            registry=self.registry,
        )
        self.purge_last_run = Gauge(
            "adk_grpc_sessions_purge_last_run_timestamp_seconds",
            "When the sweeper's last run ended (Unix time).",
            registry=self.registry,
        )

    def follow_event_cache(self, stats: Callable[[], EventCacheStats | None]) -> None:
        """Exports the backend's cache of stored events (``Backend.event_cache_stats``), read when scraped."""
        self.registry.register(_EventCacheCollector(stats))

    def count_call(self, method: str, code: str, seconds: float) -> None:
        """Counts one finished call of ``method`` by its status code, and times it."""
        self.rpcs.labels(method, code).inc()
        self.rpc_seconds.labels(method).observe(seconds)

    def count_append(self, via: str, code: str, seconds: float) -> None:
        """Counts one append by its own status code, as the call it came in (``via``) is counted.

        A lone ``AppendEvent`` is a call like any other; an append of a batch is
        counted by its code only (the batch is timed as a call); an append of a
        stream by its code and its time (a stream's duration says nothing).
        """
        if via == "BatchAppendEvents":
            self.batched_appends.labels(code).inc()
        elif via == "AppendEventStream":
            self.streamed_appends.labels(code).inc()
            self.rpc_seconds.labels(via).observe(seconds)
        else:
            self.count_call(via, code, seconds)

    def count_create(self, via: str, code: str, seconds: float) -> None:
        """Counts one create of a batch or a stream (``via``) by its own code, as ``count_append`` does.

        A create of a batch is counted by its code only (the batch is timed as
        a call); a create of a stream by its code and its time.
        """
        if via == "BatchCreateSessions":
            self.batched_creates.labels(code).inc()
        else:
            self.streamed_creates.labels(code).inc()
            self.rpc_seconds.labels(via).observe(seconds)

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


class _EventCacheCollector(Collector):
    """The event cache's figures, read from the backend when scraped (none where it keeps none)."""

    def __init__(self, stats: Callable[[], EventCacheStats | None]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        """The bytes kept, and the events reads took from memory and from storage."""
        stats = self._stats()
        if stats is None:
            return
        yield GaugeMetricFamily(
            "adk_grpc_sessions_event_cache_bytes",
            "What the stored events a SQLite server keeps in memory take (--event-cache-bytes bounds it).",
            value=stats.kept_bytes,
        )
        events = CounterMetricFamily(
            "adk_grpc_sessions_event_cache_events",
            "Events reads returned, by where they came from: memory (kept) or database (fetched).",
            labels=["source"],
        )
        events.add_metric(["memory"], stats.served)
        events.add_metric(["database"], stats.fetched)
        yield events
