"""The proto, which other languages' clients are written from, states the limits ``wire.limits`` defines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adk_grpc_sessions.wire import limits

PROTO = Path(__file__).parents[2] / "protos" / "adk_grpc_sessions" / "v1" / "session_service.proto"


def _proto_text() -> str:
    """The proto's comments and code as one line of words, comment markers dropped."""
    text = re.sub(r"^\s*//", " ", PROTO.read_text(), flags=re.MULTILINE)
    return " ".join(text.split())


@pytest.mark.parametrize(
    "statement",
    [
        f"1 to {limits.MAX_KEY_LENGTH} code points",
        f"0 = {limits.DEFAULT_PAGE_SIZE}; values above {limits.MAX_PAGE_SIZE} are treated as {limits.MAX_PAGE_SIZE}",
        f"BatchAppendEvents takes at most {limits.MAX_BATCH_APPENDS} appends",
        f"BatchCreateSessions takes at most {limits.MAX_BATCH_CREATES} creates",
        f"at most {limits.MAX_EVENTS_PER_SESSION_READ:,})",
        f"--max-message-bytes, {limits.DEFAULT_MAX_MESSAGE_BYTES // 2**20} MiB",
        f"--max-state-bytes ({limits.DEFAULT_MAX_STATE_BYTES // 2**20} MiB)",
        f"--max-session-bytes ({limits.DEFAULT_MAX_SESSION_BYTES // 2**30} GiB)",
        f"at most {limits.MAX_JSON_DEPTH} levels",
        f"at most {limits.MAX_EVENT_JSON_DEPTH} ({limits.MAX_JSON_DEPTH}, plus "
        f"{limits.EVENT_JSON_DEPTH_ALLOWANCE} for ADK's own structure",
        f"with {limits.RESPONSE_ENVELOPE_BYTES // 1024} KiB to spare",
    ],
)
def test_the_proto_states_each_limit_as_wire_limits_defines_it(statement: str) -> None:
    assert statement in _proto_text()
