"""A storage refusal becomes one canonical status, keeping the storage's own reason."""

from __future__ import annotations

import pytest
from google.rpc import code_pb2, error_details_pb2

from adk_grpc_sessions.server.api.errors import DOMAIN, status_for
from adk_grpc_sessions.server.backends.base import BackendRefusedError, Refusal


@pytest.mark.parametrize(
    ("refusal", "code", "reason"),
    [
        (Refusal.PERMISSION_DENIED, code_pb2.PERMISSION_DENIED, "BACKEND_PERMISSION_DENIED"),
        (Refusal.QUOTA_EXCEEDED, code_pb2.RESOURCE_EXHAUSTED, "BACKEND_QUOTA_EXCEEDED"),
        (Refusal.INVALID_INPUT, code_pb2.INVALID_ARGUMENT, "BACKEND_INVALID_INPUT"),
        (Refusal.FAILED_PRECONDITION, code_pb2.FAILED_PRECONDITION, "BACKEND_FAILED_PRECONDITION"),
        (Refusal.UNSUPPORTED, code_pb2.UNIMPLEMENTED, "NOT_SUPPORTED_BY_BACKEND"),
    ],
)
def test_each_refusal_has_its_code_and_reason(refusal: Refusal, code: int, reason: str) -> None:
    error = BackendRefusedError(refusal, "no", reason="QUOTA_X", domain="example.com")
    status = status_for(error)
    info = error_details_pb2.ErrorInfo()
    assert status.code == code
    assert status.message == "storage refused the call: no"
    assert status.details[0].Unpack(info)
    assert (info.reason, info.domain) == (reason, DOMAIN)
    assert dict(info.metadata) == {"backend_reason": "QUOTA_X", "backend_domain": "example.com"}


def test_a_refusal_without_a_storage_reason_has_no_metadata() -> None:
    info = error_details_pb2.ErrorInfo()
    assert status_for(BackendRefusedError(Refusal.UNSUPPORTED, "no")).details[0].Unpack(info)
    assert dict(info.metadata) == {}
