"""Building and running the Go, TypeScript and Java clients from a clean clone, for the polyglot tests.

Go builds go through Go's own build cache; the TypeScript client installs its
locked dependencies (``npm ci``) only when ``package-lock.json`` is newer than
the last install, then compiles with ``tsc``; the Java client compiles with
Maven, which resolves from Maven Central into ``~/.m2`` once. Without ``go``,
``node``/``npm`` or ``java``/``mvn`` on ``PATH`` the tests are skipped with a
message saying what is missing (CI fails on any skip, so there they always run).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GO_DIR = REPO / "client" / "go"
TS_DIR = REPO / "client" / "typescript"
JAVA_DIR = REPO / "client" / "java"
SERVER_EXECUTABLE = Path(sys.executable).with_name("adk-grpc-sessions")
"""The server the Go and TypeScript test suites start for themselves."""

BUILD_TIMEOUT = 420.0
"""Seconds a cold build may take (npm ci, compiling adk-go, or Maven's first download, on 2 cores)."""

MAVEN = ["-B", "-q", "--no-transfer-progress", "-Dstyle.color=never"]
"""Maven's flags here: batch mode, quiet (failures are still printed)."""

DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
RUN_TIMEOUT = 180.0


@dataclass(frozen=True)
class Finished:
    """A finished subprocess."""

    returncode: int
    stdout: str
    stderr: str

    def explain(self, what: str) -> str:
        """A failure message with everything the process printed."""
        return f"{what} exited with {self.returncode}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"


def require(tool: str, why: str) -> str:
    """The path of ``tool``, or skip the test saying that it is missing."""
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"SKIPPED: `{tool}` is not on PATH; {why}")
    return path


async def run(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    time_limit: float = RUN_TIMEOUT,
) -> Finished:
    """Runs a command without blocking the event loop (in-process servers keep serving).

    The command runs in a process group of its own, which is killed whole if
    it outlives ``time_limit`` seconds.
    """
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = await asyncio.wait_for(
            process.communicate(stdin.encode() if stdin is not None else None), time_limit
        )
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        pytest.fail(f"{' '.join(command)} did not finish within {time_limit:.0f} s")
    assert process.returncode is not None
    return Finished(process.returncode, stdout.decode(errors="replace"), stderr.decode(errors="replace"))


async def build_go_agent(out_dir: Path) -> Path:
    """Builds the Go polyglot agent (client/go/internal/polyglotagent) into ``out_dir``."""
    go = require("go", "the Go client's tests need Go 1.26+ (modules come from the Go proxy)")
    binary = out_dir / "polyglotagent"
    built = await run(
        [go, "build", "-mod=readonly", "-o", str(binary), "./internal/polyglotagent"],
        cwd=GO_DIR,
        time_limit=BUILD_TIMEOUT,
    )
    assert built.returncode == 0, built.explain("go build")
    return binary


_typescript_lock = asyncio.Lock()


async def build_typescript() -> Path:
    """Installs the TypeScript client's locked dependencies if needed and compiles it; returns ``dist``."""
    require("node", "the TypeScript client's tests need Node 20+")
    npm = require("npm", "the TypeScript client's tests need npm")
    async with _typescript_lock:
        installed = TS_DIR / "node_modules" / ".package-lock.json"
        lock = TS_DIR / "package-lock.json"
        if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
            done = await run([npm, "ci", "--no-audit", "--no-fund"], cwd=TS_DIR, time_limit=BUILD_TIMEOUT)
            assert done.returncode == 0, done.explain("npm ci")
        compiled = await run([npm, "run", "--silent", "build"], cwd=TS_DIR, time_limit=BUILD_TIMEOUT)
        assert compiled.returncode == 0, compiled.explain("tsc")
    return TS_DIR / "dist"


_java_lock = asyncio.Lock()


async def build_java() -> str:
    """Compiles the Java client and its tests (which hold the polyglot agent); returns their class path."""
    require("java", "the Java client's tests need a JDK 17+")
    mvn = require("mvn", "the Java client's tests need Maven")
    async with _java_lock:
        classpath_file = JAVA_DIR / "target" / "test-classpath.txt"
        built = await run(
            [
                mvn,
                *MAVEN,
                "test-compile",
                f"{DEPENDENCY_PLUGIN}:build-classpath",
                "-Dmdep.includeScope=test",
                f"-Dmdep.outputFile={classpath_file}",
            ],
            cwd=JAVA_DIR,
            time_limit=BUILD_TIMEOUT,
        )
        assert built.returncode == 0, built.explain("mvn test-compile")
        dependencies = classpath_file.read_text().strip()
    return os.pathsep.join(
        [str(JAVA_DIR / "target" / "classes"), str(JAVA_DIR / "target" / "test-classes"), dependencies]
    )
