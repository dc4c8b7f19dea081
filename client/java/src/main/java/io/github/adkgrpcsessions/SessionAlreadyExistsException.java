package io.github.adkgrpcsessions;

/** ALREADY_EXISTS ("SESSION_ALREADY_EXISTS"): a session with this id exists (ADK Java's in-memory service would overwrite it; ADK Python refuses, and so does this service). */
public class SessionAlreadyExistsException extends SessionServiceException {
  private static final long serialVersionUID = 1L;

  SessionAlreadyExistsException(String message, FailureDetails details, Throwable cause) {
    super(message, details, cause);
  }
}
