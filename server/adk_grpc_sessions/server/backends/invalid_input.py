"""Input that breaks the contract: ``InvalidArgumentError``, naming each offending field, and the key rules.

Here, beside the records of ``base``, because both sides of the Backend
boundary read input by these rules: the API checks every request with them,
and the JSON readers they share (``json_values``, ``event_json``) raise this
error, also when the Vertex backend reads its stored events back. The API's
``errors`` maps it to INVALID_ARGUMENT with a ``BadRequest``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from adk_grpc_sessions.wire.limits import MAX_KEY_LENGTH

_CONTROL_CHARACTERS: Final = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One problem with one request field, named by its path (e.g. ``state.app["k"]``)."""

    field: str
    description: str


class InvalidArgumentError(Exception):
    """A request is malformed; becomes INVALID_ARGUMENT with a ``BadRequest``."""

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))

    @classmethod
    def single(cls, field: str, description: str) -> InvalidArgumentError:
        """An error about one field."""
        return cls([FieldViolation(field, description)])


def check_key(field: str, value: str) -> str:
    """Checks an app name, user id, session id or event id; returns it unchanged.

    Raises:
        InvalidArgumentError: empty, too long, or holding a control character.
    """
    if not value:
        raise InvalidArgumentError.single(field, "required")
    if len(value) > MAX_KEY_LENGTH:
        raise InvalidArgumentError.single(field, f"at most {MAX_KEY_LENGTH} characters, got {len(value)}")
    if _CONTROL_CHARACTERS.search(value):
        raise InvalidArgumentError.single(field, "must not contain control characters")
    return value
