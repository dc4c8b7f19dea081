"""The watch settings: from flags or the environment, and refused when they cannot work."""

from __future__ import annotations

import pytest

from adk_grpc_sessions.server.api.watch import DEFAULT_DELIVERY_SHARE
from adk_grpc_sessions.server.runtime.config import config_from


def test_the_watch_settings_come_from_the_environment() -> None:
    config = config_from(
        {},
        {
            "ADK_GRPC_SESSIONS_WATCH_BUFFER_BYTES": "1048576",
            "ADK_GRPC_SESSIONS_WATCH_POLL_INTERVAL": "100",
            "ADK_GRPC_SESSIONS_WATCH_DELIVERY_SHARE": "0.03",
        },
    )
    assert (config.watch_buffer_bytes, config.watch_poll_interval, config.watch_delivery_share) == (
        1_048_576,
        100.0,
        0.03,
    )
    assert config_from({"watch_poll_interval": 0.05}, {}).watch_poll_interval == 0.05
    flagged = config_from({"watch_delivery_share": 1.0}, {"ADK_GRPC_SESSIONS_WATCH_DELIVERY_SHARE": "0.03"})
    assert flagged.watch_delivery_share == 1.0
    defaults = config_from({}, {})
    assert (defaults.watch_buffer_bytes, defaults.watch_poll_interval, defaults.watch_delivery_share) == (
        8 * 1024 * 1024,
        0.25,
        DEFAULT_DELIVERY_SHARE,
    )


@pytest.mark.parametrize(
    ("settings", "flag"),
    [
        ({"watch_buffer_bytes": 0}, "--watch-buffer-bytes"),
        ({"watch_poll_interval": 0.0}, "--watch-poll-interval"),
        ({"watch_delivery_share": 0.0}, "--watch-delivery-share"),
        ({"watch_delivery_share": 1.01}, "--watch-delivery-share"),
        ({"watch_delivery_share": float("nan")}, "--watch-delivery-share"),
    ],
)
def test_watch_settings_that_cannot_work_are_refused(settings: dict[str, float], flag: str) -> None:
    with pytest.raises(ValueError, match=flag):
        config_from(settings, {})


def test_a_delivery_share_from_the_environment_that_is_not_a_number_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="ADK_GRPC_SESSIONS_WATCH_DELIVERY_SHARE"):
        config_from({}, {"ADK_GRPC_SESSIONS_WATCH_DELIVERY_SHARE": "five percent"})
