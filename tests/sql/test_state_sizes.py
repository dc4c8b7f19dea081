"""The sizes the state limit is checked on stay exact, and the limit holds, with writers on two servers.

Two ``SqlBackend`` instances on one database are two servers: their group
commits know nothing of each other, so their writes of one shared scope
meet only in the database.
"""

from __future__ import annotations

import asyncio
import pathlib
import random
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from adk_grpc_sessions.server.backends.base import (
    BackendUnavailableError,
    EventWindow,
    NewEvent,
    ScopedState,
    SessionKey,
    StaleRevisionError,
    StateSizeLimitError,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.sql import SqlBackend, schema
from adk_grpc_sessions.wire.limits import state_bytes
from tests.sql.conftest import DATABASE_KINDS, new_database_uri

LIMITS = StorageLimits(max_state_bytes=25_000)


@pytest.fixture(params=DATABASE_KINDS)
async def two_servers(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> AsyncIterator[list[SqlBackend]]:
    uri = await new_database_uri(request.param, tmp_path)
    backends = [SqlBackend.from_uri(uri) for _ in range(2)]
    await backends[0].upgrade_schema()
    for backend in backends:
        await backend.start()
    yield backends
    for backend in backends:
        await backend.close()


_RETRIES = 3
"""Times a writer makes an append that ended UNAVAILABLE, as a client would."""


def _event(event_id: str, delta: ScopedState) -> NewEvent:
    return NewEvent(
        id=event_id,
        invocation_id="i",
        author="a",
        branch="",
        timestamp=1.0,
        state_delta=delta,
        event_json=f'{{"id": "{event_id}", "timestamp": 1.0}}',
    )


async def _kept_sizes(backend: SqlBackend) -> dict[str, int]:
    async with backend.transaction(write=False) as connection:
        user = (await connection.execute(sa.select(schema.user_state_size.c.state_bytes))).scalar_one()
        app = (await connection.execute(sa.select(schema.app_state_size.c.state_bytes))).scalar_one()
        own = dict(
            (
                await connection.execute(
                    sa.select(schema.sessions.c.session_id, schema.sessions.c.state_bytes)
                )
            ).all()
        )
    return {"user": user, "app": app, **own}


async def test_writers_on_two_servers_keep_every_scopes_size_exact_and_within_the_limit(
    two_servers: list[SqlBackend],
) -> None:
    rng = random.Random(7)
    keys = [SessionKey("app", "u", f"s{n}") for n in range(6)]
    for key in keys:
        await two_servers[0].create_session(key, ScopedState(), 1.0)

    async def write(key: SessionKey, index: int) -> list[str]:
        """Appends 15 events, each overwriting or adding keys of every scope, alternating servers."""
        refused: list[str] = []
        record = await two_servers[0].get_session(key, EventWindow(num_recent_events=0))
        assert record is not None
        revision = record.revision
        for n in range(15):

            def value() -> str:
                return '"' + "v" * rng.randrange(1, 9000) + '"'

            delta = ScopedState(
                app={f"a{rng.randrange(4)}": value()},
                user={f"u{rng.randrange(4)}": value()},
                session={f"s{rng.randrange(3)}": value()},
            )
            backend = two_servers[(index + n) % 2]
            # Refused each time by a scope the other server changed meanwhile, an append ends
            # UNAVAILABLE with nothing stored, and is made again, as a client retries it.
            for _ in range(_RETRIES):
                try:
                    revision = (
                        await backend.append_event(
                            key, _event(f"{key.session_id}-{n}", delta), revision, limits=LIMITS
                        )
                    ).revision
                except StateSizeLimitError as exc:
                    refused.append(exc.scope)
                except StaleRevisionError:
                    raise AssertionError("one writer per session: never stale") from None
                except BackendUnavailableError:
                    continue
                break
            else:
                raise AssertionError(f"an append was unavailable {_RETRIES} times over")
        return refused

    refusals = await asyncio.gather(*(write(key, index) for index, key in enumerate(keys)))

    assert any(refusals), "the test must reach the limit to test it"
    kept = await _kept_sizes(two_servers[0])
    user = await two_servers[1].get_user_state("app", "u")
    app = await two_servers[1].get_app_state("app")
    assert kept["user"] == state_bytes(user) <= LIMITS.max_state_bytes
    assert kept["app"] == state_bytes(app) <= LIMITS.max_state_bytes
    for key in keys:
        record = await two_servers[1].get_session(key, EventWindow(num_recent_events=0))
        assert record is not None
        assert kept[key.session_id] == state_bytes(record.state.session) <= LIMITS.max_state_bytes
