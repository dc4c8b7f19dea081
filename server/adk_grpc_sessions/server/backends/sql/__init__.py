"""The SQL backend: SQLite (the default), PostgreSQL and MySQL/MariaDB.

- ``backend``: ``SqlBackend``, the ``Backend`` implementation (transactions);
- ``batching``: the group commit that stores concurrent appends in shared transactions;
- ``appending``: how a batch of appends is stored, each append all-or-nothing;
- ``reading``: what each read selects, and the records it makes of the rows;
- ``sqlite_threads``: SQLite transactions run whole in threads with synchronous connections;
- ``statements``: the SQL it runs (SQLAlchemy Core); ``driver_sql``: the hottest of it,
  compiled once and run as the driver's own SQL;
- ``schema``: the tables, and why they are shaped so; ``types``: their column types;
- ``dialects``: what differs between databases (drivers, set-up, upserts, errors);
- ``schema_version`` and ``migrations/``: the Alembic migrations that create the tables.
"""

from adk_grpc_sessions.server.backends.sql.backend import SqlBackend

__all__ = ["SqlBackend"]
