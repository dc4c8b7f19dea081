package io.github.adkgrpcsessions;

import adk_grpc_sessions.v1.SessionServiceOuterClass.CreateSessionRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.CreateSessionResult;
import adk_grpc_sessions.v1.SessionServiceOuterClass.GetSessionRequest;
import com.google.adk.sessions.Session;
import com.google.adk.sessions.State;
import io.grpc.Status;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Creating a session: its id (the caller's, trimmed, or a UUID chosen here so that a retried
 * create is recognisable), its initial state split by scope, an expiry, and the "temp:" keys kept
 * in the returned object only.
 */
final class Creation {
  private final SessionReads reads;

  Creation(SessionReads reads) {
    this.reads = reads;
  }

  /** Creates the session; {@code expiry} sets the request's expiration (or leaves it unset). */
  Session create(
      MethodCalls calls,
      String appName,
      String userId,
      @Nullable Map<String, Object> state,
      @Nullable String sessionId,
      Consumer<CreateSessionRequest.Builder> expiry) {
    String requested = sessionId == null ? "" : sessionId.strip();
    // Choosing the id here makes a retried create recognisable: the id is fresh, so
    // "already exists" can only mean that an earlier attempt landed.
    String id = requested.isEmpty() ? UUID.randomUUID().toString() : requested;
    CreateSessionRequest.Builder builder =
        CreateSessionRequest.newBuilder()
            .setAppName(appName)
            .setUserId(userId)
            .setSessionId(id)
            .setState(StateJson.split(state));
    expiry.accept(builder);
    CreateSessionRequest request = builder.build();
    Session created = send(calls, request, !requested.isEmpty());
    if (state != null) {
      state.forEach(
          (key, value) -> {
            if (key.startsWith(State.TEMP_PREFIX) && value != null && value != State.REMOVED) {
              created.state().put(key, value);
            }
          });
    }
    return created;
  }

  /**
   * CreateSession; for an id this client chose, "already exists" means an earlier attempt of this
   * call landed, and the session it made is read back.
   */
  private Session send(MethodCalls calls, CreateSessionRequest request, boolean idGiven) {
    CreateSessionResult created;
    try {
      created = calls.create(request);
    } catch (SessionAlreadyExistsException taken) {
      if (idGiven) {
        throw taken;
      }
      return reads.read(calls, readBack(request, request.getSessionId())).orElseThrow(() -> taken);
    }
    if (created.hasResponse()) {
      return reads.session(created.getResponse().getSession(), List.of());
    }
    // Created in a batch whose response had no room for the session: read it.
    String id = created.getCreated().getSessionId();
    return reads
        .read(calls, readBack(request, id))
        .orElseThrow(
            () ->
                new GrpcSessionNotFoundException(
                    "Session " + id + " was deleted once created.",
                    FailureDetails.of(Status.Code.NOT_FOUND, "SESSION_NOT_FOUND"),
                    null));
  }

  private static GetSessionRequest readBack(CreateSessionRequest request, String sessionId) {
    return GetSessionRequest.newBuilder()
        .setAppName(request.getAppName())
        .setUserId(request.getUserId())
        .setSessionId(sessionId)
        .build();
  }
}
