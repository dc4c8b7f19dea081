"""One conformance suite, every session service.

Each test states one behaviour of ADK's session services with concrete
expected values, and runs against every service registered here:

* ``adk-memory`` — ADK's ``InMemorySessionService``, the executable reference:
  if a case fails there, the case is wrong (stale-writer detection aside: it
  keeps no revisions, which is recorded below).
* ``adk-database`` — ADK's own ``DatabaseSessionService`` (SQLite file), run
  for comparison; where it departs from the reference, that is recorded.
* ``grpc-<backend>`` — our ``GrpcSessionService`` talking to a real server
  on a real socket, one kind per backend. ``grpc-vertex`` is the
  ``agentengine://`` backend against a local stand-in of the Vertex AI
  Sessions API (``tests/vertex_standin``).

A service that does not meet a case has a ``Divergence`` in ``divergences``: a
written reason and the exception the case then fails with. The case runs as
``xfail(strict=True, raises=...)``, so fixing the service forces the entry's
removal, and a case that fails in another way (an earlier step, a different
rule) is a failure, not a hidden pass. Where a difference would stop a case
before the checks that follow it, the case is split, so each check runs on
every service that can make it. Our gRPC kinds may carry entries only for
limits of an external system (e.g. a backend whose API cannot express a
rule), never for our own code.

Two of our guarantees are deliberately stricter than the reference (see
docs/guarantees.md): a stale writer is rejected, and a different event
under an id already stored is refused. ``adk-memory`` carries those as
divergences: they say where ADK's behaviour and ours part, on purpose.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import pathlib
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy.exc
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.sessions.base_session_service import BaseSessionService
from google.adk.sessions.database_session_service import DatabaseSessionService
from google.adk.sessions.in_memory_session_service import InMemorySessionService

from adk_grpc_sessions.client import GrpcSessionService, SessionServiceError
from tests import databases
from tests.conftest import StartServer
from tests.vertex_standin.server import serving_in_thread
from tests.vertex_standin.service import SessionServiceStandIn

_VERTEX_ENGINE_IDS = itertools.count(1)
DID_NOT_RAISE = pytest.fail.Exception
"""What ``pytest.raises`` fails with when a service lets through what the case expects it to refuse."""


@dataclass(frozen=True)
class Divergence:
    """Why a service fails a case, and the exception it fails with."""

    reason: str
    raises: type[BaseException]


# Where Vertex AI Agent Engine cannot do what ADK's semantics need; the
# backend then does what ADK's VertexAiSessionService does. The same list is
# in docs/backends.md and in the backend's package docstring (backends/vertex).
_VERTEX_SHARED_STATE = (
    "Vertex AI Agent Engine keeps state per session only: app: and user: keys are stored in "
    "each session, not shared (as in ADK's VertexAiSessionService)"
)
_VERTEX_NO_USER_STATE = (
    "Vertex AI Agent Engine cannot read user state on its own: GetUserState is UNIMPLEMENTED "
    "(ADK's VertexAiSessionService raises NotImplementedError)"
)
_VERTEX_SESSION_IDS = (
    "Vertex AI Agent Engine session ids are unique per reasoning engine, not per user, and are "
    "1-63 of [a-z0-9-] starting with a letter"
)
_VERTEX_UPDATE_TIME = (
    "a Vertex session's last_update_time is its update_time (server clock at the last write), "
    "not the latest event's timestamp; listings are ordered by it"
)
_VERTEX_TIMESTAMP_ORDER = (
    "Vertex AI Agent Engine orders and filters events by timestamp only, not by append order"
)
_VERTEX_STRUCT = (
    "Vertex keeps state in google.protobuf.Struct: numbers are doubles, so 1.0 reads back as 1 "
    "and big integers are rounded"
)
_VERTEX_NESTING = (
    "Vertex keeps state and events in google.protobuf.Struct, which protobuf parsers read to 100 levels "
    "of messages: the agentengine backend stores state values nested at most 27 levels"
)
_VERTEX_EVENT_IDS = (
    "Vertex AI Agent Engine finds events by timestamp only: an event id is checked against the "
    "events stored at the new event's timestamp, so a different event under a stored id at "
    "another time is stored beside it"
)
VERTEX_DIVERGENCES = {
    "test_a_different_event_under_a_stored_id_at_another_time_is_refused": Divergence(
        _VERTEX_EVENT_IDS, DID_NOT_RAISE
    ),
    "test_create_splits_initial_state_by_scope": Divergence(_VERTEX_SHARED_STATE, AssertionError),
    "test_app_state_is_shared_by_every_user_of_the_app": Divergence(_VERTEX_SHARED_STATE, AssertionError),
    "test_user_state_is_shared_by_one_users_sessions_only": Divergence(_VERTEX_SHARED_STATE, AssertionError),
    "test_delete_keeps_app_and_user_state": Divergence(_VERTEX_SHARED_STATE, AssertionError),
    "test_get_user_state_returns_unprefixed_user_keys": Divergence(
        _VERTEX_NO_USER_STATE, SessionServiceError
    ),
    "test_get_user_state_of_unknown_user_is_empty": Divergence(_VERTEX_NO_USER_STATE, SessionServiceError),
    "test_same_session_id_under_another_user_is_another_session": Divergence(
        _VERTEX_SESSION_IDS, AlreadyExistsError
    ),
    "test_unicode_session_id_is_accepted": Divergence(_VERTEX_SESSION_IDS, ValueError),
    "test_last_update_time_becomes_the_appended_events_timestamp": Divergence(
        _VERTEX_UPDATE_TIME, AssertionError
    ),
    "test_reappending_the_same_event_stores_it_once": Divergence(_VERTEX_UPDATE_TIME, AssertionError),
    "test_list_is_ordered_by_last_update_time_oldest_first": Divergence(_VERTEX_UPDATE_TIME, AssertionError),
    "test_list_orders_equal_update_times_by_user_then_id": Divergence(_VERTEX_UPDATE_TIME, AssertionError),
    "test_events_come_back_in_append_order": Divergence(_VERTEX_TIMESTAMP_ORDER, AssertionError),
    "test_after_timestamp_keeps_events_after_last_older_one": Divergence(
        _VERTEX_TIMESTAMP_ORDER, AssertionError
    ),
    "test_state_values_keep_their_json_types": Divergence(_VERTEX_STRUCT, AssertionError),
    "test_created_state_comes_back_identical": Divergence(_VERTEX_STRUCT, AssertionError),
    "test_state_delta_comes_back_identical": Divergence(_VERTEX_STRUCT, AssertionError),
    "test_state_nested_as_deep_as_adks_database_service_stores_round_trips": Divergence(
        _VERTEX_NESTING, ValueError
    ),
}

_NO_REVISIONS = (
    "InMemorySessionService keeps no revisions: an append through an out-of-date session "
    "object is merged, not rejected"
)
_KEEPS_BOTH = (
    "InMemorySessionService stores a different event under an id already stored as another "
    "event: the session then holds both"
)
_DB_VERBATIM_IDS = "DatabaseSessionService stores and looks up session ids verbatim, whitespace and all"
_DB_EVENT_IDS = (
    "DatabaseSessionService raises IntegrityError for an event id it holds, not AlreadyExistsError"
)
_DB_AFTER_TIMESTAMP = (
    "DatabaseSessionService filters events by timestamp in SQL and orders them by timestamp, "
    "not by append order, so with out-of-order timestamps it departs from the reference"
)


@dataclass(frozen=True)
class ServiceKind:
    """A session service the suite runs against."""

    name: str
    backend_uri_fixture: str | None = None
    """For gRPC kinds: the fixture giving the server's backend URI."""
    divergences: Mapping[str, Divergence] = field(default_factory=dict)
    """Test function name -> why this service fails that case, and how."""


SERVICE_KINDS = [
    ServiceKind(
        "adk-memory",
        divergences={
            "test_append_through_stale_session_is_rejected": Divergence(_NO_REVISIONS, DID_NOT_RAISE),
            "test_append_through_session_read_before_a_delete_and_recreate_is_rejected": Divergence(
                _NO_REVISIONS, DID_NOT_RAISE
            ),
            "test_a_different_event_under_a_stored_id_is_refused": Divergence(_KEEPS_BOTH, DID_NOT_RAISE),
            "test_a_different_event_under_a_stored_id_at_another_time_is_refused": Divergence(
                _KEEPS_BOTH, DID_NOT_RAISE
            ),
        },
    ),
    ServiceKind(
        "adk-database",
        divergences={
            "test_after_timestamp_keeps_events_after_last_older_one": Divergence(
                _DB_AFTER_TIMESTAMP, AssertionError
            ),
            "test_get_session_strips_whitespace_from_session_id": Divergence(
                _DB_VERBATIM_IDS, AssertionError
            ),
            "test_create_strips_whitespace_from_session_id": Divergence(_DB_VERBATIM_IDS, AssertionError),
            "test_events_come_back_in_append_order": Divergence(_DB_AFTER_TIMESTAMP, AssertionError),
            "test_event_with_every_field_round_trips_exactly": Divergence(
                "DatabaseSessionService reads a requested auth config back with its auth scheme's "
                "'type_' field filled in, so the event differs from the one appended",
                AssertionError,
            ),
            "test_reappending_the_same_event_stores_it_once": Divergence(
                "DatabaseSessionService raises IntegrityError when an event is delivered twice",
                sqlalchemy.exc.IntegrityError,
            ),
            "test_a_different_event_under_a_stored_id_is_refused": Divergence(
                _DB_EVENT_IDS, sqlalchemy.exc.IntegrityError
            ),
            "test_a_different_event_under_a_stored_id_at_another_time_is_refused": Divergence(
                _DB_EVENT_IDS, sqlalchemy.exc.IntegrityError
            ),
        },
    ),
    ServiceKind("grpc-memory", backend_uri_fixture="memory_backend_uri"),
    ServiceKind("grpc-vertex", backend_uri_fixture="vertex_backend_uri", divergences=VERTEX_DIVERGENCES),
    ServiceKind("grpc-sqlite", backend_uri_fixture="sqlite_backend_uri"),
    ServiceKind("grpc-postgresql", backend_uri_fixture="postgres_backend_uri"),
    ServiceKind("grpc-mariadb", backend_uri_fixture="mariadb_backend_uri"),
]


@pytest.fixture(scope="session")
def memory_backend_uri() -> str:
    """The in-process memory backend."""
    return "memory://"


@pytest.fixture(scope="session")
def vertex_standin() -> Iterator[tuple[SessionServiceStandIn, str]]:
    """A Vertex AI Sessions stand-in serving from a thread of its own, and its address."""
    standin = SessionServiceStandIn([])
    with serving_in_thread(standin) as address:
        yield standin, address


@pytest.fixture
def vertex_backend_uri(vertex_standin: tuple[SessionServiceStandIn, str]) -> str:
    """The agentengine:// backend on a reasoning engine of this test's own.

    Session ids are unique per engine, so each test gets a fresh engine, as
    each gets a fresh app name elsewhere.
    """
    standin, address = vertex_standin
    engine = f"projects/conformance/locations/us-central1/reasoningEngines/{next(_VERTEX_ENGINE_IDS)}"
    standin.engines.add(engine)
    return f"agentengine://{engine}?endpoint={address}&plaintext=true"


@pytest.fixture(scope="session")
def sqlite_backend_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The SQL backend on a SQLite file."""
    return f"sqlite:///{tmp_path_factory.mktemp('conformance') / 'sessions.db'}"


@pytest.fixture(scope="session")
def postgres_backend_uri() -> str:
    """The SQL backend on a database of a real PostgreSQL server (skipped if none can be had)."""
    return databases.create_database_blocking(databases.server_for_tests("postgresql"))


@pytest.fixture(scope="session")
def mariadb_backend_uri() -> str:
    """The SQL backend on a database of a real MariaDB server (skipped if none can be had)."""
    return databases.create_database_blocking(databases.server_for_tests("mariadb"))


APPEND_PATHS: Mapping[str, Mapping[str, Any]] = {
    # The default client: a lone append goes on its append stream.
    "stream": {},
    # A call per append, as behind a proxy that cuts long-lived streams.
    "call": {"stream_appends": False},
    # Appends made while another is under way go together in BatchAppendEvents
    # calls (the case appends among others, at once, to have one).
    "batch": {},
}
"""Each way our client can carry an append -> the client's settings for it."""
APPEND_METHODS: Mapping[str, str] = {
    "stream": "AppendEventStream",
    "call": "AppendEvent",
    "batch": "BatchAppendEvents",
}
"""Each append path -> the RPC that carries it."""


@pytest.fixture(params=list(APPEND_PATHS))
def append_path(request: pytest.FixtureRequest) -> str:
    """Each way of sending an append in turn (for gRPC kinds; ADK's services have one way)."""
    path: str = request.param
    return path


@dataclass
class AppendCalls:
    """The append RPCs a gRPC client started, by method name (empty for ADK's services)."""

    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    grpc: bool = False
    """Whether the service is our client (the only one whose calls are counted)."""


def _count_append_calls(client: GrpcSessionService, calls: AppendCalls) -> None:
    """Wraps the client's stub so that every append RPC it starts is counted in ``calls``.

    The stub is what the client's append pipeline and stream call through, so
    a count here is the route an append actually took.
    """
    stub = client._connection.stub()
    for method in APPEND_METHODS.values():
        original = getattr(stub, method)

        def counted(*args: Any, _original: Any = original, _method: str = method, **kwargs: Any) -> Any:
            calls.counts[_method] += 1
            return _original(*args, **kwargs)

        setattr(stub, method, counted)


@contextlib.asynccontextmanager
async def _open(
    kind: ServiceKind,
    request: pytest.FixtureRequest,
    tmp_path: pathlib.Path,
    start_server: StartServer,
    calls: AppendCalls,
) -> AsyncIterator[BaseSessionService]:
    if kind.name == "adk-memory":
        yield InMemorySessionService()
    elif kind.name == "adk-database":
        database = DatabaseSessionService(f"sqlite+aiosqlite:///{tmp_path / 'adk.db'}")
        try:
            yield database
        finally:
            await database.close()
    else:
        assert kind.backend_uri_fixture is not None
        # Backend URI fixtures are synchronous: an async fixture cannot be
        # requested by name from inside this one's running event loop.
        backend_uri = request.getfixturevalue(kind.backend_uri_fixture)
        path = request.getfixturevalue("append_path") if "append_path" in request.fixturenames else "stream"
        async with GrpcSessionService(await start_server(backend_uri), **APPEND_PATHS[path]) as client:
            _count_append_calls(client, calls)
            calls.grpc = True
            yield client


@pytest.fixture
def append_calls() -> AppendCalls:
    """The append RPCs the case's service started (counted for our client only)."""
    return AppendCalls()


@pytest.fixture(params=SERVICE_KINDS, ids=lambda kind: kind.name)
async def service(
    request: pytest.FixtureRequest,
    tmp_path: pathlib.Path,
    grpc_server: StartServer,
    append_calls: AppendCalls,
) -> AsyncIterator[BaseSessionService]:
    """Each registered session service in turn, with its recorded divergences as strict xfails."""
    kind: ServiceKind = request.param
    divergence = kind.divergences.get(request.node.originalname)
    if divergence is not None:
        request.node.add_marker(
            pytest.mark.xfail(strict=True, reason=divergence.reason, raises=divergence.raises)
        )
    async with _open(kind, request, tmp_path, grpc_server, append_calls) as opened:
        yield opened
