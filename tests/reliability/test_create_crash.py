"""Creates by 32 callers at once, some naming the same id, and SIGKILL of the server right after answers.

Concurrent creates share transactions; a batch's callers hear of their
creates only after its commit. So whatever answer a caller had before the
kill holds after it: each created session is stored with the state its
creator gave, and an id refused as taken is held by a session stored by
another caller of that id. Exactly one caller of an id wins it.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Final

import pytest
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.sessions import Session

from adk_grpc_sessions.client import GrpcSessionService
from tests.net import free_port
from tests.server_process import ServerProcess, wait_until_serving

pytestmark = pytest.mark.slow

APP: Final = "creates"
CALLERS: Final = 32
IDS: Final = 8
"""Ids the callers create: four callers each, on users of their own."""
ROUNDS: Final = 3


def _serve(address: str, backend_uri: str, cwd: Path) -> ServerProcess:
    return ServerProcess(
        ["serve", "--listen", address, "--backend", backend_uri, "--log-level", "WARNING"], cwd=cwd
    )


def _id(round_number: int, caller: int) -> tuple[str, str]:
    """The user and session id caller ``caller`` of round ``round_number`` creates."""
    return f"user{caller % 2}", f"r{round_number}-s{caller % IDS}"


async def _kill_after_answers(
    address: str, server: ServerProcess, round_number: int, answers_before_kill: int
) -> dict[int, Session | BaseException]:
    """Starts every caller's create, and SIGKILLs the server once that many have answered."""
    answered: dict[int, Session | BaseException] = {}
    async with GrpcSessionService(address) as client:
        tasks = {
            asyncio.create_task(
                client.create_session(
                    app_name=APP,
                    user_id=_id(round_number, caller)[0],
                    session_id=_id(round_number, caller)[1],
                    state={"caller": caller},
                )
            ): caller
            for caller in range(CALLERS)
        }
        pending = set(tasks)
        while len(answered) < answers_before_kill:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                answered[tasks[task]] = task.exception() or task.result()
        assert server.process is not None
        server.process.send_signal(signal.SIGKILL)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    await server.wait()
    return answered


async def test_every_create_answered_before_a_kill_holds_after_it_one_winner_per_id(
    durable_backend_uri: str, tmp_path: Path
) -> None:
    address = f"127.0.0.1:{free_port()}"
    for round_number in range(ROUNDS):
        server = await _serve(address, durable_backend_uri, tmp_path).start()
        await wait_until_serving(address, wait=60)
        # All answers, then some: a kill with creates still in flight too.
        answers_before_kill = CALLERS if round_number == 0 else CALLERS // 2
        answered = await _kill_after_answers(address, server, round_number, answers_before_kill)

        server = await _serve(address, durable_backend_uri, tmp_path).start()
        await wait_until_serving(address, wait=60)
        try:
            async with GrpcSessionService(address) as reader:
                winners: dict[tuple[str, str], list[int]] = {}
                for caller, outcome in answered.items():
                    user_id, session_id = _id(round_number, caller)
                    stored = await reader.get_session(app_name=APP, user_id=user_id, session_id=session_id)
                    assert stored is not None, f"caller {caller}'s answer {outcome!r}, and nothing stored"
                    if isinstance(outcome, Session):
                        winners.setdefault((user_id, session_id), []).append(caller)
                        assert stored.state == {"caller": caller}
                        assert stored.last_update_time == outcome.last_update_time
                    else:
                        assert isinstance(outcome, AlreadyExistsError), repr(outcome)
                        assert stored.state["caller"] != caller
                assert all(len(callers) == 1 for callers in winners.values()), json.dumps(
                    {f"{k[0]}/{k[1]}": v for k, v in winners.items()}
                )
                if answers_before_kill == CALLERS:
                    assert len(winners) == IDS, winners
        finally:
            assert await server.stop() == 0, server.stderr
