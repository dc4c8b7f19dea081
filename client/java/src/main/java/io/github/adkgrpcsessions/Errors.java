package io.github.adkgrpcsessions;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The one place that turns a failed call's status into the exception an ADK Java caller branches
 * on. The details come from the google.rpc.Status the server sends in the
 * grpc-status-details-bin trailer.
 */
final class Errors {
  /** The ErrorInfo domain of every error the server reports. */
  static final String DOMAIN = "adk-grpc-sessions";

  static final String STALE_SESSION = "STALE_SESSION";
  static final String EVENT_ID_CONFLICT = "EVENT_ID_CONFLICT";
  static final String SESSION_CLOSED = "SESSION_CLOSED";

  /** What StaleSessionException says when the client finds a session out of date itself. */
  static final String STALE_MESSAGE =
      "The session has been modified in storage since it was loaded. "
          + "Please reload the session before appending more events.";

  private Errors() {}

  /** The exception for a failed call. */
  static RuntimeException fromStatus(StatusRuntimeException failure) {
    FailureDetails details = details(failure);
    String message = message(failure.getStatus(), details);
    return switch (details.code()) {
      case NOT_FOUND -> new GrpcSessionNotFoundException(message, details, failure);
      case ALREADY_EXISTS -> EVENT_ID_CONFLICT.equals(details.reason())
          ? new EventIdConflictException(message, details, failure)
          : new SessionAlreadyExistsException(message, details, failure);
      case ABORTED -> STALE_SESSION.equals(details.reason())
          ? new StaleSessionException(message, details, failure)
          : new SessionServiceException(message, details, failure);
      case FAILED_PRECONDITION -> SESSION_CLOSED.equals(details.reason())
          ? new SessionClosedException(message, details, failure)
          : new SessionServiceException(message, details, failure);
      case INVALID_ARGUMENT -> new InvalidSessionArgumentException(message, details, failure);
      // CANCELLED reaches here only from the server (it was shutting down): as unavailable.
      case UNAVAILABLE, CANCELLED -> new SessionServiceUnavailableException(message, details, failure);
      case DEADLINE_EXCEEDED -> new SessionServiceTimeoutException(message, details, failure);
      case RESOURCE_EXHAUSTED -> new SessionServiceLimitException(message, details, failure);
      default -> new SessionServiceException(message, details, failure);
    };
  }

  /**
   * A write's own failure inside a batch's or the append stream's answer, as the status its call
   * alone would have failed with (the contract's Status is a google.rpc.Status byte for byte).
   */
  static StatusRuntimeException ofResult(adk_grpc_sessions.v1.SessionServiceOuterClass.Status error) {
    com.google.rpc.Status status;
    try {
      status = com.google.rpc.Status.parseFrom(error.toByteString());
    } catch (InvalidProtocolBufferException malformed) {
      throw new IllegalStateException("a Status that is not a google.rpc.Status", malformed);
    }
    return StatusProto.toStatusRuntimeException(status);
  }

  /** The stale-writer exception for a session found out of date before anything was sent. */
  static StaleSessionException staleSession() {
    return new StaleSessionException(
        STALE_MESSAGE, FailureDetails.of(Status.Code.ABORTED, STALE_SESSION), null);
  }

  /**
   * The exception for an argument the client refuses before sending it, worded and detailed as the
   * server's refusal of it would be (a BadRequest violation naming the field).
   */
  static InvalidSessionArgumentException invalidArgument(String field, String description) {
    String violation = field + ": " + description;
    return new InvalidSessionArgumentException(
        violation,
        new FailureDetails(Status.Code.INVALID_ARGUMENT, "", Map.of(), List.of(violation)),
        null);
  }

  private static String message(Status status, FailureDetails details) {
    if (!details.violations().isEmpty()) {
      return String.join("; ", details.violations());
    }
    String description = status.getDescription();
    return description == null || description.isEmpty() ? status.getCode().name() : description;
  }

  private static FailureDetails details(StatusRuntimeException failure) {
    Status.Code code = failure.getStatus().getCode();
    String reason = "";
    Map<String, String> metadata = Map.of();
    List<String> violations = new ArrayList<>();
    com.google.rpc.Status rich = StatusProto.fromThrowable(failure);
    if (rich != null) {
      for (Any detail : rich.getDetailsList()) {
        try {
          if (detail.is(ErrorInfo.class)) {
            ErrorInfo info = detail.unpack(ErrorInfo.class);
            if (DOMAIN.equals(info.getDomain()) || reason.isEmpty()) {
              reason = info.getReason();
              metadata = info.getMetadataMap();
            }
          } else if (detail.is(BadRequest.class)) {
            for (BadRequest.FieldViolation violation :
                detail.unpack(BadRequest.class).getFieldViolationsList()) {
              violations.add(violation.getField() + ": " + violation.getDescription());
            }
          }
        } catch (InvalidProtocolBufferException malformed) {
          // Malformed details: the code still stands.
        }
      }
    }
    return new FailureDetails(code, reason, metadata, violations);
  }
}
