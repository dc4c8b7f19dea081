"""The tables of the SQL backend, as the queries see them (the migrations create them).

Every table name starts with ``ags_`` so the tables can share a database with
ADK's own (``sessions``, ``events``, ``app_states``, ...), which is what lets
``import-adk`` copy a database into itself.

Layout, and why:
- ``ags_sessions``: one row per live session. ``session_pk`` is a surrogate
  key that is never reused, so events and state rows refer to a session by
  eight bytes instead of three names. ``revision`` is what appends are
  checked against; ``last_sequence`` numbers the next event.
  ``expire_time``, ``ttl`` and ``close_time`` are the session's lifecycle
  (``base.Expiry``, ``close_session``): a session whose ``expire_time`` has
  passed is invisible to every statement that reads it (each compares it
  with the clock in the same statement, so the primary-key path costs no
  extra round trip) until ``purge_expired`` deletes it, through the
  ``expire_time`` index, in bounded batches that skip rows another server
  is purging (``FOR UPDATE SKIP LOCKED``).
- ``ags_events``: one row per event, in append order by ``(session_pk,
  sequence)``, which is the index that serves "the last N events", "the
  events after the last one older than T" (a backwards scan that stops at
  the first older event, so it reads only what it returns) and event pages.
  ``(session_pk, event_id)`` is unique: the event id is the idempotency key.
  ``event_pk`` is never reused either, which is what revisions are made of.
  ``wire_cache`` keeps the API layer's cache of the event's response form
  (versioned, opaque here), made once at append, so that a read of a
  thousand events sends stored bytes instead of building a thousand messages.
  Reads return the JSON and that cache only: ``invocation_id``, ``author``,
  ``branch`` and ``state_delta`` are the fields as the server read them from
  the JSON, kept for queries made in the database itself.
- ``ags_session_state``, ``ags_user_state``, ``ags_app_state``: state as one
  row per key, not one JSON object per scope. Applying a delta is then an
  upsert of just the keys it names, which the database performs atomically:
  two sessions of one user changing different ``user:`` keys at once never
  conflict, and nobody rewrites (or has to lock) a whole object to change a
  key. Rows are keyed by a SHA-256 digest of the state key so that keys of
  any length fit the index limits of every database; the key itself is kept
  next to it.
- Sizes, kept as they change so that limits are checked and reads budgeted
  without reading what they measure: ``ags_events.size_bytes`` (what the
  event takes in a response), ``ags_sessions.events_bytes`` (their sum, the
  session size limit's measure), ``entry_bytes`` on every state row (its key
  and value as ``wire.limits.state_entry_bytes`` counts them),
  ``ags_sessions.state_bytes`` (the session scope's sum), and one row per
  shared scope, ``ags_user_state_size`` and ``ags_app_state_size``, with its
  sum and a ``version`` that every write of the scope moves on. A session's
  counters change in the same conditional update as its revision. A shared
  scope's row is what its writers lock (before any session, then the state
  rows): across server replicas, a write whose view of the scope is older
  than the row's version is refused and made again, never counted wrong.
- Metadata (``base.Metadata``): ``display_name`` (NULL = none) and the
  labels, kept twice on purpose. ``ags_session_labels`` holds one row per
  label, which is what filters on labels use: its ``(label_key,
  label_value, session_pk)`` index finds the sessions of a label, and its
  primary key tests one session's label while a listing walks its order's
  index (on PostgreSQL, extended statistics on the key and value, made by
  the migration, tell the planner how often a pair occurs).
  ``ags_sessions.labels`` holds the same labels as one JSON object,
  which is what reads return: a listing's page or a session read takes
  them from the session's row, without a join per session. Both are
  written together, only by creates, forks and ``update_session``.
- Listings are ordered by ``last_update_time`` or ``create_time``, each
  with an index per kind of listing (one user's, every user's of an app)
  that ends in the tie-break: the first page of any filtered, ordered
  listing is a range of one index, read forwards or backwards, filtered as
  it is read.
- Forks: ``initial_state`` is the session-scoped state a session was
  created with (a JSON object of key to value text; NULL where it was not
  kept: sessions created before revision 0003's migration, and imported
  ones). With the events' stored state deltas it gives the session's state
  after any of its events, which a fork before an invocation needs.
  ``forked_from`` (JSON, NULL for a created session) says where a fork came
  from; a fork keeps its source's ``initial_state``, as it starts from the
  same first event.
- Text that comes from clients unchecked (state keys, authors, branches,
  invocation ids) is stored as a JSON string literal (``QuotedText``), and
  values and events as JSON text: PostgreSQL text cannot hold NUL, and JSON
  escapes it.

Revisions: a session's revision is ``2 * session_pk + 1`` when it is created
and ``2 * event_pk`` of its latest event afterwards. Both keys come from
auto-increment sequences that never hand out a value twice (SQLite needs
``AUTOINCREMENT`` for that, MySQL 8.0 and MariaDB 10.2.4 persist the
counter), so no revision is ever reused, not even by a re-created session of
the same name, without a database-wide counter that every append would have
to update. A fork is created too: its revision is ``2 * session_pk + 1`` of
its own row, though it starts with copies of its source's events (the
copies have new ``event_pk``s, so its next append's revision is new as well).
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any, Final

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.sql.types import (
    JsonText,
    KeyString,
    LongBytes,
    QuotedText,
    Seconds,
    big_serial,
)
from adk_grpc_sessions.wire.limits import MAX_KEY_LENGTH, MAX_LABEL_LENGTH

KEY_LENGTH: Final = MAX_KEY_LENGTH
"""Longest app name, user id, session id or event id, in code points (the contract's limit)."""
LABEL_LENGTH: Final = MAX_LABEL_LENGTH
"""Longest label key or value (ASCII, by the contract's label patterns)."""
DIGEST_LENGTH: Final = 64
"""Length of a state key's digest: SHA-256 in hex."""

_TABLE_OPTIONS: Final[dict[str, Any]] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}

metadata = sa.MetaData()

sessions = sa.Table(
    "ags_sessions",
    metadata,
    sa.Column("session_pk", big_serial(), primary_key=True, autoincrement=True),
    sa.Column("app_name", KeyString(KEY_LENGTH), nullable=False),
    sa.Column("user_id", KeyString(KEY_LENGTH), nullable=False),
    sa.Column("session_id", KeyString(KEY_LENGTH), nullable=False),
    sa.Column("create_time", Seconds(), nullable=False),
    sa.Column("last_update_time", Seconds(), nullable=False),
    sa.Column("revision", sa.BigInteger(), nullable=False),
    sa.Column("last_sequence", sa.BigInteger(), nullable=False),
    sa.Column("events_bytes", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("state_bytes", sa.BigInteger(), nullable=False, server_default="0"),
    # The lifecycle: NULL expire_time = never expires; ttl (seconds) only when
    # the expiry was given as a duration (appends may slide it); NULL close_time = open.
    sa.Column("expire_time", Seconds(), nullable=True),
    sa.Column("ttl", Seconds(), nullable=True),
    sa.Column("close_time", Seconds(), nullable=True),
    # Metadata and forks (see above): NULL = none, or (initial_state) not kept.
    sa.Column("display_name", QuotedText(), nullable=True),
    sa.Column("labels", JsonText(), nullable=True),
    sa.Column("initial_state", JsonText(), nullable=True),
    sa.Column("forked_from", JsonText(), nullable=True),
    sa.UniqueConstraint("app_name", "user_id", "session_id", name="uq_ags_sessions_name"),
    # Keyset listings: one user's sessions, and every session of an app, by
    # update time and by create time.
    sa.Index("ix_ags_sessions_user_listing", "app_name", "user_id", "last_update_time", "session_id"),
    sa.Index("ix_ags_sessions_app_listing", "app_name", "last_update_time", "user_id", "session_id"),
    sa.Index("ix_ags_sessions_user_created", "app_name", "user_id", "create_time", "session_id"),
    sa.Index("ix_ags_sessions_app_created", "app_name", "create_time", "user_id", "session_id"),
    # The sweeper's selection: the expired sessions, soonest first, found in
    # O(expired). Partial where the database has partial indexes, so sessions
    # that never expire cost the index nothing.
    sa.Index(
        "ix_ags_sessions_expire_time",
        "expire_time",
        postgresql_where=sa.text("expire_time IS NOT NULL"),
        sqlite_where=sa.text("expire_time IS NOT NULL"),
    ),
    sqlite_autoincrement=True,
    **_TABLE_OPTIONS,
)

events = sa.Table(
    "ags_events",
    metadata,
    sa.Column("event_pk", big_serial(), primary_key=True, autoincrement=True),
    sa.Column(
        "session_pk",
        sa.BigInteger(),
        sa.ForeignKey(sessions.c.session_pk, ondelete="CASCADE", name="fk_ags_events_session"),
        nullable=False,
    ),
    sa.Column("sequence", sa.BigInteger(), nullable=False),
    sa.Column("event_id", KeyString(KEY_LENGTH), nullable=False),
    sa.Column("invocation_id", QuotedText(), nullable=False),
    sa.Column("author", QuotedText(), nullable=False),
    sa.Column("branch", QuotedText(), nullable=False),
    sa.Column("timestamp", Seconds(), nullable=False),
    # {"app": {key: value JSON}, "user": {...}, "session": {...}}, only the
    # scopes the event changes; NULL for an event without a state delta.
    sa.Column("state_delta", JsonText(), nullable=True),
    sa.Column("event_json", JsonText(), nullable=False),
    # The layer above's cache of the event's response form, made at append
    # (``NewEvent.wire_cache``, opaque here); NULL for an event stored without one.
    sa.Column("wire_cache", LongBytes(), nullable=True),
    # The event's size in a response (``NewEvent.size``).
    sa.Column("size_bytes", sa.BigInteger(), nullable=False, server_default="0"),
    sa.UniqueConstraint("session_pk", "sequence", name="uq_ags_events_sequence"),
    sa.UniqueConstraint("session_pk", "event_id", name="uq_ags_events_event_id"),
    sqlite_autoincrement=True,
    **_TABLE_OPTIONS,
)

session_state = sa.Table(
    "ags_session_state",
    metadata,
    sa.Column(
        "session_pk",
        sa.BigInteger(),
        sa.ForeignKey(sessions.c.session_pk, ondelete="CASCADE", name="fk_ags_session_state_session"),
        primary_key=True,
    ),
    sa.Column("key_digest", KeyString(DIGEST_LENGTH), primary_key=True),
    sa.Column("state_key", QuotedText(), nullable=False),
    sa.Column("value", JsonText(), nullable=False),
    sa.Column("entry_bytes", sa.BigInteger(), nullable=False, server_default="0"),
    **_TABLE_OPTIONS,
)

session_labels = sa.Table(
    "ags_session_labels",
    metadata,
    sa.Column(
        "session_pk",
        sa.BigInteger(),
        sa.ForeignKey(sessions.c.session_pk, ondelete="CASCADE", name="fk_ags_session_labels_session"),
        primary_key=True,
    ),
    sa.Column("label_key", KeyString(LABEL_LENGTH), primary_key=True),
    sa.Column("label_value", KeyString(LABEL_LENGTH), nullable=False),
    # The sessions carrying a label (with a value): what a filter on labels seeks.
    sa.Index("ix_ags_session_labels_pair", "label_key", "label_value", "session_pk"),
    **_TABLE_OPTIONS,
)

user_state = sa.Table(
    "ags_user_state",
    metadata,
    sa.Column("app_name", KeyString(KEY_LENGTH), primary_key=True),
    sa.Column("user_id", KeyString(KEY_LENGTH), primary_key=True),
    sa.Column("key_digest", KeyString(DIGEST_LENGTH), primary_key=True),
    sa.Column("state_key", QuotedText(), nullable=False),
    sa.Column("value", JsonText(), nullable=False),
    sa.Column("entry_bytes", sa.BigInteger(), nullable=False, server_default="0"),
    **_TABLE_OPTIONS,
)

app_state = sa.Table(
    "ags_app_state",
    metadata,
    sa.Column("app_name", KeyString(KEY_LENGTH), primary_key=True),
    sa.Column("key_digest", KeyString(DIGEST_LENGTH), primary_key=True),
    sa.Column("state_key", QuotedText(), nullable=False),
    sa.Column("value", JsonText(), nullable=False),
    sa.Column("entry_bytes", sa.BigInteger(), nullable=False, server_default="0"),
    **_TABLE_OPTIONS,
)

user_state_size = sa.Table(
    "ags_user_state_size",
    metadata,
    sa.Column("app_name", KeyString(KEY_LENGTH), primary_key=True),
    sa.Column("user_id", KeyString(KEY_LENGTH), primary_key=True),
    sa.Column("state_bytes", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
    **_TABLE_OPTIONS,
)

app_state_size = sa.Table(
    "ags_app_state_size",
    metadata,
    sa.Column("app_name", KeyString(KEY_LENGTH), primary_key=True),
    sa.Column("state_bytes", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
    **_TABLE_OPTIONS,
)

VERSION_TABLE: Final = "ags_schema_version"
"""Where Alembic records the schema revision (not ``alembic_version``, which may be the user's)."""


@functools.lru_cache(maxsize=4096)
def key_digest(state_key: str) -> str:
    """The digest a state key's row is keyed by (remembered: most writes set the same few keys)."""
    return hashlib.sha256(state_key.encode()).hexdigest()


def creation_revision(session_pk: int) -> int:
    """A session's revision before its first event (odd: never an event's)."""
    return 2 * session_pk + 1


def event_revision(event_pk: int) -> int:
    """A session's revision right after the event ``event_pk`` (even: never a creation's)."""
    return 2 * event_pk


def event_pk_of_revision(revision: int) -> int:
    """The event a session's revision was made of (``event_revision`` undone; the revision is even)."""
    return revision // 2
