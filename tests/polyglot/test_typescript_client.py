"""The TypeScript client shows the Python conformance suite's behaviours, in node:test.

The suite (``client/typescript/test/*.test.ts``) runs against the server this
test run started: create with and without an id, duplicate ids, missing
sessions, user isolation, listing, deletion, state scopes, event filters,
stale writers, retries, unicode, big integers; and the exactness of the
millisecond/second/Timestamp conversions.
"""

from __future__ import annotations

import re
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
    summary = _summary(finished.stdout)
    # A skipped describe() runs none of its tests yet counts no skip, and a
    # failing todo test passes the run: neither may happen here.
    assert not re.search(r"^\s*(?:not )?ok \d+ - .*# (?:SKIP|TODO)", finished.stdout, re.M | re.I), (
        finished.explain("node --test (a skipped or todo test or suite)")
    )
    for counter in ("fail", "cancelled", "skipped", "todo"):
        assert summary.get(counter) == 0, finished.explain(f"node --test ({counter}: {summary.get(counter)})")
    written = _tests_written(toolchains.TS_DIR / "test")
    assert summary.get("tests", 0) >= written, finished.explain(
        f"node --test ran {summary.get('tests')} tests; the sources define at least {written}"
    )
    assert summary.get("pass") == summary.get("tests"), finished.explain(
        "node --test (not every test passed)"
    )


def _summary(tap: str) -> dict[str, int]:
    """The closing counters of node's TAP output (``# tests 33``, ``# pass 33``, ...)."""
    return {name: int(count) for name, count in re.findall(r"^# (\w+) (\d+)$", tap, re.M)}


def _tests_written(directory: Path) -> int:
    """How many ``test(...)``/``it(...)`` calls the ``*.test.ts`` sources make: a floor on what must run.

    A test made in a loop counts once here and once per turn in the run, so
    the run's count may be higher, never lower.
    """
    return sum(
        len(re.findall(r"^\s*(?:test|it)\(", source.read_text(), re.M))
        for source in sorted(directory.glob("*.test.ts"))
    )
