/**
 * A watch as a chain of streams: open one, read it, and when it breaks open
 * the next, until stopped.
 *
 * A watch (watching.ts's of a session, session_notices.ts's of a user's
 * sessions) is one long stream, so it is not one retried call. Opening a
 * stream follows the rule of retry.ts: within the service's time budget it
 * rides out a server that is down, backing off, and throws
 * SessionServiceUnavailableError if the server stays unreachable for the
 * whole budget. The server sends a first message at once, so opening includes
 * reading it: until it comes the server may not even have been reached. An
 * open stream has no deadline; when it breaks with a retried code (a lost
 * connection, a server draining with "SERVER_DRAINING", a watcher cut off
 * for falling behind with "WATCHER_TOO_SLOW") the next one is opened with a
 * fresh budget. StreamWatch owns that loop and stopping; each watch says
 * where its next stream starts and what a message means.
 */
import { status as Code, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";

import { SessionNotFoundError, errorFromRpc } from "./errors.js";
import { callWithRetry, type RetryPolicy } from "./retry.js";

/** What a watch needs from its service: how to open a stream, and the retry rule's budget and policy. */
export interface StreamTransport<Request, Response> {
  open(request: Request, waitForReady: boolean): ClientReadableStream<Response>;
  budgetMs: number | undefined;
  policy: RetryPolicy;
  connected(): boolean;
}

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
 * A live watch: an async iterator of `Update`, opening stream after stream of
 * `Response` by itself until it is stopped (`break`, `return`, `close`).
 * `reconnects` says how many times a broken stream was replaced. A subclass
 * says where a stream starts (`request`: its resume point), what a message
 * carries (`updatesOf`) and the few steps where watches differ (`resumed`,
 * `done`, `gone`).
 */
export abstract class StreamWatch<Request, Response, Update> implements AsyncIterableIterator<Update> {
  /** How many times a broken stream was replaced by a new one. */
  reconnects = 0;
  private readonly updates: AsyncGenerator<Update>;
  private stopped = false;
  private current: ClientReadableStream<Response> | undefined;

  protected constructor(
    private readonly transport: StreamTransport<Request, Response>,
    private readonly method: string,
  ) {
    this.updates = this.run();
  }

  /** The request of the next stream, from where the watch stands now. */
  protected abstract request(): Request;

  /** The updates one message carries, with the watch's own state moved past them. */
  protected abstract updatesOf(message: Response): Iterable<Update>;

  /** The updates that announce a new stream replacing a broken one (none unless overridden). */
  protected resumed(): Iterable<Update> {
    return [];
  }

  /** Whether the updates yielded last end the watch (never, unless overridden). */
  protected done(): boolean {
    return false;
  }

  /** The last update when what is watched was not found on reconnecting; undefined: the error is thrown. */
  protected gone(): Update | undefined {
    return undefined;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Update>> {
    return this.updates.next();
  }

  /** Stops watching: the open stream is cancelled, and a loop waiting for the next update ends. */
  async return(): Promise<IteratorResult<Update>> {
    this.stopped = true; // the cancellation below is the caller's, not a failure to resume from
    this.current?.cancel();
    return this.updates.return(undefined);
  }

  /** Stops watching (as `return`). */
  async close(): Promise<void> {
    await this.return();
  }

  private async *run(): AsyncGenerator<Update> {
    let failed: ServiceError | undefined;
    let opened = false;
    while (!this.stopped) {
      let stream: OpenStream<Response>;
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
        const last = opened && error instanceof SessionNotFoundError ? this.gone() : undefined;
        if (last === undefined) {
          throw error;
        }
        yield last;
        return;
      }
      this.current = stream.call;
      try {
        if (opened) {
          this.reconnects += 1;
          yield* this.resumed();
        }
        opened = true;
        let message: Response | undefined = stream.first;
        while (message !== undefined) {
          yield* this.updatesOf(message);
          if (this.done()) {
            return;
          }
          const next: IteratorResult<Response> = await stream.messages.next();
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
  private async open(deadline: Date | undefined, waitForReady: boolean): Promise<OpenStream<Response>> {
    if (this.stopped) {
      throw new WatchStoppedError();
    }
    const call = this.transport.open(this.request(), waitForReady);
    this.current = call;
    return firstMessage(call, deadline, () => this.stopped, this.method);
  }
}
