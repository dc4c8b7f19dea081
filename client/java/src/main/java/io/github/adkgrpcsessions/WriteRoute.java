package io.github.adkgrpcsessions;

import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventResponse;
import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventResult;
import adk_grpc_sessions.v1.SessionServiceOuterClass.BatchAppendEventsRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.BatchCreateSessionsRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.CreateSessionRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.CreateSessionResult;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * How one kind of write travels, alone and in a batch (see {@link WritePipeline}).
 *
 * <p>{@link #appends}: a lone append on the append stream kept open when it is free, else in an
 * AppendEvent call; appends together in BatchAppendEvents. {@link #creates}: a lone create on the
 * same stream when it is free, else in a CreateSession call; creates together in
 * BatchCreateSessions, whose answer to a create is its response, or its session's id alone
 * ("created") when the batch's response had no room for the session.
 *
 * @param <Q> a write's request
 * @param <R> what a write comes to
 */
interface WriteRoute<Q, R> {
  /** What one write of a batch came to: its result, or the failure the server answered it with. */
  record Outcome<R>(@Nullable R result, @Nullable StatusRuntimeException failure) {}

  /** The RPC of one write alone, naming the write in errors. */
  String method();

  /**
   * One attempt of one write on its own.
   *
   * @throws StatusRuntimeException the attempt failed
   */
  R alone(Q request, @Nullable Deadline deadline, boolean waitForReady);

  /**
   * One attempt of writes in one batch call: the outcome of each, in request order.
   *
   * @throws StatusRuntimeException the call failed as a whole (or was answered short, which no
   *     retry mends)
   */
  List<Outcome<R>> together(List<Q> requests, @Nullable Deadline deadline, boolean waitForReady);

  /** Appends through {@code caller}'s stub; a lone one on {@code stream} when it is free (null: never). */
  static WriteRoute<AppendEventRequest, AppendEventResponse> appends(
      RetryingCaller caller, @Nullable AppendStream stream) {
    return new WriteRoute<>() {
      @Override
      public String method() {
        return "AppendEvent";
      }

      @Override
      public AppendEventResponse alone(
          AppendEventRequest request, @Nullable Deadline deadline, boolean waitForReady) {
        if (stream != null && stream.take()) {
          try {
            return stream.append(request, deadline, waitForReady);
          } finally {
            stream.release();
          }
        }
        return caller.stub(deadline, waitForReady).appendEvent(request);
      }

      @Override
      public List<Outcome<AppendEventResponse>> together(
          List<AppendEventRequest> requests, @Nullable Deadline deadline, boolean waitForReady) {
        BatchAppendEventsRequest batch = BatchAppendEventsRequest.newBuilder().addAllRequests(requests).build();
        List<AppendEventResult> results =
            caller.stub(deadline, waitForReady).batchAppendEvents(batch).getResultsList();
        requireAll(results, requests);
        List<Outcome<AppendEventResponse>> outcomes = new ArrayList<>(results.size());
        for (AppendEventResult result : results) {
          outcomes.add(
              result.hasResponse()
                  ? new Outcome<>(result.getResponse(), null)
                  : new Outcome<>(null, Errors.ofResult(result.getError())));
        }
        return outcomes;
      }
    };
  }

  /**
   * Creates through {@code caller}'s stub; a lone one on {@code stream} when it is free (null:
   * never). A create comes to its CreateSessionResult: the response, or "created" (the id alone).
   */
  static WriteRoute<CreateSessionRequest, CreateSessionResult> creates(
      RetryingCaller caller, @Nullable AppendStream stream) {
    return new WriteRoute<>() {
      @Override
      public String method() {
        return "CreateSession";
      }

      @Override
      public CreateSessionResult alone(
          CreateSessionRequest request, @Nullable Deadline deadline, boolean waitForReady) {
        if (stream != null && stream.take()) {
          try {
            return stream.create(request, deadline, waitForReady);
          } finally {
            stream.release();
          }
        }
        return CreateSessionResult.newBuilder()
            .setResponse(caller.stub(deadline, waitForReady).createSession(request))
            .build();
      }

      @Override
      public List<Outcome<CreateSessionResult>> together(
          List<CreateSessionRequest> requests, @Nullable Deadline deadline, boolean waitForReady) {
        BatchCreateSessionsRequest batch = BatchCreateSessionsRequest.newBuilder().addAllRequests(requests).build();
        List<CreateSessionResult> results =
            caller.stub(deadline, waitForReady).batchCreateSessions(batch).getResultsList();
        requireAll(results, requests);
        List<Outcome<CreateSessionResult>> outcomes = new ArrayList<>(results.size());
        for (CreateSessionResult result : results) {
          outcomes.add(
              result.hasError()
                  ? new Outcome<>(null, Errors.ofResult(result.getError()))
                  : new Outcome<>(result, null));
        }
        return outcomes;
      }
    };
  }

  /** Fails as INTERNAL if a batch was answered with fewer (or more) results than it had writes. */
  private static void requireAll(List<?> results, List<?> requests) {
    if (results.size() != requests.size()) {
      throw Status.INTERNAL
          .withDescription(
              "the server answered a batch of " + requests.size() + " writes with " + results.size() + " results")
          .asRuntimeException();
    }
  }
}
