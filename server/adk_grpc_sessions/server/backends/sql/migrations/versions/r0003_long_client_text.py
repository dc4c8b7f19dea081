"""Client text of any length on MySQL/MariaDB: authors, branches, invocation ids and state keys.

They are stored as JSON string literals (``QuotedText``), which were TEXT
columns there, and TEXT stops at 64 KiB: a longer author or state key, which
SQLite and PostgreSQL store, failed there as an internal error. They become
LONGTEXT, as every other column of client data already is. Nothing changes
on SQLite or PostgreSQL, whose text has no such limit. (Each altered table is
copied by MySQL/MariaDB, so upgrading a large events table takes a while.)

Revision ID: 0003
Revises: 0002
Create Date: 2026-03-01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS: Final = (
    ("ags_events", ("invocation_id", "author", "branch")),
    ("ags_session_state", ("state_key",)),
    ("ags_user_state", ("state_key",)),
    ("ags_app_state", ("state_key",)),
)


def _on_mysql() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def upgrade() -> None:
    """Makes the columns LONGTEXT on MySQL/MariaDB."""
    if not _on_mysql():
        return
    for table, columns in _COLUMNS:
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(
                    column, type_=mysql.LONGTEXT(), existing_type=mysql.TEXT(), existing_nullable=False
                )


def downgrade() -> None:
    """Makes them TEXT again on MySQL/MariaDB (which refuses if a value no longer fits)."""
    if not _on_mysql():
        return
    for table, columns in _COLUMNS:
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(
                    column, type_=mysql.TEXT(), existing_type=mysql.LONGTEXT(), existing_nullable=False
                )
