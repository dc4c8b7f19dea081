/**
 * Reading one session: whole, however large; its info alone; and the revision
 * an append carries.
 *
 * A session whose events do not fit in one response of the server arrives in
 * parts: GetSession, then ListEvents pages of the same read's selection
 * (next_events_page_token). The parts are of one moment: events appended
 * meanwhile are not included, and appending through the session then detects
 * them (StaleSessionError). A session deleted between the parts (or deleted
 * and created again) has no such moment: the read starts over.
 */
import type { CompositeSessionKey, GetSessionRequest, Session } from "@google/adk";

import { Connection, required } from "./connection.js";
import { REVISION, sessionFromMessage, type StoredSession } from "./conversions.js";
import { SessionNotFoundError, StaleSessionError } from "./errors.js";
import type {
  GetSessionRequest as GetSessionMessage,
  GetSessionResponse,
  Session as SessionMessage,
} from "./gen/adk_grpc_sessions/v1/session_service.js";
import { sessionInfoFromMessage, type SessionInfo } from "./session_info.js";
import { lowerBoundTimestampFromMs, msFromTimestamp } from "./timestamps.js";

/** The most items a page of a listing the client walks whole holds. */
export const MAX_PAGE_SIZE = 1000;
/** Times a read starts over when the session was deleted (or re-created) between the parts of its read. */
const READ_RESTARTS = 3;

/** The session `request` names, as getSession returns it: undefined if there is none. */
export async function readSession(
  connection: Connection,
  { appName, userId, sessionId, config }: GetSessionRequest,
): Promise<Session | undefined> {
  const id = sessionId?.trim();
  if (!id) {
    return undefined;
  }
  const request: GetSessionMessage = {
    appName,
    userId,
    sessionId: id,
    numRecentEvents: config?.numRecentEvents,
    afterTimestamp:
      config?.afterTimestamp === undefined ? undefined : lowerBoundTimestampFromMs(config.afterTimestamp),
  };
  for (let restart = 0; ; restart++) {
    let response: GetSessionResponse;
    try {
      response = await connection.call((c) => c.getSession, request);
    } catch (error) {
      if (error instanceof SessionNotFoundError) {
        return undefined;
      }
      throw error;
    }
    const message = required(response.session);
    try {
      await readRest(connection, message, response.nextEventsPageToken);
    } catch (error) {
      if (error instanceof SessionNotFoundError && restart < READ_RESTARTS) {
        continue; // gone between the parts: read it anew
      }
      throw error;
    }
    return sessionFromMessage(message);
  }
}

/**
 * Appends to `message` the rest of a read's events, listed from its
 * next_events_page_token on.
 *
 * @throws SessionNotFoundError if the session read is gone.
 */
async function readRest(connection: Connection, message: SessionMessage, token: string): Promise<void> {
  while (token !== "") {
    const page = await connection.call((c) => c.listEvents, {
      appName: message.appName,
      userId: message.userId,
      sessionId: message.sessionId,
      pageSize: MAX_PAGE_SIZE,
      pageToken: token,
      afterTimestamp: undefined,
    });
    message.events.push(...page.events);
    token = page.nextPageToken;
  }
}

/**
 * The revision `session` was read at. A session that the service did not
 * return (built by hand, or by another service) has none; it is then judged
 * as ADK's database services judge one: up to date if storage has not
 * changed since its lastUpdateTime, or if storage's latest event is its
 * latest event.
 *
 * @throws StaleSessionError if storage has events `session` lacks.
 * @throws SessionNotFoundError if the session does not exist.
 */
export async function revisionOf(connection: Connection, session: Session): Promise<bigint> {
  const known = (session as StoredSession)[REVISION];
  if (known !== undefined) {
    return known;
  }
  let stored: SessionMessage;
  try {
    const response = await connection.call((c) => c.getSession, {
      appName: session.appName,
      userId: session.userId,
      sessionId: session.id,
      numRecentEvents: 1,
      afterTimestamp: undefined,
    });
    stored = required(response.session);
    // Its last event may not have fitted beside its state: then it is the one part left.
    await readRest(connection, stored, response.nextEventsPageToken);
  } catch (error) {
    if (error instanceof SessionNotFoundError) {
      throw new SessionNotFoundError(`Session ${session.id} not found.`, error.code, error.reason);
    }
    throw error;
  }
  if (msFromTimestamp(stored.lastUpdateTime) > session.lastUpdateTime) {
    const storedLast = stored.events.at(-1)?.id;
    const ownLast = session.events.at(-1)?.id;
    if (storedLast !== ownLast) {
      throw new StaleSessionError();
    }
  }
  return stored.revision;
}

/** A session's info (no events), as getSessionInfo returns it: undefined if there is none. */
export async function readSessionInfo(
  connection: Connection,
  { appName, userId, sessionId }: CompositeSessionKey,
): Promise<SessionInfo | undefined> {
  const id = sessionId?.trim();
  if (!id) {
    return undefined;
  }
  try {
    const response = await connection.call((c) => c.getSession, {
      appName,
      userId,
      sessionId: id,
      numRecentEvents: 0,
      afterTimestamp: undefined,
    });
    return sessionInfoFromMessage(required(response.session));
  } catch (error) {
    if (error instanceof SessionNotFoundError) {
      return undefined;
    }
    throw error;
  }
}
