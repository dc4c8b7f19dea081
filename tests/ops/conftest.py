"""Fixtures of the operations tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ops.wheels import build_wheel


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel users install, built once per run from this checkout."""
    return build_wheel(tmp_path_factory.mktemp("dist"))
