"""The database a SQL backend keeps sessions in: its URL, its async engine, and what its failures mean."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adk_grpc_sessions.server.backends import redact_uri
from adk_grpc_sessions.server.backends.base import BackendUnavailableError
from adk_grpc_sessions.server.backends.sql import dialects

_log = logging.getLogger(__name__)

_CHECK_TIMEOUT_SECONDS: Final = 5.0


class Database:
    """A database by its URL (from ``dialects.database_url``), with the async engine made on first use."""

    def __init__(self, url: URL) -> None:
        self.url = url
        self._engine: AsyncEngine | None = None

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine (made on first use; connections open lazily)."""
        if self._engine is None:
            self._engine = dialects.create_engine(self.url)
        return self._engine

    @property
    def display_url(self) -> str:
        """The database URL with any password hidden."""
        return redact_uri(self.url.render_as_string(hide_password=False))

    def unavailable(self, error: BaseException) -> BackendUnavailableError:
        """The error that reports ``error`` as the database not answering, with its first line."""
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()
        detail = reason[0][:200] if reason else type(error).__name__
        return BackendUnavailableError(
            f"the {self.url.get_backend_name()} database is not answering ({detail})"
        )

    @asynccontextmanager
    async def transaction(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        """A pooled connection in a transaction, committed on success and rolled back on error.

        Reads see one snapshot: REPEATABLE READ on PostgreSQL (MySQL's
        default already), SQLite's WAL snapshot. Writes on SQLite take the
        write lock at BEGIN.
        """
        async with self.engine.connect() as connection:
            name = connection.dialect.name
            if name == dialects.SQLITE and write:
                await connection.execution_options(**{dialects.SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            elif name == dialects.POSTGRESQL and not write:
                await connection.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            async with connection.begin():
                yield connection

    async def check(self) -> None:
        """Runs ``SELECT 1``; raises ``BackendUnavailableError`` if it fails or takes over 5 s."""

        async def select_one() -> None:
            async with self.engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))

        try:
            async with asyncio.timeout(_CHECK_TIMEOUT_SECONDS):
                try:
                    await select_one()
                except Exception as exc:
                    if not dropped(exc):
                        raise
                    await select_one()
        except Exception as exc:
            raise self.unavailable(exc) from exc

    async def dispose(self) -> None:
        """Closes every pooled connection of the engine, if it was made."""
        if self._engine is not None:
            await self._engine.dispose()


def dropped(error: BaseException) -> bool:
    """Whether ``error`` came from a connection the database (or the network) closed."""
    return isinstance(error, DBAPIError) and error.connection_invalidated


async def close_quietly(connection: AsyncConnection) -> None:
    """Returns ``connection`` to the pool; one that cannot even be closed is left to the pool to discard."""
    try:
        await connection.close()
    except Exception as exc:  # the connection is already broken; what failed with it is reported
        _log.debug("closing a connection failed: %s", exc)
