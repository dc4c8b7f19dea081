"""The image's HEALTHCHECK passes against the set-up its header recommends (TLS and tokens), run as Docker would.

No Docker daemon is needed: the health command, the server command and their
environment are read from the Dockerfile itself (its HEALTHCHECK, ENTRYPOINT,
CMD, WORKDIR and ENV, and the header's ``docker run`` line with its ``-e``
variables and ``-v`` mounts), the container's paths mapped into a temporary
directory. A change to the Dockerfile that breaks the check breaks this test.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
import trustme

from adk_grpc_sessions.server.cli.health import check
from adk_grpc_sessions.server.runtime.auth import grant_line
from adk_grpc_sessions.server.runtime.config import ServerConfig
from adk_grpc_sessions.server.runtime.serve import SessionServer
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests.net import free_port
from tests.server_process import CLI, ServerProcess

ROOT = Path(__file__).resolve().parents[2]
SERVER_NAME = "sessions.example.internal"
"""The certificate's only name: the probe must not need one that says localhost."""


@dataclass
class Image:
    """What the Dockerfile says a container of the image runs, and with what."""

    health_command: list[str]
    health_timeout: float
    server_command: list[str]
    workdir: str
    env: dict[str, str]
    """ENV of the runtime stage, then the header's ``docker run -e`` variables."""
    mounts: dict[str, str] = field(default_factory=dict)
    """Container path -> what the header's ``docker run -v`` mounts there."""


def _joined_lines(text: str) -> list[str]:
    return text.replace("\\\n", " ").splitlines()


def read_image(dockerfile: Path) -> Image:
    text = dockerfile.read_text()
    runtime = text[text.rindex("\nFROM ") :]  # the last stage is the image
    instructions = {}
    for line in _joined_lines(runtime):
        keyword, _, rest = line.partition(" ")
        if keyword.isupper():
            instructions[keyword] = rest.strip()
    healthcheck = instructions["HEALTHCHECK"]
    options, _, command = healthcheck.partition(" CMD ")
    timeout = re.search(r"--timeout=(\d+)s", options)
    assert timeout, healthcheck
    env = {
        name: value
        for name, value in (item.split("=", 1) for item in shlex.split(instructions["ENV"]))
        if name.startswith("ADK_GRPC_SESSIONS_")
    }
    header = "\n".join(line.removeprefix("#") for line in text.splitlines() if line.startswith("#"))
    (run_line,) = [line for line in _joined_lines(header) if "docker run" in line]
    words = shlex.split(run_line)
    mounts = {}
    for flag, value in itertools.pairwise(words):
        if flag == "-e":
            name, _, setting = value.partition("=")
            env[name] = setting
        elif flag == "-v":
            source, target = value.split(":")[:2]
            mounts[target] = source
    return Image(
        health_command=json.loads(command),
        health_timeout=float(timeout.group(1)),
        server_command=[*json.loads(instructions["ENTRYPOINT"]), *json.loads(instructions["CMD"])],
        workdir=instructions["WORKDIR"],
        env=env,
        mounts=mounts,
    )


class Container:
    """The image's processes run here: container paths live under ``root``, the listen port is free."""

    def __init__(self, image: Image, root: Path) -> None:
        self.image = image
        self.root = root
        self.port = free_port()
        self.env = {name: self._mapped(value) for name, value in image.env.items()}
        host, _, _ = self.env["ADK_GRPC_SESSIONS_LISTEN"].rpartition(":")
        self.env["ADK_GRPC_SESSIONS_LISTEN"] = f"{host}:{self.port}"
        self.workdir = self.path(image.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)

    def path(self, container_path: str) -> Path:
        return self.root / container_path.lstrip("/")

    def _mapped(self, value: str) -> str:
        if any(value.startswith(target + "/") for target in self.image.mounts):
            return str(self.path(value))
        return value

    def _command(self, command: Sequence[str]) -> list[str]:
        assert command[0] == "adk-grpc-sessions", command
        return [CLI, *command[1:]]

    async def health(self) -> tuple[int, str]:
        """Runs the HEALTHCHECK command as Docker would: same env, killed at its --timeout."""
        probe = await asyncio.create_subprocess_exec(
            *self._command(self.image.health_command),
            env={**os.environ, **self.env},
            cwd=self.workdir,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        # The probe's own wait is bounded by its --timeout; Python's start-up on a loaded
        # machine (tests share two cores) is not, so the limit here has headroom.
        output, _ = await asyncio.wait_for(probe.communicate(), self.image.health_timeout + 60)
        assert probe.returncode is not None
        return probe.returncode, output.decode()

    def server(self) -> ServerProcess:
        command = self._command(self.image.server_command)
        return ServerProcess(command[1:], env=self.env, cwd=self.workdir)


def write_secrets(env: dict[str, str], ca: trustme.CA) -> None:
    """What the header's mounted directory holds: the certificate chain, its key, the tokens file."""
    issued = ca.issue_cert(SERVER_NAME)
    cert = Path(env["ADK_GRPC_SESSIONS_TLS_CERT"])
    cert.parent.mkdir(parents=True, exist_ok=True)
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(env["ADK_GRPC_SESSIONS_TLS_KEY"])
    Path(env["ADK_GRPC_SESSIONS_TOKENS_FILE"]).write_text(grant_line("agents", "agent-token", ["*"]) + "\n")


@pytest.fixture
def image() -> Image:
    return read_image(ROOT / "Dockerfile")


def assert_protected_and_mounted(image: Image) -> None:
    for name in ("ADK_GRPC_SESSIONS_TLS_CERT", "ADK_GRPC_SESSIONS_TLS_KEY", "ADK_GRPC_SESSIONS_TOKENS_FILE"):
        value = image.env.get(name)
        assert value, f"the header's docker run does not set {name}"
        assert any(value.startswith(target + "/") for target in image.mounts), (
            f"{name}={value} is not mounted"
        )


def test_the_header_runs_the_image_with_tls_a_key_and_tokens_from_a_mount(image: Image) -> None:
    assert_protected_and_mounted(image)


async def test_the_health_check_passes_against_tls_and_tokens_and_fails_once_stopped(
    image: Image, tmp_path: Path
) -> None:
    assert_protected_and_mounted(image)
    container = Container(image, tmp_path)
    env = container.env
    ca = trustme.CA()
    write_secrets(env, ca)

    status, output = await container.health()
    assert status != 0, "healthy with no server running"

    server = await container.server().start()
    try:
        started = time.monotonic()
        while time.monotonic() - started < 120:  # Docker's start period: unhealthy until the server is up
            status, output = await container.health()
            if status == 0:
                break
            assert server.process is not None and server.process.returncode is None, output
            await asyncio.sleep(0.2)
        assert (status, output) == (0, "SERVING\n")

        # The server really is the protected one: no plaintext, and no session call without a token.
        address = f"127.0.0.1:{container.port}"
        assert (await check(address, wait=2)).startswith("UNAVAILABLE")
        credentials = grpc.ssl_channel_credentials(ca.cert_pem.bytes())
        options = [("grpc.ssl_target_name_override", SERVER_NAME)]
        async with grpc.aio.secure_channel(address, credentials, options=options) as channel:
            stub = pb_grpc.SessionServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.ListSessions(pb.ListSessionsRequest(app_name="a"), timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            await stub.ListSessions(
                pb.ListSessionsRequest(app_name="a"), metadata=[("authorization", "Bearer agent-token")]
            )
    finally:
        exit_status = await server.stop()
    assert exit_status == 0, server.stderr

    status, output = await container.health()
    assert status != 0
    assert output.startswith("UNAVAILABLE") and output.count("\n") == 1, output


def _mutual_tls_files(tmp_path: Path, ca: trustme.CA, client_ca: trustme.CA) -> dict[str, str]:
    issued = ca.issue_cert(SERVER_NAME)
    cert, key, clients = tmp_path / "server.pem", tmp_path / "server.key", tmp_path / "clients.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(key))
    client_ca.cert_pem.write_to_path(str(clients))
    return {
        "ADK_GRPC_SESSIONS_TLS_CERT": str(cert),
        "ADK_GRPC_SESSIONS_TLS_KEY": str(key),
        "ADK_GRPC_SESSIONS_TLS_CLIENT_CA": str(clients),
    }


async def _health(env: dict[str, str], *flags: str) -> tuple[int, str]:
    probe = await asyncio.create_subprocess_exec(
        CLI,
        "health",
        *flags,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(probe.communicate(), 90)  # start-up on a loaded machine
    assert probe.returncode is not None
    return probe.returncode, output.decode()


async def _mutual_tls_server(env: dict[str, str]) -> tuple[SessionServer, str]:
    server = SessionServer(
        ServerConfig(
            listen=["127.0.0.1:0"],
            backend="memory://",
            tls_cert=Path(env["ADK_GRPC_SESSIONS_TLS_CERT"]),
            tls_key=Path(env["ADK_GRPC_SESSIONS_TLS_KEY"]),
            tls_client_ca=Path(env["ADK_GRPC_SESSIONS_TLS_CLIENT_CA"]),
        )
    )
    await server.start()
    return server, f"127.0.0.1:{server.ports[0]}"


async def test_the_probe_reaches_a_mutual_tls_server_with_its_own_certificate(tmp_path: Path) -> None:
    ca = trustme.CA()
    env = _mutual_tls_files(tmp_path, ca, client_ca=ca)  # one CA signs servers and clients
    server, address = await _mutual_tls_server(env)
    try:
        env["ADK_GRPC_SESSIONS_LISTEN"] = address
        assert await _health(env) == (0, "SERVING\n")
        without_client_ca = {k: v for k, v in env.items() if k != "ADK_GRPC_SESSIONS_TLS_CLIENT_CA"}
        status, output = await _health(without_client_ca)  # no client certificate presented
        assert status != 0 and output.startswith("UNAVAILABLE"), output
    finally:
        await server.stop(grace=0)


async def test_the_probe_presents_the_client_certificate_it_is_given(tmp_path: Path) -> None:
    ca, agents_ca = trustme.CA(), trustme.CA()
    env = _mutual_tls_files(tmp_path, ca, client_ca=agents_ca)
    probe = agents_ca.issue_cert("health-probe")
    probe_cert, probe_key = tmp_path / "probe.pem", tmp_path / "probe.key"
    probe.cert_chain_pems[0].write_to_path(str(probe_cert))
    probe.private_key_pem.write_to_path(str(probe_key))
    server, address = await _mutual_tls_server(env)
    try:
        env["ADK_GRPC_SESSIONS_LISTEN"] = address
        status, output = await _health(env)  # the server's own certificate is not a client's here
        assert status != 0 and output.startswith("UNAVAILABLE"), output
        flags = ("--tls-client-cert", str(probe_cert), "--tls-client-key", str(probe_key))
        assert await _health(env, *flags) == (0, "SERVING\n")
    finally:
        await server.stop(grace=0)
