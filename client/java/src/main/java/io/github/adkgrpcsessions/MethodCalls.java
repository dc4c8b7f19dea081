package io.github.adkgrpcsessions;

import adk_grpc_sessions.v1.SessionServiceGrpc.SessionServiceBlockingStub;
import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventResponse;
import adk_grpc_sessions.v1.SessionServiceOuterClass.CreateSessionRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.CreateSessionResult;
import io.grpc.Deadline;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The RPCs of one public method: every call it makes goes through {@code caller} within the one
 * {@code deadline} of that method's time budget (none for a zero timeout), and every write through
 * {@code writes} within it, so the classes doing the work take this instead of a caller and a
 * deadline each.
 */
record MethodCalls(RetryingCaller caller, Writes writes, @Nullable Deadline deadline) {
  /**
   * Runs {@code rpc} on the stub, retried within this method's deadline.
   *
   * @throws RuntimeException see {@link RetryingCaller#call}
   */
  <T> T call(Function<SessionServiceBlockingStub, T> rpc) {
    return caller.call(deadline, rpc);
  }

  /**
   * Stores one append, alone or in a batch (see {@link WritePipeline}), within this method's
   * deadline.
   *
   * @throws RuntimeException what AppendEvent alone would throw
   */
  AppendEventResponse append(AppendEventRequest request) {
    return writes.append(deadline, request);
  }

  /**
   * Makes one create, alone or in a batch, within this method's deadline: the response, or the
   * session's id alone ("created") when a batch's response had no room for the session.
   *
   * @throws RuntimeException what CreateSession alone would throw
   */
  CreateSessionResult create(CreateSessionRequest request) {
    return writes.create(deadline, request);
  }
}
