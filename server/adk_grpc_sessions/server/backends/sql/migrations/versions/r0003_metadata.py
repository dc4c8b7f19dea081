"""Session metadata and forks: display_name, labels, initial_state, forked_from, create_time indexes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from adk_grpc_sessions.server.backends.sql.types import JsonText, KeyString, QuotedText

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE_OPTIONS: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}
_LABEL_LENGTH = 63
_LABEL_STATISTICS = "st_ags_session_labels_pair"
_CREATE_LABEL_STATISTICS = (
    f"CREATE STATISTICS {_LABEL_STATISTICS} (dependencies, mcv) ON label_key, label_value "
    "FROM ags_session_labels"
)
_COLUMNS = (
    ("display_name", QuotedText),
    ("labels", JsonText),
    ("initial_state", JsonText),
    ("forked_from", JsonText),
)
_INDEXES = (
    ("ix_ags_sessions_user_created", ["app_name", "user_id", "create_time", "session_id"]),
    ("ix_ags_sessions_app_created", ["app_name", "create_time", "user_id", "session_id"]),
)


def upgrade() -> None:
    """Adds the nullable columns, the labels table and the create_time listing indexes.

    Existing sessions get no display name, no labels, and no initial state
    (NULL: not kept, so they can be forked whole but not before an invocation).
    """
    # Nullable without a default: every database adds such a column without
    # rewriting the table, so the upgrade of a large database is quick.
    for name, column_type in _COLUMNS:
        op.add_column("ags_sessions", sa.Column(name, column_type(), nullable=True))
    for name, columns in _INDEXES:
        op.create_index(name, "ags_sessions", columns)
    op.create_table(
        "ags_session_labels",
        sa.Column(
            "session_pk",
            sa.BigInteger(),
            sa.ForeignKey(
                "ags_sessions.session_pk", ondelete="CASCADE", name="fk_ags_session_labels_session"
            ),
            primary_key=True,
        ),
        sa.Column("label_key", KeyString(_LABEL_LENGTH), primary_key=True),
        sa.Column("label_value", KeyString(_LABEL_LENGTH), nullable=False),
        **_TABLE_OPTIONS,
    )
    op.create_index(
        "ix_ags_session_labels_pair", "ags_session_labels", ["label_key", "label_value", "session_pk"]
    )
    if op.get_context().dialect.name == "postgresql":
        # A label's value depends on its key: planned as independent columns,
        # "key = k AND value = v" is estimated at a fraction of its rows, and a
        # filtered listing is then planned as a scan of every session of the
        # app, sorted, instead of its order's index walked with the label looked up.
        op.execute(_CREATE_LABEL_STATISTICS)


def downgrade() -> None:
    """Drops the labels table, the indexes and the columns."""
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"DROP STATISTICS IF EXISTS {_LABEL_STATISTICS}")
    op.drop_index("ix_ags_session_labels_pair", table_name="ags_session_labels")
    op.drop_table("ags_session_labels")
    for name, _ in reversed(_INDEXES):
        op.drop_index(name, table_name="ags_sessions")
    # (SQLite drops columns only by copying the table: the batch form does.)
    with op.batch_alter_table("ags_sessions") as table:
        for name, _ in reversed(_COLUMNS):
            table.drop_column(name)
