package io.github.adkgrpcsessions;

/** UNAVAILABLE (or CANCELLED by a server shutting down): the server or its storage could not be reached within the call's time budget, retries included. */
public class SessionServiceUnavailableException extends SessionServiceException {
  private static final long serialVersionUID = 1L;

  SessionServiceUnavailableException(String message, FailureDetails details, Throwable cause) {
    super(message, details, cause);
  }
}
