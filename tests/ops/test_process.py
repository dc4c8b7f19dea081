"""The server as users start it: flags, environment, sockets, refusals, reflection, logs, metrics."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import urllib.request
from pathlib import Path

import grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from prometheus_client.parser import text_string_to_metric_families

from adk_grpc_sessions.client import GrpcSessionService
from adk_grpc_sessions.server.cli import health as health_probe
from adk_grpc_sessions.server.runtime.auth import grant_line
from tests.net import free_port
from tests.server_process import ServerProcess, wait_until_serving


async def _started(
    *args: str, env: dict[str, str] | None = None, address: str | None = None
) -> ServerProcess:
    server = await ServerProcess(["serve", *args], env=env).start()
    if address is not None:
        await wait_until_serving(address)
    return server


async def test_flags_win_over_environment_variables(app_name: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    env = {"ADK_GRPC_SESSIONS_LISTEN": address, "ADK_GRPC_SESSIONS_BACKEND": "nosuch://"}
    server = await _started("--backend", "memory://", env=env, address=address)
    async with GrpcSessionService(address) as client:
        await client.create_session(app_name=app_name, user_id="u1")
    assert await server.stop() == 0


async def test_tcp_and_unix_socket_at_once(tmp_path: Path, app_name: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    path = tmp_path / "sessions.sock"
    server = await _started("--listen", address, "--listen", f"unix:{path}", address=address)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o660
        async with GrpcSessionService(f"unix:{path}") as over_socket, GrpcSessionService(address) as over_tcp:
            created = await over_socket.create_session(app_name=app_name, user_id="u1")
            assert (
                await over_tcp.get_session(app_name=app_name, user_id="u1", session_id=created.id) == created
            )
    finally:
        assert await server.stop() == 0
    assert not path.exists(), "the socket file is removed on exit"


async def test_leftover_socket_file_is_replaced_but_a_live_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sessions.sock"
    leftover = socket.socket(socket.AF_UNIX)
    leftover.bind(str(path))
    leftover.close()  # the file stays, nobody listens: what a crash leaves behind
    first = await _started("--listen", f"unix:{path}")
    await wait_until_serving(f"unix:{path}")
    second = await _started("--listen", f"unix:{path}")
    assert await second.wait() == 2
    assert "another server is using it" in second.stderr
    assert await first.stop() == 0


async def test_busy_port_exits_nonzero_with_a_clear_message() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        server = await _started("--listen", f"127.0.0.1:{port}")
        assert await server.wait() == 2
    assert f"cannot listen on 127.0.0.1:{port}" in server.stderr
    assert server.stderr.count("\n") == 1, server.stderr


async def test_bad_flags_and_values_exit_nonzero_with_a_clear_message() -> None:
    cases = [
        (["--max-page-size", "many"], {}, "argument --max-page-size: invalid int value: 'many'"),
        (["--no-such-flag"], {}, "unrecognized arguments: --no-such-flag"),
        ([], {"ADK_GRPC_SESSIONS_MAX_CALL_SECONDS": "soon"}, "ADK_GRPC_SESSIONS_MAX_CALL_SECONDS:"),
        (["--max-page-size", "0"], {}, "--max-page-size must be positive"),
        (["--tls-cert", "/nonexistent.pem"], {}, "--tls-cert and --tls-key go together"),
        (["--log-format", "xml"], {}, "--log-format is json or text"),
    ]
    for args, env, message in cases:
        server = await _started("--listen", f"127.0.0.1:{free_port()}", *args, env=env)
        assert await server.wait() == 2, args
        assert message in server.stderr, server.stderr


async def test_non_loopback_address_without_protection_is_refused(tmp_path: Path) -> None:
    port = free_port()
    server = await _started("--listen", f"0.0.0.0:{port}")
    assert await server.wait() == 2
    assert "refusing to serve sessions unprotected on 0.0.0.0" in server.stderr
    # Tokens alone are not enough off the machine: they would travel in the clear.
    tokens = tmp_path / "tokens"
    tokens.write_text(grant_line("t", "secret-token", ["a"]) + "\n")
    server = await _started("--listen", f"0.0.0.0:{port}", "--tokens-file", str(tokens))
    assert await server.wait() == 2
    explicit = await _started("--listen", f"0.0.0.0:{port}", "--allow-unauthenticated")
    await wait_until_serving(f"127.0.0.1:{port}")
    assert await explicit.stop() == 0


async def test_reflection_lists_the_service_and_can_be_turned_off() -> None:
    for enabled in (True, False):
        address = f"127.0.0.1:{free_port()}"
        args = ["--listen", address] + ([] if enabled else ["--reflection", "false"])
        server = await _started(*args, address=address)
        try:
            services = await asyncio.to_thread(_reflected_services, address)
        finally:
            assert await server.stop() == 0
        if enabled:
            assert isinstance(services, list)
            assert {"adk_grpc_sessions.v1.SessionService", "grpc.health.v1.Health"} <= set(services)
        else:
            assert services == grpc.StatusCode.UNIMPLEMENTED


def _reflected_services(address: str) -> list[str] | grpc.StatusCode:
    """The services reflection lists, or the status code of the refusal."""
    with grpc.insecure_channel(address) as channel:
        try:
            return list(ProtoReflectionDescriptorDatabase(channel).get_services())
        except grpc.RpcError as error:
            return error.code()


async def test_health_command_reports_serving_and_absence() -> None:
    address = f"127.0.0.1:{free_port()}"
    server = await _started("--listen", address, address=address)
    try:
        probe = await ServerProcess(["health", "--address", address]).start()
        assert await probe.wait() == 0
        assert await health_probe.check(address) == "SERVING"
    finally:
        assert await server.stop() == 0
    probe = await ServerProcess(["health", "--address", address, "--timeout", "1"]).start()
    assert await probe.wait() == 1
    assert "UNAVAILABLE" in probe.stderr


async def test_logs_are_json_lines_with_the_request_id_and_no_secrets(tmp_path: Path, app_name: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    token = "very-secret-token-value"
    tokens = tmp_path / "tokens"
    tokens.write_text(grant_line("ci", token, [app_name]) + "\n")
    server = await _started(
        "--listen", address, "--tokens-file", str(tokens), "--log-level", "DEBUG", address=address
    )
    metadata = [("authorization", f"Bearer {token}"), ("x-request-id", "req-12345")]
    async with GrpcSessionService(address, metadata=metadata) as client:
        await client.create_session(app_name=app_name, user_id="u1")
    assert await server.stop() == 0
    records = [json.loads(line) for line in server.stderr.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    served = [r for r in records if r.get("request_id") == "req-12345"]
    assert served and "CreateSession OK" in served[0]["message"]
    assert token not in server.stderr


async def test_metrics_endpoint_counts_calls_and_writes(app_name: str) -> None:
    address, metrics = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    server = await _started("--listen", address, "--metrics-listen", metrics, address=address)
    try:
        async with GrpcSessionService(address) as client:
            session = await client.create_session(app_name=app_name, user_id="u1")
            from google.adk.events.event import Event

            await client.append_event(session, Event(author="user"))
            await client.get_session(app_name=app_name, user_id="u1", session_id="missing")
        body = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://{metrics}/metrics").read().decode()
        )
    finally:
        assert await server.stop() == 0
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }
    assert samples[("adk_grpc_sessions_rpcs_total", (("code", "NOT_FOUND"), ("method", "GetSession")))] == 1
    assert samples[("adk_grpc_sessions_events_appended_total", ())] == 1
    assert samples[("adk_grpc_sessions_sessions_created_total", ())] == 1
    # The client's lone create and lone append went on its append stream: each timed, and
    # counted by its own code.
    assert samples[("adk_grpc_sessions_rpc_duration_seconds_count", (("method", "AppendEventStream"),))] == 2
    assert samples[("adk_grpc_sessions_streamed_creates_total", (("code", "OK"),))] == 1
    assert samples[("adk_grpc_sessions_streamed_appends_total", (("code", "OK"),))] == 1
    assert (
        samples[("adk_grpc_sessions_backend_duration_seconds_count", (("operation", "append_event"),))] == 1
    )
    assert samples[("adk_grpc_sessions_backend_up", ())] == 1


def test_token_command_prints_a_token_and_its_grant(tmp_path: Path) -> None:
    import contextlib
    import io

    from adk_grpc_sessions.server.cli.main import main
    from adk_grpc_sessions.server.runtime.auth import TokenAuthorizer, parse_grants

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["token", "new", "--name", "billing", "--apps", "billing,eval"]) == 0
    token_line, grant = out.getvalue().splitlines()
    token = token_line.removeprefix("token: ")
    grants = parse_grants(grant.removeprefix("grant: "), "test")
    assert token not in grant
    authorizer = TokenAuthorizer(grants)
    assert authorizer.authenticate([("authorization", f"Bearer {token}")]).apps == {"billing", "eval"}
    assert os.environ.get("ADK_GRPC_SESSIONS_TOKENS") is None
