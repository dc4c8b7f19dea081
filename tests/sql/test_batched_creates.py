"""Creates stored together in one transaction (group commit), each still all-or-nothing.

On a SQLite file, PostgreSQL and MariaDB. Creates submitted at the same
moment form one batch; the ``commits`` fixture counts the transactions the
backend commits, so every test can check that its creates shared them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    EventWindow,
    ScopedState,
    SessionExistsError,
    SessionKey,
    SessionRecord,
    StateSizeLimitError,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.sql import SqlBackend

CALLERS = 32


def key(name: str, user: str = "user") -> SessionKey:
    return SessionKey("app", user, name)


@pytest.fixture
def commits() -> Iterator[list[int]]:
    """One entry per transaction any engine commits while the test runs."""
    counted: list[int] = []

    def count(connection: Any) -> None:
        counted.append(1)

    sa.event.listen(sa.engine.Engine, "commit", count)
    yield counted
    sa.event.remove(sa.engine.Engine, "commit", count)


async def read(backend: SqlBackend, session_key: SessionKey) -> SessionRecord | None:
    return await backend.get_session(session_key, EventWindow())


async def test_creates_submitted_together_share_commits(backend: SqlBackend, commits: list[int]) -> None:
    await backend.create_session(key("warm-up"), ScopedState(), 1.0)  # the size rows of the user and app
    commits.clear()
    created = await asyncio.gather(
        *(
            backend.create_session(key(f"s{n}", user=f"u{n % 4}"), ScopedState(session={"n": str(n)}), 2.0)
            for n in range(CALLERS)
        )
    )
    assert len(commits) <= CALLERS // 8, f"{CALLERS} creates took {len(commits)} commits"
    assert len({record.revision for record in created}) == CALLERS
    for n, record in enumerate(created):
        stored = await read(backend, key(f"s{n}", user=f"u{n % 4}"))
        assert stored is not None
        assert (stored.revision, stored.state.session, stored.create_time) == (
            record.revision,
            {"n": str(n)},
            2.0,
        )


async def test_a_refused_create_in_a_batch_undoes_only_itself(
    backend: SqlBackend, commits: list[int]
) -> None:
    taken = [key(f"taken{n}") for n in range(4)]
    for session_key in taken:
        await backend.create_session(session_key, ScopedState(session={"first": '"yes"'}), 1.0)
    commits.clear()
    limits = StorageLimits(max_state_bytes=200)
    too_large = ScopedState(session={"big": '"' + "x" * 400 + '"'})
    requests: list[tuple[SessionKey, ScopedState]] = [(session_key, ScopedState()) for session_key in taken]
    requests += [(key(f"large{n}"), too_large) for n in range(4)]
    requests += [(key(f"new{n}"), ScopedState(session={"n": str(n)})) for n in range(CALLERS - len(requests))]
    outcomes = await asyncio.gather(
        *(backend.create_session(k, state, 2.0, limits=limits) for k, state in requests),
        return_exceptions=True,
    )
    # The refused creates are tried again with a purge of an expired namesake, each alone.
    assert len(commits) < CALLERS // 2, f"{CALLERS} creates took {len(commits)} commits"
    for (session_key, state), outcome in zip(requests, outcomes, strict=True):
        stored = await read(backend, session_key)
        if session_key in taken:
            assert isinstance(outcome, SessionExistsError)
            assert stored is not None and stored.state.session == {"first": '"yes"'}
        elif state is too_large:
            assert isinstance(outcome, StateSizeLimitError)
            assert stored is None
        else:
            assert isinstance(outcome, SessionRecord), outcome
            assert stored is not None and stored.revision == outcome.revision
            assert stored.state.session == state.session


async def test_concurrent_creates_of_one_id_leave_exactly_one_winner(
    backend: SqlBackend, commits: list[int]
) -> None:
    ids = [f"id{n}" for n in range(CALLERS // 4)]
    requests = [(ids[n % len(ids)], n) for n in range(CALLERS)]
    outcomes = await asyncio.gather(
        *(
            backend.create_session(key(name), ScopedState(session={"caller": str(caller)}), 2.0)
            for name, caller in requests
        ),
        return_exceptions=True,
    )
    assert len(commits) < CALLERS, f"{CALLERS} creates took {len(commits)} commits"
    for name in ids:
        mine = [(caller, o) for (n, caller), o in zip(requests, outcomes, strict=True) if n == name]
        winners = [(caller, o) for caller, o in mine if isinstance(o, SessionRecord)]
        assert len(winners) == 1, mine
        assert all(isinstance(o, SessionExistsError) for _, o in mine if not isinstance(o, SessionRecord))
        (caller, record), stored = winners[0], await read(backend, key(name))
        assert stored is not None
        assert (stored.revision, stored.state.session) == (record.revision, {"caller": str(caller)})


async def test_creates_setting_one_users_state_are_each_judged_against_the_others(
    backend: SqlBackend,
) -> None:
    # Each adds 60 bytes or so to the user's state: only some fit under the limit.
    limits = StorageLimits(max_state_bytes=300)
    outcomes = await asyncio.gather(
        *(
            backend.create_session(
                key(f"s{n}"), ScopedState(user={f"k{n}": '"' + "v" * 50 + '"'}), 2.0, limits=limits
            )
            for n in range(8)
        ),
        return_exceptions=True,
    )
    stored = [o for o in outcomes if isinstance(o, SessionRecord)]
    refused = [o for o in outcomes if isinstance(o, StateSizeLimitError)]
    assert stored and refused and len(stored) + len(refused) == 8, outcomes
    user_state = await backend.get_user_state("app", "user")
    assert len(user_state) == len(stored)


async def test_creates_without_state_of_their_own_share_commits_and_see_the_shared_state(
    backend: SqlBackend, commits: list[int]
) -> None:
    # (On PostgreSQL, such creates are one statement for the whole batch.)
    await backend.create_session(key("holder", user="u0"), ScopedState(app={"a": "1"}, user={"b": "2"}), 1.0)
    await backend.create_session(key("taken", user="u1"), ScopedState(session={"first": '"yes"'}), 1.0)
    commits.clear()
    requests = [key("taken", user="u1"), key("twice", user="u1"), key("twice", user="u1")]
    requests += [key(f"s{n}", user=f"u{n % 3}") for n in range(CALLERS - len(requests))]
    outcomes = await asyncio.gather(
        *(backend.create_session(k, ScopedState(), 2.0) for k in requests), return_exceptions=True
    )
    assert len(commits) < CALLERS // 4, f"{CALLERS} creates took {len(commits)} commits"
    assert isinstance(outcomes[0], SessionExistsError)
    assert sorted(type(o).__name__ for o in outcomes[1:3]) == ["SessionExistsError", "SessionRecord"]
    created = [(k, o) for k, o in zip(requests, outcomes, strict=True) if isinstance(o, SessionRecord)]
    assert len(created) == CALLERS - 2
    for session_key, record in created:
        shared = ScopedState(app={"a": "1"}, user={"b": "2"} if session_key.user_id == "u0" else {})
        assert record.state == shared, session_key
        stored = await read(backend, session_key)
        assert stored is not None
        assert (stored.revision, stored.state, stored.create_time) == (record.revision, shared, 2.0)
    taken = await read(backend, key("taken", user="u1"))
    assert taken is not None and taken.state.session == {"first": '"yes"'}
