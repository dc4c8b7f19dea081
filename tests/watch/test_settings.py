"""The watch settings: from flags or the environment, and refused when they cannot work."""

from __future__ import annotations

import pytest

from adk_grpc_sessions.server.runtime.config import config_from


def test_the_watch_settings_come_from_the_environment() -> None:
    config = config_from(
        {},
        {"ADK_GRPC_SESSIONS_WATCH_BUFFER_BYTES": "1048576", "ADK_GRPC_SESSIONS_WATCH_POLL_INTERVAL": "100"},
    )
    assert (config.watch_buffer_bytes, config.watch_poll_interval) == (1_048_576, 100.0)
    assert config_from({"watch_poll_interval": 0.05}, {}).watch_poll_interval == 0.05
    defaults = config_from({}, {})
    assert (defaults.watch_buffer_bytes, defaults.watch_poll_interval) == (8 * 1024 * 1024, 0.25)


@pytest.mark.parametrize(
    ("settings", "flag"),
    [
        ({"watch_buffer_bytes": 0}, "--watch-buffer-bytes"),
        ({"watch_poll_interval": 0.0}, "--watch-poll-interval"),
    ],
)
def test_watch_settings_that_cannot_work_are_refused(settings: dict[str, float], flag: str) -> None:
    with pytest.raises(ValueError, match=flag):
        config_from(settings, {})
