"""Virtual environments holding the wheel users install, for the tests of what an install ships.

The wheel is built once per run from this checkout (``python -m build``) and
installed by uv with the pinned dependencies (constraints.txt), so that a
fresh environment takes seconds, not minutes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).with_name("uv")


def run(command: list[str | Path], cwd: Path, timeout: float = 600) -> str:
    """Runs ``command``; returns its standard output, failing the test on a non-zero exit."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def build_wheel(out: Path) -> Path:
    """The wheel ``python -m build`` makes from this checkout, written into ``out``."""
    run([sys.executable, "-m", "build", "--wheel", "--outdir", out, REPO], cwd=out)
    (built,) = out.glob("adk_grpc_sessions-*.whl")
    return built


def venv_with(wheel: Path, venv: Path, extras: str = "") -> Path:
    """A new virtual environment at ``venv`` holding ``wheel`` (with ``extras``); returns its bin folder."""
    run([UV, "venv", "--quiet", "--python", sys.executable, venv], cwd=venv.parent)
    requirement = f"{wheel}[{extras}]" if extras else str(wheel)
    python = venv / "bin" / "python"
    run(
        [UV, "pip", "install", "--quiet", "--python", python, "-c", REPO / "constraints.txt", requirement],
        cwd=venv.parent,
    )
    return venv / "bin"
