"""The client's append pipeline: appends made together go in one call, and each keeps its own outcome.

These count calls, so their clients send lone appends as calls of their own
(``stream_appends=False``); ``test_append_stream`` covers the stream.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from google.adk.errors import StaleSessionError
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.session import Session

from adk_grpc_sessions.client import (
    GrpcSessionService,
    RetryPolicy,
    SessionServiceTimeoutError,
)
from adk_grpc_sessions.server.backends.base import (
    DEFAULT_LIMITS,
    AppendResult,
    BackendUnavailableError,
    NewEvent,
    SessionKey,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.memory import MemoryBackend
from tests.client.fake_servers import LossyServer
from tests.ops.gated_backend import GatedBackend

FAST_RETRIES = RetryPolicy(initial_backoff=0.01, max_backoff=0.05)


def _event(index: int, **delta: object) -> Event:
    return Event(
        author="agent",
        invocation_id=f"inv-{index}",
        timestamp=1_800_000_000.0 + index,
        actions=EventActions(state_delta=dict(delta)),
    )


async def _sessions(client: GrpcSessionService, count: int) -> list[Session]:
    return [await client.create_session(app_name="app", user_id=f"u{i}") for i in range(count)]


async def _stored_ids(client: GrpcSessionService, session: Session) -> list[str]:
    stored = await client.get_session(app_name="app", user_id=session.user_id, session_id=session.id)
    assert stored is not None
    return [e.id for e in stored.events]


async def test_appends_made_together_go_together_and_each_lands() -> None:
    server = LossyServer(set())
    async with server.running() as address, GrpcSessionService(address, stream_appends=False) as client:
        sessions = await _sessions(client, 32)
        for round_ in range(3):
            await asyncio.gather(
                *(client.append_event(s, _event(round_, n=round_, who=i)) for i, s in enumerate(sessions))
            )
        for i, session in enumerate(sessions):
            stored = await client.get_session(app_name="app", user_id=session.user_id, session_id=session.id)
            assert stored is not None
            assert [e.id for e in stored.events] == [e.id for e in session.events]
            assert stored.state == session.state == {"n": 2, "who": i}
            # The local session's revision followed its own append, not a neighbour's.
            assert stored._storage_update_marker == session._storage_update_marker
    # 96 appends: far fewer calls, most of them batches.
    appends = server.calls.get("AppendEvent", 0) + server.calls.get("BatchAppendEvents", 0)
    assert server.calls.get("BatchAppendEvents", 0) >= 3
    assert appends <= 24


async def test_a_lone_append_is_a_call_of_its_own_without_the_stream() -> None:
    server = LossyServer(set())
    async with server.running() as address, GrpcSessionService(address, stream_appends=False) as client:
        (session,) = await _sessions(client, 1)
        for index in range(5):
            await client.append_event(session, _event(index))
    assert server.calls.get("AppendEvent") == 5
    assert "BatchAppendEvents" not in server.calls


async def test_calls_in_flight_and_appends_per_call_are_bounded() -> None:
    backend = GatedBackend()
    server = LossyServer(set(), backend=backend)
    async with (
        server.running() as address,
        GrpcSessionService(
            address, stream_appends=False, max_appends_in_flight=2, max_appends_per_call=3
        ) as client,
    ):
        sessions = await _sessions(client, 10)
        appending = asyncio.gather(*(client.append_event(s, _event(1)) for s in sessions))
        # The first append opens a call alone; the next nine wait for the turn's
        # end, and one more call of three may open: four appends reach storage.
        await backend.until_waiting(4)
        await asyncio.sleep(0.1)
        assert backend.waiting == 4
        backend.gate.set()
        await appending
        for session in sessions:
            assert await _stored_ids(client, session) == [session.events[0].id]
    assert server.calls["AppendEvent"] == 1
    assert server.calls["BatchAppendEvents"] == 3  # 3 + 3 + 3


async def test_each_append_of_a_batch_keeps_its_own_outcome() -> None:
    server = LossyServer(set())
    async with server.running() as address, GrpcSessionService(address, stream_appends=False) as client:
        sessions = await _sessions(client, 6)
        stale = sessions[1].model_copy(deep=True)
        await client.append_event(sessions[1], _event(0))  # ``stale`` is now out of date
        await client.delete_session(app_name="app", user_id=sessions[2].user_id, session_id=sessions[2].id)
        targets = [sessions[0], stale, sessions[2], sessions[3], sessions[4], sessions[5]]
        outcomes = await asyncio.gather(
            *(client.append_event(s, _event(1, k=i)) for i, s in enumerate(targets)), return_exceptions=True
        )
        assert isinstance(outcomes[1], StaleSessionError)
        assert isinstance(outcomes[2], SessionNotFoundError)
        for index in (0, 3, 4, 5):
            assert isinstance(outcomes[index], Event)
            assert len(await _stored_ids(client, targets[index])) == 1
        assert len(await _stored_ids(client, sessions[1])) == 1  # the stale append stored nothing
    assert server.calls.get("BatchAppendEvents", 0) >= 1


async def test_a_lost_batch_answer_is_retried_whole_without_storing_twice() -> None:
    server = LossyServer({"BatchAppendEvents"})
    async with (
        server.running() as address,
        GrpcSessionService(address, stream_appends=False, retry_policy=FAST_RETRIES) as client,
    ):
        sessions = await _sessions(client, 8)
        await asyncio.gather(*(client.append_event(s, _event(1, n=1)) for s in sessions))
        await asyncio.gather(*(client.append_event(s, _event(2, n=2)) for s in sessions))
        for session in sessions:
            assert await _stored_ids(client, session) == [e.id for e in session.events]
            assert len(session.events) == 2
    assert server.calls["BatchAppendEvents"] >= 3  # the lost one, its retry, the second round's


class _FlakyBackend(MemoryBackend):
    """Storage that is unreachable for the first append of each event id named in ``flaky``."""

    def __init__(self, flaky: set[str]) -> None:
        super().__init__()
        self.flaky = set(flaky)

    async def append_event(
        self,
        key: SessionKey,
        event: NewEvent,
        expected_revision: int,
        *,
        refresh_expiry: bool = False,
        limits: StorageLimits = DEFAULT_LIMITS,
    ) -> AppendResult:
        if event.id in self.flaky:
            self.flaky.discard(event.id)
            raise BackendUnavailableError("storage unreachable (test)")
        return await super().append_event(
            key, event, expected_revision, refresh_expiry=refresh_expiry, limits=limits
        )


async def test_an_append_that_fails_alone_with_unavailable_is_retried_alone() -> None:
    events = [_event(1, k=i) for i in range(6)]
    backend = _FlakyBackend({events[2].id, events[4].id})
    server = LossyServer(set(), backend=backend)
    async with (
        server.running() as address,
        GrpcSessionService(address, stream_appends=False, retry_policy=FAST_RETRIES) as client,
    ):
        sessions = await _sessions(client, 6)
        await asyncio.gather(*(client.append_event(s, e) for s, e in zip(sessions, events, strict=True)))
        for session, event in zip(sessions, events, strict=True):
            assert await _stored_ids(client, session) == [event.id]
    assert not backend.flaky
    assert server.calls["BatchAppendEvents"] == 1
    assert server.calls["AppendEvent"] == 1 + 2  # the lone first, then the two retried alone


async def test_an_append_cancelled_while_waiting_is_never_sent() -> None:
    backend = GatedBackend()
    server = LossyServer(set(), backend=backend)
    async with (
        server.running() as address,
        GrpcSessionService(address, stream_appends=False, max_appends_in_flight=1) as client,
    ):
        first, second = await _sessions(client, 2)
        sent = asyncio.create_task(client.append_event(first, _event(1)))
        await backend.until_waiting(1)
        waiting = asyncio.create_task(client.append_event(second, _event(2)))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        backend.gate.set()
        await sent
        await asyncio.sleep(0.05)
        assert await _stored_ids(client, first) == [first.events[0].id]
        assert await _stored_ids(client, second) == []
    assert server.calls["AppendEvent"] == 1
    assert "BatchAppendEvents" not in server.calls


async def test_an_append_that_waits_past_its_time_budget_times_out_and_is_not_stored() -> None:
    backend = GatedBackend()
    server = LossyServer(set(), backend=backend)
    async with server.running() as address:
        patient = GrpcSessionService(address, stream_appends=False)
        hasty = GrpcSessionService(address, stream_appends=False, timeout=0.3, max_appends_in_flight=1)
        first, second = await _sessions(patient, 2)
        sent = asyncio.create_task(hasty.append_event(first, _event(1)))
        await backend.until_waiting(1)
        started = asyncio.get_running_loop().time()
        with pytest.raises(SessionServiceTimeoutError):
            await hasty.append_event(second, _event(2))
        assert asyncio.get_running_loop().time() - started < 0.5
        with pytest.raises(SessionServiceTimeoutError):
            await sent  # its own call's deadline passed too
        # If the second was sent when the first's call ended, with what was
        # left of its budget, that deadline has passed too: storage must not
        # see it. (Opened at once, the gate would race that deadline.)
        await backend.until_waiting(0)
        backend.gate.set()
        await asyncio.sleep(0.05)
        assert await _stored_ids(patient, second) == []
        await hasty.close()
        await patient.close()
    assert "BatchAppendEvents" not in server.calls


@pytest.mark.parametrize(("in_flight", "per_call"), [(-1, 16), (8, 0), (8, 1001)])
def test_pipeline_limits_are_checked(in_flight: int, per_call: int) -> None:
    with pytest.raises(ValueError, match="max_appends"):
        GrpcSessionService("localhost:1", max_appends_in_flight=in_flight, max_appends_per_call=per_call)


async def test_no_pipeline_sends_every_append_at_once() -> None:
    backend = GatedBackend()
    server = LossyServer(set(), backend=backend)
    async with (
        server.running() as address,
        GrpcSessionService(address, stream_appends=False, max_appends_in_flight=0) as client,
    ):
        sessions = await _sessions(client, 5)
        appending = asyncio.gather(
            *(client.append_event(s, _event(1, id=uuid.uuid4().hex)) for s in sessions)
        )
        await backend.until_waiting(5)
        backend.gate.set()
        await appending
    assert server.calls["AppendEvent"] == 5
    assert "BatchAppendEvents" not in server.calls
