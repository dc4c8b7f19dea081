"""A session's metadata: its labels' rows, and its display name and labels changed in place.

The labels are kept twice (see ``schema``): as rows of ``ags_session_labels``,
which filters use, and as the ``labels`` column, which reads return. Both
are written by the same callers in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from adk_grpc_sessions.server.backends.sql.queries.parts import Bound
from adk_grpc_sessions.server.backends.sql.queries.rows import encode_labels, label_rows
from adk_grpc_sessions.server.backends.sql.schema import session_labels, sessions

_INSERT_LABELS = sa.insert(session_labels)


def insert_labels(session_pk: int, labels: Mapping[str, str]) -> Bound | None:
    """The rows of a session's labels; None if it has none."""
    if not labels:
        return None
    return _INSERT_LABELS, label_rows(session_pk, labels)


def insert_labels_rows(rows: list[dict[str, Any]]) -> Bound:
    """Labels' rows (``rows.label_rows``), of any number of sessions."""
    return _INSERT_LABELS, rows


_DELETE_LABELS = sa.delete(session_labels).where(session_labels.c.session_pk == sa.bindparam("b_session_pk"))


def delete_labels(session_pk: int) -> Bound:
    """Deletes the rows of a session's labels (its ``labels`` column is ``set_labels``'s)."""
    return _DELETE_LABELS, {"b_session_pk": session_pk}


_SET_DISPLAY_NAME = (
    sa.update(sessions)
    .where(sessions.c.session_pk == sa.bindparam("b_session_pk"))
    .values(display_name=sa.bindparam("b_display_name", type_=sessions.c.display_name.type))
)


def set_display_name(session_pk: int, display_name: str) -> Bound:
    """Sets a session's display name (empty: none); its revision and update time stay as they are."""
    return _SET_DISPLAY_NAME, {"b_session_pk": session_pk, "b_display_name": display_name or None}


_SET_LABELS = (
    sa.update(sessions)
    .where(sessions.c.session_pk == sa.bindparam("b_session_pk"))
    .values(labels=sa.bindparam("b_labels", type_=sessions.c.labels.type))
)


def set_labels(session_pk: int, labels: Mapping[str, str]) -> list[Bound]:
    """Replaces a session's labels, rows and column; its revision and update time stay as they are."""
    bounds: list[Bound] = [delete_labels(session_pk)]
    inserted = insert_labels(session_pk, labels)
    if inserted is not None:
        bounds.append(inserted)
    bounds.append((_SET_LABELS, {"b_session_pk": session_pk, "b_labels": encode_labels(labels)}))
    return bounds
