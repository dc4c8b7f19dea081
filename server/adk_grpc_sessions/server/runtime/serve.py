"""Runs the gRPC server: start, serve until a signal, drain with a grace period."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
from collections.abc import Callable
from typing import Any, Final

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from adk_grpc_sessions.server.api.calls import CallPolicy
from adk_grpc_sessions.server.api.lifecycle import Lifecycle
from adk_grpc_sessions.server.api.page_tokens import PageTokenKeys, PageTokens
from adk_grpc_sessions.server.api.service import SERVICE_NAME, SessionServicer, session_service_handler
from adk_grpc_sessions.server.backends import build_backend, redact_uri
from adk_grpc_sessions.server.backends.base import Backend, BackendError, StorageLimits
from adk_grpc_sessions.server.backends.instrumented import InstrumentedBackend
from adk_grpc_sessions.server.runtime.auth import TokenAuthorizer
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.health import HealthMonitor
from adk_grpc_sessions.server.runtime.metrics import Metrics
from adk_grpc_sessions.server.runtime.page_token_keys import configured_keys, default_keys
from adk_grpc_sessions.server.runtime.sweeper import Sweeper
from adk_grpc_sessions.server.runtime.tls import server_credentials
from adk_grpc_sessions.server.runtime.tracing import tracing_interceptor

_log = logging.getLogger(__name__)
_HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
GC_THRESHOLDS: Final = (20_000, 20, 50)
"""The collector's thresholds once serving (Python's defaults: 700, 10, 10)."""


def _channel_options(config: ServerConfig) -> list[tuple[str, Any]]:
    return [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        # No response is built larger (see the servicer's budgets): should one
        # ever be, gRPC fails that call rather than sending it.
        ("grpc.max_send_message_length", config.max_message_bytes),
        # A busy port must be an error, not a second silent listener.
        ("grpc.so_reuseport", 0),
        # gRPC core cancels calls beyond 1,000 waiting to be picked up; a
        # burst of agents must queue, not fail. One limit for both of core's:
        # up to it a call waits however long it must (past the soft limit core
        # would cancel calls for their age), beyond it a call is refused at once.
        ("grpc.server.max_pending_requests", config.max_pending_requests),
        ("grpc.server.max_pending_requests_hard_limit", config.max_pending_requests),
        # Find dead peers, and accept the keepalive pings common clients send
        # (every 10 s or more) instead of answering them with GOAWAY.
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", 5_000),
        ("grpc.http2.max_ping_strikes", 0),
    ]


def _claim_unix_socket(path: str) -> None:
    """Removes a socket file left by a server that is gone; refuses one a live server holds.

    Raises:
        RuntimeError: another process is serving on the socket.
    """
    if not os.path.exists(path):
        return
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)  # nobody answers: a leftover
            return
    raise RuntimeError(f"cannot listen on unix:{path}: another server is using it")


def _check_port_free(address: str) -> None:
    """Fails early, with a clear message, when a TCP address cannot be bound.

    gRPC would find out too, but report it through its own log lines in its
    own words; binding a plain socket first gives one clear sentence.

    Raises:
        RuntimeError: the address is in use or not available here.
    """
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    if not port.isdigit() or int(port) == 0:
        return  # a port chosen by the system, or something only gRPC understands
    try:
        infos = socket.getaddrinfo(host or None, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise RuntimeError(f"cannot listen on {address}: {exc.strerror}") from None
    for family, kind, proto, _, sockaddr in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(sockaddr)
            except OSError as exc:
                raise RuntimeError(f"cannot listen on {address}: {exc.strerror}") from None


class SessionServer:
    """One running server: listeners, servicer, backend, health, metrics, the sweeper."""

    def __init__(self, config: ServerConfig, backend: Backend | None = None) -> None:
        """Checks the configuration; nothing is bound or connected until ``start``.

        Args:
            config: the settings.
            backend: a backend to serve instead of the one ``config.backend`` names
                (for embedding the server in another program).

        Raises:
            ValueError: the configuration, backend URI, token grants or page-token keys are invalid.
        """
        config.check()
        self.config = config
        self.ports: list[int] = []
        """The bound TCP port of each ``config.listen`` address (0 for a Unix socket)."""
        self.metrics_port: int | None = None
        """The bound port of ``config.metrics_listen``, once serving (None without metrics)."""
        self.metrics = Metrics() if config.metrics_listen else None
        self._page_token_keys = configured_keys(config.page_token_key_file, config.page_token_key)
        # Without configured keys, a default that suits the storage (a key file
        # beside a SQLite database); a backend given in code gets a key of this
        # process, as no file is made on behalf of storage this server did not open.
        self._default_keys_for = None if backend is not None else config.backend
        backend = backend or build_backend(config.backend)
        backend.watch_poll_interval = config.watch_poll_interval
        backend.event_cache_bytes = config.event_cache_bytes
        self._backend = InstrumentedBackend(backend, self.metrics) if self.metrics else backend
        if self.metrics is not None:
            self.metrics.follow_event_cache(backend.event_cache_stats)
        self._authorizer = (
            TokenAuthorizer.watching(config.tokens_file, config.tokens) if config.has_tokens else None
        )
        self._server: grpc.aio.Server | None = None
        self._health: HealthMonitor | None = None
        self._servicer: SessionServicer | None = None
        self._sweeper: Sweeper | None = None
        self._sockets: list[str] = []
        self._cleanups: list[Callable[[], Any]] = []

    async def start(self) -> None:
        """Connects the backend, binds every address and starts serving.

        The gRPC server is built here, not in ``__init__``, because it belongs
        to the event loop it is made on.

        Raises:
            BackendError: the backend cannot be reached.
            RuntimeError: an address cannot be bound, the backend's schema is not current, or the
                page-token key file of a SQLite database is unusable.
            ValueError: TLS files or the metrics address are unusable.
        """
        # Before storage is touched (a schema created, a file made): a busy
        # port fails the start with nothing else done.
        for address in self.config.listen:
            if not address.startswith(("unix:", "unix-abstract:")):
                _check_port_free(address)
        try:
            if not self.config.no_migrate:
                await self._backend.upgrade_schema()
            await self._backend.start()
            page_token_keys = self._page_token_keys or default_keys(self._default_keys_for)
        except BaseException:
            await self._backend.close()
            raise
        try:
            await self._start_serving(page_token_keys)
        except BaseException:
            await self._shutdown(grace=0)
            raise
        # The bound addresses, not the configured ones: with port 0 the
        # system picks the port, and this line is how a supervisor learns it.
        listening = self.bound_addresses()
        metrics = None
        if self.metrics_port is not None and self.config.metrics_listen:
            metrics = f"{self.config.metrics_listen.rpartition(':')[0]}:{self.metrics_port}"
        _log.info(
            "serving on %s with backend %s%s%s%s",
            ", ".join(listening),
            redact_uri(self.config.backend),
            " (TLS)" if self.config.tls else "",
            " (tokens required)" if self._authorizer else "",
            f"; metrics on http://{metrics}/metrics" if metrics else "",
            extra={"listening": listening, "metrics_listening": metrics},
        )

    def bound_addresses(self) -> list[str]:
        """Each ``config.listen`` address as bound: a TCP port 0 replaced by the port the system chose."""
        bound = []
        for address, port in zip(self.config.listen, self.ports, strict=True):
            host, _, configured = address.rpartition(":")
            is_tcp = not address.startswith(("unix:", "unix-abstract:")) and configured.isdigit()
            bound.append(f"{host}:{port}" if is_tcp else address)
        return bound

    async def _start_serving(self, page_token_keys: PageTokenKeys) -> None:
        config = self.config
        interceptors = []
        request_span = None
        if config.otel_endpoint:
            interceptor, provider, request_span = tracing_interceptor(config.otel_endpoint)
            interceptors.append(interceptor)
            self._cleanups.append(provider.shutdown)
        self._server = server = grpc.aio.server(interceptors=interceptors, options=_channel_options(config))
        health_servicer = health.aio.HealthServicer()
        self._health = HealthMonitor(
            self._backend, health_servicer, ("", SERVICE_NAME), interval=config.health_interval
        )
        policy = CallPolicy(
            authorizer=self._authorizer,
            max_call_seconds=config.max_call_seconds,
            metrics=self.metrics,
            trouble=self._health,
        )
        servicer = SessionServicer(
            self._backend,
            max_page_size=config.max_page_size,
            max_message_bytes=config.max_message_bytes,
            limits=StorageLimits(config.max_state_bytes, config.max_session_bytes),
            page_tokens=PageTokens(page_token_keys),
            policy=policy,
            lifecycle=Lifecycle(
                session_ttl=config.session_ttl,
                refresh_on_append=config.session_ttl_refresh_on_append,
                closed_session_ttl=config.closed_session_ttl,
                purge_batch_size=config.purge_batch_size,
            ),
            watch_buffer_bytes=config.watch_buffer_bytes,
            watch_delivery_share=config.watch_delivery_share,
            watch_sessions_pending=config.watch_sessions_pending,
            request_span=request_span,
        )
        self._servicer = servicer
        server.add_generic_rpc_handlers((session_service_handler(servicer),))
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        if config.reflection:
            reflection.enable_server_reflection(
                (SERVICE_NAME, _HEALTH_SERVICE, reflection.SERVICE_NAME), server
            )
        for address in config.listen:
            # One credentials object per address: gRPC refuses to add a second port with
            # dynamic (reloading) credentials already used for one.
            credentials = server_credentials(config.tls) if config.tls else None
            self.ports.append(self._bind(server, address, credentials))
        if self.metrics is not None and config.metrics_listen:
            stop_metrics, self.metrics_port = self.metrics.serve(config.metrics_listen)
            self._cleanups.append(stop_metrics)
        await server.start()
        await self._health.start()
        self._sweeper = Sweeper(
            self._backend,
            interval=config.purge_interval,
            batch_size=config.purge_batch_size,
            metrics=self.metrics,
        )
        self._sweeper.start()

    def _bind(self, server: grpc.aio.Server, address: str, credentials: grpc.ServerCredentials | None) -> int:
        if address.startswith("unix:"):
            path = address.removeprefix("unix:").removeprefix("//")
            _claim_unix_socket(path)
            # Created with the right mode from the start, not chmod-ed after.
            previous = os.umask(0o777 & ~self.config.socket_mode)
            try:
                port = server.add_insecure_port(address)
            finally:
                os.umask(previous)
            self._sockets.append(path)
            return port
        _check_port_free(address)
        try:
            if credentials is not None:
                return server.add_secure_port(address, credentials)
            return server.add_insecure_port(address)
        except RuntimeError as exc:
            raise RuntimeError(f"cannot listen on {address}: {exc}") from None

    async def stop(self, grace: float | None = None) -> None:
        """Drains: NOT_SERVING, new calls refused, in-flight calls finish within ``grace`` seconds."""
        await self._shutdown(self.config.grace_seconds if grace is None else grace)

    async def _shutdown(self, grace: float) -> None:
        if self._sweeper is not None:
            await self._sweeper.stop()
        if self._health is not None:
            await self._health.drain()
        if self._servicer is not None:
            # Streams would otherwise hold the server for the whole grace period.
            self._servicer.drain()
        if self._server is not None:
            await self._server.stop(grace)
        for cleanup in reversed(self._cleanups):
            # Flushing spans or stopping the metrics thread blocks: keep the loop free.
            await asyncio.to_thread(cleanup)
        self._cleanups.clear()
        for path in self._sockets:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        self._sockets.clear()
        await self._backend.close()


async def serve(config: ServerConfig) -> None:
    """Serves until SIGTERM or SIGINT, then drains for ``config.grace_seconds``.

    Raises:
        BackendError, RuntimeError, ValueError: the server could not start.
    """
    server = SessionServer(config)
    await server.start()
    _settle_garbage_collector()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    _log.info("draining: in-flight calls have %.1f s to finish", config.grace_seconds)
    await server.stop()
    _log.info("stopped")


def _settle_garbage_collector() -> None:
    """Keeps what start-up built out of later collections, and collects less often.

    After start-up the process holds a large, permanent heap (modules,
    protobuf descriptors, SQLAlchemy's metadata, gRPC's objects) that every
    full collection would traverse again; ``gc.freeze`` sets it aside for
    good. A call's own garbage is mostly freed by reference counting, so the
    youngest generation can wait for 20,000 allocations instead of 700:
    less CPU per append, and a shorter tail latency (docs/performance.md).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run(config: ServerConfig) -> None:
    """Runs ``serve(config)`` to the end on the configured event loop.

    uvloop, where installed, serves more calls per second than asyncio's own
    loop on the same hardware (gRPC's own callbacks run on it).

    Raises:
        ValueError: uvloop was asked for and is not installed; or as ``serve``.
    """
    if config.event_loop in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if config.event_loop == "uvloop":
                raise ValueError("--event-loop uvloop: uvloop is not installed") from None
        else:
            uvloop.run(serve(config))
            return
    asyncio.run(serve(config))


__all__ = ["BackendError", "SessionServer", "run", "serve"]
