"""Which sessions a listing keeps and in which order: a parsed filter and order, as backends receive them.

Part of the Backend boundary (``base`` re-exports every name). The API layer
parses ``ListSessionsRequest.filter`` and ``order_by`` (``api.session_filter``)
into a ``SessionQuery``; a backend evaluates it where its data is (SQL in the
database, through indexes; the memory backend in Python) and never sees the
filter's text. Every condition must hold (a conjunction).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final


class Field(enum.Enum):
    """What a condition compares."""

    DISPLAY_NAME = "display_name"
    LABEL = "labels"
    """One label, named by ``Condition.label``."""
    CREATE_TIME = "create_time"
    UPDATE_TIME = "update_time"
    """The session's ``last_update_time``."""
    CLOSED = "closed"


class Operator(enum.Enum):
    """How a condition compares (AIP-160's operators that the filter grammar takes)."""

    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    HAS = ":*"
    """The label is set (``labels.KEY:*``); only with ``Field.LABEL``."""


@dataclass(frozen=True, slots=True)
class Condition:
    """One comparison of a filter.

    ``value`` by field: ``DISPLAY_NAME`` and ``LABEL`` a str (EQ, NE; LABEL
    also HAS, with None), ``CREATE_TIME`` and ``UPDATE_TIME`` float seconds
    since the epoch (any operator but HAS), ``CLOSED`` a bool (EQ only).
    ``labels.KEY != v`` keeps the sessions without the label too.
    """

    field: Field
    operator: Operator
    value: str | float | bool | None
    label: str = ""
    """The label's key, for ``Field.LABEL``."""


class OrderBy(enum.Enum):
    """What a listing is ordered by; ties are broken by user_id, then session_id, in the same direction."""

    UPDATE_TIME = "update_time"
    CREATE_TIME = "create_time"


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """A listing's filter (a conjunction of ``conditions``; none = every session) and order."""

    conditions: tuple[Condition, ...] = ()
    order_by: OrderBy = OrderBy.UPDATE_TIME
    descending: bool = False


ALL_SESSIONS: Final = SessionQuery()
"""Every session, oldest update first: ADK's listing."""
