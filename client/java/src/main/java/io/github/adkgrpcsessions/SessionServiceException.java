package io.github.adkgrpcsessions;

import com.google.adk.sessions.SessionException;
import io.grpc.Status;
import java.util.List;
import java.util.Map;

/**
 * A call to the session server failed. ADK Java's own {@link SessionException}, so code written
 * against any ADK session service catches it; the subclasses name the failures a caller branches
 * on. Codes without a subclass of their own (PERMISSION_DENIED, FAILED_PRECONDITION other than
 * SESSION_CLOSED, UNIMPLEMENTED, UNAUTHENTICATED, INTERNAL, ...) arrive as this class.
 */
public class SessionServiceException extends SessionException implements SessionServiceFailure {
  private static final long serialVersionUID = 1L;

  /** The status parts; transient as gRPC codes need not be serializable. */
  private final transient FailureDetails details;

  SessionServiceException(String message, FailureDetails details, Throwable cause) {
    super(message, cause);
    this.details = details;
  }

  @Override
  public Status.Code code() {
    return details.code();
  }

  @Override
  public String reason() {
    return details.reason();
  }

  @Override
  public Map<String, String> metadata() {
    return details.metadata();
  }

  @Override
  public List<String> violations() {
    return details.violations();
  }
}
