"""The Dockerfile agrees with the project it packages.

No image is built here (there is no Docker daemon; hadolint lints the file in
``make lint``). What can be checked without one is whether each instruction
refers to something real: the files it copies exist and reach the build
context, the extras it installs are the project's, the build stage has what
the wheel build reads, the entry point and the health check are commands the
CLI accepts, the venv the runtime stage runs is the one the build stage made,
and the volume is where the default SQLite file lands.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

from adk_grpc_sessions.server.cli.main import build_parser
from adk_grpc_sessions.server.runtime.config import DEFAULT_BACKEND, SETTINGS

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    stage: int
    """Which ``FROM`` it follows (0 for the first stage)."""
    keyword: str
    arguments: str

    def exec_form(self) -> list[str]:
        """The JSON-array form's elements (``CMD ["a", "b"]``)."""
        match = re.search(r"\[(.*)\]\s*$", self.arguments)
        assert match, f"{self.keyword} is not in exec form: {self.arguments}"
        return re.findall(r'"([^"]*)"', match.group(1))


def _instructions() -> list[Instruction]:
    text = (ROOT / "Dockerfile").read_text()
    logical = re.sub(r"\\\n", " ", text)
    found, stage = [], -1
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        found.append(Instruction(stage, keyword.upper(), arguments.strip()))
    return found


INSTRUCTIONS = _instructions()


def _all(keyword: str, stage: int | None = None) -> list[Instruction]:
    return [i for i in INSTRUCTIONS if i.keyword == keyword and (stage is None or i.stage == stage)]


def _one(keyword: str) -> Instruction:
    (found,) = _all(keyword)
    return found


def _env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in _all("ENV"):
        for pair in shlex.split(instruction.arguments):
            name, _, value = pair.partition("=")
            env[name] = value
    return env


def _ignored(path: str) -> bool:
    """Whether .dockerignore keeps ``path`` (relative to the repository) out of the build context."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern) or fnmatch.fnmatch(prefix, pattern.removeprefix("**/"))
        for pattern in patterns
        for prefix in prefixes
    )


def _build_stage_copies() -> list[str]:
    """Every source path the first stage copies from the build context."""
    sources = []
    for instruction in _all("COPY", stage=0):
        words = [w for w in instruction.arguments.split() if not w.startswith("--")]
        sources.extend(words[:-1])
    return sources


def test_what_the_build_stage_copies_exists_and_reaches_the_build_context() -> None:
    sources = _build_stage_copies()
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
        assert not _ignored(source), f"COPY {source}: .dockerignore keeps it out of the build context"


def test_the_build_stage_has_everything_the_wheel_build_reads() -> None:
    copied = [PurePosixPath(s.rstrip("/")) for s in _build_stage_copies()]

    def copied_path(path: str) -> bool:
        wanted = PurePosixPath(path)
        return any(wanted == c or c in wanted.parents for c in copied)

    needed = ["pyproject.toml", PYPROJECT["project"]["readme"]]
    needed += PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    for path in needed:
        assert copied_path(path), f"the wheel build reads {path}, which the build stage does not copy"
        assert not _ignored(path), f"{path} is kept out of the build context"


def test_the_extras_it_installs_are_the_projects_own() -> None:
    installs = [i.arguments for i in _all("RUN", stage=0) if "pip install" in i.arguments]
    assert installs, "the build stage installs nothing"
    extras_named = [
        extra.strip()
        for command in installs
        for group in re.findall(r'"\.\[([^\]]*)\]"', command)
        for extra in group.split(",")
    ]
    assert extras_named, f"no extras in {installs}"
    known = set(PYPROJECT["project"]["optional-dependencies"])
    for extra in extras_named:
        assert extra in known, f"the image installs extra [{extra}], which pyproject.toml does not define"
    assert "server" in extras_named, "an image without the server extra cannot serve"
    assert "dev" not in extras_named, "the image would carry the test and lint tools"


def test_the_runtime_stage_runs_the_venv_the_build_stage_made() -> None:
    made = [
        m.group(1)
        for i in _all("RUN", stage=0)
        for m in [re.search(r"python -m venv (\S+)", i.arguments)]
        if m
    ]
    assert len(made) == 1, made
    venv = made[0]
    copied_over = [i.arguments for i in _all("COPY", stage=1) if "--from=" in i.arguments]
    assert any(a.split()[-2:] == [venv, venv] for a in copied_over), (venv, copied_over)
    assert f"{venv}/bin" in _env()["PATH"].split(":")
    installs = [i.arguments for i in _all("RUN", stage=0) if "pip install" in i.arguments]
    assert all(a.startswith(f"{venv}/bin/pip ") for a in installs), installs


def test_the_entry_point_and_its_command_are_the_clis() -> None:
    entrypoint, command = _one("ENTRYPOINT").exec_form(), _one("CMD").exec_form()
    assert entrypoint[0] in PYPROJECT["project"]["scripts"], entrypoint
    build_parser().parse_args([*entrypoint[1:], *command])  # exits (fails the test) if the CLI rejects it


def test_the_health_check_is_a_command_the_cli_accepts() -> None:
    healthcheck = _one("HEALTHCHECK").arguments
    _, _, command = f" {healthcheck}".partition(" CMD ")
    command = command.strip()
    assert command, f"HEALTHCHECK runs no command: {healthcheck}"
    # Either form: ["prog", "arg"] or a shell line.
    probe = re.findall(r'"([^"]*)"', command) if command.startswith("[") else shlex.split(command)
    assert probe[0] in PYPROJECT["project"]["scripts"], probe
    args = build_parser().parse_args(probe[1:])
    assert args.command == "health", probe


def test_every_variable_it_sets_is_a_setting_and_the_port_it_exposes_is_the_one_it_listens_on() -> None:
    env = _env()
    known = {setting.env for setting in SETTINGS}
    for name in env:
        if name.startswith("ADK_GRPC_SESSIONS_"):
            assert name in known, name
    listen_port = env["ADK_GRPC_SESSIONS_LISTEN"].rpartition(":")[2]
    assert _one("EXPOSE").arguments.split() == [listen_port]


def test_the_default_sqlite_file_lands_in_the_volume_the_unprivileged_user_owns() -> None:
    (volume,) = _one("VOLUME").exec_form()
    workdir = PurePosixPath(_all("WORKDIR", stage=1)[-1].arguments)
    default_file = workdir / DEFAULT_BACKEND.removeprefix("sqlite:///")
    assert PurePosixPath(volume) in PurePosixPath(str(default_file).replace("/./", "/")).parents
    user = _one("USER").arguments.split(":")[0]
    setup = " ".join(i.arguments for i in _all("RUN", stage=1))
    assert f"--uid {user}" in setup
    assert re.search(rf"chown -R \S+ {re.escape(str(workdir))}\b", setup), setup


@pytest.mark.parametrize("stage", [0, 1])
def test_each_stage_runs_a_python_the_project_supports(stage: int) -> None:
    (base,) = _all("FROM", stage=stage)
    match = re.match(r"python:(\d+)\.(\d+)", base.arguments)
    assert match, base.arguments
    minimum = re.match(r">=(\d+)\.(\d+)", PYPROJECT["project"]["requires-python"])
    assert minimum
    assert (int(match[1]), int(match[2])) >= (int(minimum[1]), int(minimum[2]))
