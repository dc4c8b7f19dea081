/**
 * Watching a session live (WatchSession): the events appended to it, resumed
 * by revision across failures.
 *
 * A watch is one long stream, so it is not one retried call but a chain of
 * streams (watch_streams.ts), each opened after the last revision received.
 * Opening one follows the rule of retry.ts: within the service's time budget
 * it rides out a server that is down, backing off, and throws
 * SessionServiceUnavailableError if the server stays unreachable for the
 * whole budget. An open stream has no deadline; when it breaks (a lost connection, a server draining with
 * "SERVER_DRAINING", a watcher cut off for falling behind with
 * "WATCHER_TOO_SLOW") the next one is opened with a fresh budget after the
 * last revision received, which the contract guarantees gives no gap and no
 * duplicate.
 */
import type { Event } from "@google/adk";

import { eventFromJson } from "./conversions.js";
import {
  WatchEnded_Reason,
  type WatchSessionRequest,
  type WatchSessionResponse,
} from "./gen/adk_grpc_sessions/v1/session_service.js";
import { StreamWatch, type StreamTransport } from "./watch_streams.js";

/** Why a watched session ended. "deleted" is also what a watch that resumes finds when the session is gone. */
export type WatchEndReason = "closed" | "deleted" | "expired" | "unknown";

/** One item of watchSessionUpdates. */
export type WatchUpdate =
  /**
   * An event of the session as stored, with the session's revision right after it (a resume point)
   * and its JSON exactly as stored (ADK Python's camelCase JSON, to forward without encoding it again).
   */
  | { kind: "event"; event: Event; revision: bigint; eventJson: string }
  /** Every event stored when the stream opened was delivered (after each connection's backlog). */
  | { kind: "caughtUp"; revision: bigint }
  /** The session ended; nothing follows. */
  | { kind: "ended"; reason: WatchEndReason };

/** The session to watch, and after which revision (0n or absent: every event). */
export interface WatchSessionRequestOptions {
  appName: string;
  userId: string;
  sessionId: string;
  /**
   * Deliver the events stored after this revision: 0n (the default) for every
   * event; a session's revision (getSessionInfo) for those appended from then on;
   * the last revision a watch received to resume it.
   */
  afterRevision?: bigint;
}

/** How a session's watch (WatchSession) opens its streams. */
export type WatchTransport = StreamTransport<WatchSessionRequest, WatchSessionResponse>;

const REASONS: ReadonlyMap<WatchEnded_Reason, WatchEndReason> = new Map([
  [WatchEnded_Reason.REASON_CLOSED, "closed"],
  [WatchEnded_Reason.REASON_DELETED, "deleted"],
  [WatchEnded_Reason.REASON_EXPIRED, "expired"],
]);

/**
 * A live watch of one session: an async iterator of typed updates, resuming
 * by itself. `revision`, `caughtUp`, `ended` and `reconnects` say where it stands.
 */
export class SessionWatch extends StreamWatch<WatchSessionRequest, WatchSessionResponse, WatchUpdate> {
  /** The last revision received (an event's or a caught-up's): where a reconnection resumes. */
  revision: bigint;
  /** Whether the backlog has been delivered at least once (live since). */
  caughtUp = false;
  /** Why the session ended, once it has; undefined while watched (or if the watch failed). */
  ended: WatchEndReason | undefined;

  constructor(
    transport: WatchTransport,
    private readonly target: WatchSessionRequestOptions,
  ) {
    super(transport, "WatchSession");
    this.revision = target.afterRevision ?? 0n;
  }

  /** A stream after `revision`: the server sends the backlog, or caughtUp, at once. */
  protected override request(): WatchSessionRequest {
    const { appName, userId, sessionId } = this.target;
    return { appName, userId, sessionId: sessionId.trim(), afterRevision: this.revision };
  }

  /** Whether the session ended (an "ended" update was the last). */
  protected override done(): boolean {
    return this.ended !== undefined;
  }

  /** Gone while the watch was reconnecting: it ended unseen (deleted, or expired). */
  protected override gone(): WatchUpdate {
    this.ended = "deleted";
    return { kind: "ended", reason: "deleted" };
  }

  /** The updates one message carries, with `revision`, `caughtUp` and `ended` moved past them. */
  protected override *updatesOf(message: WatchSessionResponse): Generator<WatchUpdate> {
    if (message.events !== undefined) {
      for (const watched of message.events.events) {
        const eventJson = watched.event?.eventJson ?? "";
        const event = eventFromJson(eventJson);
        this.revision = watched.revision;
        yield { kind: "event", event, revision: watched.revision, eventJson };
      }
    } else if (message.caughtUp !== undefined) {
      this.revision = message.caughtUp.revision;
      this.caughtUp = true;
      yield { kind: "caughtUp", revision: message.caughtUp.revision };
    } else if (message.ended !== undefined) {
      this.ended = REASONS.get(message.ended.reason) ?? "unknown";
      yield { kind: "ended", reason: this.ended };
    }
  }
}

/**
 * A live watch yielding only ADK Events: `for await (const event of service.watchSession(...))`.
 * The loop ends when the session ends (`ended` says why); breaking out of it stops the watch.
 */
export class EventWatch implements AsyncIterableIterator<Event> {
  constructor(
    /** The typed watch underneath (revisions, caught-up state, reconnections). */
    readonly updates: SessionWatch,
  ) {}

  /** Why the session ended, once the loop has stopped because it did; else undefined. */
  get ended(): WatchEndReason | undefined {
    return this.updates.ended;
  }

  /** The revision right after the last event (or caught-up marker) received. */
  get revision(): bigint {
    return this.updates.revision;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Event>> {
    for (;;) {
      const update = await this.updates.next();
      if (update.done) {
        return { done: true, value: undefined };
      }
      if (update.value.kind === "event") {
        return { done: false, value: update.value.event };
      }
    }
  }

  /** Stops watching. */
  async return(): Promise<IteratorResult<Event>> {
    await this.updates.return();
    return { done: true, value: undefined };
  }

  /** Stops watching (as `return`). */
  async close(): Promise<void> {
    await this.updates.return();
  }
}
