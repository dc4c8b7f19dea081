/**
 * The one place that turns a failed call's status into the error an adk-js
 * caller can branch on.
 *
 * Each error carries the gRPC code, the ErrorInfo reason (domain
 * "adk-grpc-sessions") and any BadRequest field violations, decoded from the
 * google.rpc.Status the server sends in the grpc-status-details-bin trailer.
 */
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { Metadata, status as Code, type ServiceError } from "@grpc/grpc-js";

import { Status } from "./gen/adk_grpc_sessions/v1/session_service.js";

const DETAILS_KEY = "grpc-status-details-bin";
const ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo";
const BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest";
const DOMAIN = "adk-grpc-sessions";

/** A call to the session server failed. */
export class SessionServiceError extends Error {
  /** The call's gRPC status code. */
  readonly code: Code;
  /** ErrorInfo.reason from the server, e.g. "STALE_SESSION"; "" if none. */
  readonly reason: string;
  /** BadRequest field violations as "field: description". */
  readonly violations: readonly string[];

  constructor(message: string, code: Code, reason = "", violations: readonly string[] = []) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.reason = reason;
    this.violations = violations;
  }
}

/** NOT_FOUND ("SESSION_NOT_FOUND"): the session does not exist. */
export class SessionNotFoundError extends SessionServiceError {}

/** ALREADY_EXISTS ("SESSION_ALREADY_EXISTS"): a session with this id exists. */
export class AlreadyExistsError extends SessionServiceError {}

/** ALREADY_EXISTS ("EVENT_ID_CONFLICT"): a different event is stored under this event's id. */
export class EventIdConflictError extends SessionServiceError {}

/**
 * ABORTED ("STALE_SESSION"): the session changed in storage since it was
 * read. Reload it and decide again.
 */
export class StaleSessionError extends SessionServiceError {
  constructor(
    message = "The session has been modified in storage since it was loaded. " +
      "Please reload the session before appending more events.",
    code: Code = Code.ABORTED,
    reason = "STALE_SESSION",
  ) {
    super(message, code, reason);
  }
}

/**
 * FAILED_PRECONDITION ("SESSION_CLOSED"): an append to a closed session. The
 * session can still be read; it takes no more events.
 */
export class SessionClosedError extends SessionServiceError {}

/**
 * FAILED_PRECONDITION ("FORK_POINT_UNKNOWN"): a fork before an invocation of
 * a session whose initial state the server's storage does not know (one
 * imported, or created before the server kept it), so its state at that
 * point cannot be rebuilt. A fork of every event still works.
 */
export class ForkPointUnknownError extends SessionServiceError {}

/**
 * INVALID_ARGUMENT: the server refused a malformed request. `violations`
 * name the fields.
 */
export class InvalidArgumentError extends SessionServiceError {
  /** ErrorInfo.metadata, e.g. "position" for a filter. */
  readonly metadata: Readonly<Record<string, string>>;

  constructor(
    message: string,
    code: Code,
    reason = "",
    violations: readonly string[] = [],
    metadata: Record<string, string> = {},
  ) {
    super(message, code, reason, violations);
    this.metadata = metadata;
  }
}

/**
 * INVALID_ARGUMENT for a listing's filter the server cannot read (an
 * InvalidArgumentError): `position` is the 1-based column of the mistake.
 */
export class SessionFilterError extends InvalidArgumentError {
  /** The 1-based column of the filter where the server found the mistake. */
  readonly position: number;

  constructor(
    message: string,
    code: Code,
    reason: string,
    violations: readonly string[],
    metadata: Record<string, string>,
  ) {
    super(message, code, reason, violations, metadata);
    this.position = Number(metadata["position"]);
  }
}

/** UNAVAILABLE (or CANCELLED by the server): the server or its storage could not be reached, even after retries. */
export class SessionServiceUnavailableError extends SessionServiceError {}

/** DEADLINE_EXCEEDED: the call did not finish within its time budget. */
export class SessionServiceTimeoutError extends SessionServiceError {}

/**
 * RESOURCE_EXHAUSTED: a limit refused the call, and nothing of a refused
 * write was stored. `reason` says which: "SESSION_SIZE_LIMIT" (the session's
 * events would pass the server's per-session limit), "STATE_SIZE_LIMIT" (a
 * scope of state would pass the per-scope limit; `metadata.scope` names it),
 * "RESPONSE_TOO_LARGE" (stored data no longer fits in a response) or
 * "BACKEND_QUOTA_EXCEEDED" (a quota of the server's storage). Retrying the
 * same call will not help (a quota aside). Not retried.
 */
export class LimitExceededError extends SessionServiceError {
  /** ErrorInfo.metadata, e.g. "limit_bytes" and "size_bytes" for a size limit. */
  readonly metadata: Readonly<Record<string, string>>;

  constructor(message: string, code: Code, reason = "", metadata: Record<string, string> = {}) {
    super(message, code, reason);
    this.metadata = metadata;
  }
}

interface Details {
  reason: string;
  violations: string[];
  metadata: Record<string, string>;
}

function readAny(bytes: Uint8Array): { typeUrl: string; value: Uint8Array } {
  const reader = new BinaryReader(bytes);
  let typeUrl = "";
  let value: Uint8Array = new Uint8Array();
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) typeUrl = reader.string();
    else if (field === 2) value = reader.bytes();
    else reader.skip(wireType);
  }
  return { typeUrl, value };
}

/** ErrorInfo's reason, domain and metadata (fields 1, 2 and the map 3). */
function readErrorInfo(bytes: Uint8Array): { reason: string; domain: string; metadata: Record<string, string> } {
  const reader = new BinaryReader(bytes);
  const info = { reason: "", domain: "", metadata: Object.create(null) as Record<string, string> };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) info.reason = reader.string();
    else if (field === 2) info.domain = reader.string();
    else if (field === 3) {
      const [key, value] = readTwoStrings(reader.bytes());
      info.metadata[key] = value;
    } else reader.skip(wireType);
  }
  return info;
}

/** Reads the fields of a message whose fields 1 and 2 are strings. */
function readTwoStrings(bytes: Uint8Array): [string, string] {
  const reader = new BinaryReader(bytes);
  const fields: [string, string] = ["", ""];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 || field === 2) fields[field - 1] = reader.string();
    else reader.skip(wireType);
  }
  return fields;
}

function readViolations(bytes: Uint8Array): string[] {
  const reader = new BinaryReader(bytes);
  const violations: string[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) {
      const [name, description] = readTwoStrings(reader.bytes());
      violations.push(`${name}: ${description}`);
    } else {
      reader.skip(wireType);
    }
  }
  return violations;
}

/** ErrorInfo.reason and BadRequest violations from a serialized google.rpc.Status. */
export function statusDetails(status: Uint8Array): Details {
  const details: Details = { reason: "", violations: [], metadata: {} };
  const reader = new BinaryReader(status);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field !== 3) {
      reader.skip(wireType);
      continue;
    }
    const { typeUrl, value } = readAny(reader.bytes());
    if (typeUrl === ERROR_INFO) {
      const info = readErrorInfo(value);
      if (info.domain === DOMAIN || details.reason === "") {
        details.reason = info.reason;
        details.metadata = info.metadata;
      }
    } else if (typeUrl === BAD_REQUEST) {
      details.violations.push(...readViolations(value));
    }
  }
  return details;
}

function detailsOf(error: ServiceError): Details {
  const raw = error.metadata?.get(DETAILS_KEY)[0];
  if (raw === undefined || typeof raw === "string") {
    return { reason: "", violations: [], metadata: {} };
  }
  try {
    return statusDetails(raw);
  } catch {
    return { reason: "", violations: [], metadata: {} }; // malformed details: the code still stands
  }
}

/** The error to throw for a failed call. */
export function errorFromRpc(error: ServiceError): SessionServiceError {
  const { reason, violations, metadata } = detailsOf(error);
  const message = violations.length > 0 ? violations.join("; ") : error.details || Code[error.code];
  switch (error.code) {
    case Code.NOT_FOUND:
      return new SessionNotFoundError(message, error.code, reason);
    case Code.ALREADY_EXISTS:
      return reason === "EVENT_ID_CONFLICT"
        ? new EventIdConflictError(message, error.code, reason)
        : new AlreadyExistsError(message, error.code, reason);
    case Code.ABORTED:
      return reason === "STALE_SESSION"
        ? new StaleSessionError(message, error.code, reason)
        : new SessionServiceError(message, error.code, reason);
    case Code.FAILED_PRECONDITION:
      if (reason === "SESSION_CLOSED") {
        return new SessionClosedError(message, error.code, reason);
      }
      return reason === "FORK_POINT_UNKNOWN"
        ? new ForkPointUnknownError(message, error.code, reason)
        : new SessionServiceError(message, error.code, reason, violations);
    case Code.INVALID_ARGUMENT:
      return /^\d+$/.test(metadata["position"] ?? "")
        ? new SessionFilterError(message, error.code, reason, violations, metadata)
        : new InvalidArgumentError(message, error.code, reason, violations, metadata);
    case Code.UNAVAILABLE:
    case Code.CANCELLED: // from the server only (it was shutting down): as unavailable
      return new SessionServiceUnavailableError(message, error.code, reason);
    case Code.DEADLINE_EXCEEDED:
      return new SessionServiceTimeoutError(message, error.code, reason);
    case Code.RESOURCE_EXHAUSTED:
      return new LimitExceededError(message, error.code, reason, metadata);
    default:
      return new SessionServiceError(message, error.code, reason, violations);
  }
}

/**
 * A failure as @grpc/grpc-js reports a call's: what the retry loop judges
 * and errorFromRpc reads. `status`: a serialized google.rpc.Status with the
 * details (ErrorInfo, BadRequest).
 */
export function statusError(code: Code, details: string, status?: Uint8Array): ServiceError {
  const metadata = new Metadata();
  if (status !== undefined) {
    metadata.set(DETAILS_KEY, Buffer.from(status));
  }
  return Object.assign(new Error(`${code} ${Code[code] ?? "UNKNOWN"}: ${details}`), { code, details, metadata });
}

/**
 * The failure of one write answered inside a batch's or the append stream's
 * result: the contract's Status is a google.rpc.Status byte for byte, so it
 * is read as a call's status is, and the write fails as it would alone. A
 * result with neither an outcome nor a status (`undefined`) is the server's
 * fault: INTERNAL.
 */
export function resultFailure(status: Status | undefined): ServiceError {
  return status !== undefined
    ? statusError(status.code, status.message, Status.encode(status).finish())
    : statusError(Code.INTERNAL, "the server answered a write with neither a result nor an error");
}
