"""The Python client's metadata calls where the network loses an answer: a fork is recognised on retry."""

from __future__ import annotations

import pytest
from google.adk.errors.already_exists_error import AlreadyExistsError

from adk_grpc_sessions.client import GrpcSessionService, RetryPolicy
from tests.client.fake_servers import LossyServer

FAST_RETRIES = RetryPolicy(initial_backoff=0.05, max_backoff=0.2)


async def test_a_fork_whose_answer_was_lost_is_recognised_on_retry(app_name: str) -> None:
    lossy = LossyServer(lose_first={"ForkSession"})
    async with lossy.running() as address, GrpcSessionService(address, retry_policy=FAST_RETRIES) as client:
        await client.create_session(app_name=app_name, user_id="u1", session_id="src", state={"k": 1})
        fork = await client.fork_session(app_name=app_name, user_id="u1", session_id="src", display_name="f")
        assert lossy.calls["ForkSession"] == 2
        assert fork.forked_from is not None and fork.forked_from.session_id == "src"
        assert fork.display_name == "f"
        listed = {s.id for s in (await client.list_sessions(app_name=app_name)).sessions}
        assert listed == {"src", fork.session_id}


async def test_a_fork_onto_a_named_id_that_is_taken_is_already_exists_even_after_a_lost_answer(
    app_name: str,
) -> None:
    lossy = LossyServer(lose_first={"ForkSession"})
    async with lossy.running() as address, GrpcSessionService(address, retry_policy=FAST_RETRIES) as client:
        await client.create_session(app_name=app_name, user_id="u1", session_id="src")
        # The caller named the id: a retry finding it taken cannot tell its own fork from another's.
        with pytest.raises(AlreadyExistsError):
            await client.fork_session(
                app_name=app_name, user_id="u1", session_id="src", new_session_id="named"
            )
        info = await client.get_session_info(app_name=app_name, user_id="u1", session_id="named")
        assert info is not None and info.forked_from is not None
