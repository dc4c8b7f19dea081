/**
 * Calling one RPC within a total time budget, riding out UNAVAILABLE (and
 * server-caused CANCELLED).
 *
 * A call is tried until it succeeds, fails for a reason a retry cannot
 * change, or its time budget is spent; the number of attempts never ends it.
 * A server that restarts is down for a second or two, and every call made
 * meanwhile must see it back, not an error.
 *
 * What gRPC does, and why the rest is written here:
 * - Waiting for the server to be back is gRPC's: every attempt after a failed
 *   one is made `waitForReady`, so while the channel reconnects it waits
 *   (within what remains of the budget) instead of failing at once. The first
 *   attempt is not, so that a server that cannot be reached is reported with
 *   gRPC's reason (connection refused, say), not only a deadline.
 * - Finding the server when it is back is the channel's reconnect backoff,
 *   tuned by CHANNEL_OPTIONS to try every 0.1 to 0.5 s (gRPC's default grows
 *   from 1 s to 120 s, so a server back after a few seconds would be found
 *   seconds later still).
 * - Trying a call again is this module's. gRPC's retry policy (service
 *   config) ends after an attempt count, at most 5, not after a time budget,
 *   and under this loop it would multiply its attempts.
 *
 * Retrying is safe for every RPC of the contract: reads change nothing, a
 * delete of a missing session succeeds, appends are idempotent by event id,
 * and the client picks session ids itself, so a repeated create is recognised.
 *
 * CANCELLED is retried like UNAVAILABLE: this client never cancels a call
 * itself, so the status comes from the server, which cancels the calls it
 * received but had not started when it shuts down.
 *
 * When the budget runs out while the server is unreachable (an attempt
 * waiting for the connection meets the deadline, or earlier attempts failed
 * with a retried code), the call throws SessionServiceUnavailableError, as
 * the server being down is the cause; a server that is reachable but too slow
 * gives SessionServiceTimeoutError.
 */
import { Metadata, status as Code, type ChannelOptions, type ServiceError } from "@grpc/grpc-js";

import { errorFromRpc, statusError, type SessionServiceError } from "./errors.js";

/**
 * How often an UNAVAILABLE (or CANCELLED) call is tried again within its time
 * budget: exponential backoff with full jitter, capped. Only the budget ends
 * the retrying.
 */
export interface RetryPolicy {
  /** Upper bound of the wait before the first retry, in ms (the wait is random below it). */
  initialBackoffMs: number;
  /** Upper bound of any one wait, in ms. */
  maxBackoffMs: number;
  /** Growth of the bound after each retry. */
  multiplier: number;
}

/** Statuses after which a call is tried again. */
const RETRIED_CODES: ReadonlySet<number> = new Set([Code.UNAVAILABLE, Code.CANCELLED]);

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  initialBackoffMs: 50,
  maxBackoffMs: 1000,
  multiplier: 2,
};

/**
 * The channel's reconnect backoff: a server that is back is found within
 * 0.5 s (+20% jitter).
 */
export const CHANNEL_OPTIONS: ChannelOptions = {
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 500,
};

/**
 * `policy`, with the fields that are missing or could not end a wait taken
 * from DEFAULT_RETRY_POLICY, so that retries never spin.
 */
export function retryPolicy(policy: Partial<RetryPolicy> = {}): RetryPolicy {
  const initialBackoffMs =
    policy.initialBackoffMs !== undefined && policy.initialBackoffMs > 0
      ? policy.initialBackoffMs
      : DEFAULT_RETRY_POLICY.initialBackoffMs;
  const maxBackoffMs =
    policy.maxBackoffMs !== undefined && policy.maxBackoffMs >= initialBackoffMs
      ? policy.maxBackoffMs
      : Math.max(DEFAULT_RETRY_POLICY.maxBackoffMs, initialBackoffMs);
  const multiplier =
    policy.multiplier !== undefined && policy.multiplier >= 1 ? policy.multiplier : DEFAULT_RETRY_POLICY.multiplier;
  return { initialBackoffMs, maxBackoffMs, multiplier };
}

/** The metadata of one attempt: `entries`, and waitForReady for a retry. */
export function attemptMetadata(entries: Record<string, string>, waitForReady: boolean): Metadata {
  const metadata = new Metadata({ waitForReady });
  for (const [key, value] of Object.entries(entries)) {
    metadata.set(key, value);
  }
  return metadata;
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number";
}

/** One try of an operation, given its deadline (undefined: none) and whether to wait for the connection. */
export type Attempt<T> = (deadline: Date | undefined, waitForReady: boolean) => Promise<T>;

/** The deadline of an operation starting now with `budgetMs` (undefined: none). */
export function deadlineIn(budgetMs: number | undefined): Date | undefined {
  return budgetMs === undefined ? undefined : new Date(Date.now() + budgetMs);
}

/**
 * The attempts of one operation under one deadline: the one place that
 * decides to try again or give up (see the module's comment). An operation
 * may be tried in several ways (a write alone, then in a batch, then alone
 * again): each is an Attempt that `run` drives, and the deadline and the
 * retries so far are the operation's, whichever way it went.
 */
export class Attempts {
  /** The retried failure of the last attempt, if it had one. */
  private failed: ServiceError | undefined;
  private retries = 0;

  /**
   * `deadline` ends the operation (undefined: never); `budgetMs` names the
   * time in errors; `connected` says whether the channel has a connection to
   * the server now.
   */
  constructor(
    readonly deadline: Date | undefined,
    private readonly budgetMs: number | undefined,
    private readonly policy: RetryPolicy,
    private readonly connected: () => boolean,
  ) {}

  /**
   * Runs `attempt` until it succeeds, fails for good, or the deadline
   * passes. `failed` is a failure this operation already had another way
   * (its place in a batch, a watch stream that broke): it is judged first,
   * as if `attempt` had failed so.
   *
   * @throws SessionServiceError (see errors.ts) for the failure that ended
   *   the operation; when the deadline passed while the server was
   *   unavailable, the last retried failure's (see the module's comment).
   */
  async run<T>(attempt: Attempt<T>, failed?: ServiceError): Promise<T> {
    if (failed !== undefined) {
      this.judge(failed);
    }
    for (;;) {
      if (this.failed !== undefined) {
        await this.backOff(this.failed);
      }
      try {
        return await attempt(this.deadline, this.failed !== undefined);
      } catch (error) {
        if (!isServiceError(error)) {
          throw error;
        }
        this.judge(error);
      }
    }
  }

  /**
   * The error of an operation `what` whose deadline passed before any
   * attempt was made: unavailable if the channel has no connection (the
   * server is down or unreachable), a timeout if it has one (too slow).
   */
  outOfTime(what: string): SessionServiceError {
    const spent = this.budgetMs === undefined ? "its time budget" : `${Math.round(this.budgetMs)} ms`;
    const [code, details] = this.connected()
      ? [Code.DEADLINE_EXCEEDED, `${what} did not finish within ${spent}`]
      : [Code.UNAVAILABLE, `${what}: the server could not be reached within ${spent}`];
    return errorFromRpc(statusError(code, details));
  }

  /** Keeps a retried failure for the next attempt, or throws the error that ends the operation. */
  private judge(error: ServiceError): void {
    if (RETRIED_CODES.has(error.code)) {
      this.failed = error;
    } else if (error.code === Code.DEADLINE_EXCEEDED && this.failed !== undefined) {
      throw errorFromRpc(this.failed); // still unavailable when the time ran out
    } else if (error.code === Code.DEADLINE_EXCEEDED && !this.connected()) {
      throw unreachable(this.budgetMs, error);
    } else {
      throw errorFromRpc(error);
    }
  }

  /** Waits before the next attempt; throws `failed`'s error if the deadline passes first. */
  private async backOff(failed: ServiceError): Promise<void> {
    this.retries += 1;
    const growth = this.policy.multiplier ** Math.min(this.retries - 1, 64);
    const ceiling = Math.min(this.policy.maxBackoffMs, this.policy.initialBackoffMs * growth);
    const left = this.deadline === undefined ? Infinity : this.deadline.getTime() - Date.now();
    const wait = Math.min(Math.random() * ceiling, left);
    if (wait > 0) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    if (this.deadline !== undefined && Date.now() >= this.deadline.getTime()) {
      throw errorFromRpc(failed);
    }
  }
}

function unreachable(budgetMs: number | undefined, error: ServiceError): SessionServiceError {
  const spent = budgetMs === undefined ? "its time budget" : `${Math.round(budgetMs)} ms`;
  return errorFromRpc({
    ...error,
    code: Code.UNAVAILABLE,
    details: `the server could not be reached within ${spent}: ${error.details}`,
  });
}

/**
 * Runs `attempt(deadline, waitForReady)` as one operation whose deadline is
 * `budgetMs` away (none if undefined); see Attempts.run, which `failed` is
 * passed to.
 */
export function callWithRetry<T>(
  attempt: Attempt<T>,
  budgetMs: number | undefined,
  policy: RetryPolicy,
  connected: () => boolean,
  failed?: ServiceError, // the last failure with a retried code
): Promise<T> {
  return new Attempts(deadlineIn(budgetMs), budgetMs, policy, connected).run(attempt, failed);
}
