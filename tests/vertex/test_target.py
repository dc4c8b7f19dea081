"""agentengine:// URIs: ADK's forms, the endpoint override, and what is refused."""

from __future__ import annotations

import pytest

from adk_grpc_sessions.server.backends import backend_class, build_backend
from adk_grpc_sessions.server.backends.vertex import VertexBackend
from adk_grpc_sessions.server.backends.vertex.target import parse_target

FULL = "agentengine://projects/my-proj/locations/europe-west4/reasoningEngines/123"


def test_full_resource_name_names_project_location_and_engine() -> None:
    target = parse_target(FULL)
    assert (target.project, target.location, target.engine_id) == ("my-proj", "europe-west4", "123")
    assert target.engine_name == "projects/my-proj/locations/europe-west4/reasoningEngines/123"
    assert target.endpoint == "europe-west4-aiplatform.googleapis.com:443"
    assert not target.plaintext
    assert (target.timeout, target.operation_timeout) == (30.0, 60.0)


def test_short_form_takes_project_and_location_from_the_environment() -> None:
    target = parse_target(
        "agentengine://456", {"GOOGLE_CLOUD_PROJECT": "p", "GOOGLE_CLOUD_LOCATION": "us-central1"}
    )
    assert target.engine_name == "projects/p/locations/us-central1/reasoningEngines/456"


def test_short_form_without_the_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="GOOGLE_CLOUD_PROJECT"):
        parse_target("agentengine://456", {"GOOGLE_CLOUD_PROJECT": "p"})


def test_global_location_uses_the_global_endpoint() -> None:
    target = parse_target("agentengine://projects/p/locations/global/reasoningEngines/1")
    assert target.endpoint == "aiplatform.googleapis.com:443"


def test_endpoint_and_timeouts_can_be_overridden() -> None:
    target = parse_target(f"{FULL}?endpoint=psc.example.internal:443&timeout=5&operation_timeout=120")
    assert target.endpoint == "psc.example.internal:443"
    assert not target.plaintext
    assert (target.timeout, target.operation_timeout) == (5.0, 120.0)


@pytest.mark.parametrize("endpoint", ["127.0.0.1:8080", "localhost:8080", "[::1]:8080", "127.1.2.3:1"])
def test_plaintext_is_allowed_to_loopback_endpoints(endpoint: str) -> None:
    assert parse_target(f"{FULL}?endpoint={endpoint}&plaintext=true").plaintext


@pytest.mark.parametrize("endpoint", ["10.0.0.5:8080", "psc.example.internal:443", "[2001:db8::1]:80"])
def test_plaintext_is_refused_to_other_endpoints(endpoint: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        parse_target(f"{FULL}?endpoint={endpoint}&plaintext=true")


def test_plaintext_needs_an_explicit_endpoint() -> None:
    with pytest.raises(ValueError, match="loopback"):
        parse_target(f"{FULL}?plaintext=true")


@pytest.mark.parametrize(
    "uri",
    [
        "agentengine://",
        "agentengine://projects/p/locations/l",
        "agentengine://projects/p/locations/l/engines/1",
        "agentengine://projects/p/locations/l/reasoningEngines/1/sessions/2",
        "agentengine://projects/p q/locations/l/reasoningEngines/1",
        f"{FULL}?unknown=1",
        f"{FULL}?timeout=0",
        f"{FULL}?timeout=nan",
        f"{FULL}?plaintext=maybe",
        f"{FULL}?timeout=1&timeout=2",
    ],
)
def test_malformed_uris_are_refused(uri: str) -> None:
    with pytest.raises(ValueError, match=r"agentengine|reasoning engine|segment"):
        parse_target(uri)


def test_the_registry_builds_the_vertex_backend() -> None:
    assert backend_class(FULL) is VertexBackend
    backend = build_backend(FULL)
    assert isinstance(backend, VertexBackend)
    assert backend.target.engine_id == "123"
