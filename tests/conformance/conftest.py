"""One conformance suite, every session service.

Each test states one behaviour of ADK's session services with concrete
expected values, and runs against every service registered here:

* ``adk-memory`` — ADK's ``InMemorySessionService``, the executable reference:
  if a case fails there, the case is wrong (stale-writer detection aside: it
  keeps no revisions, which is recorded below).
* ``adk-database`` — ADK's own ``DatabaseSessionService`` (SQLite file), run
  for comparison; where it departs from the reference, that is recorded.
* ``grpc-<backend>`` — our ``GrpcSessionService`` talking to a real server
  on a real socket, one kind per backend.

A service that does not meet a case has a written reason in ``divergences``;
the case then runs as ``xfail(strict=True)``, so fixing the service forces the
entry's removal. Our gRPC kinds may carry entries only for limits of an
external system (e.g. a backend whose API cannot express a rule), never for
our own code.
"""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import pytest
from google.adk.sessions.base_session_service import BaseSessionService
from google.adk.sessions.database_session_service import DatabaseSessionService
from google.adk.sessions.in_memory_session_service import InMemorySessionService

from adk_grpc_sessions.client import GrpcSessionService
from tests.conftest import StartServer

_NO_REVISIONS = (
    "InMemorySessionService keeps no revisions: an append through an out-of-date session "
    "object is merged, not rejected"
)
_DB_VERBATIM_IDS = "DatabaseSessionService stores and looks up session ids verbatim, whitespace and all"
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
    divergences: Mapping[str, str] = field(default_factory=dict)
    """Test function name -> why this service fails that case."""


SERVICE_KINDS = [
    ServiceKind(
        "adk-memory",
        divergences={
            "test_append_through_stale_session_is_rejected": _NO_REVISIONS,
            "test_append_through_session_read_before_a_delete_and_recreate_is_rejected": _NO_REVISIONS,
        },
    ),
    ServiceKind(
        "adk-database",
        divergences={
            "test_after_timestamp_keeps_events_after_last_older_one": _DB_AFTER_TIMESTAMP,
            "test_get_session_strips_whitespace_from_session_id": _DB_VERBATIM_IDS,
            "test_create_strips_whitespace_from_session_id": _DB_VERBATIM_IDS,
            "test_events_come_back_in_append_order": _DB_AFTER_TIMESTAMP,
            "test_event_with_every_field_round_trips_exactly": (
                "DatabaseSessionService reads a requested auth config back with its auth scheme's "
                "'type_' field filled in, so the event differs from the one appended"
            ),
            "test_reappending_the_same_event_stores_it_once": (
                "DatabaseSessionService raises IntegrityError when an event is delivered twice"
            ),
        },
    ),
    ServiceKind("grpc-memory", backend_uri_fixture="memory_backend_uri"),
]


@pytest.fixture(scope="session")
def memory_backend_uri() -> str:
    """The in-process memory backend."""
    return "memory://"


@contextlib.asynccontextmanager
async def _open(
    kind: ServiceKind, request: pytest.FixtureRequest, tmp_path: pathlib.Path, start_server: StartServer
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
        async with GrpcSessionService(await start_server(backend_uri)) as client:
            yield client


@pytest.fixture(params=SERVICE_KINDS, ids=lambda kind: kind.name)
async def service(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path, grpc_server: StartServer
) -> AsyncIterator[BaseSessionService]:
    """Each registered session service in turn, with its recorded divergences as strict xfails."""
    kind: ServiceKind = request.param
    reason = kind.divergences.get(request.node.originalname)
    if reason is not None:
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=reason))
    async with _open(kind, request, tmp_path, grpc_server) as opened:
        yield opened
