package io.github.adkgrpcsessions;

/** DEADLINE_EXCEEDED: the server was reachable but the call did not finish within its time budget. */
public class SessionServiceTimeoutException extends SessionServiceException {
  private static final long serialVersionUID = 1L;

  SessionServiceTimeoutException(String message, FailureDetails details, Throwable cause) {
    super(message, details, cause);
  }
}
