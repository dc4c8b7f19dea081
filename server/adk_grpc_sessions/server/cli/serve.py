"""``adk-grpc-sessions serve``: runs the session server with the settings its flags and environment give."""

from __future__ import annotations

import argparse

from adk_grpc_sessions.server.runtime.config import SETTINGS, config_from
from adk_grpc_sessions.server.runtime.logs import configure_logging
from adk_grpc_sessions.server.runtime.serve import run as run_server


def run(args: argparse.Namespace) -> int:
    """Serves until SIGTERM or SIGINT, then drains; 0 once stopped."""
    flags = {setting.name: getattr(args, setting.name) for setting in SETTINGS}
    if flags["listen"] is not None:
        flags["listen"] = [address for group in flags["listen"] for address in group]
    config = config_from(flags)
    configure_logging(config.log_format, config.log_level)  # type: ignore[arg-type]  # checked by config
    run_server(config)
    return 0
