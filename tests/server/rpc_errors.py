"""Reading the rich status (ErrorInfo, BadRequest) of a failed call, as any client would."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status


@dataclass
class RpcFailure:
    """What a failed call reported."""

    code: grpc.StatusCode
    message: str
    reason: str
    metadata: dict[str, str]
    fields: list[str]


def failure_of(error: grpc.aio.AioRpcError) -> RpcFailure:
    """The code, ErrorInfo and BadRequest field paths of a failed call."""
    return _failure(error.code(), error.details() or "", rpc_status.from_call(error))


def failure_in(status: status_pb2.Status) -> RpcFailure:
    """The same for a failure reported as a status (one append of a batch)."""
    code = next(c for c in grpc.StatusCode if c.value[0] == status.code)
    return _failure(code, status.message, status)


def _failure(code: grpc.StatusCode, message: str, status: status_pb2.Status | None) -> RpcFailure:
    reason, metadata, fields = "", {}, []
    for detail in status.details if status is not None else ():
        info, bad_request = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
        if detail.Unpack(info):
            reason, metadata = info.reason, dict(info.metadata)
            assert info.domain == "adk-grpc-sessions"
        elif detail.Unpack(bad_request):
            fields = [v.field for v in bad_request.field_violations]
    return RpcFailure(code, message, reason, metadata, fields)
