/**
 * Calling one RPC within a time budget, retrying UNAVAILABLE (and CANCELLED) with backoff.
 *
 * Retrying is safe for every RPC of the contract: reads change nothing, a
 * delete of a missing session succeeds, appends are idempotent by event id,
 * and the client picks session ids itself, so a repeated create is recognised.
 *
 * CANCELLED is retried like UNAVAILABLE: this client never cancels a call
 * itself, so the status comes from the server, which cancels the calls it
 * received but had not started when it shuts down.
 */
import { status as Code, type ServiceError } from "@grpc/grpc-js";

import { errorFromRpc } from "./errors.js";

/** How UNAVAILABLE (and CANCELLED) calls are retried: exponential backoff with full jitter. */
export interface RetryPolicy {
  /** Attempts in all, the first included; 1 disables retries. */
  maxAttempts: number;
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
  maxAttempts: 5,
  initialBackoffMs: 50,
  maxBackoffMs: 2000,
  multiplier: 2,
};

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number";
}

/**
 * Runs `attempt(deadline)` until it succeeds, fails with something other than
 * UNAVAILABLE, or runs out of attempts or time; every attempt shares one
 * deadline `budgetMs` away (none if undefined).
 *
 * @throws SessionServiceError (see errors.ts) for the last failure.
 */
export async function callWithRetry<T>(
  attempt: (deadline: Date | undefined) => Promise<T>,
  budgetMs: number | undefined,
  policy: RetryPolicy,
): Promise<T> {
  const deadline = budgetMs === undefined ? undefined : new Date(Date.now() + budgetMs);
  for (let number = 1; ; number++) {
    try {
      return await attempt(deadline);
    } catch (error) {
      if (!isServiceError(error)) {
        throw error;
      }
      if (!RETRIED_CODES.has(error.code) || number >= policy.maxAttempts) {
        throw errorFromRpc(error);
      }
      const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.multiplier ** (number - 1));
      const wait = Math.random() * ceiling;
      if (deadline !== undefined && Date.now() + wait >= deadline.getTime()) {
        throw errorFromRpc(error);
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
