"""When a transaction runs again: after its connection was dropped, and after a deadlock or a busy database.

Connections are not pinged before use (a round trip per transaction): a
connection the database dropped (a restart, an idle connection cut) fails
its transaction before the commit; SQLAlchemy then discards every pooled
connection of that age (and ``PostgresqlExecutor`` every connection it
keeps), and the transaction runs once more, at once, on a new one. One
that failed in its commit is not run again here: it may have been
committed. (Work run as a single statement in autocommit is its own commit:
such work must be safe to run twice, as a batch of appends is, whose second
run finds them stored.)

A transaction the database aborted as a deadlock or busy left nothing
behind, and runs again after a short random pause, a few times at most.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from adk_grpc_sessions.server.backends.sql import dialects
from adk_grpc_sessions.server.backends.sql.transactions.database import Database, dropped

_log = logging.getLogger(__name__)
T = TypeVar("T")

_ATTEMPTS: Final = 5
"""Runs of one transaction that the database aborted as a deadlock or busy before giving up."""


async def retrying(attempt: Callable[[list[T]], Awaitable[None]], database: Database) -> T:
    """Runs ``attempt``, again when that is safe; the result it appended.

    ``attempt`` runs a transaction whose work appends its result to the
    list it is given before the commit, so that a failure of the work can
    be told from a failure of the commit.

    Raises:
        BackendUnavailableError: the database cannot be reached, or stays busy.
    """
    rerun_after_drop = True
    tries = 1
    while True:
        done: list[T] = []
        try:
            await attempt(done)
            return done[0]
        except Exception as exc:
            if rerun_after_drop and not done and dropped(exc):
                rerun_after_drop = False
                continue
            if dialects.is_retryable(exc) and tries < _ATTEMPTS:
                # The database rolled the whole transaction back: nothing of it happened.
                await asyncio.sleep(random.uniform(0, 0.01 * 2**tries))
                tries += 1
                continue
            if dialects.is_unavailable(exc) or dialects.is_retryable(exc):
                _log.warning("database %s unavailable: %s", database.display_url, exc)
                raise database.unavailable(exc) from exc
            raise
