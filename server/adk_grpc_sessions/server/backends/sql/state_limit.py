"""The state limit in SQL: what a write does to the sizes of the scopes it changes, judged from storage.

Each scope's size is kept as it changes (``schema``: ``entry_bytes`` per
row, the session scope's sum on its session row, the shared scopes' sums in
rows of their own). A write reads the sizes of the scopes it changes and
what the keys it sets count now (``queries.sizes.select_sizes``: one statement
for a whole batch), works out each scope's growth (the new entries, less
the entries they replace), and is refused if a scope it grows would pass
the limit. Only writes that change a scope pay for checking it, and they
pay for their own keys, not for the scope's.

Why the growth is exact:
- a session's own state changes only by appends to that session, which the
  revision check orders: an append whose claim succeeds was judged on the
  state as it is;
- a shared scope (a user's, an app's) can change under a write from another
  server: the write is judged against the scope's ``version`` and stored
  only if the version is unchanged when the scope's row is locked
  (PostgreSQL); MySQL/MariaDB lock the rows before reading them; SQLite has
  one writer. Within one server, the group commit never stores two appends
  changing one shared scope at the same time (``appends.batch.group_keys``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from adk_grpc_sessions.server.backends.base import (
    ScopedState,
    SessionKey,
    StateMap,
    StateSizeLimitError,
    StorageLimits,
)
from adk_grpc_sessions.server.backends.sql.queries import sizes as size_queries
from adk_grpc_sessions.server.backends.sql.queries.sizes import SizesWanted
from adk_grpc_sessions.server.backends.sql.schema import key_digest
from adk_grpc_sessions.wire.limits import state_bytes, state_entry_bytes


@dataclass(frozen=True, slots=True)
class Growth:
    """How one append changes the sizes its claim checks and counts (``judge`` works it out).

    Growths are what the append's keys add to each scope's size, less what
    the values they replace counted (so they may be negative). A version is
    that of the shared scope's size row the growth was worked out against,
    or -1 if the append does not change that scope.
    """

    session: int = 0
    user: int = 0
    app: int = 0
    user_version: int = -1
    app_version: int = -1


NO_GROWTH: Final = Growth()


@dataclass(slots=True)
class ScopeSize:
    """What one scope holds now, and what some of its keys count (by digest; a key not set counts 0)."""

    size: int = 0
    version: int = 0
    entries: dict[str, int] = field(default_factory=dict)

    def growth(self, delta: StateMap) -> int:
        """How much setting ``delta``'s keys changes the scope's size (negative if it shrinks)."""
        return sum(
            state_entry_bytes(key, value) - self.entries.get(key_digest(key), 0)
            for key, value in delta.items()
        )


@dataclass(slots=True)
class Sizes:
    """The scopes a batch of writes changes, as storage holds them now."""

    sessions: dict[SessionKey, ScopeSize] = field(default_factory=dict)
    users: dict[tuple[str, str], ScopeSize] = field(default_factory=dict)
    """Only the users' scopes that have a size row; one without is ``missing``."""
    apps: dict[str, ScopeSize] = field(default_factory=dict)

    def missing(self, wanted: SizesWanted) -> tuple[list[tuple[str, str]], list[str]]:
        """The shared scopes ``wanted`` names that have no size row yet: (users, apps)."""
        return (
            [user for user in wanted.users if user not in self.users],
            [app for app in wanted.apps if app not in self.apps],
        )


def wanted(
    changes: Iterable[tuple[SessionKey, ScopedState]], *, existing_sessions: bool = True
) -> SizesWanted:
    """What judging ``changes`` (each a session and the state it sets) needs to read.

    ``existing_sessions`` False for a create: its session holds nothing yet.
    """
    names: list[SessionKey] = []
    session_digests: set[str] = set()
    users: set[tuple[str, str]] = set()
    user_digests: set[str] = set()
    apps: set[str] = set()
    app_digests: set[str] = set()
    for key, delta in changes:
        if delta.session and existing_sessions:
            names.append(key)
            session_digests.update(map(key_digest, delta.session))
        if delta.user:
            users.add((key.app_name, key.user_id))
            user_digests.update(map(key_digest, delta.user))
        if delta.app:
            apps.add(key.app_name)
            app_digests.update(map(key_digest, delta.app))
    return SizesWanted(
        sessions=names,
        session_digests=sorted(session_digests),
        users=sorted(users),
        user_digests=sorted(user_digests),
        apps=sorted(apps),
        app_digests=sorted(app_digests),
    )


def is_empty(wanted: SizesWanted) -> bool:
    """Whether nothing needs reading: the writes change no state."""
    return not (wanted.sessions or wanted.users or wanted.apps)


def sizes_from_rows(rows: Iterable[Sequence[Any]], sizes: Sizes | None = None) -> Sizes:
    """``select_sizes``'s rows as ``Sizes`` (added to ``sizes``, if given)."""
    sizes = sizes or Sizes()
    for part, app_name, user_id, session_id, digest, size, version in rows:
        if part in (size_queries.SESSION_ENTRY, size_queries.SESSION_SIZE):
            scope = sizes.sessions.setdefault(SessionKey(app_name, user_id, session_id), ScopeSize())
        elif part in (size_queries.USER_ENTRY, size_queries.USER_SIZE):
            scope = sizes.users.setdefault((app_name, user_id), ScopeSize())
        else:
            scope = sizes.apps.setdefault(app_name, ScopeSize())
        if part in (size_queries.SESSION_ENTRY, size_queries.USER_ENTRY, size_queries.APP_ENTRY):
            scope.entries[digest] = int(size)
        else:
            scope.size = int(size)
            scope.version = int(version or 0)
    return sizes


def locked_rows_as_sizes(part: int, rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """The rows of one of ``lock_shared_sizes``'s statements, as ``select_sizes`` rows."""
    converted: list[tuple[Any, ...]] = []
    for row in rows:
        if part == size_queries.USER_SIZE:
            app_name, user_id, size, version = row
            converted.append((part, app_name, user_id, None, None, size, version))
        elif part == size_queries.APP_SIZE:
            app_name, size, version = row
            converted.append((part, app_name, None, None, None, size, version))
        elif part == size_queries.USER_ENTRY:
            app_name, user_id, digest, size = row
            converted.append((part, app_name, user_id, None, digest, size, None))
        else:
            app_name, digest, size = row
            converted.append((part, app_name, None, None, digest, size, None))
    return converted


def judge(
    key: SessionKey, delta: ScopedState, sizes: Sizes, limits: StorageLimits, *, creating: bool = False
) -> Growth:
    """The growth of each scope ``delta`` changes, judged against ``sizes``.

    ``creating``: the session is new (its own scope holds nothing yet).

    Raises:
        StateSizeLimitError: a scope ``delta`` grows would pass ``limits.max_state_bytes``.
        LookupError: a shared scope ``delta`` changes has no size row in ``sizes``.
    """
    limit = limits.max_state_bytes
    session_growth = 0
    if delta.session:
        if creating:
            session_growth = state_bytes(delta.session)
            session_size = 0
        else:
            session = sizes.sessions.get(key, ScopeSize())
            session_growth, session_size = session.growth(delta.session), session.size
        _check("session", session_size, session_growth, limit)
    user_growth, user_version = 0, -1
    if delta.user:
        user = sizes.users.get((key.app_name, key.user_id))
        if user is None:
            raise LookupError(f"no size row for the state of user {key.user_id!r} of app {key.app_name!r}")
        user_growth, user_version = user.growth(delta.user), user.version
        _check("user", user.size, user_growth, limit)
    app_growth, app_version = 0, -1
    if delta.app:
        app = sizes.apps.get(key.app_name)
        if app is None:
            raise LookupError(f"no size row for the state of app {key.app_name!r}")
        app_growth, app_version = app.growth(delta.app), app.version
        _check("app", app.size, app_growth, limit)
    return Growth(session_growth, user_growth, app_growth, user_version, app_version)


def _check(scope: str, size: int, growth: int, limit: int) -> None:
    if growth > 0 and size + growth > limit:
        raise StateSizeLimitError(scope, limit, size + growth)


def shared_growths(
    changes: Iterable[tuple[SessionKey, Growth]], *, versioned: bool = True
) -> tuple[list[tuple[str, str, int]], list[tuple[str, int]]]:
    """What stored writes add to the shared scopes' size rows: (users, apps), for ``add_to_shared_sizes``.

    Without ``versioned`` (where writers lock a scope's rows, or there is
    one writer, instead of checking its version), a write that leaves a
    scope's size as it is does not touch its size row.
    """
    users: list[tuple[str, str, int]] = []
    apps: list[tuple[str, int]] = []
    for key, growth in changes:
        if growth.user_version >= 0 and (versioned or growth.user):
            users.append((key.app_name, key.user_id, growth.user))
        if growth.app_version >= 0 and (versioned or growth.app):
            apps.append((key.app_name, growth.app))
    return users, apps
