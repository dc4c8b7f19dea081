"""The container and deployment files say what the server understands, and run as the image would."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from adk_grpc_sessions.server.cli.health import local_address
from adk_grpc_sessions.server.runtime.config import SETTINGS
from tests.net import free_port
from tests.server_process import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
KNOWN_VARIABLES = {s.env for s in SETTINGS}


def _load(relative: str) -> Any:
    return yaml.safe_load((ROOT / relative).read_text())


def _load_all(relative: str) -> list[Any]:
    return list(yaml.safe_load_all((ROOT / relative).read_text()))


def test_every_variable_the_deployment_files_set_is_a_real_setting() -> None:
    files = [ROOT / "Dockerfile", *sorted((ROOT / "deploy").rglob("*.yaml"))]
    for path in files:
        for name in re.findall(r"ADK_GRPC_SESSIONS_[A-Z_]+", path.read_text()):
            assert name in KNOWN_VARIABLES, f"{path.relative_to(ROOT)} sets unknown {name}"


def test_image_runs_the_readme_command_as_a_non_root_user_with_a_health_check() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) == 2, "multi-stage"
    assert re.search(r'^ENTRYPOINT \["adk-grpc-sessions"\]$', text, re.M)
    assert re.search(r'^CMD \["serve"\]$', text, re.M)
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert 'CMD ["adk-grpc-sessions", "health"]' in text
    assert re.search(r'^VOLUME \["/srv/data"\]$', text, re.M)
    assert "make serve" in (ROOT / "README.md").read_text()


def test_sidecar_pod_shares_one_socket_between_agent_and_server() -> None:
    documents = _load_all("deploy/kubernetes/sidecar-pod.yaml")
    (pod,) = [d for d in documents if d["kind"] == "Pod"]
    spec = pod["spec"]
    (server,) = [c for c in spec["initContainers"] if c["name"] == "sessions"]
    (agent,) = spec["containers"]
    assert server["restartPolicy"] == "Always", "a native sidecar"
    env = {e["name"]: e["value"] for e in server["env"]}
    listen = env["ADK_GRPC_SESSIONS_LISTEN"]
    assert listen.startswith("unix:")
    socket_path = listen.removeprefix("unix:")
    mounts = {m["name"]: m["mountPath"] for m in server["volumeMounts"]}
    agent_mounts = {m["name"]: m["mountPath"] for m in agent["volumeMounts"]}
    assert mounts["sessions-socket"] == agent_mounts["sessions-socket"]
    assert socket_path.startswith(mounts["sessions-socket"] + "/")
    assert {"name": "sessions-socket", "emptyDir": {}} in spec["volumes"]
    # ADK's CLI is told where sessions live by its flag (it reads no environment variable for it).
    assert f"--session_service_uri=unix://{socket_path}" in agent["args"]
    claims = {d["metadata"]["name"] for d in documents if d["kind"] == "PersistentVolumeClaim"}
    for volume in spec["volumes"]:
        if "persistentVolumeClaim" in volume:
            assert volume["persistentVolumeClaim"]["claimName"] in claims, "a claim defined in the file"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert server[probe]["exec"]["command"] == ["adk-grpc-sessions", "health", "--address", listen]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["fsGroup"] == 10001


def test_compose_runs_the_server_on_postgres() -> None:
    compose = _load("deploy/compose/compose.yaml")
    services = compose["services"]
    sessions = services["sessions"]
    assert sessions["depends_on"]["postgres"]["condition"] == "service_healthy"
    backend = sessions["environment"]["ADK_GRPC_SESSIONS_BACKEND"]
    assert backend.startswith("postgresql://") and "@postgres:5432/" in backend
    assert services["postgres"]["image"].startswith("postgres:15")


def test_adk_services_yaml_registers_the_client() -> None:
    services = _load("deploy/adk/services.yaml")["services"]
    assert {(s["scheme"], s["type"], s["class"]) for s in services} == {
        (scheme, "session", "adk_grpc_sessions.client.GrpcSessionService")
        for scheme in ("grpc", "grpcs", "unix")
    }


def test_health_probe_finds_the_server_from_its_listen_setting() -> None:
    assert local_address("0.0.0.0:50051") == "127.0.0.1:50051"
    assert local_address("[::]:7000") == "[::1]:7000"
    assert local_address("0.0.0.0:50051,unix:/run/s.sock") == "unix:/run/s.sock"
    assert local_address(None) == "127.0.0.1:50051"


async def test_container_configuration_refuses_then_serves_and_passes_its_health_check() -> None:
    port = free_port()
    image_env = {"ADK_GRPC_SESSIONS_LISTEN": f"0.0.0.0:{port}"}
    refused = await ServerProcess(["serve"], env=image_env).start()
    assert await refused.wait() == 2
    assert "refusing to serve sessions unprotected" in refused.stderr

    server = await ServerProcess(
        ["serve"], env={**image_env, "ADK_GRPC_SESSIONS_ALLOW_UNAUTHENTICATED": "true"}
    ).start()
    try:
        for _ in range(100):
            probe = await ServerProcess(["health"], env=image_env).start()
            if await probe.wait() == 0:
                break
        else:
            raise AssertionError(f"health check never passed: {probe.stderr}")
    finally:
        assert await server.stop() == 0
