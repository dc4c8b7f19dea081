/**
 * Watching one user's sessions live (WatchSessions): a listing, then a notice
 * of each change.
 *
 * Like a session's watch (watching.ts) it is a chain of streams, each opened
 * within the service's time budget. A stream has no resume point: when one
 * breaks (a lost connection, "SERVER_DRAINING", a watcher cut off for falling
 * behind with "WATCHER_TOO_SLOW") the next one starts with a new listing,
 * announced as a "relisting" update, exactly as when the server itself starts
 * over. The watch keeps the user's sessions as last heard of in `sessions`:
 * after a relisting's "caughtUp", those not listed again are dropped.
 */
import type { Session } from "@google/adk";
import { status as Code, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";

import { sessionFromMessage } from "./conversions.js";
import { errorFromRpc } from "./errors.js";
import {
  SessionNotice_Kind,
  type SessionNotice as SessionNoticeMessage,
  type WatchSessionsRequest,
  type WatchSessionsResponse,
} from "./gen/adk_grpc_sessions/v1/session_service.js";
import { callWithRetry } from "./retry.js";
import { sessionInfoFromMessage, type SessionInfo } from "./session_info.js";
import {
  WatchStoppedError,
  asRetried,
  closedWithoutEnd,
  firstMessage,
  isServiceError,
  type OpenStream,
  type StreamTransport,
} from "./watching.js";

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
export class UserSessionsWatch implements AsyncIterableIterator<SessionsUpdate> {
  /** Every session of the user as last heard of, by id. */
  readonly sessions = new Map<string, SessionInfo>();
  /** Whether the current listing is complete (notices are live). */
  caughtUp = false;
  /** How many times a broken stream was replaced by a new one. */
  reconnects = 0;
  private relisted: Set<string> | undefined; // while a listing after a relisting runs: the ids listed so far
  private readonly updates: AsyncGenerator<SessionsUpdate>;
  private stopped = false;
  private current: ClientReadableStream<WatchSessionsResponse> | undefined;

  constructor(
    private readonly transport: SessionsWatchTransport,
    private readonly request: WatchSessionsRequest,
  ) {
    this.updates = this.run();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<SessionsUpdate>> {
    return this.updates.next();
  }

  /** Stops watching: the open stream is cancelled, and a loop waiting for the next update ends. */
  async return(): Promise<IteratorResult<SessionsUpdate>> {
    this.stopped = true; // the cancellation below is the caller's, not a failure to reconnect from
    this.current?.cancel();
    return this.updates.return(undefined);
  }

  /** Stops watching (as `return`). */
  async close(): Promise<void> {
    await this.return();
  }

  private async *run(): AsyncGenerator<SessionsUpdate> {
    let failed: ServiceError | undefined;
    let opened = false;
    while (!this.stopped) {
      let stream: OpenStream<WatchSessionsResponse>;
      try {
        stream = await callWithRetry(
          (deadline, waitForReady) => this.open(deadline, waitForReady),
          this.transport.budgetMs,
          this.transport.policy,
          () => this.transport.connected(),
          failed,
        );
      } catch (error) {
        if (error instanceof WatchStoppedError) {
          return;
        }
        throw error;
      }
      this.current = stream.call;
      try {
        if (opened) {
          this.reconnects += 1;
          yield this.relisting(); // a new stream lists every session again
        }
        opened = true;
        let message: WatchSessionsResponse | undefined = stream.first;
        while (message !== undefined) {
          yield* this.updatesOf(message);
          const next: IteratorResult<WatchSessionsResponse> = await stream.messages.next();
          message = next.done ? undefined : next.value;
        }
        failed = closedWithoutEnd();
      } catch (error) {
        if (this.stopped) {
          return;
        }
        if (!isServiceError(error)) {
          throw error;
        }
        failed = asRetried(error);
        if (failed.code !== Code.UNAVAILABLE && failed.code !== Code.CANCELLED) {
          throw errorFromRpc(error);
        }
      } finally {
        stream.call.cancel();
        this.current = undefined;
      }
    }
  }

  /** One attempt at a stream: the call and its first message (sent at once by the server). */
  private async open(
    deadline: Date | undefined,
    waitForReady: boolean,
  ): Promise<OpenStream<WatchSessionsResponse>> {
    if (this.stopped) {
      throw new WatchStoppedError();
    }
    const call = this.transport.open(this.request, waitForReady);
    this.current = call;
    return firstMessage(call, deadline, () => this.stopped, "WatchSessions");
  }

  /** The updates one message carries, with `sessions` brought up to date by them. */
  private *updatesOf(message: WatchSessionsResponse): Generator<SessionsUpdate> {
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
