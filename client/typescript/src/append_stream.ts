/**
 * AppendStream: lone appends and creates sent on one AppendEventStream kept
 * open, one at a time.
 *
 * A unary call's own machinery (on both sides) is most of what a lone append
 * or create costs, far more than one more message on a stream that is
 * already open. So a write that goes alone is sent as a message on a stream
 * that stays open between writes.
 *
 * One write at a time: the stream is `busy` from the write until its answer
 * is read, and a write that finds it busy goes in a call of its own. A write
 * that runs out of time drops the stream (its answer may still come, and
 * would answer the next write); so does any failure of the stream itself,
 * and the next write opens a new one. A stream the server ended (it is
 * draining) is noticed and replaced before it is used; one that ends before
 * answering fails its write UNAVAILABLE, which is retried (a write is safe
 * to send again).
 *
 * Each send is one attempt of retry.ts's, as a call is: a write that failed
 * on the stream is sent again on a new stream after a backoff, within the
 * same deadline. That stream is opened waitForReady, so while the server is
 * down it waits for the connection instead of failing and being replaced
 * again at once: reopening never spins.
 *
 * An open stream keeps Node's event loop alive, so a stream left idle is
 * ended after STREAM_IDLE_MS: a program that never closes the service still
 * exits, that much later.
 */
import { status as Code, type ClientDuplexStream, type ServiceError } from "@grpc/grpc-js";

import { resultFailure, statusError } from "./errors.js";
import type {
  AppendEventRequest,
  AppendEventResponse,
  AppendEventStreamRequest,
  AppendEventStreamResponse,
  CreateSessionRequest,
  CreateSessionResponse,
} from "./gen/adk_grpc_sessions/v1/session_service.js";

/** Milliseconds a stream is kept open with no write on it. */
export const STREAM_IDLE_MS = 5_000;

type StreamCall = ClientDuplexStream<AppendEventStreamRequest, AppendEventStreamResponse>;

/** Opens an AppendEventStream, waiting for the connection if `waitForReady`. */
export type OpenStream = (waitForReady: boolean) => StreamCall;

/** One stream opened, and whether it may carry another write. */
interface OpenCall {
  call: StreamCall;
  /** Ended by the server or by this client: the next write opens another. */
  ended: boolean;
}

/** What the write on the stream waits for. */
interface Pending {
  resolve(answer: AppendEventStreamResponse): void;
  reject(error: ServiceError): void;
}

/** The append stream of one connection (see the module's comment). */
export class AppendStream {
  /** A write is on the stream now. */
  busy = false;
  private current: OpenCall | undefined;
  private pending: Pending | undefined;
  private idle: NodeJS.Timeout | undefined;

  constructor(private readonly open: OpenStream) {}

  /**
   * Sends one append and resolves with its response, by `deadline`
   * (undefined: no limit); the stream is opened waitForReady if it must be
   * opened and `waitForReady`.
   *
   * @throws ServiceError the append's own failure, or the stream's.
   */
  async append(
    request: AppendEventRequest,
    deadline: Date | undefined,
    waitForReady: boolean,
  ): Promise<AppendEventResponse> {
    const { result } = await this.send({ append: request }, "AppendEvent", deadline, waitForReady);
    if (result?.response !== undefined) {
      return result.response;
    }
    throw resultFailure(result?.error);
  }

  /** Sends one create and resolves with its response (as `append`). */
  async create(
    request: CreateSessionRequest,
    deadline: Date | undefined,
    waitForReady: boolean,
  ): Promise<CreateSessionResponse> {
    const { createResult } = await this.send({ create: request }, "CreateSession", deadline, waitForReady);
    if (createResult?.response !== undefined) {
      return createResult.response;
    }
    throw resultFailure(createResult?.error);
  }

  /**
   * Ends the stream: the server answers what it has read, then ends it too
   * (a write on it now still gets its answer). The next write opens another.
   */
  close(): void {
    clearTimeout(this.idle);
    if (this.current !== undefined && !this.current.ended) {
      this.current.ended = true;
      this.current.call.end();
    }
  }

  private async send(
    request: AppendEventStreamRequest,
    what: string,
    deadline: Date | undefined,
    waitForReady: boolean,
  ): Promise<AppendEventStreamResponse> {
    this.busy = true;
    clearTimeout(this.idle);
    let timer: NodeJS.Timeout | undefined;
    try {
      const opened = this.current !== undefined && !this.current.ended ? this.current : this.start(waitForReady);
      return await new Promise<AppendEventStreamResponse>((resolve, reject) => {
        this.pending = { resolve, reject };
        if (deadline !== undefined) {
          const budgetMs = deadline.getTime() - Date.now();
          timer = setTimeout(
            () => {
              this.drop(); // its answer, if it came later, would answer the next write
              reject(statusError(Code.DEADLINE_EXCEEDED, `${what} did not finish within its deadline`));
            },
            Math.min(budgetMs, 2 ** 31 - 1),
          );
        }
        opened.call.write(request);
      });
    } finally {
      clearTimeout(timer);
      this.pending = undefined;
      this.busy = false;
      if (this.current !== undefined && !this.current.ended) {
        this.idle = setTimeout(() => this.close(), STREAM_IDLE_MS).unref();
      }
    }
  }

  /** Opens a stream; its events reach this object only while it is the current one. */
  private start(waitForReady: boolean): OpenCall {
    const opened: OpenCall = { call: this.open(waitForReady), ended: false };
    this.current = opened;
    opened.call.on("data", (answer: AppendEventStreamResponse) => {
      if (this.current === opened) {
        this.settle((pending) => pending.resolve(answer));
      }
    });
    // Always listened to: an "error" without a listener would end the process.
    opened.call.on("error", (error: ServiceError) => {
      if (this.current === opened) {
        this.current = undefined;
        this.settle((pending) => pending.reject(brokenStream(error)));
      }
    });
    opened.call.on("end", () => {
      if (this.current === opened) {
        // Ended with OK (the server drains) or by close(): what is unanswered was not handled.
        this.current = undefined;
        this.settle((pending) =>
          pending.reject(statusError(Code.UNAVAILABLE, "the append stream ended before answering")),
        );
      }
    });
    return opened;
  }

  /** Answers the write on the stream, if there is one, with `outcome`. */
  private settle(outcome: (pending: Pending) => void): void {
    const pending = this.pending;
    this.pending = undefined;
    if (pending !== undefined) {
      outcome(pending);
    }
  }

  /** Cancels the current stream: the next write opens another. */
  private drop(): void {
    const opened = this.current;
    this.current = undefined;
    if (opened !== undefined) {
      opened.ended = true;
      opened.call.cancel();
    }
  }
}

/**
 * A stream's failure as the write on it is judged: a write's own failure is
 * its result, never the stream's status, so INTERNAL here is the transport
 * breaking under it (an HTTP/2 stream reset as the server shuts down). The
 * write may or may not have been handled; sending it again is safe, so it
 * is UNAVAILABLE. Any other status (UNAUTHENTICATED, say) stands.
 */
function brokenStream(error: ServiceError): ServiceError {
  return error.code === Code.INTERNAL ? statusError(Code.UNAVAILABLE, `the append stream broke: ${error.details}`) : error;
}
