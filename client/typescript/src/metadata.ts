/**
 * Session metadata, filtered listings and forks (the "Metadata, filtered
 * listings and forks" section of the contract): the shapes callers give and
 * get, and the calls that change a session's metadata and fork a session.
 */
import { randomUUID } from "node:crypto";

import type { CompositeSessionKey } from "@google/adk";
import { status as Code } from "@grpc/grpc-js";

import { required, type Connection } from "./connection.js";
import { AlreadyExistsError, InvalidArgumentError } from "./errors.js";
import { expiration, type SessionExpiry } from "./lifecycle.js";
import { readSessionInfo } from "./session_reads.js";
import { labelsToMap, sessionInfoFromMessage, type SessionInfo } from "./session_info.js";
import { updateRequest } from "./update_request.js";

/**
 * What a session is called and labelled with. The server checks both (a
 * display name of at most 128 code points; at most 64 labels, keys of 1 to
 * 63 lowercase letters, digits, "_" and "-" starting with a letter, values
 * of 0 to 63 of those; keys starting with "adk_" are the server's) and
 * refuses what breaks them with InvalidArgumentError.
 */
export interface SessionMetadata {
  /** A name for people to read; "" or undefined = none (in an update: unchanged if undefined). */
  displayName?: string;
  /** Labels to group and filter sessions by; undefined = none (in an update: unchanged). */
  labels?: Readonly<Record<string, string>>;
}

/** Which sessions listSessionInfos returns, in what order, and which page. */
export interface ListSessionInfosRequest {
  appName: string;
  /** One user's sessions; undefined or "" = every user of the app. */
  userId?: string;
  /**
   * Which sessions to keep; undefined = all. A subset of AIP-160: comparisons
   * joined by AND, e.g. `display_name = "Trip" AND labels.topic = "travel"`,
   * `labels.pinned:*` (the label is set), `create_time >= "2026-01-02T03:04:05Z"`,
   * `update_time < "..."`, `closed = false`. A filter the server cannot read
   * throws InvalidArgumentError whose `metadata.position` is the 1-based
   * column of the mistake.
   */
  filter?: string;
  /**
   * "update_time" (the default: oldest update first, as listSessions) or
   * "create_time", either followed by " desc" for newest first. Ties go by
   * user id, then session id, in the same direction.
   */
  orderBy?: string;
  /** The most sessions a page holds; undefined or 0 = the server's default (larger values are capped). */
  pageSize?: number;
  /**
   * A page's nextPageToken, from a call with the same appName, userId,
   * filter and orderBy; undefined = the first page.
   */
  pageToken?: string;
}

/** One page of a listing. */
export interface SessionInfoPage {
  /** The page's sessions, in the listing's order. */
  sessions: SessionInfo[];
  /** Continues the listing (as pageToken); "" = this was the last page. */
  nextPageToken: string;
}

/** The session to fork, where to stop, and the new session. */
export interface ForkRequest extends CompositeSessionKey, SessionMetadata, SessionExpiry {
  /** The new session's id (trimmed); undefined or "" = a new UUID. */
  newSessionId?: string;
  /** Stop the copy before the first event of this invocation (Event.invocationId); undefined = copy every event. */
  beforeInvocationId?: string;
}

/** Changes a session's display name, labels or both, as GrpcSessionService.updateSessionMetadata documents. */
export async function updateMetadata(
  connection: Connection,
  { displayName, labels, ...key }: CompositeSessionKey & SessionMetadata,
): Promise<SessionInfo> {
  const paths = [];
  if (displayName !== undefined) paths.push("display_name");
  if (labels !== undefined) paths.push("labels");
  if (paths.length === 0) {
    throw new InvalidArgumentError("updateSessionMetadata: give displayName, labels or both", Code.INVALID_ARGUMENT);
  }
  const fields = { displayName: displayName ?? "", labels: labelsToMap(labels) };
  const response = await connection.call((c) => c.updateSession, updateRequest(key, fields, paths));
  return sessionInfoFromMessage(required(response.session));
}

/** Forks a session, as GrpcSessionService.forkSession documents. */
export async function fork(
  connection: Connection,
  {
    appName,
    userId,
    sessionId,
    newSessionId,
    beforeInvocationId,
    displayName,
    labels,
    ttlMs,
    expireTime,
  }: ForkRequest,
): Promise<SessionInfo> {
  const source = sessionId.trim();
  const requested = newSessionId?.trim();
  // Choosing the id here makes a retried fork recognisable, as a retried create.
  const id = requested || randomUUID();
  const request = {
    appName,
    userId,
    sessionId: source,
    newSessionId: id,
    beforeInvocationId: beforeInvocationId ?? "",
    displayName: displayName ?? "",
    labels: labelsToMap(labels),
    ...expiration({ ttlMs, expireTime }),
  };
  try {
    const response = await connection.call((c) => c.forkSession, request);
    return sessionInfoFromMessage(required(response.session));
  } catch (error) {
    if (!requested && error instanceof AlreadyExistsError) {
      // A fresh id already taken: an earlier attempt whose answer was lost made it.
      const existing = await readSessionInfo(connection, { appName, userId, sessionId: id });
      if (existing?.forkedFrom?.sessionId === source) {
        return existing;
      }
    }
    throw error;
  }
}
