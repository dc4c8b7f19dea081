/**
 * Watching a session live (WatchSession): the events appended to it, resumed
 * by revision across failures.
 *
 * A watch is one long stream, so it is not one retried call but a chain of
 * streams, each opened after the last revision received. Opening one follows
 * the rule of retry.ts: within the service's time budget it rides out a
 * server that is down, backing off, and throws SessionServiceUnavailableError
 * if the server stays unreachable for the whole budget. An open stream has no
 * deadline; when it breaks (a lost connection, a server draining with
 * "SERVER_DRAINING", a watcher cut off for falling behind with
 * "WATCHER_TOO_SLOW") the next one is opened with a fresh budget after the
 * last revision received, which the contract guarantees gives no gap and no
 * duplicate.
 */
import type { Event } from "@google/adk";
import { status as Code, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";

import { eventFromJson } from "./conversions.js";
import { SessionNotFoundError, errorFromRpc } from "./errors.js";
import {
  WatchEnded_Reason,
  type WatchSessionRequest,
  type WatchSessionResponse,
} from "./gen/adk_grpc_sessions/v1/session_service.js";
import { callWithRetry, type RetryPolicy } from "./retry.js";

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

/** What a watch needs from its service: how to open a stream, and the retry rule's budget and policy. */
export interface StreamTransport<Request, Response> {
  open(request: Request, waitForReady: boolean): ClientReadableStream<Response>;
  budgetMs: number | undefined;
  policy: RetryPolicy;
  connected(): boolean;
}

/** How a session's watch (WatchSession) opens its streams. */
export type WatchTransport = StreamTransport<WatchSessionRequest, WatchSessionResponse>;

const REASONS: ReadonlyMap<WatchEnded_Reason, WatchEndReason> = new Map([
  [WatchEnded_Reason.REASON_CLOSED, "closed"],
  [WatchEnded_Reason.REASON_DELETED, "deleted"],
  [WatchEnded_Reason.REASON_EXPIRED, "expired"],
]);

export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number";
}

/** A failed stream as the retry rule sees it: UNAVAILABLE where the watch resumes. */
export function asRetried(error: ServiceError): ServiceError {
  if (error.code === Code.RESOURCE_EXHAUSTED && errorFromRpc(error).reason === "WATCHER_TOO_SLOW") {
    return Object.assign(new Error(error.message), { ...error, code: Code.UNAVAILABLE });
  }
  return error;
}

/** A stream that closed with OK while watched: as a lost connection (the server never ends one so; a proxy may). */
export function closedWithoutEnd(): ServiceError {
  return Object.assign(new Error("the watch stream closed while it was watched"), {
    code: Code.UNAVAILABLE,
    details: "the watch stream closed while it was watched",
    metadata: undefined,
  }) as unknown as ServiceError;
}

/** The watch was stopped (return or close) while a stream was being opened: not a failure to retry. */
export class WatchStoppedError extends Error {}

/** An opened stream: the call, its messages, and the first one (sent at once by the server). */
export interface OpenStream<Response> {
  call: ClientReadableStream<Response>;
  messages: AsyncIterator<Response>;
  first: Response;
}

/**
 * Reads the first message of a just opened stream, within `deadline` (the
 * stream itself has none); `stopped` says whether the watch was stopped
 * meanwhile (then WatchStoppedError), `method` names it in a timeout.
 */
export async function firstMessage<Response>(
  call: ClientReadableStream<Response>,
  deadline: Date | undefined,
  stopped: () => boolean,
  method: string,
): Promise<OpenStream<Response>> {
  let outOfTime = false;
  const timer =
    deadline === undefined
      ? undefined
      : setTimeout(
          () => {
            outOfTime = true;
            call.cancel();
          },
          Math.max(deadline.getTime() - Date.now(), 0),
        );
  const messages = call[Symbol.asyncIterator]() as AsyncIterator<Response>;
  try {
    const first = await messages.next();
    if (first.done) {
      throw closedWithoutEnd();
    }
    return { call, messages, first: first.value };
  } catch (error) {
    call.cancel();
    if (stopped()) {
      throw new WatchStoppedError();
    }
    if (outOfTime) {
      throw Object.assign(new Error("the server did not answer in time"), {
        code: Code.DEADLINE_EXCEEDED,
        details: `${method}: the server did not answer in time`,
      });
    }
    throw isServiceError(error) ? asRetried(error) : error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A live watch of one session: an async iterator of typed updates, resuming
 * by itself. `revision`, `caughtUp`, `ended` and `reconnects` say where it stands.
 */
export class SessionWatch implements AsyncIterableIterator<WatchUpdate> {
  /** The last revision received (an event's or a caught-up's): where a reconnection resumes. */
  revision: bigint;
  /** Whether the backlog has been delivered at least once (live since). */
  caughtUp = false;
  /** Why the session ended, once it has; undefined while watched (or if the watch failed). */
  ended: WatchEndReason | undefined;
  /** How many times a broken stream was resumed. */
  reconnects = 0;
  private readonly updates: AsyncGenerator<WatchUpdate>;
  private stopped = false;
  private current: ClientReadableStream<WatchSessionResponse> | undefined;

  constructor(
    private readonly transport: WatchTransport,
    private readonly target: WatchSessionRequestOptions,
  ) {
    this.revision = target.afterRevision ?? 0n;
    this.updates = this.run();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<WatchUpdate>> {
    return this.updates.next();
  }

  /** Stops watching: the open stream is cancelled, and a loop waiting for the next update ends. */
  async return(): Promise<IteratorResult<WatchUpdate>> {
    this.stopped = true; // the cancellation below is the caller's, not a failure to resume from
    this.current?.cancel();
    return this.updates.return(undefined);
  }

  /** Stops watching (as `return`). */
  async close(): Promise<void> {
    await this.return();
  }

  private async *run(): AsyncGenerator<WatchUpdate> {
    let failed: ServiceError | undefined;
    let opened = false;
    while (!this.stopped) {
      let stream: OpenStream<WatchSessionResponse>;
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
        if (opened && error instanceof SessionNotFoundError) {
          // Gone while the watch was reconnecting: it ended unseen (deleted, or expired).
          this.ended = "deleted";
          yield { kind: "ended", reason: "deleted" };
          return;
        }
        throw error;
      }
      if (opened) {
        this.reconnects += 1;
      }
      opened = true;
      this.current = stream.call;
      try {
        let message: WatchSessionResponse | undefined = stream.first;
        while (message !== undefined) {
          yield* this.updatesOf(message);
          if (this.ended !== undefined) {
            return;
          }
          const next: IteratorResult<WatchSessionResponse> = await stream.messages.next();
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

  /** One attempt at a stream after `revision`: the call and its first message (sent at once by the server). */
  private async open(deadline: Date | undefined, waitForReady: boolean): Promise<OpenStream<WatchSessionResponse>> {
    if (this.stopped) {
      throw new WatchStoppedError();
    }
    const { appName, userId, sessionId } = this.target;
    const call = this.transport.open(
      { appName, userId, sessionId: sessionId.trim(), afterRevision: this.revision },
      waitForReady,
    );
    this.current = call;
    return firstMessage(call, deadline, () => this.stopped, "WatchSession");
  }

  private *updatesOf(message: WatchSessionResponse): Generator<WatchUpdate> {
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
