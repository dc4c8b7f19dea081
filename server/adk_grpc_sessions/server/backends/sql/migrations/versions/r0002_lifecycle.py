"""The session lifecycle: expire_time, ttl and close_time on sessions, and the sweeper's index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adk_grpc_sessions.server.backends.sql.types import Seconds

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("expire_time", "ttl", "close_time")


def upgrade() -> None:
    """Adds the three nullable columns (existing sessions never expire and are open) and the index."""
    # Nullable without a default: every database adds such a column without
    # rewriting the table, so the upgrade of a large database is quick.
    for name in _COLUMNS:
        op.add_column("ags_sessions", sa.Column(name, Seconds(), nullable=True))
    op.create_index(
        "ix_ags_sessions_expire_time",
        "ags_sessions",
        ["expire_time"],
        postgresql_where=sa.text("expire_time IS NOT NULL"),
        sqlite_where=sa.text("expire_time IS NOT NULL"),
    )


def downgrade() -> None:
    """Drops the index and the columns."""
    op.drop_index("ix_ags_sessions_expire_time", table_name="ags_sessions")
    # (SQLite drops columns only by copying the table: the batch form does.)
    with op.batch_alter_table("ags_sessions") as table:
        for name in reversed(_COLUMNS):
            table.drop_column(name)
