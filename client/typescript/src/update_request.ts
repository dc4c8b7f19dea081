/**
 * The UpdateSession request that changes a session's settings (its expiry,
 * its display name and labels): the session named, the new values, and the
 * update mask saying which of them to change.
 */
import type { CompositeSessionKey } from "@google/adk";

import type { Session as SessionMessage, UpdateSessionRequest } from "./gen/adk_grpc_sessions/v1/session_service.js";

/** A Session message naming one session, every other field at its zero value. */
function sessionNamed({ appName, userId, sessionId }: CompositeSessionKey): SessionMessage {
  return {
    appName,
    userId,
    sessionId: sessionId.trim(),
    state: undefined,
    events: [],
    lastUpdateTime: undefined,
    createTime: undefined,
    revision: 0n,
    closeTime: undefined,
    displayName: "",
    labels: new Map(),
    forkedFrom: undefined,
  };
}

/** An UpdateSession request of the session `key` names: `fields` hold the new values of `paths`. */
export function updateRequest(
  key: CompositeSessionKey,
  fields: Partial<SessionMessage>,
  paths: string[],
): UpdateSessionRequest {
  return { session: { ...sessionNamed(key), ...fields }, updateMask: paths };
}
