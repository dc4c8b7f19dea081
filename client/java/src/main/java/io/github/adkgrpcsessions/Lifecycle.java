package io.github.adkgrpcsessions;

import adk_grpc_sessions.v1.SessionServiceOuterClass.CloseSessionRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.EraseUserRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.UpdateSessionRequest;
import com.google.protobuf.FieldMask;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The session lifecycle's calls: setting or removing an expiry, closing a session once the
 * service's appends to it under way have ended, and erasing a user. Each method makes its calls
 * within the one time budget of the public method it serves ({@link MethodCalls}).
 */
final class Lifecycle {
  /** How often a close waiting for appends under way looks whether it was cancelled. */
  private static final long CANCEL_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  private final AppendsUnderWay appends;

  Lifecycle(AppendsUnderWay appends) {
    this.appends = appends;
  }

  /** UpdateSession of the session's expiry: the field mask names {@code path}. */
  SessionInfo updateExpiry(
      MethodCalls calls,
      String appName,
      String userId,
      String sessionId,
      String path,
      Consumer<adk_grpc_sessions.v1.SessionServiceOuterClass.Session.Builder> expiry) {
    var message =
        adk_grpc_sessions.v1.SessionServiceOuterClass.Session.newBuilder()
            .setAppName(appName)
            .setUserId(userId)
            .setSessionId(sessionId.strip());
    expiry.accept(message);
    UpdateSessionRequest request =
        UpdateSessionRequest.newBuilder()
            .setSession(message)
            .setUpdateMask(FieldMask.newBuilder().addPaths(path))
            .build();
    return SessionInfo.of(calls.call(stub -> stub.updateSession(request)).getSession());
  }

  /** Closes a session once this service's appends to it under way have ended. */
  SessionInfo close(MethodCalls calls, String appName, String userId, String sessionId) {
    String id = sessionId.strip();
    for (CompletableFuture<Void> append : appends.underWay(appName, userId, id)) {
      awaitEnd(calls.deadline(), append);
    }
    CloseSessionRequest request =
        CloseSessionRequest.newBuilder().setAppName(appName).setUserId(userId).setSessionId(id).build();
    return SessionInfo.of(calls.call(stub -> stub.closeSession(request)).getSession());
  }

  /** Waits for an append under way to end, within {@code deadline} and until cancelled. */
  private static void awaitEnd(@Nullable Deadline deadline, CompletableFuture<Void> append) {
    while (true) {
      if (Context.current().isCancelled()) {
        throw Errors.fromStatus(
            Status.CANCELLED.withDescription("the close was cancelled").asRuntimeException());
      }
      long wait = CANCEL_CHECK_NANOS;
      if (deadline != null) {
        if (deadline.isExpired()) {
          throw Errors.fromStatus(
              Status.DEADLINE_EXCEEDED
                  .withDescription("the session's appends under way did not end within the call's time budget")
                  .asRuntimeException());
        }
        wait = Math.min(wait, deadline.timeRemaining(TimeUnit.NANOSECONDS));
      }
      try {
        append.get(Math.max(wait, 1), TimeUnit.NANOSECONDS);
        return;
      } catch (TimeoutException notYet) {
        // Look at the deadline and the cancellation again.
      } catch (ExecutionException ended) {
        return; // its outcome is its caller's; this only waits for it to end
      } catch (InterruptedException interrupted) {
        Thread.currentThread().interrupt();
        throw Errors.fromStatus(
            Status.CANCELLED.withDescription("interrupted").asRuntimeException());
      }
    }
  }

  /** Erases one user of an app; the number of sessions the call deleted from storage. */
  long eraseUser(MethodCalls calls, String appName, String userId) {
    EraseUserRequest request = EraseUserRequest.newBuilder().setAppName(appName).setUserId(userId).build();
    return calls.call(stub -> stub.eraseUser(request)).getDeletedSessions();
  }
}
