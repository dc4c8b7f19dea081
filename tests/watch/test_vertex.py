"""WatchSession and WatchSessions on Agent Engine: refused, as documented (docs/backends.md)."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.watch.conftest import Serve, watching, watching_sessions

BACKENDS_HERE = ("vertex",)


async def test_agent_engine_cannot_be_watched_unimplemented_not_supported_by_backend(serve: Serve) -> None:
    async with serve() as running, watching(running.address, "any") as watch:
        await watch.finished()
        assert watch.error is not None and watch.error.code() == grpc.StatusCode.UNIMPLEMENTED
        status = rpc_status.from_call(watch.error)
        assert status is not None
        info = error_details_pb2.ErrorInfo()
        assert status.details[0].Unpack(info) and info.reason == "NOT_SUPPORTED_BY_BACKEND"


async def test_agent_engine_users_cannot_be_watched_unimplemented_not_supported_by_backend(
    serve: Serve,
) -> None:
    async with serve() as running, watching_sessions(running.address) as watch:
        await watch.wait(lambda w: False)
        assert watch.error is not None and watch.error.code() == grpc.StatusCode.UNIMPLEMENTED
        status = rpc_status.from_call(watch.error)
        assert status is not None
        info = error_details_pb2.ErrorInfo()
        assert status.details[0].Unpack(info) and info.reason == "NOT_SUPPORTED_BY_BACKEND"
