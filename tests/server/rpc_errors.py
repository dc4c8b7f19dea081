"""Reading the rich status (ErrorInfo, BadRequest) of a failed call, as any client would."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2
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
    status = rpc_status.from_call(error)
    reason, metadata, fields = "", {}, []
    for detail in status.details if status is not None else ():
        info, bad_request = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
        if detail.Unpack(info):
            reason, metadata = info.reason, dict(info.metadata)
            assert info.domain == "adk-grpc-sessions"
        elif detail.Unpack(bad_request):
            fields = [v.field for v in bad_request.field_violations]
    return RpcFailure(error.code(), error.details() or "", reason, metadata, fields)
