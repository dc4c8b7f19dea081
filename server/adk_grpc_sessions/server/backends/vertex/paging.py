"""Where a read stands in the API's listings: the cursors this backend issues, and page sizes.

Reads page through the API within the read's byte budget: each API page asks
for as many items as the budget holds at the largest item seen so far (a
few, until one is seen), and a read stops where the budget does, resuming
later from the same API page (its token, and how many of its items were
taken).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pydantic_core

from adk_grpc_sessions.server.backends.base import BackendRefusedError, Refusal

LIST_PAGE_SIZE: Final = 100
"""The most items one API page holds (the API's documented default and largest page)."""
FIRST_PAGE_SIZE: Final = 4
"""Items asked for in a read's first API page, before any item's size is known: items may
take up to a response each, so a read starts small, then asks for what its budget holds."""


def invalid_token() -> BackendRefusedError:
    """The refusal of a page token this server did not issue."""
    return BackendRefusedError(
        Refusal.INVALID_INPUT, "page_token is not one this server issued", reason="INVALID_PAGE_TOKEN"
    )


@dataclass(frozen=True, slots=True)
class At:
    """A place in an API listing.

    The page that holds it (its token; empty for the first) and how many of
    that page's items come before it.
    """

    token: str = ""
    taken: int = 0

    def encode(self) -> str:
        """The place as cursor text."""
        return pydantic_core.to_json([self.token, self.taken]).decode()

    @classmethod
    def decode(cls, text: str) -> At:
        """The place a cursor of ``encode`` stands for; the first if ``text`` is empty."""
        if not text:
            return cls()
        try:
            match pydantic_core.from_json(text):
                case [str() as token, int() as taken] if 0 <= taken <= LIST_PAGE_SIZE:
                    return cls(token, taken)
        except ValueError:
            pass
        raise invalid_token()


@dataclass(slots=True)
class EventWalk:
    """Where an event listing stands: a page of ListEvents, or the rest of a session read."""

    generation: int
    """The read session's ``create_time`` in microseconds; 0 for an ordinary page."""
    after_timestamp: float | None
    remaining: int
    """Events left in the read's selection; -1: every event that follows."""
    listed: int
    """Events before this place: the next one is numbered ``listed + 1``."""
    at: At
    blocked: int = 0
    """The size of the event a walk stopped at for want of room (0 if it stopped for another reason)."""

    def moved(self, at: At, listed: int, taken: int) -> EventWalk:
        """The walk after ``taken`` more events, at ``at``."""
        remaining = -1 if self.remaining < 0 else self.remaining - taken
        return EventWalk(self.generation, self.after_timestamp, remaining, listed, at)

    def encode(self) -> str:
        """The walk as cursor text."""
        return pydantic_core.to_json(
            [self.generation, self.after_timestamp, self.remaining, self.listed, self.at.token, self.at.taken]
        ).decode()

    @classmethod
    def decode(cls, text: str, after_timestamp: float | None) -> EventWalk:
        """The walk a cursor of ``encode`` stands for; a new page listing if ``text`` is empty.

        ``after_timestamp`` is the request's: an ordinary page keeps it (the
        page token is bound to it), the rest of a read has its own.
        """
        if not text:
            return cls(0, after_timestamp, -1, 0, At())
        try:
            match pydantic_core.from_json(text):
                case [
                    int() as generation,
                    (float() | int() | None) as after,
                    int() as remaining,
                    int() as listed,
                    str() as token,
                    int() as taken,
                ] if generation >= 0 and remaining >= -1 and listed >= 0 and 0 <= taken <= LIST_PAGE_SIZE:
                    if not generation:
                        after = after_timestamp
                    return cls(
                        generation,
                        None if after is None else float(after),
                        remaining,
                        listed,
                        At(token, taken),
                    )
        except ValueError:
            pass
        raise invalid_token()


class PageSizer:
    """API page sizes for a read within a byte budget.

    A few items until sizes are seen, then as many as the budget holds at the
    largest size seen.
    """

    def __init__(self) -> None:
        self._largest = 0

    def saw(self, size: int) -> None:
        """Counts an item of ``size`` bytes seen."""
        self._largest = max(self._largest, size)

    def page_size(self, room: int, wanted: int, skipped: int) -> int:
        """Items to ask for: at most ``wanted`` more (plus the ``skipped`` ones a resumed page repeats)."""
        fits = FIRST_PAGE_SIZE if not self._largest else max(1, room // self._largest)
        return max(1, min(LIST_PAGE_SIZE, skipped + min(wanted, fits)))
