"""The SQL backend: SQLite (the default), PostgreSQL and MySQL/MariaDB.

- ``backend``: ``SqlBackend``, the ``Backend`` API and nothing else;
- ``reading`` and ``writing``: what each call does, each one transaction's work;
- ``batching``: the group commit that stores concurrent appends in shared transactions;
- ``appends/``: how a batch of appends is stored, a module per way (PostgreSQL's one
  statement, SQLite's batch, claims one by one on MySQL/MariaDB), and why a refused one was;
- ``state_limit``: judging what a write does to the sizes of the state scopes it changes;
- ``queries/``: the SQL the rest runs (SQLAlchemy Core), by subject; ``driver_sql``: the
  hottest of it, compiled once and run as the driver's own SQL;
- ``transactions/``: how a transaction's work is run, an executor per kind of database
  (threads on SQLite, the async engine on servers), and when it runs again;
- ``schema``: the tables, and why they are shaped so; ``types``: their column types;
- ``dialects``: what differs between databases (drivers, set-up, upserts, errors);
- ``schema_version`` and ``migrations/``: the Alembic migration that creates the tables;
- ``restoring``: sessions written exactly as they were elsewhere (copy, import), and read so.
"""

from adk_grpc_sessions.server.backends.sql.backend import SqlBackend

__all__ = ["SqlBackend"]
