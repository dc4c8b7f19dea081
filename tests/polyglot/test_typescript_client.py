"""The TypeScript client shows the Python conformance suite's behaviours, in node:test.

The suite (``client/typescript/test/*.test.ts``) runs against the server this
test run started: create with and without an id, duplicate ids, missing
sessions, user isolation, listing, deletion, state scopes, event filters,
stale writers, retries, unicode, big integers; and the exactness of the
millisecond/second/Timestamp conversions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import StartServer
from tests.polyglot import toolchains

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


async def test_typescript_client_suite_passes_against_a_real_server(
    grpc_server: StartServer, typescript_dist: Path
) -> None:
    node = toolchains.require("node", "the TypeScript client's tests need Node 20+")
    address = await grpc_server("memory://")
    tests = sorted(
        str(p.relative_to(toolchains.TS_DIR)) for p in (typescript_dist / "test").glob("*.test.js")
    )
    assert tests, "no compiled TypeScript tests"
    finished = await toolchains.run(
        [node, "--test", "--test-concurrency=1", *tests],
        cwd=toolchains.TS_DIR,
        env={"ADK_GRPC_SESSIONS_TARGET": address},
    )
    assert finished.returncode == 0, finished.explain("node --test")
    for line in ("# fail 0", "# skipped 0", "# cancelled 0"):
        assert line in finished.stdout, finished.explain(f"node --test (no '{line}')")
