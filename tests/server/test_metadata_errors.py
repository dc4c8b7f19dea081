"""Metadata's failures become their statuses, and the Python client raises what each one means."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2

from adk_grpc_sessions.client import ForkPointUnknownError, GrpcSessionService, SessionFilterError
from adk_grpc_sessions.client.errors import error_from_status
from adk_grpc_sessions.server.api.errors import status_for
from adk_grpc_sessions.server.api.session_filter import InvalidFilterError
from adk_grpc_sessions.server.backends.base import (
    NEVER,
    NO_METADATA,
    Expiry,
    ForkPointNotFoundError,
    Metadata,
    SessionKey,
    SessionRecord,
)
from adk_grpc_sessions.server.backends.base import (
    ForkPointUnknownError as BackendForkPointUnknownError,
)
from adk_grpc_sessions.server.backends.memory import MemoryBackend
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer

KEY = SessionKey("app", "u1", "s1")


def _details(status: status_pb2.Status) -> tuple[error_details_pb2.ErrorInfo, error_details_pb2.BadRequest]:
    info, bad_request = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    for detail in status.details:
        if not detail.Unpack(info):
            detail.Unpack(bad_request)
    return info, bad_request


def test_an_unknown_fork_point_is_failed_precondition_fork_point_unknown() -> None:
    status = status_for(BackendForkPointUnknownError(KEY))
    info, _ = _details(status)
    assert status.code == code_pb2.FAILED_PRECONDITION
    assert (info.reason, info.metadata["session_id"]) == ("FORK_POINT_UNKNOWN", "s1")
    assert isinstance(error_from_status(status), ForkPointUnknownError)


def test_a_missing_fork_invocation_is_invalid_argument_naming_before_invocation_id() -> None:
    status = status_for(ForkPointNotFoundError(KEY, "inv9"))
    _, bad_request = _details(status)
    assert status.code == code_pb2.INVALID_ARGUMENT
    assert [v.field for v in bad_request.field_violations] == ["before_invocation_id"]
    assert "inv9" in bad_request.field_violations[0].description
    error = error_from_status(status)
    assert type(error) is ValueError and str(error).startswith("before_invocation_id: ")


def test_a_bad_filter_is_invalid_argument_with_its_position_and_the_client_s_filter_error() -> None:
    status = status_for(InvalidFilterError(12, "unexpected 'OR'"))
    info, bad_request = _details(status)
    assert status.code == code_pb2.INVALID_ARGUMENT
    assert dict(info.metadata) == {"position": "12"}
    assert [v.field for v in bad_request.field_violations] == ["filter"]
    error = error_from_status(status)
    assert isinstance(error, SessionFilterError) and isinstance(error, ValueError)
    assert (error.position, str(error)) == (12, "filter: at column 12: unexpected 'OR'")


class _ImportedSessions(MemoryBackend):
    """A memory backend whose sessions' initial state is unknown, as an imported session's is in SQL."""

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
        if before_invocation_id:
            raise BackendForkPointUnknownError(source)
        return await super().fork_session(source, session_id, now, expiry=expiry, metadata=metadata)


@pytest.fixture
async def address() -> AsyncIterator[str]:
    server = SessionServer(
        ServerConfig(listen=["127.0.0.1:0"], backend="memory://", metrics_listen="127.0.0.1:0"),
        backend=_ImportedSessions(),
    )
    await server.start()
    try:
        yield f"127.0.0.1:{server.ports[0]}"
    finally:
        await server.stop(0)


async def test_a_fork_before_an_invocation_of_a_session_of_unknown_initial_state_is_refused_whole_works(
    address: str,
) -> None:
    async with GrpcSessionService(address) as client:
        await client.create_session(app_name="app", user_id="u1", session_id="s1")
        with pytest.raises(ForkPointUnknownError) as raised:
            await client.fork_session(
                app_name="app", user_id="u1", session_id="s1", before_invocation_id="i1"
            )
        assert raised.value.code == grpc.StatusCode.FAILED_PRECONDITION
        assert raised.value.reason == "FORK_POINT_UNKNOWN"
        whole = await client.fork_session(app_name="app", user_id="u1", session_id="s1")
        assert whole.forked_from is not None and whole.forked_from.session_id == "s1"
