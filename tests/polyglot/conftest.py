"""Fixtures of the polyglot tests: the Go, TypeScript and Java clients, built once per run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.polyglot import toolchains


@pytest.fixture(scope="session")
async def go_agent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go polyglot agent's executable."""
    return await toolchains.build_go_agent(tmp_path_factory.mktemp("go"))


@pytest.fixture(scope="session")
async def typescript_dist() -> Path:
    """The compiled TypeScript client, its tests and its polyglot agent."""
    return await toolchains.build_typescript()


@pytest.fixture(scope="session")
async def java_classpath() -> str:
    """The class path of the compiled Java client and its tests (with its polyglot agent)."""
    return await toolchains.build_java()
