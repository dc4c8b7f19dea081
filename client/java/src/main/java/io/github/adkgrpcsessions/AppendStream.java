package io.github.adkgrpcsessions;

import adk_grpc_sessions.v1.SessionServiceGrpc.SessionServiceStub;
import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventResponse;
import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventResult;
import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventStreamRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventStreamResponse;
import adk_grpc_sessions.v1.SessionServiceOuterClass.CreateSessionRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.CreateSessionResult;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * Lone appends and creates sent on one AppendEventStream kept open, one at a time.
 *
 * <p>A unary call's own machinery (on both sides) is most of what a lone append or create costs,
 * far more than one more message on a stream that is already open. So a write that goes alone is
 * sent as a message on a stream that stays open between writes.
 *
 * <p>One write at a time: a write {@link #take takes} the stream and {@link #release releases} it
 * once its answer is read; a write that finds it taken goes in a call of its own. A write that
 * runs out of time drops the stream (its answer may still come, and would answer the next write);
 * so does any failure of the stream itself, and the next write opens a new one. A stream the
 * server ended (it is draining) is noticed and replaced before it is used.
 *
 * <p>Each send is one attempt of {@link RetryingCaller#run}, as a call is: a write that failed on
 * the stream (the server went away, say) is sent again on a new stream after a backoff, within
 * the same time budget. That stream is opened wait-for-ready, so while the server is down it
 * waits for the connection instead of failing and being replaced again at once: reopening never
 * spins. Streams are opened in the root gRPC context, as they outlive the call that opens them.
 */
final class AppendStream implements AutoCloseable {
  private final SessionServiceStub stub;
  private final AtomicBoolean taken = new AtomicBoolean();
  private volatile @Nullable Opened opened; // written by the write holding the stream, and by close

  /** Opens streams through {@code stub} (on first use). */
  AppendStream(SessionServiceStub stub) {
    this.stub = stub;
  }

  /** Takes the stream for one write; false if another write has it. */
  boolean take() {
    return taken.compareAndSet(false, true);
  }

  /** Gives back the stream {@link #take} took. */
  void release() {
    taken.set(false);
  }

  /**
   * Sends one append on the stream, which the caller has taken, and returns its response.
   *
   * @throws StatusRuntimeException the append's own failure, or the stream's
   */
  AppendEventResponse append(AppendEventRequest request, @Nullable Deadline deadline, boolean waitForReady) {
    AppendEventStreamRequest message = AppendEventStreamRequest.newBuilder().setAppend(request).build();
    AppendEventResult result = send(message, "AppendEvent", deadline, waitForReady).getResult();
    if (result.hasResponse()) {
      return result.getResponse();
    }
    throw Errors.ofResult(result.getError());
  }

  /**
   * Sends one create on the stream, which the caller has taken, and returns its result (never
   * its error).
   *
   * @throws StatusRuntimeException the create's own failure, or the stream's
   */
  CreateSessionResult create(CreateSessionRequest request, @Nullable Deadline deadline, boolean waitForReady) {
    AppendEventStreamRequest message = AppendEventStreamRequest.newBuilder().setCreate(request).build();
    CreateSessionResult result = send(message, "CreateSession", deadline, waitForReady).getCreateResult();
    if (result.hasError()) {
      throw Errors.ofResult(result.getError());
    }
    return result;
  }

  /** Ends the stream, if one is open. */
  @Override
  public void close() {
    drop();
  }

  /** Sends {@code message} ({@code what}: the call it stands for) and reads its answer. */
  private AppendEventStreamResponse send(
      AppendEventStreamRequest message, String what, @Nullable Deadline deadline, boolean waitForReady) {
    Opened stream = opened;
    if (stream == null || stream.ended()) {
      stream = opened = open(waitForReady);
    }
    CompletableFuture<AppendEventStreamResponse> answer = stream.expect();
    // The caller giving up (its Single disposed of) ends the wait; the stream is then dropped.
    Context.CancellationListener cancelled =
        context -> answer.completeExceptionally(Status.CANCELLED.withDescription(what + " was cancelled").asRuntimeException());
    Context.current().addListener(cancelled, Runnable::run);
    try {
      stream.write(message);
      return deadline == null
          ? answer.get()
          : answer.get(deadline.timeRemaining(TimeUnit.NANOSECONDS), TimeUnit.NANOSECONDS);
    } catch (TimeoutException late) {
      drop();
      throw Status.DEADLINE_EXCEEDED
          .withDescription(what + " did not finish within its time budget")
          .asRuntimeException();
    } catch (ExecutionException failed) {
      drop();
      throw failed.getCause() instanceof StatusRuntimeException failure
          ? failure
          : Status.fromThrowable(failed.getCause()).asRuntimeException();
    } catch (InterruptedException interrupted) {
      drop();
      Thread.currentThread().interrupt();
      throw Status.CANCELLED.withDescription(what + " was interrupted").asRuntimeException();
    } catch (RuntimeException failure) {
      drop();
      throw failure;
    } finally {
      Context.current().removeListener(cancelled);
    }
  }

  private Opened open(boolean waitForReady) {
    Opened stream = new Opened();
    SessionServiceStub opener = waitForReady ? stub.withWaitForReady() : stub;
    Context.ROOT.run(() -> opener.appendEventStream(stream));
    return stream;
  }

  private void drop() {
    Opened stream = opened;
    opened = null;
    if (stream != null) {
      stream.cancel();
    }
  }

  /** One AppendEventStream call: its requests, and the answer awaited. */
  private static final class Opened
      implements ClientResponseObserver<AppendEventStreamRequest, AppendEventStreamResponse> {
    private @Nullable ClientCallStreamObserver<AppendEventStreamRequest> requests;
    private @Nullable CompletableFuture<AppendEventStreamResponse> pending;
    private @Nullable StatusRuntimeException endedWith;

    @Override
    public void beforeStart(ClientCallStreamObserver<AppendEventStreamRequest> requests) {
      this.requests = requests;
    }

    /** Whether the stream has ended (failed, or been ended by the server): it takes no more. */
    synchronized boolean ended() {
      return endedWith != null;
    }

    /** The answer to the next request written. */
    synchronized CompletableFuture<AppendEventStreamResponse> expect() {
      CompletableFuture<AppendEventStreamResponse> answer = new CompletableFuture<>();
      pending = answer;
      if (endedWith != null) {
        answer.completeExceptionally(endedWith);
      }
      return answer;
    }

    void write(AppendEventStreamRequest message) {
      try {
        requests().onNext(message);
      } catch (RuntimeException ended) {
        // The call ended as the request left: it was never sent, and sending it again is safe.
        throw Status.UNAVAILABLE
            .withDescription("the append stream ended before the request was sent")
            .withCause(ended)
            .asRuntimeException();
      }
    }

    void cancel() {
      requests().cancel("the append stream is dropped", null);
    }

    @Override
    public synchronized void onNext(AppendEventStreamResponse answer) {
      if (pending != null) {
        pending.complete(answer);
      }
    }

    @Override
    public synchronized void onError(Throwable failure) {
      end(
          failure instanceof StatusRuntimeException status
              ? status
              : Status.fromThrowable(failure).asRuntimeException());
    }

    @Override
    public synchronized void onCompleted() {
      // A draining server ends its streams: the request was not read, sending it again is safe.
      end(
          Status.UNAVAILABLE
              .withDescription("the server ended the append stream before answering (it is shutting down)")
              .asRuntimeException());
    }

    private void end(StatusRuntimeException why) {
      endedWith = why;
      if (pending != null) {
        pending.completeExceptionally(why);
      }
    }

    private ClientCallStreamObserver<AppendEventStreamRequest> requests() {
      ClientCallStreamObserver<AppendEventStreamRequest> started = requests;
      if (started == null) {
        throw new IllegalStateException("the append stream was not started");
      }
      return started;
    }
  }
}
