package io.github.adkgrpcsessions;

import com.google.protobuf.MessageLite;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * Which way each write of one kind (an append, a create) goes: alone, or in a batch.
 *
 * <p>A write call's gRPC machinery costs more, on both sides, than the write it carries. So a
 * write made while no call of its kind is open is sent at once, on the caller's thread, on its
 * own (how is its {@link WriteRoute}'s: an append on the append stream, say). A write made while
 * calls of its kind are open waits in a queue, and each call that ends takes what waits into
 * batch calls (BatchAppendEvents, BatchCreateSessions) of at most {@code maxPerCall} writes and
 * {@link #MAX_BATCH_BYTES}, at most {@code maxInFlight} calls open at once, sent on this
 * pipeline's own threads; a full call's worth waiting goes at once if a call is free. There is
 * no batching window and no timer: batches form from the writes made while calls are open, as
 * the Python client's form from the writes of one turn of its event loop.
 *
 * <p>Each write keeps its own outcome: its caller gets its result, or the exception the write
 * alone would have thrown, and each keeps its own deadline. One still waiting when its deadline
 * passes fails as a call would have (unavailable while the server is unreachable) and is never
 * sent; once sent, the send settles it by that deadline. A batch is tried (and retried whole, on
 * UNAVAILABLE) until the earliest deadline of its writes; a write the batch answered with a
 * failure of its own goes on alone as the next attempt of its own operation, which judges that
 * failure first (so a create retried whole after a lost answer meets ALREADY_EXISTS exactly as a
 * lone create retried would). Batches are sent in the root gRPC context: a caller that gives up
 * (its Single disposed of) stops waiting, and a write of its still queued is never sent, but no
 * other caller's write is cancelled with it.
 *
 * @param <Q> a write's request
 * @param <R> what a write comes to
 */
final class WritePipeline<Q extends MessageLite, R> {
  /** Calls of one kind of write open at once, by default. */
  static final int DEFAULT_MAX_IN_FLIGHT = 8;

  /**
   * Most writes in one call, by default: small enough that a burst goes in several calls, which
   * the client, the server and the database then work on at once; large enough that a call's own
   * cost is shared.
   */
  static final int DEFAULT_MAX_PER_CALL = 16;

  /** Most request bytes in one batch: well under the server's default message limit (32 MiB). */
  static final int MAX_BATCH_BYTES = 32 * 1024 * 1024 / 8;

  /** The contract's most writes in one batch call. */
  static final int MAX_BATCH_WRITES = 1000;

  private final WriteRoute<Q, R> route;
  private final RetryingCaller caller;
  private final Executor sender;
  private final int maxInFlight;
  private final int maxPerCall;

  private final Object lock = new Object();
  private final ArrayDeque<Waiting<Q, R>> queue = new ArrayDeque<>(); // guarded by lock
  private int inFlight; // guarded by lock

  /**
   * Writes along {@code route}, each retried by {@code caller}; batches sent on {@code sender}'s
   * threads. {@code maxInFlight} 0 sends every write at once in a call of its own.
   */
  WritePipeline(
      WriteRoute<Q, R> route, RetryingCaller caller, Executor sender, int maxInFlight, int maxPerCall) {
    this.route = route;
    this.caller = caller;
    this.sender = sender;
    this.maxInFlight = maxInFlight;
    this.maxPerCall = maxPerCall;
  }

  /**
   * Makes one write within {@code deadline} (null: none), on the calling thread or in a batch.
   *
   * @throws RuntimeException what the write alone would throw (see {@link RetryingCaller#run})
   */
  R send(@Nullable Deadline deadline, Q request) {
    Waiting<Q, R> waiting = null;
    List<Waiting<Q, R>> full = null;
    synchronized (lock) {
      if (maxInFlight > 0 && inFlight > 0) {
        waiting = new Waiting<>(request, deadline);
        queue.add(waiting);
        if (queue.size() >= maxPerCall && inFlight < maxInFlight) {
          full = takeBatch();
          inFlight++;
        }
      } else {
        inFlight++;
      }
    }
    if (full != null) {
      launch(full);
    }
    if (waiting != null) {
      return await(waiting);
    }
    try {
      return alone(deadline, request, null);
    } finally {
      ended();
    }
  }

  /** Waits for a queued write's answer; see the class's docstring for its deadline. */
  private R await(Waiting<Q, R> waiting) {
    Context.CancellationListener cancelled =
        context -> waiting.answer.completeExceptionally(cancelled(route.method() + " was cancelled"));
    Context.current().addListener(cancelled, Runnable::run);
    try {
      try {
        return waiting.deadline == null
            ? waiting.answer.get()
            : waiting.answer.get(waiting.deadline.timeRemaining(TimeUnit.NANOSECONDS), TimeUnit.NANOSECONDS);
      } catch (TimeoutException late) {
        synchronized (lock) {
          if (queue.remove(waiting)) {
            throw caller.outOfTime(route.method());
          }
        }
        return waiting.answer.get(); // sent: the send settles it by its deadline
      }
    } catch (ExecutionException failed) {
      throw failed.getCause() instanceof RuntimeException failure
          ? failure
          : new IllegalStateException(failed.getCause());
    } catch (InterruptedException interrupted) {
      Thread.currentThread().interrupt();
      throw cancelled(route.method() + " was interrupted");
    } finally {
      Context.current().removeListener(cancelled);
      synchronized (lock) {
        queue.remove(waiting); // given up while queued: never sent
      }
    }
  }

  /** One write on its own, as its own operation (after {@code failedBefore}, if its batch failed it). */
  private R alone(
      @Nullable Deadline deadline, Q request, @Nullable StatusRuntimeException failedBefore) {
    return caller.run(
        deadline, (until, waitForReady) -> route.alone(request, until, waitForReady), failedBefore);
  }

  /** A call ended: what waits goes in batches while calls are free. */
  private void ended() {
    List<List<Waiting<Q, R>>> batches;
    synchronized (lock) {
      inFlight--;
      batches = takeBatchesForFreeCalls();
    }
    for (List<Waiting<Q, R>> batch : batches) {
      launch(batch);
    }
  }

  /**
   * While calls are free, the batches that wait, each now holding a call of {@code inFlight}; called
   * under {@code lock}.
   */
  private List<List<Waiting<Q, R>>> takeBatchesForFreeCalls() {
    List<List<Waiting<Q, R>>> batches = new ArrayList<>();
    while (!queue.isEmpty() && inFlight < maxInFlight) {
      List<Waiting<Q, R>> batch = takeBatch();
      if (!batch.isEmpty()) {
        inFlight++;
        batches.add(batch);
      }
    }
    return batches;
  }

  /** Sends {@code batch}, which holds a call of {@code inFlight}, on a sender thread. */
  private void launch(List<Waiting<Q, R>> batch) {
    try {
      sender.execute(() -> Context.ROOT.run(() -> sendBatches(batch)));
    } catch (RejectedExecutionException closed) {
      // The service is closed: nothing waiting will be sent.
      RuntimeException failure =
          Errors.fromStatus(Status.UNAVAILABLE.withDescription("the service is closed").asRuntimeException());
      fail(batch, failure);
      synchronized (lock) {
        inFlight--;
        fail(new ArrayList<>(queue), failure);
        queue.clear();
      }
    }
  }

  /** The writes at the head of the queue that fit in one call, their callers still waiting. */
  private List<Waiting<Q, R>> takeBatch() {
    List<Waiting<Q, R>> batch = new ArrayList<>();
    long size = 0;
    while (!queue.isEmpty() && batch.size() < maxPerCall) {
      Waiting<Q, R> next = queue.peek();
      if (next.answer.isDone()) { // its caller gave up
        queue.poll();
        continue;
      }
      if (!batch.isEmpty() && size + next.size > MAX_BATCH_BYTES) {
        break;
      }
      size += next.size;
      batch.add(queue.poll());
    }
    return batch;
  }

  /**
   * Sends {@code first}, then, while writes wait, the next batch on the same call's turn (and
   * the batches for calls freed meanwhile on threads of their own); on a sender thread.
   */
  private void sendBatches(List<Waiting<Q, R>> first) {
    List<Waiting<Q, R>> batch = first;
    while (!batch.isEmpty()) {
      try {
        send(batch);
      } catch (RuntimeException unexpected) {
        fail(batch, unexpected);
      } catch (Error unexpected) {
        fail(batch, new IllegalStateException(unexpected));
        ended();
        throw unexpected;
      }
      List<List<Waiting<Q, R>>> more;
      synchronized (lock) {
        batch = takeBatch();
        if (batch.isEmpty()) {
          inFlight--;
        }
        more = takeBatchesForFreeCalls();
      }
      for (List<Waiting<Q, R>> next : more) {
        launch(next);
      }
    }
  }

  private void send(List<Waiting<Q, R>> batch) {
    if (batch.size() == 1) {
      sendAlone(batch.get(0), null);
      return;
    }
    Deadline earliest = null;
    List<Q> requests = new ArrayList<>(batch.size());
    for (Waiting<Q, R> waiting : batch) {
      requests.add(waiting.request);
      if (waiting.deadline != null) {
        earliest = earliest == null ? waiting.deadline : earliest.minimum(waiting.deadline);
      }
    }
    List<WriteRoute.Outcome<R>> outcomes;
    try {
      outcomes =
          caller.run(earliest, (until, waitForReady) -> route.together(requests, until, waitForReady), null);
    } catch (RuntimeException failure) { // every caller hears of it
      fail(batch, failure);
      return;
    }
    List<CompletableFuture<Void>> alone = new ArrayList<>();
    for (int i = 0; i < batch.size(); i++) {
      Waiting<Q, R> waiting = batch.get(i);
      WriteRoute.Outcome<R> outcome = outcomes.get(i);
      if (outcome.failure() != null) {
        alone.add(CompletableFuture.runAsync(() -> Context.ROOT.run(() -> sendAlone(waiting, outcome.failure())), sender));
      } else {
        waiting.answer.complete(outcome.result());
      }
    }
    CompletableFuture.allOf(alone.toArray(new CompletableFuture<?>[0])).join();
  }

  /** Sends one write on its own; {@code failed}: the failure its batch answered it with. */
  private void sendAlone(Waiting<Q, R> waiting, @Nullable StatusRuntimeException failed) {
    if (waiting.answer.isDone()) { // its caller gave up
      return;
    }
    try {
      waiting.answer.complete(alone(waiting.deadline, waiting.request, failed));
    } catch (RuntimeException failure) {
      waiting.answer.completeExceptionally(failure);
    }
  }

  private static <Q extends MessageLite, R> void fail(List<Waiting<Q, R>> batch, RuntimeException failure) {
    for (Waiting<Q, R> waiting : batch) {
      waiting.answer.completeExceptionally(failure);
    }
  }

  private static RuntimeException cancelled(String why) {
    return Errors.fromStatus(Status.CANCELLED.withDescription(why).asRuntimeException());
  }

  /** A write waiting for a free call, and where its answer goes. */
  private static final class Waiting<Q extends MessageLite, R> {
    final Q request;
    final int size;
    final @Nullable Deadline deadline;
    final CompletableFuture<R> answer = new CompletableFuture<>();

    Waiting(Q request, @Nullable Deadline deadline) {
      this.request = request;
      this.size = request.getSerializedSize();
      this.deadline = deadline;
    }
  }
}
