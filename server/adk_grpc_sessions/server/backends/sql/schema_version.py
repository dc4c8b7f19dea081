"""Bringing a database's schema up to date with the migrations shipped in this package.

The migrations are Alembic scripts under ``migrations/``; the revision a
database is at lives in its ``ags_schema_version`` table.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

# Alembic narrates every step at INFO, from the moment it is imported; the
# backend logs the one line that matters (from which revision to which).
logging.getLogger("alembic").setLevel(logging.WARNING)

from alembic import command  # noqa: E402 - after quieting its logger
from alembic.config import Config  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402
from sqlalchemy.engine import Connection  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from adk_grpc_sessions.server.backends.sql import dialects, schema  # noqa: E402

SCRIPT_LOCATION = "adk_grpc_sessions.server.backends.sql:migrations"


@dataclass(frozen=True, slots=True)
class Upgrade:
    """What an upgrade did: the revision before (None for an empty database) and after."""

    before: str | None
    after: str

    @property
    def changed(self) -> bool:
        """Whether any migration ran."""
        return self.before != self.after


def alembic_config() -> Config:
    """An Alembic configuration for the shipped migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def head_revision() -> str:
    """The revision the shipped migrations end at: the schema this code expects."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the package ships at least one migration"
    return head


def revisions_oldest_first() -> list[str]:
    """Every shipped revision, from the first to the head."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at; None if it has never been migrated."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)


async def upgrade(engine: AsyncEngine, target: str = "head") -> Upgrade:
    """Migrates the database to ``target`` (default: the head); safe to run concurrently and again.

    The migration lock is let go only after the migration's commit: on
    MySQL/MariaDB, where DDL commits as it goes, a lock let go before it
    would show the next migrator the schema changed but the version row
    not yet, and it would run the last migration again.
    """
    async with engine.connect() as connection:
        if connection.dialect.name == dialects.SQLITE:
            await connection.execution_options(**{dialects.SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        try:
            async with connection.begin():
                upgraded = await connection.run_sync(_upgrade, target)
        except BaseException:
            with contextlib.suppress(Exception):  # the migration's own failure is the one to report
                await connection.run_sync(dialects.release_migration_lock)
            raise
        await connection.run_sync(dialects.release_migration_lock)
        return upgraded


def _current_revision(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": schema.VERSION_TABLE})
    return context.get_current_revision()


def _upgrade(connection: Connection, target: str) -> Upgrade:
    """Takes the migration lock (``upgrade`` lets it go after the commit) and migrates."""
    dialects.acquire_migration_lock(connection)
    before = _current_revision(connection)
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, target)
    after = _current_revision(connection)
    assert after is not None
    return Upgrade(before=before, after=after)
