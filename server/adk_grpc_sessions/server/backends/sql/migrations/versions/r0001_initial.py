"""Sessions, events (in append order) and state as one row per key, in three scopes, with their sizes.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from adk_grpc_sessions.server.backends.sql.types import (
    JsonText,
    KeyString,
    LongBytes,
    QuotedText,
    Seconds,
    big_serial,
)

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE_OPTIONS: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def upgrade() -> None:
    """Creates every table and index."""
    op.create_table(
        "ags_sessions",
        sa.Column("session_pk", big_serial(), primary_key=True, autoincrement=True),
        sa.Column("app_name", KeyString(128), nullable=False),
        sa.Column("user_id", KeyString(128), nullable=False),
        sa.Column("session_id", KeyString(128), nullable=False),
        sa.Column("create_time", Seconds(), nullable=False),
        sa.Column("last_update_time", Seconds(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.Column("events_bytes", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("state_bytes", sa.BigInteger(), nullable=False, server_default="0"),
        sa.UniqueConstraint("app_name", "user_id", "session_id", name="uq_ags_sessions_name"),
        sqlite_autoincrement=True,
        **_TABLE_OPTIONS,
    )
    op.create_index(
        "ix_ags_sessions_user_listing",
        "ags_sessions",
        ["app_name", "user_id", "last_update_time", "session_id"],
    )
    op.create_index(
        "ix_ags_sessions_app_listing",
        "ags_sessions",
        ["app_name", "last_update_time", "user_id", "session_id"],
    )
    op.create_table(
        "ags_events",
        sa.Column("event_pk", big_serial(), primary_key=True, autoincrement=True),
        sa.Column(
            "session_pk",
            sa.BigInteger(),
            sa.ForeignKey("ags_sessions.session_pk", ondelete="CASCADE", name="fk_ags_events_session"),
            nullable=False,
        ),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("event_id", KeyString(128), nullable=False),
        sa.Column("invocation_id", QuotedText(), nullable=False),
        sa.Column("author", QuotedText(), nullable=False),
        sa.Column("branch", QuotedText(), nullable=False),
        sa.Column("timestamp", Seconds(), nullable=False),
        sa.Column("state_delta", JsonText(), nullable=True),
        sa.Column("event_json", JsonText(), nullable=False),
        sa.Column("encoded_fields", LongBytes(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False, server_default="0"),
        sa.UniqueConstraint("session_pk", "sequence", name="uq_ags_events_sequence"),
        sa.UniqueConstraint("session_pk", "event_id", name="uq_ags_events_event_id"),
        sqlite_autoincrement=True,
        **_TABLE_OPTIONS,
    )
    op.create_table(
        "ags_session_state",
        sa.Column(
            "session_pk",
            sa.BigInteger(),
            sa.ForeignKey("ags_sessions.session_pk", ondelete="CASCADE", name="fk_ags_session_state_session"),
            primary_key=True,
        ),
        sa.Column("key_digest", KeyString(64), primary_key=True),
        sa.Column("state_key", QuotedText(), nullable=False),
        sa.Column("value", JsonText(), nullable=False),
        sa.Column("entry_bytes", sa.BigInteger(), nullable=False, server_default="0"),
        **_TABLE_OPTIONS,
    )
    op.create_table(
        "ags_user_state",
        sa.Column("app_name", KeyString(128), primary_key=True),
        sa.Column("user_id", KeyString(128), primary_key=True),
        sa.Column("key_digest", KeyString(64), primary_key=True),
        sa.Column("state_key", QuotedText(), nullable=False),
        sa.Column("value", JsonText(), nullable=False),
        sa.Column("entry_bytes", sa.BigInteger(), nullable=False, server_default="0"),
        **_TABLE_OPTIONS,
    )
    op.create_table(
        "ags_app_state",
        sa.Column("app_name", KeyString(128), primary_key=True),
        sa.Column("key_digest", KeyString(64), primary_key=True),
        sa.Column("state_key", QuotedText(), nullable=False),
        sa.Column("value", JsonText(), nullable=False),
        sa.Column("entry_bytes", sa.BigInteger(), nullable=False, server_default="0"),
        **_TABLE_OPTIONS,
    )

    # What each shared scope of state holds, and the version its writers move on.
    op.create_table(
        "ags_user_state_size",
        sa.Column("app_name", KeyString(128), primary_key=True),
        sa.Column("user_id", KeyString(128), primary_key=True),
        sa.Column("state_bytes", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
        **_TABLE_OPTIONS,
    )
    op.create_table(
        "ags_app_state_size",
        sa.Column("app_name", KeyString(128), primary_key=True),
        sa.Column("state_bytes", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
        **_TABLE_OPTIONS,
    )


def downgrade() -> None:
    """Drops every table."""
    for table in (
        "ags_app_state_size",
        "ags_user_state_size",
        "ags_app_state",
        "ags_user_state",
        "ags_session_state",
        "ags_events",
        "ags_sessions",
    ):
        op.drop_table(table)
