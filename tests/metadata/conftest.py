"""A real server per test on each backend, for session metadata, filtered listings and forks.

The servers are the lifecycle suite's (``tests/lifecycle/conftest.py``: memory,
a SQLite file, PostgreSQL and MariaDB on real servers, Agent Engine on the
stand-in), reached through real gRPC. What Agent Engine cannot do is a strict
xfail read from ``vertex_divergences.VERTEX_DIVERGENCES`` (meta-vertex keeps
that list, by these tests' names): fixing the backend forces the entry's removal.
"""

from __future__ import annotations

import pytest

from tests.lifecycle.conftest import BACKENDS, Running, Serve, eventually, serve
from tests.metadata.vertex_divergences import VERTEX_DIVERGENCES

__all__ = ["BACKENDS", "Running", "Serve", "eventually", "serve"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Runs each case on every backend, or on those its module's ``BACKENDS_HERE`` names."""
    if "backend_kind" in metafunc.fixturenames:
        kinds = getattr(metafunc.module, "BACKENDS_HERE", BACKENDS)
        metafunc.parametrize("backend_kind", kinds, indirect=True)


@pytest.fixture
def backend_kind(request: pytest.FixtureRequest) -> str:
    """Which backend the test runs against (on vertex, with its recorded divergence as a strict xfail)."""
    kind: str = request.param
    divergence = VERTEX_DIVERGENCES.get(request.node.originalname) if kind == "vertex" else None
    if divergence is not None:
        request.node.add_marker(
            pytest.mark.xfail(strict=True, reason=divergence.reason, raises=divergence.raises)
        )
    return kind
