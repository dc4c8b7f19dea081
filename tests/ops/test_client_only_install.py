"""The ``adk-grpc-sessions`` script of an install without the ``server`` extra: one line that says what to install.

The slow test builds a real virtual environment and installs the wheel into
it as a user would, with its dependencies and without the extra, then runs
the script the install made.
"""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

import pytest

from tests.ops.wheels import venv_with
from tests.server_process import CLI

ROOT = Path(__file__).resolve().parents[2]
INSTALL_LINE = 'pip install "adk-grpc-sessions[server]"'


def _run(*command: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def client_only(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin directory of a fresh virtual environment holding the wheel without the server extra."""
    return venv_with(wheel, tmp_path_factory.mktemp("client-only") / "venv")


@pytest.mark.slow
def test_the_install_is_a_client_without_the_server_extra(client_only: Path) -> None:
    # Found, not imported: importing ADK uncompiled takes long, and the client's own tests import it.
    client = _run(
        client_only / "python",
        "-c",
        "import importlib.util, sys; sys.exit(importlib.util.find_spec('adk_grpc_sessions.client') is None)",
    )
    assert client.returncode == 0, client.stderr
    server_extra = _run(client_only / "python", "-c", "import grpc_health")
    assert server_extra.returncode != 0


@pytest.mark.slow
@pytest.mark.parametrize("arguments", [["--help"], [], ["serve"], ["health"], ["token", "new"]])
def test_every_command_says_in_one_line_which_extra_to_install(
    client_only: Path, arguments: list[str]
) -> None:
    result = _run(client_only / "adk-grpc-sessions", *arguments)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert INSTALL_LINE in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_version_works_without_the_server_extra(client_only: Path) -> None:
    result = _run(client_only / "adk-grpc-sessions", "--version")
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        f"adk-grpc-sessions {metadata.version('adk-grpc-sessions')}\n",
        "",
    )


def test_version_works_with_the_server_extra() -> None:
    result = _run(CLI, "--version")
    assert (result.returncode, result.stdout) == (
        0,
        f"adk-grpc-sessions {metadata.version('adk-grpc-sessions')}\n",
    )
