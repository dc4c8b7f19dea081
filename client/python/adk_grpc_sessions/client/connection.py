"""``Connection``: the client's channel to the server, made per event loop, and every call made on it.

Every call goes through ``Connection.call`` (retried within the client's
time budget, see ``retry``), every append through ``Connection.append`` and
every create through ``Connection.create`` (the channel's write pipelines,
see ``write_pipeline``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from adk_grpc_sessions.client.append_stream import AppendStream
from adk_grpc_sessions.client.retry import CHANNEL_OPTIONS, Attempts, Retrying, RetryPolicy
from adk_grpc_sessions.client.targets import Target
from adk_grpc_sessions.client.write_pipeline import PipelineLimits, WritePipeline
from adk_grpc_sessions.client.write_routes import AppendRoute, Created, CreateRoute
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc


@dataclass(frozen=True, slots=True)
class _Channel:
    """A channel and what is made on it, all of one event loop."""

    loop: asyncio.AbstractEventLoop
    channel: grpc.aio.Channel
    stub: pb_grpc.SessionServiceAsyncStub
    appends: WritePipeline[pb.AppendEventRequest, pb.AppendEventResponse]
    creates: WritePipeline[pb.CreateSessionRequest, Created]


class Connection:
    """The channel to one server (see the module's docstring); no connection is made until the first call."""

    def __init__(
        self,
        target: Target,
        *,
        credentials: grpc.ChannelCredentials | None,
        metadata: Sequence[tuple[str, str]],
        channel_options: Sequence[tuple[str, Any]],
        timeout: float | None,
        retry_policy: RetryPolicy,
        pipeline_limits: PipelineLimits,
    ) -> None:
        """Connects to ``target``; see ``GrpcSessionService`` for the arguments."""
        self.address = target.address
        """The gRPC target string."""
        if credentials is None and target.tls:
            credentials = grpc.ssl_channel_credentials()
        self._credentials = credentials
        self._metadata = tuple(metadata)
        self._channel_options = [
            *channel_options,  # first: where an option is given twice, gRPC takes the first
            ("grpc.max_receive_message_length", -1),
            ("grpc.max_send_message_length", -1),
            *CHANNEL_OPTIONS,
        ]
        self._retrying = Retrying(timeout, retry_policy, self.connected)
        self._pipeline_limits = pipeline_limits
        self._current: _Channel | None = None

    def _made(self) -> _Channel:
        """The channel of the running event loop (made on first use).

        A ``grpc.aio`` channel belongs to the loop it was made on; ADK may build
        services before its loop starts, so the channel is made lazily, and made
        again if the service is used from another loop.
        """
        loop = asyncio.get_running_loop()
        current = self._current
        if current is None or current.loop is not loop:
            if self._credentials is None:
                channel = grpc.aio.insecure_channel(self.address, options=self._channel_options)
            else:
                channel = grpc.aio.secure_channel(
                    self.address, self._credentials, options=self._channel_options
                )
            stub = pb_grpc.SessionServiceStub(channel)
            limits = self._pipeline_limits
            stream = AppendStream(stub, self._metadata) if limits.stream else None
            appends = WritePipeline(
                AppendRoute(stub, self._metadata, stream), retrying=self._retrying, limits=limits
            )
            creates = WritePipeline(
                CreateRoute(stub, self._metadata, stream), retrying=self._retrying, limits=limits
            )
            current = self._current = _Channel(loop, channel, stub, appends, creates)
        return current

    @property
    def channel(self) -> grpc.aio.Channel | None:
        """The channel made last (None before the first call, or after ``close``)."""
        return None if self._current is None else self._current.channel

    def connected(self) -> bool:
        """Whether the channel has a connection to the server now (see ``retry``)."""
        channel = self.channel
        return channel is not None and channel.get_state() == grpc.ChannelConnectivity.READY

    def stub(self) -> pb_grpc.SessionServiceAsyncStub:
        """The stub on the channel of the running event loop, which every call goes through."""
        return self._made().stub

    async def call(self, method_name: str, request: Any) -> Any:
        """Calls the RPC ``method_name`` with ``request``, retried within the time budget.

        Raises:
            Exception: what ``errors`` makes of the failure that ended the call.
        """
        method = getattr(self.stub(), method_name)
        return await self._retrying.call(method, request, what=method_name, metadata=self._metadata)

    def attempts(self, what: str) -> Attempts:
        """The attempts of an operation named ``what`` starting now, within the client's time budget."""
        return self._retrying.start(what)

    def watch(self, request: pb.WatchSessionRequest, *, wait_for_ready: bool) -> Any:
        """Opens a ``WatchSession`` stream (no deadline: it stays open); the call, to read and cancel."""
        return self.stub().WatchSession(request, metadata=self._metadata, wait_for_ready=wait_for_ready)

    def watch_sessions(self, request: pb.WatchSessionsRequest, *, wait_for_ready: bool) -> Any:
        """Opens a ``WatchSessions`` stream (no deadline: it stays open); the call, to read and cancel."""
        return self.stub().WatchSessions(request, metadata=self._metadata, wait_for_ready=wait_for_ready)

    async def append(self, request: pb.AppendEventRequest) -> pb.AppendEventResponse:
        """Stores one append through the channel's append pipeline; raises what ``AppendEvent`` would."""
        return await self._made().appends.send(request)

    async def create(self, request: pb.CreateSessionRequest) -> Created:
        """Makes one create through the channel's create pipeline; raises what ``CreateSession`` would.

        A create that went in a batch whose response had no room for its
        session is answered by its id alone (``pb.CreatedSession``): it was created.
        """
        return await self._made().creates.send(request)

    async def close(self) -> None:
        """Closes the channel; calls made afterwards open a new one."""
        current, self._current = self._current, None
        if current is not None:
            await current.channel.close()
