package io.github.adkgrpcsessions;

import adk_grpc_sessions.v1.SessionServiceGrpc;
import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventResponse;
import adk_grpc_sessions.v1.SessionServiceOuterClass.CreateSessionRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.CreateSessionResult;
import io.grpc.Channel;
import io.grpc.Deadline;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jspecify.annotations.Nullable;

/**
 * A channel's writes: its appends and its creates, each kind through a {@link WritePipeline} of
 * its own, both sharing one {@link AppendStream} for their lone writes, and the threads their
 * batches are sent on.
 */
final class Writes implements AutoCloseable {
  /**
   * How writes share calls.
   *
   * @param maxInFlight calls of one kind of write open at once; 0 sends every write at once in a
   *     call of its own
   * @param maxPerCall most writes in one batch call (1 to 1000)
   * @param stream whether a lone write goes on an AppendEventStream kept open
   */
  record Limits(int maxInFlight, int maxPerCall, boolean stream) {
    /** The limits of a service built without any: 8 calls, 16 writes a call, the stream on. */
    static final Limits DEFAULT =
        new Limits(WritePipeline.DEFAULT_MAX_IN_FLIGHT, WritePipeline.DEFAULT_MAX_PER_CALL, true);

    /** Checks the limits; IllegalArgumentException naming the one out of range. */
    Limits {
      if (maxInFlight < 0) {
        throw new IllegalArgumentException("maxAppendsInFlight must be at least 0, got " + maxInFlight);
      }
      if (maxPerCall < 1 || maxPerCall > WritePipeline.MAX_BATCH_WRITES) {
        throw new IllegalArgumentException(
            "maxAppendsPerCall must be 1 to " + WritePipeline.MAX_BATCH_WRITES + ", got " + maxPerCall);
      }
    }
  }

  private final ExecutorService sender;
  private final @Nullable AppendStream stream;
  private final WritePipeline<AppendEventRequest, AppendEventResponse> appends;
  private final WritePipeline<CreateSessionRequest, CreateSessionResult> creates;

  /** Writes on {@code channel} through {@code caller}, sharing calls as {@code limits} say. */
  Writes(Channel channel, RetryingCaller caller, Limits limits) {
    this.sender =
        Executors.newCachedThreadPool(
            task -> {
              Thread thread = new Thread(task, "adk-grpc-sessions-writes");
              thread.setDaemon(true);
              return thread;
            });
    this.stream = limits.stream() ? new AppendStream(SessionServiceGrpc.newStub(channel)) : null;
    this.appends =
        new WritePipeline<>(
            WriteRoute.appends(caller, stream), caller, sender, limits.maxInFlight(), limits.maxPerCall());
    this.creates =
        new WritePipeline<>(
            WriteRoute.creates(caller, stream), caller, sender, limits.maxInFlight(), limits.maxPerCall());
  }

  /** Stores one append within {@code deadline}; throws what AppendEvent alone would. */
  AppendEventResponse append(@Nullable Deadline deadline, AppendEventRequest request) {
    return appends.send(deadline, request);
  }

  /**
   * Makes one create within {@code deadline}; throws what CreateSession alone would. Its result
   * is the response, or "created" (the id alone) when it went in a batch whose response had no
   * room for the session.
   */
  CreateSessionResult create(@Nullable Deadline deadline, CreateSessionRequest request) {
    return creates.send(deadline, request);
  }

  /** Ends the stream and the batch threads. */
  @Override
  public void close() {
    if (stream != null) {
      stream.close();
    }
    sender.shutdown();
  }
}
