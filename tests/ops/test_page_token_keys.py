"""Page-token keys as operators meet them: generated beside a SQLite file, shared by configuration.

Real server processes: a token must outlive a restart on the embedded default
(the key file beside the database is reused), and servers given the same key
must accept each other's tokens. On a shared database without a configured key
a token works only against the process that issued it, and the server says so
once in its log.
"""

from __future__ import annotations

import logging
import multiprocessing
import stat
from pathlib import Path

import grpc
import pytest

from adk_grpc_sessions.server.api.page_tokens import PageTokenKeys
from adk_grpc_sessions.server.runtime import page_token_keys
from adk_grpc_sessions.server.runtime.config import ServerConfig, config_from
from adk_grpc_sessions.server.runtime.page_token_keys import default_keys, load_or_create_key_file
from adk_grpc_sessions.server.runtime.serve import SessionServer
from adk_grpc_sessions.v1 import session_service_pb2 as pb
from adk_grpc_sessions.v1 import session_service_pb2_grpc as pb_grpc
from tests import databases
from tests.net import free_port
from tests.server.rpc_errors import failure_of
from tests.server_process import ServerProcess, wait_until_serving

APP = "tokens-app"
SHARED_KEY = "a-key-every-replica-is-given-" + "3c" * 16


async def _three_sessions(address: str) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.SessionServiceStub(channel)
        for number in range(3):
            await stub.CreateSession(
                pb.CreateSessionRequest(app_name=APP, user_id="u", session_id=f"s{number}")
            )


async def _first_page(address: str) -> tuple[list[str], str]:
    async with grpc.aio.insecure_channel(address) as channel:
        reply = await pb_grpc.SessionServiceStub(channel).ListSessions(
            pb.ListSessionsRequest(app_name=APP, user_id="u", page_size=1)
        )
    assert reply.next_page_token
    return [s.session_id for s in reply.sessions], reply.next_page_token


async def _rest(address: str, token: str) -> list[str]:
    """Every session after ``token``, page by page."""
    seen: list[str] = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.SessionServiceStub(channel)
        while token:
            reply = await stub.ListSessions(
                pb.ListSessionsRequest(app_name=APP, user_id="u", page_size=1, page_token=token)
            )
            seen += [s.session_id for s in reply.sessions]
            token = reply.next_page_token
    return seen


async def _refused(address: str, token: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _rest(address, token)
    failure = failure_of(caught.value)
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["page_token"])


async def test_tokens_survive_a_restart_on_the_embedded_default(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    first = await ServerProcess(["serve", "--listen", address], cwd=tmp_path).start()
    try:
        await wait_until_serving(address)
        await _three_sessions(address)
        first_page, token = await _first_page(address)
    finally:
        assert await first.stop() == 0
    key_file = tmp_path / "data" / "sessions.db.page-token-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key_before = key_file.read_bytes()

    second = await ServerProcess(["serve", "--listen", address], cwd=tmp_path).start()
    try:
        await wait_until_serving(address)
        assert sorted(first_page + await _rest(address, token)) == ["s0", "s1", "s2"]
    finally:
        assert await second.stop() == 0
    assert key_file.read_bytes() == key_before
    assert "page tokens are signed with a key of this process only" not in first.stderr + second.stderr


async def test_servers_given_one_key_accept_each_others_tokens(tmp_path: Path) -> None:
    uri = await databases.server_for_tests("postgresql").create_database()
    key_file = tmp_path / "page-token-keys"
    key_file.write_text(f"# rotated in: the first line signs\n{SHARED_KEY}\n")
    by_env, by_file, other_key = (f"127.0.0.1:{free_port()}" for _ in range(3))
    servers = [
        ServerProcess(
            ["serve", "--listen", by_env, "--backend", uri],
            env={"ADK_GRPC_SESSIONS_PAGE_TOKEN_KEY": SHARED_KEY},
        ),
        ServerProcess(
            ["serve", "--listen", by_file, "--backend", uri, "--page-token-key-file", str(key_file)]
        ),
        ServerProcess(
            ["serve", "--listen", other_key, "--backend", uri],
            env={"ADK_GRPC_SESSIONS_PAGE_TOKEN_KEY": "another-deployments-key-" + "9" * 20},
        ),
    ]
    for server in servers:
        await server.start()
    try:
        for address in (by_env, by_file, other_key):
            await wait_until_serving(address, wait=60)
        await _three_sessions(by_env)
        first_page, token = await _first_page(by_env)
        assert sorted(first_page + await _rest(by_file, token)) == ["s0", "s1", "s2"]
        _, token = await _first_page(by_file)
        assert len(await _rest(by_env, token)) == 2
        await _refused(other_key, token)
    finally:
        for server in servers:
            assert await server.stop() == 0
    assert all("page tokens are signed with a key of this process only" not in s.stderr for s in servers)


async def test_on_a_shared_database_without_a_key_tokens_work_only_against_their_process() -> None:
    uri = await databases.server_for_tests("postgresql").create_database()
    first_address, second_address = (f"127.0.0.1:{free_port()}" for _ in range(2))
    servers = [
        ServerProcess(["serve", "--listen", address, "--backend", uri, "--log-format", "text"])
        for address in (first_address, second_address)
    ]
    for server in servers:
        await server.start()
    try:
        for address in (first_address, second_address):
            await wait_until_serving(address, wait=60)
        await _three_sessions(first_address)
        _, token = await _first_page(first_address)
        assert len(await _rest(first_address, token)) == 2
        await _refused(second_address, token)
    finally:
        for server in servers:
            assert await server.stop() == 0
    for server in servers:
        warnings = [line for line in server.stderr.splitlines() if "page tokens are signed" in line]
        assert len(warnings) == 1, server.stderr
        assert "--page-token-key-file" in warnings[0] and "WARNING" in warnings[0]


# --- the key file itself ----------------------------------------------------------------------------------


def test_a_sqlite_servers_key_file_is_made_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'db' / 'sessions.db'}"
    first = default_keys(uri)
    key_file = tmp_path / "db" / "sessions.db.page-token-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert default_keys(uri) == first
    assert [p.name for p in key_file.parent.iterdir()] == [key_file.name], "no temporary file is left"


def test_memory_and_code_given_backends_get_a_fresh_key_each_and_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.WARNING):
        assert default_keys("memory://") != default_keys("memory://")
        assert default_keys(None) != default_keys(None)
    assert not caplog.records
    assert list(tmp_path.iterdir()) == []


def test_a_shared_database_without_a_key_logs_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        default_keys("postgresql://db.internal/sessions")
    assert len(caplog.records) == 1
    assert "--page-token-key-file" in caplog.records[0].getMessage()


def test_a_damaged_key_file_stops_the_start_rather_than_being_replaced(tmp_path: Path) -> None:
    key_file = tmp_path / "sessions.db.page-token-key"
    key_file.write_text("too-short\n")
    with pytest.raises(RuntimeError, match="at least 32 characters"):
        load_or_create_key_file(key_file)
    key_file.write_text("# nothing but a comment\n")
    with pytest.raises(RuntimeError, match="holds no page-token key"):
        load_or_create_key_file(key_file)
    assert key_file.read_text() == "# nothing but a comment\n"


def _create(path: str, results: multiprocessing.Queue[bytes]) -> None:
    results.put(load_or_create_key_file(Path(path)).keys[0])


def test_servers_starting_at_once_on_one_database_end_up_with_one_key(tmp_path: Path) -> None:
    key_file = tmp_path / "sessions.db.page-token-key"
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[bytes] = context.Queue()
    workers = [context.Process(target=_create, args=(str(key_file), results)) for _ in range(4)]
    for worker in workers:
        worker.start()
    keys = {results.get(timeout=60) for _ in workers}
    for worker in workers:
        worker.join(timeout=60)
    assert keys == {PageTokenKeys.parse(key_file.read_text(), "file").keys[0]}


def test_keys_come_from_the_file_or_the_variable_never_both(tmp_path: Path) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text(f"{SHARED_KEY}\n{'o' * 40}\n")
    config = config_from({"page_token_key_file": key_file}, environ={})
    assert page_token_keys.configured_keys(
        config.page_token_key_file, config.page_token_key
    ) == PageTokenKeys((SHARED_KEY.encode(), b"o" * 40))
    from_env = config_from({}, environ={"ADK_GRPC_SESSIONS_PAGE_TOKEN_KEY": f"{SHARED_KEY};{'o' * 40}"})
    assert page_token_keys.configured_keys(from_env.page_token_key_file, from_env.page_token_key) == (
        PageTokenKeys((SHARED_KEY.encode(), b"o" * 40))
    )
    with pytest.raises(ValueError, match="not both"):
        config_from(
            {"page_token_key_file": key_file}, environ={"ADK_GRPC_SESSIONS_PAGE_TOKEN_KEY": SHARED_KEY}
        )
    with pytest.raises(ValueError, match="at least 32 characters"):
        SessionServer(ServerConfig(backend="memory://", page_token_key="short"))
    with pytest.raises(ValueError, match="--page-token-key-file"):
        SessionServer(ServerConfig(backend="memory://", page_token_key_file=tmp_path / "missing"))
