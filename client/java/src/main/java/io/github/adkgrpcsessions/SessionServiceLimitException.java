package io.github.adkgrpcsessions;

/**
 * RESOURCE_EXHAUSTED: a limit refused the call, and nothing of a refused write was stored. {@link
 * #reason()} says which: "SESSION_SIZE_LIMIT" (the session's events would pass the server's
 * per-session limit), "STATE_SIZE_LIMIT" (a scope of state would pass the per-scope limit; {@code
 * metadata().get("scope")} names it), "RESPONSE_TOO_LARGE" (stored data no longer fits in a
 * response) or "BACKEND_QUOTA_EXCEEDED" (a quota of the server's storage). Retrying the same call
 * will not help (a quota aside), so it is not retried.
 */
public class SessionServiceLimitException extends SessionServiceException {
  private static final long serialVersionUID = 1L;

  SessionServiceLimitException(String message, FailureDetails details, Throwable cause) {
    super(message, details, cause);
  }
}
