"""The Java client passes its own JUnit suite: conformance with ADK Java, a Runner, restarts.

``mvn test`` runs ``client/java``'s tests, which start real servers of their own
(this run's ``adk-grpc-sessions``, over SQLite files): the conformance cases
against ADK Java's ``InMemorySessionService`` and against ``GrpcSessionService``,
an ADK Java ``Runner`` with a scripted model on both, a server killed and
restarted under a client, exact time, bytes, targets, tokens and limits.
"""

from __future__ import annotations

import re

import pytest

from tests.polyglot import toolchains

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


async def test_java_client_suite_passes_against_real_servers() -> None:
    toolchains.require("java", "the Java client's tests need a JDK 17+")
    mvn = toolchains.require("mvn", "the Java client's tests need Maven")
    finished = await toolchains.run(
        [mvn, "-B", "--no-transfer-progress", "-Dstyle.color=never", "test"],
        cwd=toolchains.JAVA_DIR,
        env={"ADK_GRPC_SESSIONS_SERVER": str(toolchains.SERVER_EXECUTABLE)},
        time_limit=2 * toolchains.BUILD_TIMEOUT,
    )
    assert finished.returncode == 0, finished.explain("mvn test")
    totals = re.findall(
        r"^\[\w+\] Tests run: (\d+), Failures: (\d+), Errors: (\d+), Skipped: (\d+)$", finished.stdout, re.M
    )
    assert totals, finished.explain("mvn test (no Surefire summary)")
    ran, failures, errors, skipped = (int(n) for n in totals[-1])
    assert (failures, errors, skipped) == (0, 0, 0), finished.explain("mvn test")
    written = _tests_written()
    assert ran >= written, finished.explain(
        f"Surefire ran {ran} tests; the sources define at least {written}"
    )


def _tests_written() -> int:
    """How many ``@Test`` methods the Java test sources define (the conformance cases count twice)."""
    sources = toolchains.JAVA_DIR / "src" / "test" / "java"
    count = 0
    for source in sources.rglob("*.java"):
        tests = len(re.findall(r"^\s*@Test\b", source.read_text(), re.M))
        count += 2 * tests if source.name == "SessionServiceConformance.java" else tests
    return count
