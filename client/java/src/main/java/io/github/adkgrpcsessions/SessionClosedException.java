package io.github.adkgrpcsessions;

/**
 * FAILED_PRECONDITION ("SESSION_CLOSED"): the session was closed ({@link
 * GrpcSessionService#closeSession}) and takes no more events; nothing was stored. It can still be
 * read. Retrying will not help: start a new session. (An append stored before the close, retried,
 * succeeds as the first time did.)
 */
public class SessionClosedException extends SessionServiceException {
  private static final long serialVersionUID = 1L;

  SessionClosedException(String message, FailureDetails details, Throwable cause) {
    super(message, details, cause);
  }
}
