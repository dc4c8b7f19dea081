/**
 * Watching one user's sessions live (WatchSessions): a listing, then a notice
 * of each change.
 *
 * Like a session's watch (watching.ts) it is a chain of streams
 * (watch_streams.ts), each opened within the service's time budget. A stream
 * has no resume point: when one breaks (a lost connection, "SERVER_DRAINING",
 * a watcher cut off for falling behind with "WATCHER_TOO_SLOW") the next one
 * starts with a new listing, announced as a "relisting" update, exactly as
 * when the server itself starts over. The watch keeps the user's sessions as last heard of in `sessions`:
 * after a relisting's "caughtUp", those not listed again are dropped.
 */
import type { Session } from "@google/adk";

import { sessionFromMessage } from "./conversions.js";
import {
  SessionNotice_Kind,
  type SessionNotice as SessionNoticeMessage,
  type WatchSessionsRequest,
  type WatchSessionsResponse,
} from "./gen/adk_grpc_sessions/v1/session_service.js";
import { sessionInfoFromMessage, type SessionInfo } from "./session_info.js";
import { StreamWatch, type StreamTransport } from "./watch_streams.js";

/**
 * What a notice says of a session: "listed" (it exists; part of a listing),
 * "created" (created or forked; for an id already held, it replaces it),
 * "updated" (an event appended, its metadata or expiry changed), "closed",
 * "deleted", "expired", or "unknown" (a kind newer than this client).
 */
export type SessionNoticeKind = "listed" | "created" | "updated" | "closed" | "deleted" | "expired" | "unknown";

/** One item of watchSessions. */
export type SessionsUpdate =
  /**
   * One session listed, or changed since the last notice of it: the session as
   * read after the change (its state, no events) and its info; both undefined
   * once deleted or expired.
   */
  | {
      kind: "notice";
      notice: SessionNoticeKind;
      sessionId: string;
      session: Session | undefined;
      info: SessionInfo | undefined;
    }
  /** A listing is complete (`listed` sessions); notices of changes follow as they are committed. */
  | { kind: "caughtUp"; listed: number }
  /** The watch starts over: a new listing follows; what it does not list again is gone. */
  | { kind: "relisting" };

/** How a watch of a user's sessions opens its streams. */
export type SessionsWatchTransport = StreamTransport<WatchSessionsRequest, WatchSessionsResponse>;

const KINDS: ReadonlyMap<SessionNotice_Kind, SessionNoticeKind> = new Map([
  [SessionNotice_Kind.KIND_LISTED, "listed"],
  [SessionNotice_Kind.KIND_CREATED, "created"],
  [SessionNotice_Kind.KIND_UPDATED, "updated"],
  [SessionNotice_Kind.KIND_CLOSED, "closed"],
  [SessionNotice_Kind.KIND_DELETED, "deleted"],
  [SessionNotice_Kind.KIND_EXPIRED, "expired"],
]);

/**
 * A live watch of one user's sessions: an async iterator of SessionsUpdate,
 * reconnecting by itself; it goes on until it is stopped (`break`, `return`,
 * `close`). `sessions`, `caughtUp` and `reconnects` say where it stands.
 * The iteration throws SessionServiceUnavailableError when the server cannot
 * be reached within the service's budget, and a SessionServiceError when the
 * server refuses the watch.
 */
export class UserSessionsWatch extends StreamWatch<WatchSessionsRequest, WatchSessionsResponse, SessionsUpdate> {
  /** Every session of the user as last heard of, by id. */
  readonly sessions = new Map<string, SessionInfo>();
  /** Whether the current listing is complete (notices are live). */
  caughtUp = false;
  private relisted: Set<string> | undefined; // while a listing after a relisting runs: the ids listed so far

  constructor(
    transport: SessionsWatchTransport,
    private readonly watched: WatchSessionsRequest,
  ) {
    super(transport, "WatchSessions");
  }

  /** A stream from the start: the server sends the listing at once (it has no resume point). */
  protected override request(): WatchSessionsRequest {
    return this.watched;
  }

  /** A new stream lists every session again: announced as a relisting. */
  protected override resumed(): Iterable<SessionsUpdate> {
    return [this.relisting()];
  }

  /** The updates one message carries, with `sessions` brought up to date by them. */
  protected override *updatesOf(message: WatchSessionsResponse): Generator<SessionsUpdate> {
    if (message.notices !== undefined) {
      for (const notice of message.notices.notices) {
        yield this.noticed(notice);
      }
    } else if (message.caughtUp !== undefined) {
      if (this.relisted !== undefined) {
        for (const sessionId of [...this.sessions.keys()]) {
          if (!this.relisted.has(sessionId)) {
            this.sessions.delete(sessionId);
          }
        }
        this.relisted = undefined;
      }
      this.caughtUp = true;
      yield { kind: "caughtUp", listed: Number(message.caughtUp.listed) };
    } else if (message.relisting !== undefined) {
      yield this.relisting();
    }
  }

  private relisting(): SessionsUpdate {
    this.relisted = new Set();
    this.caughtUp = false;
    return { kind: "relisting" };
  }

  private noticed(notice: SessionNoticeMessage): SessionsUpdate {
    const kind = KINDS.get(notice.kind) ?? "unknown";
    const { sessionId } = notice;
    if (kind === "deleted" || kind === "expired" || notice.session === undefined) {
      this.sessions.delete(sessionId);
      return { kind: "notice", notice: kind, sessionId, session: undefined, info: undefined };
    }
    const info = sessionInfoFromMessage(notice.session);
    this.sessions.set(sessionId, info);
    if (kind === "listed") {
      this.relisted?.add(sessionId);
    }
    return { kind: "notice", notice: kind, sessionId, session: sessionFromMessage(notice.session), info };
  }
}
