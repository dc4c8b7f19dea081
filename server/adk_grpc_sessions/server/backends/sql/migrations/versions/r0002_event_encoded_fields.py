"""Each event's typed fields as the server encoded them at append, so reads need not encode them again.

Nullable: events stored before this revision, or by a server of an earlier
release still running against the upgraded database, have none, and reads
build their fields from the other columns as before.

Revision ID: 0002
Revises: 0001
Create Date: 2026-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adk_grpc_sessions.server.backends.sql.types import LongBytes

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Adds ``ags_events.encoded_fields`` (NULL for every event already stored)."""
    op.add_column("ags_events", sa.Column("encoded_fields", LongBytes(), nullable=True))


def downgrade() -> None:
    """Drops ``ags_events.encoded_fields``."""
    op.drop_column("ags_events", "encoded_fields")
