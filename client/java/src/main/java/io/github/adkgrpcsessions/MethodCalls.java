package io.github.adkgrpcsessions;

import adk_grpc_sessions.v1.SessionServiceGrpc.SessionServiceBlockingStub;
import io.grpc.Deadline;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The RPCs of one public method: every call it makes goes through {@code caller} within the one
 * {@code deadline} of that method's time budget (none for a zero timeout), so the classes doing
 * the work take this instead of a caller and a deadline each.
 */
record MethodCalls(RetryingCaller caller, @Nullable Deadline deadline) {
  /**
   * Runs {@code rpc} on the stub, retried within this method's deadline.
   *
   * @throws RuntimeException see {@link RetryingCaller#call}
   */
  <T> T call(Function<SessionServiceBlockingStub, T> rpc) {
    return caller.call(deadline, rpc);
  }
}
