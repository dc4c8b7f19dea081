"""The lifecycle settings: durations as people write them, checked at start, and the sweeper's loop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adk_grpc_sessions.server.backends.base import (
    BackendRefusedError,
    BackendUnavailableError,
    PurgeBatch,
    Refusal,
)
from adk_grpc_sessions.server.backends.memory import MemoryBackend
from adk_grpc_sessions.server.runtime.config import config_from, duration
from adk_grpc_sessions.server.runtime.sweeper import Sweeper
from tests.waiting import until


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 2_592_000), ("12h", 43_200), ("15m", 900), ("90s", 90), ("90", 90), ("0.5", 0.5)],
)
def test_durations_take_days_hours_minutes_seconds_or_plain_seconds(text: str, seconds: float) -> None:
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["", "d", "1w", "-5s", "1h30m", "soon"])
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        duration(text)


def test_the_lifecycle_settings_come_from_the_environment() -> None:
    config = config_from(
        {},
        {
            "ADK_GRPC_SESSIONS_SESSION_TTL": "30d",
            "ADK_GRPC_SESSIONS_SESSION_TTL_REFRESH_ON_APPEND": "true",
            "ADK_GRPC_SESSIONS_CLOSED_SESSION_TTL": "7d",
            "ADK_GRPC_SESSIONS_PURGE_INTERVAL": "5m",
            "ADK_GRPC_SESSIONS_PURGE_BATCH_SIZE": "500",
        },
    )
    assert (config.session_ttl, config.closed_session_ttl) == (30 * 86_400, 7 * 86_400)
    assert config.session_ttl_refresh_on_append is True
    assert (config.purge_interval, config.purge_batch_size) == (300, 500)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"session_ttl": 0.0}, "--session-ttl must be positive"),
        (
            {"closed_session_ttl": 200 * 365 * 86_400.0},
            "--closed-session-ttl must be positive and at most 100",
        ),
        ({"purge_interval": 0.0}, "--purge-interval must be positive"),
        ({"purge_batch_size": 0}, "--purge-batch-size must be positive"),
    ],
)
def test_lifecycle_settings_that_cannot_work_are_refused_at_start(
    flags: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        config_from(flags, {})


class _Refusing(MemoryBackend):
    """Storage whose purges fail with ``error``, counting the attempts."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error
        self.attempts = 0

    async def purge_expired(
        self, limit: int, *, app_name: str | None = None, user_id: str | None = None
    ) -> PurgeBatch:
        self.attempts += 1
        raise self.error


async def test_the_sweeper_stops_for_good_on_a_backend_that_cannot_purge(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = _Refusing(BackendRefusedError(Refusal.UNSUPPORTED, "no purge here"))
    sweeper = Sweeper(backend, interval=0.01, batch_size=10)
    with caplog.at_level(logging.INFO):
        sweeper.start()
        await until(lambda: backend.attempts == 1)
        await asyncio.sleep(0.1)  # ten intervals: a sweeper still running would have tried again
        await sweeper.stop()
    assert backend.attempts == 1
    assert "the backend does not purge expired sessions" in caplog.text


async def test_the_sweeper_tries_again_after_storage_fails() -> None:
    backend = _Refusing(BackendUnavailableError("database down"))
    sweeper = Sweeper(backend, interval=0.01, batch_size=10)
    sweeper.start()
    try:
        await until(lambda: backend.attempts >= 3)
    finally:
        await sweeper.stop()
