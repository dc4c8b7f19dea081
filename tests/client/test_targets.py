"""Every way of naming the server resolves to the right gRPC target."""

from __future__ import annotations

import pytest

from adk_grpc_sessions.client.targets import Target, parse_target


@pytest.mark.parametrize(
    ("target", "uri", "expected"),
    [
        ("localhost:50051", None, Target("localhost:50051")),
        ("  10.0.0.1:7000 ", None, Target("10.0.0.1:7000")),
        ("unix:/run/sessions.sock", None, Target("unix:/run/sessions.sock")),
        ("dns:///sessions.internal:443", None, Target("dns:///sessions.internal:443")),
        (None, "grpc://sessions:9000", Target("sessions:9000")),
        (None, "grpc://sessions", Target("sessions:50051")),
        (None, "grpcs://sessions.example.com", Target("sessions.example.com:443", tls=True)),
        (None, "grpcs://sessions.example.com:8443/", Target("sessions.example.com:8443", tls=True)),
        (None, "grpc://[::1]:9000", Target("[::1]:9000")),
        (None, "unix:///run/sessions.sock", Target("unix:///run/sessions.sock")),
        ("grpc://h:1", None, Target("h:1")),
    ],
)
def test_targets_and_uris_resolve(target: str | None, uri: str | None, expected: Target) -> None:
    assert parse_target(target, uri) == expected


@pytest.mark.parametrize(
    ("target", "uri", "message"),
    [
        (None, None, "exactly one"),
        ("h:1", "grpc://h:1", "exactly one"),
        ("", None, "empty"),
        (None, "http://h:1", "grpc://"),
        (None, "grpc://", "no host"),
        (None, "grpc://h:1/path", r"HOST\[:PORT\]"),
        (None, "grpc://h:1?x=1", r"HOST\[:PORT\]"),
    ],
)
def test_bad_addresses_are_rejected(target: str | None, uri: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_target(target, uri)
