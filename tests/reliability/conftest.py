"""Reliability tests run against every storage backend that can be had here."""

from __future__ import annotations

import pytest

# Backends the reliability suite runs on: (id, fixture giving the URI).
BACKENDS = [("memory", "memory_uri")]


@pytest.fixture(scope="session")
def memory_uri() -> str:
    """The in-process memory backend."""
    return "memory://"


@pytest.fixture(params=BACKENDS, ids=[b[0] for b in BACKENDS])
def backend_uri(request: pytest.FixtureRequest) -> str:
    """Each backend's URI in turn (synchronous: see tests/conformance/conftest.py)."""
    uri: str = request.getfixturevalue(request.param[1])
    return uri
