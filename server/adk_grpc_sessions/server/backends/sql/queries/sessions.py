"""A session's row: created, read whole in one statement, its revision set, deleted.

On PostgreSQL a session without state of its own is created, and the state
it shares read, in the same statement (``create_at_once``). The whole-session
read is one long statement with its decoding beside it, which is why this
module runs past 400 lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from adk_grpc_sessions.server.backends.base import (
    NO_METADATA,
    EventWindow,
    Expiry,
    ForkOrigin,
    Metadata,
    ReadBudget,
    ScopedState,
    SessionKey,
)
from adk_grpc_sessions.server.backends.sql.queries import watching
from adk_grpc_sessions.server.backends.sql.queries.events import events_in_window
from adk_grpc_sessions.server.backends.sql.queries.parts import (
    BUDGET_BYTES,
    BUDGET_EVENTS,
    METADATA_COLUMNS,
    NAMED,
    READ_EVENT_COLUMNS,
    SESSION_COLUMNS,
    UNBOUNDED,
    VISIBLE,
    Bound,
    budget_params,
    name_params,
    part,
    shared_state_bytes,
    typed_null,
    visible_params,
)
from adk_grpc_sessions.server.backends.sql.queries.rows import encode_labels, fork_origin, session_metadata
from adk_grpc_sessions.server.backends.sql.schema import (
    app_state,
    app_state_size,
    events,
    session_state,
    sessions,
    user_state,
    user_state_size,
)

_SELECT_SESSION = sa.select(*SESSION_COLUMNS, *METADATA_COLUMNS).where(NAMED)
_SELECT_VISIBLE_SESSION = sa.select(*SESSION_COLUMNS, *METADATA_COLUMNS).where(VISIBLE)


def select_session(key: SessionKey, now: float | None) -> Bound:
    """The session row named ``key``, unless it has expired by ``now`` (None: expired or not).

    With its metadata (``SESSION_COLUMNS`` and ``METADATA_COLUMNS``).
    """
    if now is None:
        return _SELECT_SESSION, name_params(key)
    return _SELECT_VISIBLE_SESSION, visible_params(key, now)


_INSERT_SESSION = sa.insert(sessions).values(revision=0, last_sequence=0, events_bytes=0)


def insert_session(
    key: SessionKey,
    now: float,
    state_bytes: int = 0,
    expiry: Expiry | None = None,
    metadata: Metadata = NO_METADATA,
    initial_state: str | None = None,
) -> Bound:
    """A new session row whose own state counts ``state_bytes``; its revision is set once its key is known.

    ``initial_state``: the ``initial_state`` column (``rows.encode_initial_state``); None = not kept.
    (Its labels' rows are ``insert_labels``'s.)
    """
    expiry = expiry or Expiry()
    return _INSERT_SESSION, {
        "display_name": metadata.display_name or None,
        "labels": encode_labels(metadata.labels),
        "initial_state": initial_state,
        "expire_time": expiry.expire_time,
        "ttl": expiry.ttl,
        "app_name": key.app_name,
        "user_id": key.user_id,
        "session_id": key.session_id,
        "create_time": now,
        "last_update_time": now,
        "state_bytes": state_bytes,
    }


_SET_REVISION = (
    sa.update(sessions)
    .where(sessions.c.session_pk == sa.bindparam("b_session_pk"))
    .values(revision=sa.bindparam("b_revision"))
)


# The parts of ``create_at_once``'s rows.
_CREATED_ROW, _CREATED_APP, _CREATED_USER = 0, 1, 2


def _create_at_once(*, notify: bool) -> sa.CompoundSelect[Any]:
    """PostgreSQL: a session without state of its own created, and the app's and the user's state read.

    (And the size rows of the app's and the user's state made, if missing.)
    One statement: the insert is a common table expression whose key comes
    from the sessions' own sequence, so that its revision
    (``creation_revision``, 2 * key + 1) goes into the same row; the app's
    and the user's state are read in the statement's snapshot. Rows of
    (part, session_pk, revision, state_key, value): the session first.
    ``notify``: the statement also tells the listening servers of the
    session it created, on its commit (``watching.notify_call``).
    """
    # The size rows of the user's and the app's state, made if there are none,
    # before the session: the order every writer takes them in.
    user_size = (
        postgresql.insert(user_state_size)
        .values(app_name=sa.bindparam("b_app_name"), user_id=sa.bindparam("b_user_id"))
        .on_conflict_do_nothing()
        .returning(sa.literal_column("1"))
        .cte("user_size")
    )
    app_size = (
        postgresql.insert(app_state_size)
        .values(app_name=sa.bindparam("b_app_name"))
        .on_conflict_do_nothing()
        .returning(sa.literal_column("1"))
        .cte("app_size")
    )
    key = (
        sa.select(
            sa.func.nextval(sa.func.pg_get_serial_sequence(sessions.name, sessions.c.session_pk.name)).label(
                "pk"
            )
        )
        .where(
            sa.select(sa.func.count()).select_from(user_size).scalar_subquery() >= 0,
            sa.select(sa.func.count()).select_from(app_size).scalar_subquery() >= 0,
        )
        .subquery("key")
    )
    now = sa.bindparam("b_now", type_=sessions.c.create_time.type)
    created = (
        sa.insert(sessions)
        .from_select(
            [*SESSION_COLUMNS, sessions.c.display_name, sessions.c.initial_state],  # in this order:
            sa.select(
                key.c.pk,
                sa.bindparam("b_app_name", type_=sessions.c.app_name.type),
                sa.bindparam("b_user_id", type_=sessions.c.user_id.type),
                sa.bindparam("b_session_id", type_=sessions.c.session_id.type),
                now,
                now,
                2 * key.c.pk + 1,
                sa.literal(0, sa.BigInteger()),  # last_sequence
                sa.literal(0, sa.BigInteger()),  # events_bytes
                sa.literal(0, sa.BigInteger()),  # state_bytes
                sa.bindparam("b_expire_time", type_=sessions.c.expire_time.type),
                sa.bindparam("b_ttl", type_=sessions.c.ttl.type),
                typed_null(sessions.c.close_time),
                sa.bindparam("b_display_name", type_=sessions.c.display_name.type),
                sa.literal("{}", sessions.c.initial_state.type),  # no state of its own
            ),
        )
        .returning(sessions.c.session_pk, sessions.c.revision)
        .cte("created")
    )
    created_row = sa.select(
        part(_CREATED_ROW),
        created.c.session_pk,
        created.c.revision,
        typed_null(app_state.c.state_key),
        typed_null(app_state.c.value),
    )
    if notify:
        created_row = watching.notifying(
            created_row,
            sa.select(watching.notify_call(sa.bindparam("b_payload", type_=sa.Text()))).select_from(created),
        )
    none = sa.null()
    app_name: sa.BindParameter[str] = sa.bindparam("b_app_name")
    return sa.union_all(
        created_row,
        sa.select(part(_CREATED_APP), none, none, app_state.c.state_key, app_state.c.value).where(
            app_state.c.app_name == app_name
        ),
        sa.select(part(_CREATED_USER), none, none, user_state.c.state_key, user_state.c.value).where(
            user_state.c.app_name == app_name, user_state.c.user_id == sa.bindparam("b_user_id")
        ),
    )


_CREATE_AT_ONCE = _create_at_once(notify=False)
_CREATE_AT_ONCE_NOTIFIED = _create_at_once(notify=True)


def create_at_once(
    key: SessionKey, now: float, expiry: Expiry, display_name: str = "", *, notify: bool = False
) -> tuple[sa.CompoundSelect[Any], dict[str, Any]]:
    """PostgreSQL: ``_create_at_once`` for the session ``key``, created at ``now``, expiring by ``expiry``.

    (A session without labels: their rows are not made here.) ``notify``:
    the statement notifies the session's creation (PostgreSQL's ``watching.CHANNEL``).
    """
    values = {
        **name_params(key),
        "b_display_name": display_name or None,
        "b_now": now,
        "b_expire_time": expiry.expire_time,
        "b_ttl": expiry.ttl,
    }
    if notify:
        return _CREATE_AT_ONCE_NOTIFIED, {**values, "b_payload": watching.created_payload(key)}
    return _CREATE_AT_ONCE, values


def created_from_rows(rows: Iterable[Sequence[Any]]) -> tuple[int, ScopedState]:
    """The revision ``create_at_once`` gave the session, and its merged state (none of its own)."""
    revision: int | None = None
    state = ScopedState()
    for row_part, _, row_revision, state_key, value in rows:
        if row_part == _CREATED_ROW:
            revision = row_revision
        elif row_part == _CREATED_APP:
            state.app[state_key] = value
        else:
            state.user[state_key] = value
    if revision is None:
        raise RuntimeError("a session was created, yet the statement did not return it")
    return revision, state


def set_revision(session_pk: int, revision: int) -> Bound:
    """Records the session's new revision."""
    return _SET_REVISION, {"b_session_pk": session_pk, "b_revision": revision}


def _fits_whole(
    events_bytes: sa.ColumnElement[int],
    state_bytes: sa.ColumnElement[int],
    last_sequence: sa.ColumnElement[int],
) -> sa.ColumnElement[int]:
    """1 if a session's events and merged state all fit in the read's budget, by the sizes kept; else 0."""
    total = events_bytes + state_bytes + shared_state_bytes(sessions.c.app_name, sessions.c.user_id)
    return sa.case((sa.and_(total <= BUDGET_BYTES, last_sequence <= BUDGET_EVENTS), 1), else_=0)


_WHOLE_TAIL = 5
"""The columns of ``select_whole_session``'s rows after close_time: the session's metadata and sizes."""
# The parts of ``select_whole_session``'s rows, in the order they come.
_WHOLE_SESSION, _WHOLE_APP, _WHOLE_USER, _WHOLE_OWN, _WHOLE_EVENT = 0, 1, 2, 3, 4


def _whole_session(recent: bool, after_timestamp: bool) -> sa.CompoundSelect[Any]:
    """A session read as one statement: the session's row, its merged state and its events window.

    The session is a common table expression (computed once) that the other
    parts find its key in; a session expired by ``b_now`` is not found. Every
    part has the columns (part, session_pk, create_time, last_update_time,
    revision, fits, state_key, value, sequence, event_id, event_json,
    wire_cache, expire_time, ttl, close_time, display_name, labels,
    forked_from, last_sequence, stored_bytes), NULL where a part has
    no such thing. The events are read only if all of the session's events
    and its state fit in the read's budget (``fits``, 1 or 0: the sizes kept
    on its rows say so without reading them), so the statement never reads
    more than a response holds; else ``session`` reads them in parts.
    ``recent``: keep only events after the session's last_sequence -
    ``b_recent``; ``after_timestamp``: ADK's after_timestamp rule, as
    ``select_window`` applies it.
    """
    named = (
        sa.select(
            sessions.c.session_pk,
            sessions.c.create_time,
            sessions.c.last_update_time,
            sessions.c.revision,
            sessions.c.last_sequence,
            _fits_whole(sessions.c.events_bytes, sessions.c.state_bytes, sessions.c.last_sequence).label(
                "fits"
            ),
            sessions.c.expire_time,
            sessions.c.ttl,
            sessions.c.close_time,
            *METADATA_COLUMNS,
            (sessions.c.events_bytes + sessions.c.state_bytes).label("stored_bytes"),
        )
        .where(VISIBLE)
        .cte("named")
    )
    session_pk = sa.select(named.c.session_pk).scalar_subquery()
    fits = sa.select(named.c.fits).scalar_subquery() == 1
    last = sa.select(named.c.last_sequence).scalar_subquery()
    floor: sa.ColumnElement[int] = (
        last - sa.bindparam("b_recent", type_=sa.BigInteger())
        if recent
        else sa.bindparam("b_floor", type_=sa.BigInteger())
    )
    in_window = events_in_window(session_pk, floor, after_timestamp, last)
    none = sa.null()
    tail = [none] * _WHOLE_TAIL

    def state_part(number: int, table: sa.Table, *where: sa.ColumnElement[bool]) -> sa.Select[Any]:
        return sa.select(
            part(number),
            none,
            none,
            none,
            none,
            none,
            table.c.state_key,
            table.c.value,
            none,
            none,
            none,
            none,
            none,
            none,
            none,
            *tail,
        ).where(*where)

    app_name: sa.BindParameter[str] = sa.bindparam("b_app_name")
    return sa.union_all(
        sa.select(
            part(_WHOLE_SESSION),
            named.c.session_pk,
            named.c.create_time,
            named.c.last_update_time,
            named.c.revision,
            named.c.fits,
            typed_null(session_state.c.state_key),
            typed_null(session_state.c.value),
            typed_null(events.c.sequence),
            typed_null(events.c.event_id),
            typed_null(events.c.event_json),
            typed_null(events.c.wire_cache),
            named.c.expire_time,
            named.c.ttl,
            named.c.close_time,
            named.c.display_name,
            named.c.labels,
            named.c.forked_from,
            named.c.last_sequence,
            named.c.stored_bytes,
        ),
        state_part(_WHOLE_APP, app_state, app_state.c.app_name == app_name),
        state_part(
            _WHOLE_USER,
            user_state,
            user_state.c.app_name == app_name,
            user_state.c.user_id == sa.bindparam("b_user_id"),
        ),
        state_part(_WHOLE_OWN, session_state, session_state.c.session_pk == session_pk),
        sa.select(
            part(_WHOLE_EVENT),
            none,
            none,
            none,
            none,
            none,
            none,
            none,
            *READ_EVENT_COLUMNS,
            none,
            none,
            none,
            *tail,
        ).where(in_window, fits),
    )
    # No ORDER BY: the database would sort every event's JSON through its
    # sorter (as long again as the rest of the read, on SQLite);
    # ``whole_session_from_rows`` puts the events in order instead.


_WHOLE_SESSIONS = {
    (recent, after): _whole_session(recent, after) for recent in (False, True) for after in (False, True)
}


def select_whole_session(key: SessionKey, window: EventWindow, budget: ReadBudget, now: float) -> Bound:
    """The session named ``key`` with its merged state and the events ``window`` selects, as one statement.

    What ``select_session``, ``select_window`` and ``select_merged_state``
    read, in one round trip and one snapshot (it can run alone, in
    autocommit), if the session fits in ``budget`` whole; else without the
    events. Nothing if it has expired by ``now``. Read the rows with
    ``whole_session_from_rows``.
    """
    params = {**visible_params(key, now), **budget_params(budget)}
    if window.num_recent_events is not None and window.num_recent_events <= budget.max_events:
        params["b_budget_events"] = UNBOUNDED  # the window holds few enough events, however many the session
    recent = window.num_recent_events is not None
    if recent:
        params["b_recent"] = window.num_recent_events
    else:
        params["b_floor"] = 0
    after = window.after_timestamp is not None
    if after:
        params["b_after_timestamp"] = window.after_timestamp
    return _WHOLE_SESSIONS[(recent, after)], params


@dataclass(frozen=True, slots=True)
class WholeSession:
    """What ``select_whole_session`` read of a session that exists."""

    session_pk: int
    create_time: float
    last_update_time: float
    revision: int
    fits: bool
    """Whether the session fitted in the read's budget whole: only then were its events read."""
    expiry: Expiry
    close_time: float | None
    metadata: Metadata
    event_count: int
    stored_bytes: int
    forked_from: ForkOrigin | None
    state: ScopedState
    events: list[Sequence[Any]]
    """Rows as ``READ_EVENT_COLUMNS`` selects them, in sequence order."""


def whole_session_from_rows(rows: Iterable[Sequence[Any]]) -> WholeSession | None:
    """The session ``select_whole_session`` read; None if there is no such session."""
    head: Sequence[Any] | None = None
    state = ScopedState()
    scopes = {_WHOLE_APP: state.app, _WHOLE_USER: state.user, _WHOLE_OWN: state.session}
    event_rows: list[Sequence[Any]] = []
    for row in rows:
        row_part = row[0]
        if row_part == _WHOLE_EVENT:
            event_rows.append(row[8:12])
        elif row_part == _WHOLE_SESSION:
            head = row
        else:
            scopes[row_part][row[6]] = row[7]
    if head is None:
        return None
    # Already in order as every database here reads them (by the events'
    # primary key); sorting a sorted list is a single pass.
    event_rows.sort(key=itemgetter(0))
    _, session_pk, create_time, last_update_time, revision, fits = head[:6]
    expire_time, ttl, close_time, display_name, labels, forked_from, last_sequence, stored_bytes = head[12:20]
    return WholeSession(
        session_pk,
        create_time,
        last_update_time,
        revision,
        fits == 1,
        Expiry(expire_time, ttl),
        close_time,
        session_metadata(display_name, labels),
        last_sequence,
        stored_bytes,
        fork_origin(forked_from),
        state,
        event_rows,
    )


_DELETE_SESSION = sa.delete(sessions).where(NAMED)


def delete_session(key: SessionKey) -> Bound:
    """Deletes the session; its events and session state go with it (ON DELETE CASCADE)."""
    return _DELETE_SESSION, name_params(key)


_SET_RESTORED = (
    sa.update(sessions)
    .where(sessions.c.session_pk == sa.bindparam("b_session_pk"))
    .values(
        revision=sa.bindparam("b_revision"),
        last_update_time=sa.bindparam("b_last_update_time"),
        close_time=sa.bindparam("b_close_time"),
        forked_from=sa.bindparam("b_forked_from"),
    )
)


def set_restored(
    session_pk: int, revision: int, last_update_time: float, close_time: float | None, forked_from: str | None
) -> Bound:
    """Sets what a restored session's insert does not: revision, update and close times, fork origin."""
    return _SET_RESTORED, {
        "b_session_pk": session_pk,
        "b_revision": revision,
        "b_last_update_time": last_update_time,
        "b_close_time": close_time,
        "b_forked_from": forked_from,
    }


_ADD_RESTORED_EVENTS = (
    sa.update(sessions)
    .where(
        sessions.c.session_pk == sa.bindparam("b_session_pk"),
        sessions.c.last_sequence == sa.bindparam("b_held"),
    )
    .values(
        revision=sa.bindparam("b_revision"),
        last_sequence=sa.bindparam("b_last_sequence"),
        events_bytes=sessions.c.events_bytes + sa.bindparam("b_events_bytes", type_=sa.BigInteger()),
    )
)


def add_restored_events(
    session_pk: int, held: int, revision: int, last_sequence: int, events_bytes: int
) -> Bound:
    """Counts restored events in their session, if it still holds ``held`` events (rowcount 0 if not)."""
    return _ADD_RESTORED_EVENTS, {
        "b_session_pk": session_pk,
        "b_held": held,
        "b_revision": revision,
        "b_last_sequence": last_sequence,
        "b_events_bytes": events_bytes,
    }


_SELECT_RESTORABLE = sa.select(*SESSION_COLUMNS, *METADATA_COLUMNS, sessions.c.initial_state).where(VISIBLE)


def select_restorable(key: SessionKey, now: float) -> Bound:
    """The session row named ``key`` unless expired by ``now``, with its metadata and initial state."""
    return _SELECT_RESTORABLE, visible_params(key, now)


def expiry_of(row: sa.Row[Any]) -> Expiry:
    """The expiry of a session row."""
    return Expiry(row.expire_time, row.ttl)
