package io.github.adkgrpcsessions;

/** ABORTED ("STALE_SESSION"): the session changed in storage since this session object was read (another process, or another turn, appended). Read it again and decide again; the write was not applied. ADK Java has no stale-writer error of its own: this is its closest, a {@link com.google.adk.sessions.SessionException}. */
public class StaleSessionException extends SessionServiceException {
  private static final long serialVersionUID = 1L;

  StaleSessionException(String message, FailureDetails details, Throwable cause) {
    super(message, details, cause);
  }
}
