package io.github.adkgrpcsessions;

/** ALREADY_EXISTS ("EVENT_ID_CONFLICT"): a different event is stored under this event's id. */
public class EventIdConflictException extends SessionServiceException {
  private static final long serialVersionUID = 1L;

  EventIdConflictException(String message, FailureDetails details, Throwable cause) {
    super(message, details, cause);
  }
}
