"""The Go client passes adk-go's own session service suite and the contract's behaviours.

``go test`` runs ``client/go``: adk-go's ``sessiontestsuite`` against the
adapter with a fresh real server per case, and the adapter's own tests
(stale writers, retries, exact values, time conversion) against the server
this test run started.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import StartServer
from tests.polyglot import toolchains

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


async def test_go_client_suite_passes_against_real_servers(grpc_server: StartServer) -> None:
    go = toolchains.require("go", "the Go client's tests need Go 1.26+")
    address = await grpc_server("memory://")
    finished = await toolchains.run(
        [go, "test", "-mod=readonly", "-count=1", "-v", "./..."],
        cwd=toolchains.GO_DIR,
        env={
            "ADK_GRPC_SESSIONS_TARGET": address,
            "ADK_GRPC_SESSIONS_SERVER": str(toolchains.SERVER_EXECUTABLE),
        },
        time_limit=toolchains.BUILD_TIMEOUT,
    )
    assert finished.returncode == 0, finished.explain("go test")
    assert "--- SKIP" not in finished.stdout, finished.explain("go test (skipped tests)")
    assert re.search(r"--- PASS: TestADKSessionServiceSuite/AppendEvent/with_all_fields", finished.stdout)
