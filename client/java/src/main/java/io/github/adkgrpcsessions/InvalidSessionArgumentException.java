package io.github.adkgrpcsessions;

import io.grpc.Status;
import java.util.List;
import java.util.Map;

/**
 * INVALID_ARGUMENT: the server refused a malformed request (a key too long, a value nested too
 * deep, an event too large, ...); {@link #violations()} names the field. An {@link
 * IllegalArgumentException}, as Java reports bad input (ADK Python raises ValueError).
 */
public class InvalidSessionArgumentException extends IllegalArgumentException
    implements SessionServiceFailure {
  private static final long serialVersionUID = 1L;

  /** The status parts; transient as gRPC codes need not be serializable. */
  private final transient FailureDetails details;

  InvalidSessionArgumentException(String message, FailureDetails details, Throwable cause) {
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
