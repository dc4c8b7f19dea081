"""Counters incremented through several server replicas at once: the test of lost updates.

Each increment reads the session, appends an event that sets the ``user:``
counter one higher, and on ``StaleSessionError`` reloads and tries again. With
the revision check made by the database, exactly one of two racing writers
wins, whichever replica each goes through, so the counter ends equal to the
number of acknowledged increments, and each acknowledged event is stored once.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

from google.adk.errors import StaleSessionError
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.session import Session

from adk_grpc_sessions.client import GrpcSessionService

APP = "counters"


@dataclass(frozen=True)
class Increment:
    """One acknowledged increment."""

    session_id: str
    event_id: str
    tries: int


async def increment(service: GrpcSessionService, user_id: str, session_id: str) -> Increment:
    """Adds one to the session user's counter, retrying on stale sessions; returns what was acknowledged."""
    tries = 0
    while True:
        tries += 1
        session = await service.get_session(app_name=APP, user_id=user_id, session_id=session_id)
        assert session is not None
        count = session.state.get("user:count", 0)
        event = Event(
            author="counter", invocation_id="inc", actions=EventActions(state_delta={"user:count": count + 1})
        )
        try:
            await service.append_event(session, event)
        except StaleSessionError:
            continue
        return Increment(session_id, event.id, tries)


async def run_counters(
    services: list[GrpcSessionService],
    sessions: list[Session],
    *,
    increments: int | None = None,
    seconds: float = 0,
) -> list[Increment]:
    """Every service increments the sessions' counters in turn: ``increments`` each, or for ``seconds``."""
    deadline = time.monotonic() + seconds

    async def client(index: int) -> list[Increment]:
        done = []
        step = 0
        while (increments is not None and step < increments) or (
            increments is None and time.monotonic() < deadline
        ):
            target = sessions[(index + step) % len(sessions)]
            done.append(await increment(services[index], target.user_id, target.id))
            step += 1
        return done

    batches = await asyncio.gather(*(client(i) for i in range(len(services))))
    return [done for batch in batches for done in batch]


async def check_counters(
    reader: GrpcSessionService, sessions: list[Session], results: list[Increment]
) -> None:
    """Every acknowledged increment is stored once, and each counter equals its acknowledged increments."""
    acknowledged = Counter(r.session_id for r in results)
    for session in sessions:
        stored = await reader.get_session(app_name=APP, user_id=session.user_id, session_id=session.id)
        assert stored is not None
        stored_ids = [e.id for e in stored.events]
        assert len(stored_ids) == len(set(stored_ids)), "an event was stored twice"
        assert set(stored_ids) == {r.event_id for r in results if r.session_id == session.id}
        assert stored.state["user:count"] == acknowledged[session.id] == len(stored_ids)
