package io.github.adkgrpcsessions;

import com.google.adk.sessions.SessionNotFoundException;
import io.grpc.Status;
import java.util.List;
import java.util.Map;

/**
 * NOT_FOUND ("SESSION_NOT_FOUND"): the session does not exist. ADK Java's own {@link
 * SessionNotFoundException}, worded as ADK words it ("Session s1 not found."). Only appends throw
 * it: reading a missing session is an empty {@code Maybe}, as in ADK Java.
 */
public class GrpcSessionNotFoundException extends SessionNotFoundException
    implements SessionServiceFailure {
  private static final long serialVersionUID = 1L;

  /** The status parts; transient as gRPC codes need not be serializable. */
  private final transient FailureDetails details;

  GrpcSessionNotFoundException(String message, FailureDetails details, Throwable cause) {
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
