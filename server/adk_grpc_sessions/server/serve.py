"""Runs the gRPC server: start, serve until a signal, stop with a grace period."""

from __future__ import annotations

import asyncio
import logging
import signal

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from adk_grpc_sessions.server.backends import build_backend, redact_uri
from adk_grpc_sessions.server.config import ServerConfig
from adk_grpc_sessions.server.servicer import SERVICE_NAME, SessionServicer, session_service_handler

_log = logging.getLogger(__name__)
_HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name


class SessionServer:
    """One running server: the gRPC listener, its backend and its health status."""

    def __init__(self, config: ServerConfig) -> None:
        """Checks the configuration; nothing is bound or connected until ``start``.

        Raises:
            ValueError: the backend URI is invalid.
        """
        self.config = config
        self.ports: list[int] = []
        """The bound TCP port of each ``config.listen`` address (0 for a Unix socket)."""
        self._backend = build_backend(config.backend)
        self._server: grpc.aio.Server | None = None
        self._health: health.aio.HealthServicer | None = None

    async def start(self) -> None:
        """Connects the backend, binds every address and starts serving.

        The gRPC server is built here, not in ``__init__``, because it belongs
        to the event loop it is made on.

        Raises:
            RuntimeError: an address cannot be bound.
        """
        await self._backend.start()
        try:
            self._server = server = grpc.aio.server(
                options=[
                    ("grpc.max_receive_message_length", self.config.max_message_bytes),
                    ("grpc.max_send_message_length", -1),
                    # A busy port must be an error, not a second silent listener.
                    ("grpc.so_reuseport", 0),
                    # gRPC core cancels calls beyond 1,000 waiting to be
                    # picked up; a burst of agents must queue, not fail.
                    ("grpc.server.max_pending_requests", self.config.max_pending_requests),
                    ("grpc.server.max_pending_requests_hard_limit", 2 * self.config.max_pending_requests),
                ]
            )
            server.add_generic_rpc_handlers((session_service_handler(SessionServicer(self._backend)),))
            self._health = health.aio.HealthServicer()
            health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
            if self.config.reflection:
                reflection.enable_server_reflection(
                    (SERVICE_NAME, _HEALTH_SERVICE, reflection.SERVICE_NAME), server
                )
            for address in self.config.listen:
                try:
                    self.ports.append(server.add_insecure_port(address))
                except RuntimeError as exc:
                    raise RuntimeError(f"cannot listen on {address}: {exc}") from None
            await server.start()
        except BaseException:
            await self._backend.close()
            raise
        for service in ("", SERVICE_NAME):
            await self._health.set(service, health_pb2.HealthCheckResponse.SERVING)
        _log.info(
            "serving on %s with backend %s", ", ".join(self.config.listen), redact_uri(self.config.backend)
        )

    async def stop(self, grace: float | None = None) -> None:
        """Reports NOT_SERVING, lets in-flight calls finish within ``grace`` seconds, closes the backend."""
        if self._server is None or self._health is None:
            return
        await self._health.enter_graceful_shutdown()
        await self._server.stop(self.config.grace_seconds if grace is None else grace)
        await self._backend.close()


async def serve(config: ServerConfig) -> None:
    """Serves until SIGTERM or SIGINT, then drains for ``config.grace_seconds``."""
    server = SessionServer(config)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    _log.info("stopping: in-flight calls have %.1f s to finish", config.grace_seconds)
    await server.stop()
