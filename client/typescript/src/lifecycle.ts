/**
 * The session lifecycle on the client (the "Lifecycle" section of the
 * contract): expiry as callers give it, the appends under way that closing a
 * session waits for, and the calls that set an expiry, close a session and
 * erase a user. A session's lifecycle as callers read it is a SessionInfo
 * (session_info.ts).
 */
import type { CompositeSessionKey, Session } from "@google/adk";
import { status as Code } from "@grpc/grpc-js";

import { required, type Connection } from "./connection.js";
import { InvalidArgumentError } from "./errors.js";
import type { Duration } from "./gen/google/protobuf/duration.js";
import type { Timestamp } from "./gen/google/protobuf/timestamp.js";
import { sessionInfoFromMessage, type SessionInfo } from "./session_info.js";
import { timestampFromMs } from "./timestamps.js";
import { updateRequest } from "./update_request.js";

/**
 * When a session expires: `ttlMs` after the server's clock at the call, or at
 * `expireTime`. Give at most one. A session given a ttl keeps it: on a server
 * run with --session-ttl-refresh-on-append each append moves its expiry on
 * by the ttl. The server refuses a ttl that is not positive or longer than
 * 100 years, and an expireTime in the past, with InvalidArgumentError.
 */
export interface SessionExpiry {
  /** How long after the call the session expires, in milliseconds. */
  ttlMs?: number;
  /** The instant the session expires: a Date, or milliseconds since the epoch. */
  expireTime?: Date | number;
}

/** The expiration fields of a request for `expiry`: none, `ttl` or `expireTime`. */
export function expiration(expiry: SessionExpiry): { ttl?: Duration; expireTime?: Timestamp } {
  const { ttlMs, expireTime } = expiry;
  if (ttlMs !== undefined && expireTime !== undefined) {
    throw new InvalidArgumentError("give ttlMs or expireTime, not both", Code.INVALID_ARGUMENT);
  }
  if (ttlMs !== undefined) {
    if (!Number.isFinite(ttlMs)) {
      throw new InvalidArgumentError(`ttlMs: ${ttlMs} is not a finite number of milliseconds`, Code.INVALID_ARGUMENT);
    }
    const nanos = BigInt(Math.round(ttlMs * 1e6));
    // A Duration's seconds and nanos carry the same sign; bigint division truncates toward zero.
    return { ttl: { seconds: nanos / 1_000_000_000n, nanos: Number(nanos % 1_000_000_000n) } };
  }
  if (expireTime !== undefined) {
    const ms = expireTime instanceof Date ? expireTime.getTime() : expireTime;
    if (!Number.isFinite(ms)) {
      throw new InvalidArgumentError(`expireTime: ${String(expireTime)} is not a time`, Code.INVALID_ARGUMENT);
    }
    return { expireTime: timestampFromMs(ms) };
  }
  return {};
}

/** The appends a service has sent and not yet seen answered, per session. */
export class AppendsUnderWay {
  private readonly running = new Map<string, Set<Promise<unknown>>>();

  /** Records `append` as under way for the session until it settles; returns it. */
  track<T>(appName: string, userId: string, sessionId: string, append: Promise<T>): Promise<T> {
    const key = JSON.stringify([appName, userId, sessionId]);
    let appends = this.running.get(key);
    if (appends === undefined) {
      appends = new Set();
      this.running.set(key, appends);
    }
    const set = appends;
    set.add(append);
    const end = () => {
      set.delete(append);
      if (set.size === 0 && this.running.get(key) === set) {
        this.running.delete(key);
      }
    };
    append.then(end, end);
    return append;
  }

  /** Settles once every append to the session under way now has settled, whatever its outcome. */
  async settled(appName: string, userId: string, sessionId: string): Promise<void> {
    const appends = this.running.get(JSON.stringify([appName, userId, sessionId]));
    if (appends !== undefined) {
      await Promise.allSettled([...appends]);
    }
  }
}

/** Sets when the session `key` names expires, as GrpcSessionService.setSessionExpiry documents. */
export async function setExpiry(
  connection: Connection,
  { ttlMs, expireTime, ...key }: CompositeSessionKey & SessionExpiry,
): Promise<SessionInfo> {
  const fields = expiration({ ttlMs, expireTime });
  // "expire_time" left unset: never.
  const paths = [fields.ttl === undefined ? "expire_time" : "ttl"];
  const response = await connection.call((c) => c.updateSession, updateRequest(key, fields, paths));
  return sessionInfoFromMessage(required(response.session));
}

/** Closes `session` once `appends` to it under way have settled, as GrpcSessionService.closeSession documents. */
export async function closeAfterAppends(
  connection: Connection,
  appends: AppendsUnderWay,
  session: Session,
): Promise<SessionInfo> {
  await appends.settled(session.appName, session.userId, session.id);
  const response = await connection.call((c) => c.closeSession, {
    appName: session.appName,
    userId: session.userId,
    sessionId: session.id,
  });
  return sessionInfoFromMessage(required(response.session));
}

/** Erases one user of an app; returns how many sessions the call deleted from storage. */
export async function erase(connection: Connection, appName: string, userId: string): Promise<number> {
  const response = await connection.call((c) => c.eraseUser, { appName, userId });
  return Number(response.deletedSessions);
}
