/**
 * WritePipeline: which way each write (an append, a create) goes: alone, or
 * in a batch.
 *
 * A write call's gRPC machinery costs more, on both sides, than the write it
 * carries. So while a call of one kind of write is open, writes of that kind
 * made meanwhile do not each open a call: they wait until the end of the
 * event loop's turn (setImmediate, so that every write made in that turn, by
 * every caller a finished call woke, joins them) and then go in batch calls
 * (BatchAppendEvents, BatchCreateSessions) of at most `maxPerCall` writes and
 * MAX_BATCH_BYTES, at most `maxInFlight` calls at once. There is no batching
 * window: a write made while nothing of its kind is open is sent at once, on
 * its own (how is its Route's: an append on the append stream, say), and
 * batches form only from writes made together or that would otherwise
 * queue. Each write keeps its own outcome: its caller gets its result, or the
 * error the write alone would have thrown. What differs between kinds of
 * write is their Route (write_routes.ts); the pipeline is the same.
 *
 * Each write is one operation of retry.ts's, with its deadline set when it
 * is made. It holds while the write waits for a free call: one still
 * waiting when it passes fails as a call would have (unavailable while the
 * server is unreachable) and is never sent. A batch is tried (and retried
 * whole) until the earliest deadline of its writes; a write the batch
 * answered with a failure of its own goes on alone as the next attempt of
 * its own operation, which judges that failure first (so a create retried
 * whole after a lost answer meets ALREADY_EXISTS exactly as a lone create
 * retried would).
 */
import type { ServiceError } from "@grpc/grpc-js";

import { Attempts, type Attempt } from "./retry.js";

/** Calls of one kind of write open at once by default. */
export const DEFAULT_MAX_IN_FLIGHT = 8;

/**
 * Most writes in one call by default: small enough that a burst goes in
 * several calls, which the client, the server and the database then work on
 * at the same time; large enough that a call's own cost is shared.
 */
export const DEFAULT_MAX_PER_CALL = 16;

/** The most writes the contract allows in one batch call. */
export const MAX_BATCH_WRITES = 1000;

/** Most request bytes in one batch: well under the server's default message limit (32 MiB). */
export const MAX_BATCH_BYTES = (32 * 1024 * 1024) / 8;

/** What one write of a batch came to: its result, or its own failure. */
export type Outcome<Result> = { result: Result } | { failure: ServiceError };

/** How one kind of write travels: alone, and in a batch. */
export interface Route<Request, Result> {
  /** The RPC of one write alone: what its errors name. */
  readonly method: string;
  /** The RPC of a batch. */
  readonly batchMethod: string;
  /** The attempt of one write on its own. */
  alone(request: Request): Attempt<Result>;
  /**
   * The attempt of writes in one batch call: the outcome of each, in order.
   * The attempt throws a ServiceError when the call as a whole fails.
   */
  together(requests: readonly Request[]): Attempt<Outcome<Result>[]>;
  /** The bytes `request` takes in a batch. */
  size(request: Request): number;
}

/** How writes share calls; each kind of write has its own calls. */
export interface PipelineLimits {
  /** Calls open at once; 0 sends every write at once in a call of its own. */
  maxInFlight: number;
  /** Most writes in one call (1 to MAX_BATCH_WRITES). */
  maxPerCall: number;
}

/** A write waiting for a free call, and where its outcome goes. */
interface Waiting<Request, Result> {
  request: Request;
  size: number;
  attempts: Attempts;
  resolve(result: Result): void;
  reject(error: unknown): void;
  /** Fails the write if its deadline passes while it still waits. */
  timer: NodeJS.Timeout | undefined;
}

/** Sends the writes of one kind on one connection (see the module's comment). */
export class WritePipeline<Request, Result> {
  private inFlight = 0;
  private queue: Waiting<Request, Result>[] = [];
  private dispatchDue = false;

  /**
   * Writes along `route`; `start()` begins one write's operation with the
   * whole time budget, `until(deadline)` a batch's, which must end by
   * `deadline`.
   */
  constructor(
    private readonly route: Route<Request, Result>,
    private readonly start: () => Attempts,
    private readonly until: (deadline: Date | undefined) => Attempts,
    private readonly limits: PipelineLimits,
  ) {}

  /** Makes one write; rejects with what the write alone would have thrown. */
  send(request: Request): Promise<Result> {
    const attempts = this.start();
    if (this.limits.maxInFlight === 0) {
      return attempts.run(this.route.alone(request));
    }
    if (this.inFlight === 0 && this.queue.length === 0) {
      this.inFlight += 1;
      return attempts.run(this.route.alone(request)).finally(() => {
        this.inFlight -= 1;
        this.dispatch();
      });
    }
    return new Promise<Result>((resolve, reject) => {
      const waiting: Waiting<Request, Result> = {
        request,
        size: this.route.size(request),
        attempts,
        resolve,
        reject,
        timer: undefined,
      };
      if (attempts.deadline !== undefined) {
        const left = attempts.deadline.getTime() - Date.now();
        waiting.timer = setTimeout(() => this.expire(waiting), Math.min(left, 2 ** 31 - 1));
      }
      this.queue.push(waiting);
      if (this.queue.length >= this.limits.maxPerCall && this.inFlight < this.limits.maxInFlight) {
        this.dispatch(); // a full call's worth: no reason to wait for the turn's end
      } else if (!this.dispatchDue) {
        // Sent at the end of this turn, not now: writes made in it then go together.
        this.dispatchDue = true;
        setImmediate(() => this.dispatch());
      }
    });
  }

  /** Fails a write whose deadline passed while it waited: it is never sent. */
  private expire(waiting: Waiting<Request, Result>): void {
    const at = this.queue.indexOf(waiting);
    if (at >= 0) {
      this.queue.splice(at, 1);
      waiting.reject(waiting.attempts.outOfTime(this.route.method));
    }
  }

  /** Sends what waits, while calls are free. */
  private dispatch(): void {
    this.dispatchDue = false;
    while (this.queue.length > 0 && this.inFlight < this.limits.maxInFlight) {
      let size = this.queue[0]!.size;
      let count = 1;
      while (
        count < this.queue.length &&
        count < this.limits.maxPerCall &&
        size + this.queue[count]!.size <= MAX_BATCH_BYTES
      ) {
        size += this.queue[count]!.size;
        count += 1;
      }
      const batch = this.queue.splice(0, count);
      for (const waiting of batch) {
        clearTimeout(waiting.timer); // once sent, the send settles the write by its deadline
      }
      this.inFlight += 1;
      void this.sendBatch(batch).finally(() => {
        this.inFlight -= 1;
        this.dispatch();
      });
    }
  }

  private async sendBatch(batch: Waiting<Request, Result>[]): Promise<void> {
    if (batch.length === 1) {
      await this.sendAlone(batch[0]!);
      return;
    }
    const deadlines = batch.flatMap((waiting) => (waiting.attempts.deadline ? [waiting.attempts.deadline] : []));
    const earliest = deadlines.length > 0 ? new Date(Math.min(...deadlines.map((d) => d.getTime()))) : undefined;
    let outcomes: Outcome<Result>[];
    try {
      outcomes = await this.until(earliest).run(this.route.together(batch.map((waiting) => waiting.request)));
    } catch (error) {
      for (const waiting of batch) {
        waiting.reject(error); // the call failed as a whole: so did each write in it
      }
      return;
    }
    const alone: Promise<void>[] = [];
    batch.forEach((waiting, at) => {
      const outcome = outcomes[at]!;
      if ("failure" in outcome) {
        alone.push(this.sendAlone(waiting, outcome.failure));
      } else {
        waiting.resolve(outcome.result);
      }
    });
    await Promise.all(alone);
  }

  /** Sends one write on its own; `failed`: the failure its batch answered it with. */
  private async sendAlone(waiting: Waiting<Request, Result>, failed?: ServiceError): Promise<void> {
    try {
      waiting.resolve(await waiting.attempts.run(this.route.alone(waiting.request), failed));
    } catch (error) {
      waiting.reject(error);
    }
  }
}
