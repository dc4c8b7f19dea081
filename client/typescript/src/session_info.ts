/**
 * SessionInfo: what @google/adk's Session has no fields for (a session's
 * lifecycle, its metadata and the facts the server keeps), as the
 * lifecycle, metadata, listing and fork methods return it.
 */
import type {
  ForkOrigin as ForkOriginMessage,
  Session as SessionMessage,
} from "./gen/adk_grpc_sessions/v1/session_service.js";
import { msFromTimestamp } from "./timestamps.js";

/** Where a forked session came from. Times in ms since the epoch. */
export interface ForkOrigin {
  /** The session it was copied from (same app and user); it may have changed, or be gone, since. */
  sessionId: string;
  /** How many events were copied: the source's first eventCount. */
  eventCount: number;
  /** The invocation the copy stopped before; "" = it copied every event. */
  beforeInvocationId: string;
  /** When the fork was made (server clock). */
  forkTime: number;
}

/**
 * A session's lifecycle, metadata and bookkeeping, which @google/adk's
 * Session has no fields for. Times in ms since the epoch.
 */
export interface SessionInfo {
  appName: string;
  userId: string;
  sessionId: string;
  /** When the session was created (server clock). */
  createTime: number;
  /** The timestamp of its latest event, or createTime. */
  lastUpdateTime: number;
  /** The session's revision (compare for equality only). */
  revision: bigint;
  /** When the session expires and is gone for every call; undefined = never. */
  expireTime: number | undefined;
  /** When the session was closed (it then refuses appends); undefined = open. */
  closeTime: number | undefined;
  /** A name for people to read; "" = none. */
  displayName: string;
  /**
   * Labels to group and filter sessions by ({} = none). The object has no
   * prototype, so reading a label that is not set ("constructor", say) is
   * undefined.
   */
  labels: Record<string, string>;
  /** How many events the session holds; undefined where the server's storage does not know it (Agent Engine). */
  eventCount: number | undefined;
  /**
   * The bytes the session's events and session-scoped state take, as the
   * contract's limits count them; undefined where the storage does not know it.
   */
  storedBytes: number | undefined;
  /** Where the session was forked from; undefined if it was created. */
  forkedFrom: ForkOrigin | undefined;
}

/** Labels as callers hold them, from the wire's map. */
export function labelsFromMap(labels: ReadonlyMap<string, string>): Record<string, string> {
  const record: Record<string, string> = Object.create(null);
  for (const [key, value] of labels) {
    record[key] = value;
  }
  return record;
}

/** Labels for the wire, from what a caller gave (undefined = none). */
export function labelsToMap(labels: Readonly<Record<string, string>> | undefined): Map<string, string> {
  return new Map(Object.entries(labels ?? {}));
}

function forkOriginFromMessage(origin: ForkOriginMessage): ForkOrigin {
  return {
    sessionId: origin.sessionId,
    eventCount: Number(origin.eventCount),
    beforeInvocationId: origin.beforeInvocationId,
    forkTime: msFromTimestamp(origin.forkTime),
  };
}

/** The info of a session message of the server. */
export function sessionInfoFromMessage(message: SessionMessage): SessionInfo {
  return {
    appName: message.appName,
    userId: message.userId,
    sessionId: message.sessionId,
    createTime: msFromTimestamp(message.createTime),
    lastUpdateTime: msFromTimestamp(message.lastUpdateTime),
    revision: message.revision,
    expireTime: message.expireTime === undefined ? undefined : msFromTimestamp(message.expireTime),
    closeTime: message.closeTime === undefined ? undefined : msFromTimestamp(message.closeTime),
    displayName: message.displayName,
    labels: labelsFromMap(message.labels),
    eventCount: message.eventCount === undefined ? undefined : Number(message.eventCount),
    storedBytes: message.storedBytes === undefined ? undefined : Number(message.storedBytes),
    forkedFrom: message.forkedFrom === undefined ? undefined : forkOriginFromMessage(message.forkedFrom),
  };
}
