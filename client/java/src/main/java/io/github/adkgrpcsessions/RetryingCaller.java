package io.github.adkgrpcsessions;

import adk_grpc_sessions.v1.SessionServiceGrpc.SessionServiceBlockingStub;
import io.grpc.ConnectivityState;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Calling RPCs within one total time budget per method, riding out UNAVAILABLE (and CANCELLED by
 * the server).
 *
 * <p>A call is tried until it succeeds, fails for a reason a retry cannot change, or its budget
 * is spent; the number of attempts never ends it. A server that restarts is down for a second or
 * two, and every call made meanwhile must see it back, not an error.
 *
 * <p>What gRPC does, and why the rest is written here:
 *
 * <ul>
 *   <li>Waiting for the server to be back is gRPC's: every attempt after a failed one is made
 *       {@code withWaitForReady()}, so while the channel reconnects it waits (within what remains
 *       of the budget) instead of failing at once. The first attempt is not, so that a server that
 *       cannot be reached is reported with gRPC's reason the first time.
 *   <li>Finding the server when it is back is the channel's reconnect backoff, paced by {@link
 *       ReconnectPacer} to try every 0.1 to 0.5 s, and cut short before each retry.
 *   <li>Trying a call again is this class's. gRPC's retry policy (service config) ends after an
 *       attempt count, at most 5, not after a time budget, and under this loop it would multiply
 *       its attempts; it is disabled on the channel.
 * </ul>
 *
 * <p>Retrying is safe for every RPC of the contract: reads change nothing, a delete of a missing
 * session succeeds, appends are idempotent by event id, and the client picks session ids itself,
 * so a repeated create is recognised.
 *
 * <p>When the budget runs out while the server is unreachable (an attempt waiting for the
 * connection meets the deadline, or earlier attempts failed with a retried code), the call throws
 * {@link SessionServiceUnavailableException}, as the server being down is the cause; a server that
 * is reachable but too slow gives {@link SessionServiceTimeoutException}.
 */
final class RetryingCaller {
  /**
   * One try of an operation, within {@code deadline} (null: none), waiting for the connection if
   * {@code waitForReady}; it returns the result or throws the StatusRuntimeException it failed
   * with.
   */
  @FunctionalInterface
  interface Attempt<T> {
    T run(@Nullable Deadline deadline, boolean waitForReady);
  }

  private final ManagedChannel channel;
  private final SessionServiceBlockingStub stub;
  private final Duration timeout;
  private final RetryPolicy retry;

  RetryingCaller(
      ManagedChannel channel, SessionServiceBlockingStub stub, Duration timeout, RetryPolicy retry) {
    this.channel = channel;
    this.stub = stub;
    this.timeout = timeout;
    this.retry = retry;
  }

  /** The deadline of one public method's calls: its whole budget, or none for a zero timeout. */
  @Nullable Deadline budget() {
    return timeout.isZero() ? null : Deadline.after(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /**
   * Runs {@code rpc} until it succeeds, fails for good, or {@code deadline} passes.
   *
   * @throws RuntimeException the exception of {@link Errors#fromStatus} for the failure that
   *     ended the call
   */
  <T> T call(@Nullable Deadline deadline, Function<SessionServiceBlockingStub, T> rpc) {
    return run(deadline, (until, waitForReady) -> rpc.apply(stub(until, waitForReady)), null);
  }

  /** The blocking stub of one attempt: within {@code deadline}, waiting for the connection if asked. */
  SessionServiceBlockingStub stub(@Nullable Deadline deadline, boolean waitForReady) {
    SessionServiceBlockingStub attemptStub = deadline == null ? stub : stub.withDeadline(deadline);
    return waitForReady ? attemptStub.withWaitForReady() : attemptStub;
  }

  /**
   * Runs {@code attempt} until it succeeds, fails for good, or {@code deadline} passes: the one
   * loop that decides, after each failed attempt, whether to try again or give up, whichever way
   * the operation travels (a call, a message on the append stream, a place in a batch).
   *
   * @param failedBefore a failure this operation already had another way (its place in a batch):
   *     judged first, as if {@code attempt} had failed so, or null
   * @throws RuntimeException the exception of {@link Errors#fromStatus} for the failure that
   *     ended the operation
   */
  <T> T run(
      @Nullable Deadline deadline, Attempt<T> attempt, @Nullable StatusRuntimeException failedBefore) {
    StatusRuntimeException failed = null; // the last failure with a retried code
    if (failedBefore != null) {
      failed = judge(failedBefore, null);
    }
    for (int retries = 1; ; retries++) {
      if (failed != null) {
        if (!pause(deadline, retry.backoffNanos(retries))) {
          throw Errors.fromStatus(failed);
        }
        channel.resetConnectBackoff();
      }
      try {
        return attempt.run(deadline, failed != null);
      } catch (StatusRuntimeException failure) {
        failed = judge(failure, failed);
      }
    }
  }

  /**
   * The failure to retry after, if {@code failure} is retried; else throws the exception that ends
   * the operation ({@code failed}: the last retried failure before it, or null).
   */
  private StatusRuntimeException judge(
      StatusRuntimeException failure, @Nullable StatusRuntimeException failed) {
    Status.Code code = failure.getStatus().getCode();
    if (retried(code)) {
      return failure;
    } else if (code == Status.Code.DEADLINE_EXCEEDED && failed != null) {
      throw Errors.fromStatus(failed); // still unavailable when the time ran out
    } else if (code == Status.Code.DEADLINE_EXCEEDED
        && channel.getState(false) != ConnectivityState.READY) {
      throw Errors.fromStatus(unreachable(failure));
    } else {
      throw Errors.fromStatus(failure);
    }
  }

  /**
   * The exception of an operation {@code what} whose deadline passed before it was sent (it
   * waited for a free call): unavailable if the channel has no connection, else a timeout.
   */
  RuntimeException outOfTime(String what) {
    StatusRuntimeException late =
        Status.DEADLINE_EXCEEDED
            .withDescription(what + " did not finish within its time budget")
            .asRuntimeException();
    return Errors.fromStatus(
        channel.getState(false) == ConnectivityState.READY ? late : unreachable(late));
  }

  /**
   * Whether a failed attempt may be tried again: on UNAVAILABLE, and on CANCELLED while the
   * caller has not cancelled, for then the server did (a server shutting down cancels the calls
   * it received but had not started). Either may have taken effect or not, which an idempotent
   * retry makes harmless.
   */
  private static boolean retried(Status.Code code) {
    return code == Status.Code.UNAVAILABLE
        || (code == Status.Code.CANCELLED && !Context.current().isCancelled());
  }

  /** Waits up to {@code nanos} within the deadline; false if the deadline or a cancel came first. */
  private static boolean pause(@Nullable Deadline deadline, long nanos) {
    long wait = deadline == null ? nanos : Math.min(nanos, deadline.timeRemaining(TimeUnit.NANOSECONDS));
    long until = System.nanoTime() + Math.max(wait, 0);
    while (System.nanoTime() < until && !Context.current().isCancelled()) {
      if (Thread.currentThread().isInterrupted()) {
        return false;
      }
      LockSupport.parkNanos(until - System.nanoTime());
    }
    return !Context.current().isCancelled() && (deadline == null || !deadline.isExpired());
  }

  private static StatusRuntimeException unreachable(StatusRuntimeException failure) {
    return Status.UNAVAILABLE
        .withDescription(
            "the server could not be reached within the call's time budget: "
                + failure.getStatus().getDescription())
        .asRuntimeException();
  }
}
