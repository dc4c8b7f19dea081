"""What Agent Engine cannot do of session metadata, filtered listings and forks: strict xfails on ``vertex``.

Keyed by test name (without the backend parameter); each entry is a
``tests.conformance.conftest.Divergence`` whose reason says what Agent
Engine does instead, as docs/backends.md records it (difference 10, with 3
and 9 where a case also needs those). Fixing the backend forces the entry's
removal (the xfails are strict). What Agent Engine does serve (display_name
and labels, equality filters on them, both orders) is tested on it in
tests/vertex/test_metadata.py.
"""

from __future__ import annotations

from typing import Final

import grpc

from adk_grpc_sessions.client import SessionServiceError
from tests.conformance.conftest import Divergence

_NO_CLOSE = (
    "Vertex AI Agent Engine has no closed sessions (difference 9): the case's CloseSession is "
    "NOT_SUPPORTED_BY_BACKEND before any filter is tried"
)
_FILTER_TERMS = (
    "Vertex AI Agent Engine's ListSessions filter compares display_name and labels.KEY for equality only: "
    "!=, labels.KEY:* and create_time/update_time comparisons are NOT_SUPPORTED_BY_BACKEND "
    "(FILTER_NOT_SUPPORTED), never evaluated by reading every session"
)
_ORDER = (
    "on Vertex AI Agent Engine last_update_time is its update_time, its clock at the last write, not the "
    "latest event's timestamp (difference 3), equal times come in its order, not by user and session id, "
    "and pages resume by its page token, not by key"
)
_NO_COUNTS = "Vertex AI Agent Engine keeps no count or size of a session's events: event_count and stored_bytes are unset"
_UPDATE_MOVES_REVISION = (
    "Vertex AI Agent Engine's UpdateSession moves the session's update_time, which is its revision and "
    "last_update_time: a metadata update makes a session read before it stale"
)
_NO_FORK = (
    "Vertex AI Agent Engine cannot copy a session: ForkSession is NOT_SUPPORTED_BY_BACKEND (NO_FORK), "
    "never emulated by reading and appending every event"
)

VERTEX_DIVERGENCES: Final[dict[str, Divergence]] = {
    # test_metadata.py
    "test_event_count_and_stored_bytes_follow_the_appends": Divergence(_NO_COUNTS, AssertionError),
    "test_update_session_changes_metadata_without_changing_the_revision": Divergence(
        _UPDATE_MOVES_REVISION, AssertionError
    ),
    # test_listing.py
    "test_each_metadata_filter_term_keeps_exactly_the_matching_sessions": Divergence(
        f"{_NO_CLOSE}; {_FILTER_TERMS}", SessionServiceError
    ),
    "test_each_create_time_comparison_keeps_exactly_the_matching_sessions": Divergence(
        f"{_NO_CLOSE}; {_FILTER_TERMS}", SessionServiceError
    ),
    "test_each_update_time_comparison_keeps_exactly_the_matching_sessions": Divergence(
        _FILTER_TERMS, SessionServiceError
    ),
    "test_a_time_with_an_offset_is_the_same_instant": Divergence(_FILTER_TERMS, SessionServiceError),
    "test_orders_list_in_either_direction_with_ties_by_user_then_session_across_pages": Divergence(
        f"{_NO_CLOSE}; {_ORDER}; {_FILTER_TERMS}", SessionServiceError
    ),
    "test_a_user_s_filtered_listing_holds_only_their_sessions": Divergence(
        f"{_NO_CLOSE}; {_FILTER_TERMS}", SessionServiceError
    ),
    "test_a_session_updated_while_paging_newest_first_is_listed_at_most_once": Divergence(
        _ORDER, AssertionError
    ),
    "test_a_session_updated_while_paging_oldest_first_is_listed_again_at_its_new_key": Divergence(
        _ORDER, AssertionError
    ),
    "test_a_page_token_is_good_only_for_the_same_filter_and_order": Divergence(
        f"{_NO_CLOSE}; {_FILTER_TERMS}", SessionServiceError
    ),
    # test_fork.py
    "test_a_fork_at_the_end_copies_every_event_and_the_state": Divergence(_NO_FORK, SessionServiceError),
    "test_a_fork_before_an_invocation_has_the_state_the_source_had_then": Divergence(
        _NO_FORK, SessionServiceError
    ),
    "test_forking_leaves_the_source_unchanged_and_each_side_appends_alone": Divergence(
        _NO_FORK, SessionServiceError
    ),
    "test_a_fork_of_a_fork_keeps_the_state_at_each_point": Divergence(_NO_FORK, SessionServiceError),
    "test_a_fork_of_a_closed_session_is_open": Divergence(f"{_NO_CLOSE}; {_NO_FORK}", SessionServiceError),
    "test_fork_errors_name_what_is_wrong": Divergence(
        f"{_NO_FORK} (refused before the source or the new id is looked at)", SessionServiceError
    ),
    "test_a_fork_without_an_id_gets_one_and_the_server_default_ttl": Divergence(
        _NO_FORK, grpc.aio.AioRpcError
    ),
    "test_a_fork_of_a_10000_event_session_costs_the_server_no_memory_for_the_events": Divergence(
        _NO_FORK, SessionServiceError
    ),
}
"""Test function name -> why Agent Engine fails that case, and the exception it fails with."""
