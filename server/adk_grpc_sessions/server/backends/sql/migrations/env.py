"""Alembic environment for the SQL backend's schema; run only through ``schema_version``.

The caller hands over an open connection (``config.attributes["connection"]``)
on which it already holds the migration lock, so this file never opens one.
To write a new revision, add a file to ``versions/`` by hand (copy the newest
one, set ``down_revision`` to its ``revision``), using only ``op`` calls and
the types in ``backends/sql/types.py``, and update ``backends/sql/schema.py``
to match: a test compares the two.
"""

from __future__ import annotations

from alembic import context

from adk_grpc_sessions.server.backends.sql import schema

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=schema.metadata,
    version_table=schema.VERSION_TABLE,
    # SQLite cannot alter most of a table in place; batch mode copies it.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
