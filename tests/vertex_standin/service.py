"""The stand-in's behaviour: ``SessionService`` and ``Operations`` over sessions kept in memory.

What it does, as the API documents it (``google/cloud/aiplatform/v1/
session_service.proto``, ``session.proto``):

* sessions live under a reasoning engine that must exist (NOT_FOUND otherwise);
* ``CreateSession`` and ``DeleteSession`` return long-running operations,
  finished after ``operation_polls`` reads through ``Operations.GetOperation``
  (0: done at once); a created session exists once its operation is done;
* a chosen session id is 1-63 of ``[a-z0-9-]``, a letter first, not ending in
  a dash; without one the service assigns a numeric id; a taken id is
  ALREADY_EXISTS;
* ``user_id`` is required; ``expire_time`` is always set on output: from
  ``ttl`` (input only) counted from the create time, or as given, or a year
  after creation when neither is given (the API documents no default; this
  is the stand-in's); a ``ttl`` under 24 hours, or an ``expire_time`` under
  24 hours after creation, is INVALID_ARGUMENT (the API's documented minimum);
* label keys and values are at most 64 code points of lowercase letters
  (international ones too: read here as letters that are not upper case),
  digits, ``_`` and ``-`` (``Session.labels``); others are INVALID_ARGUMENT;
* ``UpdateSession`` updates the fields its ``update_mask`` names
  (``expire_time``, ``ttl`` counted from now, ``labels``, ``display_name``,
  ``session_state``; every one of them when the mask is empty), with the
  same minimum, and moves the session's ``update_time`` (server clock);
* a session past its ``expire_time`` is kept until ``delete_expired`` runs:
  Agent Engine deletes expired sessions itself, at a time of its own;
* ``AppendEvent`` requires author, invocation id and timestamp, assigns the
  event's id, applies ``actions.state_delta`` to ``session_state`` key by key,
  and moves the session's ``update_time`` (server clock);
* ``ListSessions`` filters on ``user_id``, ``display_name`` and ``labels.KEY``
  (equality: the documented examples; ``filters``) and orders by
  ``create_time`` or ``update_time``, either ``desc``, equal times in creation order; ``ListEvents`` filters on
  a ``timestamp`` range and orders by timestamp (ascending unless ``desc``);
* pages hold at most 100 items (``page_size`` 0 means 100); a page token is
  good only for the same request; an unknown name is NOT_FOUND.

``fail_next`` makes the next call of a method fail with a given status and
``ErrorInfo`` reason, as Google's front end reports permission and quota
problems; with ``after_applying`` the call takes effect first and only its
answer is lost (a dropped connection).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import grpc
from google.cloud.aiplatform_v1 import types as vertex
from google.longrunning import operations_pb2
from google.protobuf import any_pb2, duration_pb2, empty_pb2, timestamp_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from tests.vertex_standin import filters

SESSION_SERVICE: Final = "google.cloud.aiplatform.v1.SessionService"
OPERATIONS_SERVICE: Final = "google.longrunning.Operations"
MAX_PAGE_SIZE: Final = 100
DEFAULT_TTL_SECONDS: Final = 365 * 24 * 3600
MIN_TTL_SECONDS: Final = 24 * 3600
MAX_LABEL_CODE_POINTS: Final = 64
_UPDATABLE: Final = ("expire_time", "ttl", "labels", "display_name", "session_state")

Session = vertex.Session.pb()
SessionEvent = vertex.SessionEvent.pb()
_ENGINE: Final = re.compile(r"projects/[^/]+/locations/[^/]+/reasoningEngines/[^/]+")
_SESSION: Final = re.compile(rf"(?P<engine>{_ENGINE.pattern})/sessions/(?P<id>[^/]+)")
_CHOSEN_ID: Final = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")


class _StatusError(Exception):
    """Ends a call with a status."""

    def __init__(
        self, code: grpc.StatusCode, message: str, reason: str = "", *, after_applying: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.after_applying = after_applying


@dataclass
class _StoredSession:
    session: Any
    events: list[Any] = field(default_factory=list)
    """In append order."""
    by_time: list[tuple[int, int, int]] = field(default_factory=list)
    """(seconds, nanos, index in ``events``) of each event, sorted: a timestamp range is found by
    bisection, so a session of many events lists a few of them without a pass over all."""

    def append(self, event: Any) -> None:
        bisect.insort(self.by_time, (*_instant(event.timestamp), len(self.events)))
        self.events.append(event)

    def in_range(self, bounds: list[tuple[str, timestamp_pb2.Timestamp]]) -> list[Any]:
        """The events within every bound, by timestamp (equal ones in append order)."""
        low, high = 0, len(self.by_time)
        for op, bound in bounds:
            before, after = (*_instant(bound), -1), (*_instant(bound), len(self.events))
            if op in ("=", ">=", ">"):
                low = max(low, bisect.bisect_left(self.by_time, before if op != ">" else after))
            if op in ("=", "<=", "<"):
                high = min(high, bisect.bisect_left(self.by_time, after if op != "<" else before))
        return [self.events[index] for _, _, index in self.by_time[low:high]]


@dataclass
class _PendingOperation:
    operation: operations_pb2.Operation
    polls_left: int
    finish: Callable[[], Message]


class SessionServiceStandIn:
    """Sessions and operations of the reasoning engines it was made with."""

    def __init__(self, engines: list[str], *, operation_polls: int = 1) -> None:
        for engine in engines:
            if not _ENGINE.fullmatch(engine):
                raise ValueError(f"not a reasoning engine name: {engine!r}")
        self.engines = set(engines)
        self.operation_polls = operation_polls
        self.sessions: dict[str, _StoredSession] = {}
        self.operations: dict[str, _PendingOperation] = {}
        self.calls: list[str] = []
        """Every method called, in order (``"SessionService.CreateSession"``, ...)."""
        self._reserved: set[str] = set()
        self._ids = itertools.count(1_000_000_000_000_000_001)
        self._failures: dict[str, list[_StatusError]] = {}

    def fail_next(
        self,
        method: str,
        code: grpc.StatusCode,
        message: str,
        reason: str = "",
        *,
        after_applying: bool = False,
    ) -> None:
        """Makes the next call of ``method`` (e.g. ``"GetSession"``) fail with this status."""
        failure = _StatusError(code, message, reason, after_applying=after_applying)
        self._failures.setdefault(method, []).append(failure)

    # --- SessionService ------------------------------------------------------------------------------

    def CreateSession(self, request: Any) -> operations_pb2.Operation:  # noqa: N802 - the API's names
        """Starts creating a session; done after ``operation_polls`` polls."""
        self._engine(request.parent)
        if not request.session.user_id:
            raise _StatusError(grpc.StatusCode.INVALID_ARGUMENT, "session.user_id is required")
        if request.session_id:
            if not _CHOSEN_ID.fullmatch(request.session_id):
                raise _StatusError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"session_id {request.session_id!r} must be 1-63 of [a-z0-9-], start with a letter "
                    "and end with a letter or number",
                )
            session_id = request.session_id
        else:
            session_id = str(next(self._ids))
        name = f"{request.parent}/sessions/{session_id}"
        if name in self.sessions or name in self._reserved:
            raise _StatusError(grpc.StatusCode.ALREADY_EXISTS, f"Session {name} already exists.")
        self._reserved.add(name)
        session = Session()
        session.CopyFrom(request.session)
        session.name = name
        _check_expiration(session, _now(), "session")
        _check_labels(session.labels, "session")

        def finish() -> Message:
            now = _now()
            session.create_time.CopyFrom(now)
            session.update_time.CopyFrom(now)
            ttl = (
                session.ttl if session.HasField("ttl") else duration_pb2.Duration(seconds=DEFAULT_TTL_SECONDS)
            )
            if not session.HasField("expire_time"):
                # A oneof with ttl: setting expire_time clears the input-only ttl.
                session.expire_time.FromNanoseconds(now.ToNanoseconds() + ttl.ToNanoseconds())
            self._reserved.discard(name)
            self.sessions[name] = _StoredSession(session)
            finished: Message = session
            return finished

        metadata = vertex.CreateSessionOperationMetadata.pb()()
        metadata.generic_metadata.create_time.CopyFrom(_now())
        return self._start_operation(name, metadata, finish)

    def GetSession(self, request: Any) -> Any:  # noqa: N802
        """The session, or NOT_FOUND."""
        return self._session(request.name).session

    def ListSessions(self, request: Any) -> Any:  # noqa: N802
        """One page of an engine's sessions, filtered and ordered as asked."""
        self._engine(request.parent)
        try:
            terms = filters.session_predicate(request.filter)
        except filters.FilterError as exc:
            raise _StatusError(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None
        sessions = [
            stored.session
            for name, stored in self.sessions.items()
            if name.startswith(request.parent + "/")
            and all(_session_matches(stored.session, t) for t in terms)
        ]
        # Stable sorts, least significant key first: ties stay in creation order.
        for field_name, descending in reversed(_order_by(request.order_by, ("create_time", "update_time"))):
            sessions.sort(key=_time_of(field_name), reverse=descending)
        page, token = _page(sessions, request, ("sessions", request.parent, request.filter, request.order_by))
        response = vertex.ListSessionsResponse.pb()()
        response.sessions.extend(page)
        response.next_page_token = token
        return response

    def DeleteSession(self, request: Any) -> operations_pb2.Operation:  # noqa: N802
        """Starts deleting a session and its events; NOT_FOUND if there is none."""
        self._session(request.name)

        def finish() -> Message:
            self.sessions.pop(request.name, None)
            return empty_pb2.Empty()

        metadata = vertex.DeleteOperationMetadata.pb()()
        metadata.generic_metadata.create_time.CopyFrom(_now())
        return self._start_operation(request.name, metadata, finish)

    def ListEvents(self, request: Any) -> Any:  # noqa: N802
        """One page of a session's events, by timestamp."""
        stored = self._session(request.parent)
        try:
            bounds = filters.event_bounds(request.filter)
        except filters.FilterError as exc:
            raise _StatusError(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None
        events = stored.in_range(bounds)
        ((_, descending),) = _order_by(request.order_by or "timestamp", ("timestamp",))
        if descending:
            # A stable sort: equal timestamps stay in append order.
            events.sort(key=lambda e: _instant(e.timestamp), reverse=True)
        page, token = _page(events, request, ("events", request.parent, request.filter, request.order_by))
        response = vertex.ListEventsResponse.pb()()
        response.session_events.extend(page)
        response.next_page_token = token
        return response

    def AppendEvent(self, request: Any) -> Any:  # noqa: N802
        """Stores an event, applies its state delta and moves the session's update time."""
        stored = self._session(request.name)
        event = SessionEvent()
        event.CopyFrom(request.event)
        for required in ("author", "invocation_id"):
            if not getattr(event, required):
                raise _StatusError(grpc.StatusCode.INVALID_ARGUMENT, f"event.{required} is required")
        if not event.HasField("timestamp"):
            raise _StatusError(grpc.StatusCode.INVALID_ARGUMENT, "event.timestamp is required")
        event.name = f"{request.name}/events/{next(self._ids)}"
        session = stored.session
        for key, value in event.actions.state_delta.fields.items():
            session.session_state.fields[key].CopyFrom(value)
        session.update_time.CopyFrom(_later(session.update_time))
        stored.append(event)
        return vertex.AppendEventResponse.pb()()

    def UpdateSession(self, request: Any) -> Any:  # noqa: N802
        """Updates the fields the mask names (all updatable ones if it is empty); moves ``update_time``."""
        stored = self._session(request.session.name)
        session = stored.session
        paths = list(request.update_mask.paths) or list(_UPDATABLE)
        for path in paths:
            if path not in _UPDATABLE:
                raise _StatusError(
                    grpc.StatusCode.INVALID_ARGUMENT, f"update_mask path {path!r} is not updatable"
                )
        given = request.session
        now = _now()
        if "expire_time" in paths or "ttl" in paths:
            if given.WhichOneof("expiration") is None:
                if request.update_mask.paths:
                    raise _StatusError(
                        grpc.StatusCode.INVALID_ARGUMENT, "a session's expiration cannot be removed"
                    )
            else:
                _check_expiration(given, now, "session", created=session.create_time)
                if given.HasField("ttl"):
                    session.expire_time.FromNanoseconds(now.ToNanoseconds() + given.ttl.ToNanoseconds())
                else:
                    session.expire_time.CopyFrom(given.expire_time)
        if "labels" in paths:
            _check_labels(given.labels, "session")
            session.labels.clear()
            session.labels.update(given.labels)
        if "display_name" in paths:
            session.display_name = given.display_name
        if "session_state" in paths:
            session.session_state.CopyFrom(given.session_state)
        session.update_time.CopyFrom(_later(session.update_time))
        return session

    def delete_expired(self) -> list[str]:
        """Deletes the sessions past their ``expire_time``, as Agent Engine does in its own time; their names."""
        now = _now().ToNanoseconds()
        expired = [
            name
            for name, stored in self.sessions.items()
            if stored.session.expire_time.ToNanoseconds() <= now
        ]
        for name in expired:
            del self.sessions[name]
        return expired

    # --- Operations ----------------------------------------------------------------------------------

    def GetOperation(self, request: Any) -> operations_pb2.Operation:  # noqa: N802
        """An operation's state; each read of an unfinished one brings it closer to done."""
        pending = self.operations.get(request.name)
        if pending is None:
            raise _StatusError(grpc.StatusCode.NOT_FOUND, f"Operation {request.name} not found.")
        if not pending.operation.done:
            pending.polls_left -= 1
            if pending.polls_left <= 0:
                self._complete(pending)
        return pending.operation

    def DeleteOperation(self, request: Any) -> empty_pb2.Empty:  # noqa: N802
        """Forgets an operation."""
        if self.operations.pop(request.name, None) is None:
            raise _StatusError(grpc.StatusCode.NOT_FOUND, f"Operation {request.name} not found.")
        return empty_pb2.Empty()

    def CancelOperation(self, request: Any) -> empty_pb2.Empty:  # noqa: N802
        """Cancels an unfinished operation: it ends with CANCELLED and changes nothing."""
        pending = self.operations.get(request.name)
        if pending is None:
            raise _StatusError(grpc.StatusCode.NOT_FOUND, f"Operation {request.name} not found.")
        if not pending.operation.done:
            pending.operation.done = True
            pending.operation.error.CopyFrom(status_pb2.Status(code=code_pb2.CANCELLED, message="cancelled"))
            self._reserved.discard(pending.operation.name.rsplit("/operations/", 1)[0])
        return empty_pb2.Empty()

    def WaitOperation(self, request: Any) -> operations_pb2.Operation:  # noqa: N802
        """Finishes the operation and returns it (nothing here takes real time)."""
        pending = self.operations.get(request.name)
        if pending is None:
            raise _StatusError(grpc.StatusCode.NOT_FOUND, f"Operation {request.name} not found.")
        if not pending.operation.done:
            self._complete(pending)
        return pending.operation

    # --- helpers -------------------------------------------------------------------------------------

    def _engine(self, name: str) -> None:
        if not _ENGINE.fullmatch(name):
            raise _StatusError(grpc.StatusCode.INVALID_ARGUMENT, f"invalid reasoning engine name {name!r}")
        if name not in self.engines:
            raise _StatusError(grpc.StatusCode.NOT_FOUND, f"ReasoningEngine {name} not found.")

    def _session(self, name: str) -> _StoredSession:
        match = _SESSION.fullmatch(name)
        if match is None:
            raise _StatusError(grpc.StatusCode.INVALID_ARGUMENT, f"invalid session name {name!r}")
        self._engine(match["engine"])
        stored = self.sessions.get(name)
        if stored is None:
            raise _StatusError(grpc.StatusCode.NOT_FOUND, f"Session {name} not found.")
        return stored

    def _start_operation(self, resource: str, metadata: Message, finish: Callable[[], Message]) -> Any:
        operation = operations_pb2.Operation(name=f"{resource}/operations/{next(self._ids)}")
        operation.metadata.Pack(metadata)
        pending = _PendingOperation(operation, self.operation_polls, finish)
        self.operations[operation.name] = pending
        if pending.polls_left <= 0:
            self._complete(pending)
        return operation

    def _complete(self, pending: _PendingOperation) -> None:
        pending.operation.response.Pack(pending.finish())
        pending.operation.done = True

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        """The generic handlers serving this stand-in's two services."""
        session_methods: dict[str, Any] = {
            "CreateSession": vertex.CreateSessionRequest,
            "GetSession": vertex.GetSessionRequest,
            "ListSessions": vertex.ListSessionsRequest,
            "UpdateSession": vertex.UpdateSessionRequest,
            "DeleteSession": vertex.DeleteSessionRequest,
            "ListEvents": vertex.ListEventsRequest,
            "AppendEvent": vertex.AppendEventRequest,
        }
        operation_methods = {
            "GetOperation": operations_pb2.GetOperationRequest,
            "DeleteOperation": operations_pb2.DeleteOperationRequest,
            "CancelOperation": operations_pb2.CancelOperationRequest,
            "WaitOperation": operations_pb2.WaitOperationRequest,
        }
        return [
            grpc.method_handlers_generic_handler(
                SESSION_SERVICE,
                {name: self._handler(name, request.pb()) for name, request in session_methods.items()},
            ),
            grpc.method_handlers_generic_handler(
                OPERATIONS_SERVICE,
                {name: self._handler(name, request) for name, request in operation_methods.items()},
            ),
        ]

    def _handler(self, method: str, request_type: type[Message]) -> grpc.RpcMethodHandler[Any, Any]:
        run: Callable[[Any], Message] = getattr(self, method)

        async def handle(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
            self.calls.append(method)
            try:
                failures = self._failures.get(method)
                injected = failures.pop(0) if failures else None
                if injected is not None and not injected.after_applying:
                    raise injected
                response = run(request)
                if injected is not None:
                    raise injected
                return response
            except _StatusError as abort:
                failure = abort
            await context.abort_with_status(rpc_status.to_status(_status(failure)))
            raise AssertionError("abort_with_status returned")  # pragma: no cover

        return grpc.unary_unary_rpc_method_handler(
            handle,
            request_deserializer=request_type.FromString,
            response_serializer=lambda message: message.SerializeToString(),
        )


def _status(abort: _StatusError) -> status_pb2.Status:
    status = status_pb2.Status(code=abort.code.value[0], message=abort.message)
    if abort.reason:
        info = error_details_pb2.ErrorInfo(reason=abort.reason, domain="aiplatform.googleapis.com")
        packed = any_pb2.Any()
        packed.Pack(info)
        status.details.append(packed)
    return status


def _check_expiration(
    session: Any, now: timestamp_pb2.Timestamp, field: str, *, created: timestamp_pb2.Timestamp | None = None
) -> None:
    """Refuses a ``ttl`` under the API's minimum, or an ``expire_time`` under it after creation."""
    minimum = MIN_TTL_SECONDS * 1_000_000_000
    if session.HasField("ttl") and session.ttl.ToNanoseconds() < minimum:
        raise _StatusError(grpc.StatusCode.INVALID_ARGUMENT, f"{field}.ttl must be at least 24 hours")
    since = created if created is not None else now
    if (
        session.HasField("expire_time")
        and session.expire_time.ToNanoseconds() - since.ToNanoseconds() < minimum
    ):
        raise _StatusError(
            grpc.StatusCode.INVALID_ARGUMENT, f"{field}.expire_time must be at least 24 hours after creation"
        )


def _check_labels(labels: Any, field: str) -> None:
    """Refuses a label key or value the API's ``Session.labels`` documentation does not allow."""
    for key, value in labels.items():
        for text in (key, value):
            if len(text) > MAX_LABEL_CODE_POINTS or not all(_label_character(c) for c in text):
                raise _StatusError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"{field}.labels: {text!r} must be at most {MAX_LABEL_CODE_POINTS} lowercase letters, "
                    "digits, underscores and dashes",
                )


def _label_character(character: str) -> bool:
    return (character.isalpha() and not character.isupper()) or character.isdigit() or character in "_-"


def _now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromMicroseconds(time.time_ns() // 1000)
    return stamp


def _later(previous: timestamp_pb2.Timestamp) -> timestamp_pb2.Timestamp:
    """Now, or a microsecond after ``previous`` if the clock has not moved past it."""
    now = _now()
    if now.ToMicroseconds() <= previous.ToMicroseconds():
        now.FromMicroseconds(previous.ToMicroseconds() + 1)
    return now


def _time_of(field_name: str) -> Callable[[Any], tuple[int, int]]:
    def key(session: Any) -> tuple[int, int]:
        return _instant(getattr(session, field_name))

    return key


def _instant(stamp: timestamp_pb2.Timestamp) -> tuple[int, int]:
    return (stamp.seconds, stamp.nanos)


def _session_matches(session: Any, term: filters.Comparison) -> bool:
    if term.field.startswith("labels."):
        return bool(session.labels.get(term.field.removeprefix("labels.")) == term.value)
    return bool(getattr(session, term.field) == term.value)


def _order_by(text: str, allowed: tuple[str, ...]) -> list[tuple[str, bool]]:
    """``"a desc, b"`` as [(field, descending), ...]."""
    order = []
    for clause in filter(None, (part.strip() for part in text.split(","))):
        words = clause.split()
        if words[0] not in allowed or len(words) > 2 or (len(words) == 2 and words[1].lower() != "desc"):
            raise _StatusError(grpc.StatusCode.INVALID_ARGUMENT, f"unsupported order_by {text!r}")
        order.append((words[0], len(words) == 2))
    return order


def _page(items: list[Any], request: Any, query: tuple[str, ...]) -> tuple[list[Any], str]:
    """The page a request asks for, and the token of the next one ('' at the end)."""
    if request.page_size < 0:
        raise _StatusError(grpc.StatusCode.INVALID_ARGUMENT, "page_size must not be negative")
    size = min(request.page_size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    binding = hashlib.sha256(json.dumps(query).encode()).hexdigest()[:16]
    start = 0
    if request.page_token:
        try:
            token = json.loads(base64.urlsafe_b64decode(request.page_token.encode()))
            start = int(token["offset"])
            valid = token["query"] == binding and start >= 0
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            raise _StatusError(grpc.StatusCode.INVALID_ARGUMENT, "invalid page_token for this request")
    end = start + size
    if end >= len(items):
        return items[start:], ""
    token_text = json.dumps({"offset": end, "query": binding}).encode()
    return items[start:end], base64.urlsafe_b64encode(token_text).decode()
