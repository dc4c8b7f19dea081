"""Our records to and from Vertex AI Agent Engine's ``Session`` and ``SessionEvent`` messages.

Only plain data and protobuf messages here: no calls. The choices follow ADK's
``VertexAiSessionService`` wherever the API leaves room, so either can read
what the other wrote:

* an event goes into the typed fields the API defines (``content``,
  ``actions``, ``event_metadata``, ...) and, complete, into ``raw_event``,
  which readers prefer; ``raw_event`` also carries the exact JSON text (a
  ``Struct`` keeps neither integers nor key order), so our events come back
  byte for byte, at about twice their size in storage;
* state is the merged ADK view, prefixes and all, in ``session_state``; the
  API applies each event's ``actions.state_delta`` to it;
* numbers read from a ``Struct`` that are integral and exactly representable
  come back as integers, as they do through the API's JSON (REST) form.

One module, though longer than most here: each conversion and its inverse
(an event to its message and back, state to a ``Struct`` and back) sit side
by side, so that what is written can be read against what is read back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, Final

from google.cloud.aiplatform_v1 import types as vertex
from google.protobuf import json_format, struct_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from adk_grpc_sessions.server.backends.base import (
    NEVER,
    BackendRefusedError,
    Condition,
    Expiry,
    Field,
    Metadata,
    NewEvent,
    Operator,
    Refusal,
    ScopedState,
    SessionKey,
    SessionQuery,
    SessionRecord,
    StoredEvent,
)
from adk_grpc_sessions.server.backends.event_json import APP_PREFIX, USER_PREFIX, parse_event
from adk_grpc_sessions.server.backends.invalid_input import InvalidArgumentError
from adk_grpc_sessions.server.backends.json_values import dump_json, nests_deeper_than, parse_json
from adk_grpc_sessions.wire import limits
from adk_grpc_sessions.wire.timestamps import from_timestamp, to_timestamp

# The protobuf classes behind google-cloud-aiplatform's proto-plus types.
SessionMessage: Final = vertex.Session.pb()
SessionEventMessage: Final = vertex.SessionEvent.pb()
_ContentMessage: Final = vertex.Content.pb()
_GroundingMetadataMessage: Final = vertex.GroundingMetadata.pb()
_TranscriptionMessage: Final = vertex.Transcription.pb()

APP_LABEL: Final = "adk_app"
"""The session label naming the ADK app a session belongs to (the API has no app field)."""
TTL_LABEL: Final = "adk_ttl"
"""The session label holding the ttl a session was given, in whole seconds: the API's ``ttl``
is input only, and a sliding expiry needs it back to move ``expire_time`` on each append."""
CREATE_TIME_LABEL: Final = "adk_create_time"
"""The session label holding a restored session's own creation time (``seconds-nanos``): Agent
Engine stamps ``create_time`` itself, so a copy keeps the source's here, and reads it back."""
CLOSE_TIME_LABEL: Final = "adk_close_time"
"""The session label holding a restored session's close time (``seconds-nanos``): Agent Engine has
no closed sessions, so a copy keeps it only to give it back (it is not enforced here)."""
MIN_TTL_SECONDS: Final = 24 * 3600
"""Agent Engine's documented minimum (``Session.ttl`` and ``Session.expire_time`` in the API's
session.proto): a ttl of at least 24 hours, an expire_time at least 24 hours after creation."""
EXACT_JSON_KEY: Final = "adkGrpcSessionsEventJson"
"""Key in ``raw_event`` holding the event's exact JSON text; ADK's readers ignore it
(``Event`` ignores unknown fields)."""
# ADK's own keys for what the API has no field for, inside event_metadata.custom_metadata.
_COMPACTION_KEY: Final = "_compaction"
_USAGE_METADATA_KEY: Final = "_usage_metadata"

_SESSION_ID: Final = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")
_ANY_SESSION_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")
_LABEL_VALUE: Final = re.compile(r"[a-z0-9_-]{1,63}")
_HASHED_LABEL_PREFIX: Final = "sha256-"
_LARGEST_EXACT_INTEGER: Final = 2**53
_INT32: Final = range(-(2**31), 2**31)

MAX_EVENT_JSON_DEPTH: Final = 30
"""Deepest nesting (arrays and objects) of an event's JSON this backend stores.

Vertex keeps each event whole in ``raw_event`` and state in ``session_state``,
both ``google.protobuf.Struct``, where each level of a JSON object costs three
levels of protobuf messages (``Value``, ``Struct``, map entry); protobuf
parsers, ours and the API's, refuse messages nested deeper than 100 levels.
30 object levels (90 message levels) leave room for the request and event
messages around them. Far below the server's own limit: a storage limit.
"""
MAX_STATE_VALUE_DEPTH: Final = MAX_EVENT_JSON_DEPTH - 3
"""Deepest state value this backend stores: an event holds one three levels in
(``actions.stateDelta``), so a value that may be created may also be set by an event."""


class TooDeepForStructError(ValueError):
    """A value nests deeper than this backend's ``google.protobuf.Struct`` storage can hold."""


def names_a_session(session_id: str) -> bool:
    """Whether ``session_id`` could name a stored session, chosen or assigned by Vertex (digits).

    ADK's own guard, ``[A-Za-z0-9_-]+``: it also keeps an id from escaping its
    segment of the resource name.
    """
    return _ANY_SESSION_ID.fullmatch(session_id) is not None


def is_session_id(session_id: str) -> bool:
    """Whether Agent Engine accepts ``session_id``: 1-63 of ``[a-z0-9-]``, a letter first, no dash last."""
    return _SESSION_ID.fullmatch(session_id) is not None


def app_label(app_name: str) -> str:
    """The ``adk_app`` label value for an app.

    Label values are at most 63 of ``[a-z0-9_-]``; another app name is stored
    as a digest (of the name), which no valid name can equal since those are
    used verbatim only if they do not start with the digest's prefix.
    """
    if _LABEL_VALUE.fullmatch(app_name) and not app_name.startswith(_HASHED_LABEL_PREFIX):
        return app_name
    digest = hashlib.sha256(app_name.encode()).hexdigest()
    return (_HASHED_LABEL_PREFIX + digest)[:63]


def quote_filter_literal(value: str) -> str:
    """``value`` as an AIP-160 string literal (quotes and backslashes escaped)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def sessions_filter(app_name: str, user_id: str | None, query: SessionQuery) -> str | None:
    """The ``ListSessions`` filter for one app's sessions (or one user's) that ``query`` keeps.

    None when no session can match (``closed = true``: Agent Engine has no closed
    sessions; a condition on a label under the server's reserved prefix, which no
    session shows its callers).

    Raises:
        BackendRefusedError: UNSUPPORTED, for a condition the API's filter cannot express
            (its documented filter compares ``display_name``, ``user_id`` and
            ``labels.KEY`` for equality only: no times, no ``!=``, no ``:*``).
    """
    terms = [f"labels.{APP_LABEL}={quote_filter_literal(app_label(app_name))}"]
    if user_id is not None:
        terms.insert(0, f"user_id={quote_filter_literal(user_id)}")
    for condition in query.conditions:
        match condition:
            case Condition(Field.CLOSED, Operator.EQ, bool() as closed):
                if closed:
                    return None
            case Condition(Field.DISPLAY_NAME, Operator.EQ, str() as name):
                terms.append(f"display_name={quote_filter_literal(name)}")
            case Condition(Field.LABEL, Operator.EQ, str() as value, key):
                if key.startswith(limits.RESERVED_LABEL_PREFIX):
                    return None
                terms.append(f"labels.{key}={quote_filter_literal(value)}")
            case _:
                raise BackendRefusedError(
                    Refusal.UNSUPPORTED, _unsupported(condition), reason="FILTER_NOT_SUPPORTED"
                )
    return " AND ".join(terms)


def _unsupported(condition: Condition) -> str:
    """Why ``condition`` cannot be sent to Agent Engine."""
    subject = f"labels.{condition.label}" if condition.field is Field.LABEL else condition.field.value
    return (
        f"Vertex AI Agent Engine cannot filter sessions by {subject} {condition.operator.value}: its "
        "ListSessions filter compares display_name and labels.KEY for equality only (and the server does "
        "not read every session to filter them itself); see docs/backends.md"
    )


def sessions_order(query: SessionQuery) -> str:
    """The ``ListSessions`` order_by for ``query``'s order (the API's two fields, either way)."""
    return query.order_by.value + (" desc" if query.descending else "")


def metadata_of(session: Any) -> Metadata:
    """A ``Session`` message's display name, and its labels but the server's own (``adk_*``)."""
    return Metadata(
        display_name=session.display_name,
        labels={
            key: value
            for key, value in session.labels.items()
            if not key.startswith(limits.RESERVED_LABEL_PREFIX)
        },
    )


def set_metadata(session: Any, metadata: Metadata) -> None:
    """Sets ``metadata`` on a ``Session`` message: its display name, its labels beside the server's own.

    The caller's labels never hold the reserved prefix (the API layer refuses it),
    so they cannot overwrite ``adk_app`` or ``adk_ttl``.
    """
    session.display_name = metadata.display_name
    set_labels(session, metadata.labels)


def set_labels(session: Any, labels: Mapping[str, str]) -> None:
    """Replaces a ``Session`` message's labels with ``labels``, keeping the server's own."""
    for key in [key for key in session.labels if not key.startswith(limits.RESERVED_LABEL_PREFIX)]:
        del session.labels[key]
    session.labels.update(labels)


def events_filter(after_timestamp: float | None) -> str:
    """The ``ListEvents`` filter keeping events at or after ``after_timestamp`` (ADK's inclusive bound)."""
    if after_timestamp is None:
        return ""
    return f'timestamp>="{to_timestamp(after_timestamp).ToJsonString()}"'


def events_at_filter(timestamp: float) -> str:
    """The ``ListEvents`` filter keeping only events stamped exactly ``timestamp``."""
    stamp = to_timestamp(timestamp).ToJsonString()
    return f'timestamp>="{stamp}" AND timestamp<="{stamp}"'


def revision_of(update_time: Timestamp) -> int:
    """A session's revision: its update time in microseconds (every write moves it)."""
    return update_time.seconds * 1_000_000 + update_time.nanos // 1000


def belongs_to(session: Any, app_name: str, user_id: str) -> bool:
    """Whether a Vertex ``Session`` message is the named app's and user's."""
    return bool(session.user_id == user_id and session.labels.get(APP_LABEL) == app_label(app_name))


def expiry_of(session: Any) -> Expiry:
    """A ``Session`` message's expiry: its ``expire_time`` (always set by Agent Engine), and our ttl label."""
    if not session.HasField("expire_time"):
        return NEVER
    ttl = session.labels.get(TTL_LABEL)
    return Expiry(from_timestamp(session.expire_time), float(ttl) if ttl and ttl.isdigit() else None)


def expired(session: Any, now: float) -> bool:
    """Whether a ``Session`` message's ``expire_time`` is at or before ``now`` (gone for every call)."""
    return bool(session.HasField("expire_time")) and from_timestamp(session.expire_time) <= now


def set_expiry(session: Any, expiry: Expiry) -> None:
    """Sets ``expiry`` on a ``Session`` message: ``ttl`` (and the ttl label) or ``expire_time``.

    A ttl is given to Agent Engine as a ttl, so its own clock counts it, as
    ADK's ``VertexAiSessionService`` passes it.
    """
    if expiry.ttl is not None:
        session.ttl.FromNanoseconds(round(expiry.ttl * 1e9))
        session.labels[TTL_LABEL] = str(round(expiry.ttl))
    elif expiry.expire_time is not None:
        session.expire_time.CopyFrom(to_timestamp(expiry.expire_time))
        session.labels.pop(TTL_LABEL, None)


def check_minimum_expiry(expiry: Expiry, since: float, field_prefix: str) -> None:
    """Refuses an expiry under Agent Engine's minimum, naming the field, before Agent Engine does.

    ``since``: the session's creation (now, for a create). The server's default
    ttl comes here as a ttl too, so a ``--session-ttl`` under the minimum makes
    every create fail.

    Raises:
        InvalidArgumentError: a ttl under 24 hours, or an expire_time under 24 hours after ``since``.
    """
    if expiry.ttl is not None and expiry.ttl < MIN_TTL_SECONDS:
        raise InvalidArgumentError.single(
            field_prefix + "ttl",
            f"is {expiry.ttl:g} s; Vertex AI Agent Engine's minimum ttl is 24 hours ({MIN_TTL_SECONDS} s)",
        )
    if expiry.ttl is None and expiry.expire_time is not None and expiry.expire_time - since < MIN_TTL_SECONDS:
        raise InvalidArgumentError.single(
            field_prefix + "expire_time",
            f"is {expiry.expire_time - since:.0f} s after the session's creation; Vertex AI Agent Engine's "
            f"minimum is 24 hours ({MIN_TTL_SECONDS} s)",
        )


def time_label(seconds: float) -> str:
    """A time as a label value: ``seconds-nanos`` of its exact ``Timestamp`` (labels hold no dots)."""
    stamp = to_timestamp(seconds)
    return f"{stamp.seconds}-{stamp.nanos}"


def label_time(session: Any, label: str) -> float | None:
    """The time a ``time_label`` label of a ``Session`` message holds; None if it holds none."""
    seconds, _, nanos = session.labels.get(label, "").partition("-")
    if not (seconds.isdigit() and nanos.isdigit()):
        return None
    return from_timestamp(Timestamp(seconds=int(seconds), nanos=int(nanos)))


def merged_state(session_state: struct_pb2.Struct) -> dict[str, str]:
    """A ``session_state`` as one map, ``app:``/``user:`` prefixes kept, each value as JSON text."""
    return {key: dump_json(plain_value(value)) for key, value in session_state.fields.items()}


def merged_state_struct(state: Mapping[str, str]) -> struct_pb2.Struct:
    """``merged_state``'s inverse: a map of prefixed keys and JSON text as ``session_state``.

    Raises:
        TooDeepForStructError: a value nests deeper than ``MAX_STATE_VALUE_DEPTH``.
    """
    return struct_of({key: _struct_value(text, f"state[{key!r}]") for key, text in state.items()})


def session_id_of(resource_name: str) -> str:
    """The last segment of a session or event resource name."""
    return resource_name.rsplit("/", 1)[-1]


def session_record(message: Any, app_name: str) -> SessionRecord:
    """A Vertex ``Session`` message of ``app_name`` as our record, without events."""
    return SessionRecord(
        key=SessionKey(app_name, message.user_id, session_id_of(message.name)),
        state=scoped_state(message.session_state),
        events=[],
        create_time=from_timestamp(message.create_time),
        last_update_time=from_timestamp(message.update_time),
        revision=revision_of(message.update_time),
        expiry=expiry_of(message),
        # event_count and stored_bytes stay unknown: Agent Engine keeps neither,
        # and counting would read every event of each session read or listed.
        metadata=metadata_of(message),
    )


# --- state -------------------------------------------------------------------------------------------


def state_struct(state: ScopedState) -> struct_pb2.Struct:
    """ADK's merged view of ``state`` (``app:``/``user:`` keys prefixed), as ``session_state``.

    Raises:
        TooDeepForStructError: a value nests deeper than ``MAX_STATE_VALUE_DEPTH``.
    """
    merged: dict[str, Any] = {}
    for scope, prefix, values in (
        ("session", "", state.session),
        ("app", APP_PREFIX, state.app),
        ("user", USER_PREFIX, state.user),
    ):
        for key, text in values.items():
            merged[prefix + key] = _struct_value(text, f"state.{scope}[{key!r}]")
    return struct_of(merged)


def _struct_value(text: str, field: str) -> Any:
    """A state value's JSON ``text`` parsed for a ``Struct``; ``field`` names it if refused.

    Raises:
        TooDeepForStructError: it nests deeper than ``MAX_STATE_VALUE_DEPTH``.
    """
    value = parse_json(text, "state")
    if nests_deeper_than(value, MAX_STATE_VALUE_DEPTH):
        raise TooDeepForStructError(
            f"{field} is nested deeper than {MAX_STATE_VALUE_DEPTH} levels of arrays and objects, "
            "the nesting depth limit of Vertex AI Agent Engine's storage (google.protobuf.Struct)"
        )
    return value


def scoped_state(session_state: struct_pb2.Struct) -> ScopedState:
    """A ``session_state`` split by ADK's key prefixes, each value as JSON text."""
    scoped = ScopedState()
    for key, value in session_state.fields.items():
        text = dump_json(plain_value(value))
        if key.startswith(APP_PREFIX):
            scoped.app[key.removeprefix(APP_PREFIX)] = text
        elif key.startswith(USER_PREFIX):
            scoped.user[key.removeprefix(USER_PREFIX)] = text
        else:
            scoped.session[key] = text
    return scoped


# --- Struct <-> plain JSON values --------------------------------------------------------------------


def value_of(item: Any) -> struct_pb2.Value:
    """A parsed JSON value as a ``google.protobuf.Value``.

    An integer too large for a double is kept as its decimal text: a Struct
    cannot hold it, and the exact copy in ``raw_event`` keeps the truth.
    """
    value = struct_pb2.Value()
    if item is None:
        value.null_value = struct_pb2.NULL_VALUE
    elif isinstance(item, bool):
        value.bool_value = item
    elif isinstance(item, int):
        try:
            value.number_value = float(item)
        except OverflowError:
            value.string_value = str(item)
    elif isinstance(item, float):
        value.number_value = item
    elif isinstance(item, str):
        value.string_value = item
    elif isinstance(item, list):
        value.list_value.values.extend(value_of(element) for element in item)
    elif isinstance(item, dict):
        value.struct_value.CopyFrom(struct_of(item))
    else:  # pragma: no cover - parse_json yields nothing else
        raise TypeError(f"not a JSON value: {type(item).__name__}")
    return value


def struct_of(mapping: dict[str, Any]) -> struct_pb2.Struct:
    """A parsed JSON object as a ``google.protobuf.Struct``."""
    struct = struct_pb2.Struct()
    for key, item in mapping.items():
        struct.fields[key].CopyFrom(value_of(item))
    return struct


def plain_value(value: struct_pb2.Value) -> Any:
    """A ``google.protobuf.Value`` as a plain JSON value (integral doubles as ints)."""
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        if number.is_integer() and abs(number) <= _LARGEST_EXACT_INTEGER:
            return int(number)
        return number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return plain_dict(value.struct_value)
    if kind == "list_value":
        return [plain_value(element) for element in value.list_value.values]
    return None


def plain_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A ``google.protobuf.Struct`` as a plain JSON object."""
    return {key: plain_value(value) for key, value in struct.fields.items()}


# --- events -------------------------------------------------------------------------------------------


def session_event(event: NewEvent, *, applied: bool = True) -> Any:
    """The ``SessionEvent`` message that stores ``event``: typed fields, ``raw_event`` complete.

    ``applied`` False leaves the typed ``actions.state_delta`` empty, so that Agent
    Engine does not apply it: a restored event's delta is already in the state
    restored with its session (``raw_event`` still carries it, for every reader).

    Raises:
        TooDeepForStructError: the event nests deeper than ``MAX_EVENT_JSON_DEPTH``.
    """
    parsed: dict[str, Any] = parse_json(event.event_json, "event_json", max_depth=limits.MAX_EVENT_JSON_DEPTH)
    if nests_deeper_than(parsed, MAX_EVENT_JSON_DEPTH):
        raise TooDeepForStructError(
            f"event_json is nested deeper than {MAX_EVENT_JSON_DEPTH} levels of arrays and objects (a "
            f"stateDelta value deeper than {MAX_STATE_VALUE_DEPTH}), the nesting depth limit of Vertex AI "
            "Agent Engine's storage (google.protobuf.Struct)"
        )
    message = SessionEventMessage(
        author=event.author,
        # The API requires an invocation id; an event outside any invocation
        # (ADK allows it) is filed under its own id (the exact JSON keeps the truth).
        invocation_id=event.invocation_id or event.id,
        timestamp=to_timestamp(event.timestamp),
        error_code=_text(parsed.get("errorCode")),
        error_message=_text(parsed.get("errorMessage")),
    )
    content = parsed.get("content")
    if isinstance(content, dict):
        _parse_into(message.content, _without_unsupported_part_fields(content))
    _fill_actions(message.actions, parsed.get("actions"), applied=applied)
    _fill_metadata(message.event_metadata, parsed)

    raw = dict(parsed)
    if isinstance(content, dict):
        raw["content"] = _without_unsupported_part_fields(content)
    raw[EXACT_JSON_KEY] = event.event_json
    message.raw_event.CopyFrom(struct_of(raw))
    return message


def event_json_of(message: Any) -> str:
    """The ADK event JSON a stored ``SessionEvent`` holds.

    Our exact copy if there is one; else ``raw_event`` (as another writer such
    as ADK stored it) with the API's own id, author, invocation id and
    timestamp; else, for events with no ``raw_event``, what the typed fields
    hold (as ADK reads them).
    """
    raw = message.raw_event
    exact = raw.fields.get(EXACT_JSON_KEY)
    if exact is not None and exact.WhichOneof("kind") == "string_value":
        return str(exact.string_value)
    if raw.fields:
        event = plain_dict(raw)
        event.pop(EXACT_JSON_KEY, None)
    else:
        event = _event_from_typed_fields(message)
    event.update(author=message.author, invocationId=message.invocation_id)
    event["id"] = event.get("id") or session_id_of(message.name)
    if message.HasField("timestamp"):
        event["timestamp"] = from_timestamp(message.timestamp)
    return dump_json(event)


def event_record(message: Any, sequence: int) -> StoredEvent:
    """A stored ``SessionEvent`` as our record, at position ``sequence`` of its listing.

    Raises:
        ValueError: the stored event is not one ADK could read.
    """
    try:
        event = parse_event(event_json_of(message))
    except InvalidArgumentError as exc:
        raise ValueError(f"stored event {message.name!r} is not an ADK event: {exc}") from None
    event.size = event_size(event)
    return event.stored_at(sequence)


def event_size(event: NewEvent) -> int:
    """An upper bound of what ``event`` takes in a response (the API keeps no size of its own)."""
    delta = event.state_delta
    return limits.event_size_bound(
        event.event_json,
        sum(map(limits.text_bytes, (event.id, event.invocation_id, event.author, event.branch))),
        sum(map(limits.state_bytes, (delta.app, delta.user, delta.session))),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _parse_into(message: Any, value: dict[str, Any]) -> None:
    """Fills a typed message from ADK's camelCase JSON, as far as the API's message has the fields.

    The typed copy is for other readers of the API; ``raw_event`` is what
    counts, so a value the typed message cannot take leaves it empty.
    """
    try:
        json_format.ParseDict(value, message, ignore_unknown_fields=True)
    except json_format.ParseError:
        message.Clear()


def _without_unsupported_part_fields(content: dict[str, Any]) -> dict[str, Any]:
    """``content`` without ``partMetadata``, which the API rejects (as ADK also drops it)."""
    parts = content.get("parts")
    if not isinstance(parts, list):
        return content
    return {
        **content,
        "parts": [
            {k: v for k, v in part.items() if k != "partMetadata"} if isinstance(part, dict) else part
            for part in parts
        ],
    }


def _fill_actions(message: Any, actions: Any, *, applied: bool) -> None:
    if not isinstance(actions, dict):
        return
    message.skip_summarization = bool(actions.get("skipSummarization"))
    message.escalate = bool(actions.get("escalate"))
    message.transfer_agent = _text(actions.get("transferToAgent"))
    state_delta = actions.get("stateDelta")
    if applied and isinstance(state_delta, dict):
        message.state_delta.CopyFrom(struct_of(state_delta))
    artifact_delta = actions.get("artifactDelta")
    if isinstance(artifact_delta, dict):
        for name, version in artifact_delta.items():
            if isinstance(version, int) and not isinstance(version, bool) and version in _INT32:
                message.artifact_delta[name] = version
    auth_configs = actions.get("requestedAuthConfigs")
    if isinstance(auth_configs, dict) and auth_configs:
        message.requested_auth_configs.CopyFrom(struct_of(auth_configs))


def _fill_metadata(message: Any, event: dict[str, Any]) -> None:
    for name, field in (
        ("partial", "partial"),
        ("turnComplete", "turn_complete"),
        ("interrupted", "interrupted"),
    ):
        if isinstance(event.get(name), bool):
            setattr(message, field, event[name])
    message.branch = _text(event.get("branch"))
    tool_ids = event.get("longRunningToolIds")
    if isinstance(tool_ids, list):
        message.long_running_tool_ids.extend(str(tool_id) for tool_id in tool_ids)
    custom = dict(event["customMetadata"]) if isinstance(event.get("customMetadata"), dict) else {}
    # Where ADK keeps what the API has no field for, so ADK's fallback reader finds it too.
    actions = event.get("actions")
    if isinstance(actions, dict) and isinstance(actions.get("compaction"), dict):
        custom[_COMPACTION_KEY] = actions["compaction"]
    if isinstance(event.get("usageMetadata"), dict):
        custom[_USAGE_METADATA_KEY] = event["usageMetadata"]
    if custom:
        message.custom_metadata.CopyFrom(struct_of(custom))
    for name, field, typed in (
        ("groundingMetadata", "grounding_metadata", _GroundingMetadataMessage),
        ("inputTranscription", "input_transcription", _TranscriptionMessage),
        ("outputTranscription", "output_transcription", _TranscriptionMessage),
    ):
        if isinstance(event.get(name), dict):
            parsed = typed()
            _parse_into(parsed, event[name])
            getattr(message, field).CopyFrom(parsed)


def _event_from_typed_fields(message: Any) -> dict[str, Any]:
    """An event with no ``raw_event``, read from the API's typed fields as ADK reads one."""
    event: dict[str, Any] = {}
    if message.HasField("content"):
        event["content"] = json_format.MessageToDict(message.content)
    for name, value in (("errorCode", message.error_code), ("errorMessage", message.error_message)):
        if value:
            event[name] = value
    actions: dict[str, Any] = {}
    if message.HasField("actions"):
        typed = message.actions
        actions = {
            "stateDelta": plain_dict(typed.state_delta),
            "artifactDelta": dict(typed.artifact_delta),
            "requestedAuthConfigs": plain_dict(typed.requested_auth_configs),
        }
        if typed.skip_summarization:
            actions["skipSummarization"] = True
        if typed.escalate:
            actions["escalate"] = True
        if typed.transfer_agent:
            actions["transferToAgent"] = typed.transfer_agent
    if message.HasField("event_metadata"):
        metadata = message.event_metadata
        event.update(partial=metadata.partial, turnComplete=metadata.turn_complete)
        event["interrupted"] = metadata.interrupted
        if metadata.branch:
            event["branch"] = metadata.branch
        if metadata.long_running_tool_ids:
            event["longRunningToolIds"] = list(metadata.long_running_tool_ids)
        custom = plain_dict(metadata.custom_metadata)
        compaction = custom.pop(_COMPACTION_KEY, None)
        usage = custom.pop(_USAGE_METADATA_KEY, None)
        if compaction is not None:
            actions["compaction"] = compaction
        if usage is not None:
            event["usageMetadata"] = usage
        if custom:
            event["customMetadata"] = custom
        if metadata.HasField("grounding_metadata"):
            event["groundingMetadata"] = json_format.MessageToDict(metadata.grounding_metadata)
    if actions:
        event["actions"] = actions
    return event
