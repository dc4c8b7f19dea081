package io.github.adkgrpcsessions;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A session's lifecycle and bookkeeping, which ADK Java's {@code Session} has no fields for: when
 * it expires, whether and when it was closed, and its revision. Times are the server's, exact to
 * the nanosecond.
 *
 * @param appName the session's app
 * @param userId the session's user
 * @param sessionId the session's id
 * @param createTime when the session was created
 * @param lastUpdateTime the timestamp of its latest event, or its createTime
 * @param revision the session's revision (compare for equality only)
 * @param expireTime when the session expires and is gone for every call; empty = never
 * @param closeTime when the session was closed (it then refuses appends); empty = open
 */
public record SessionInfo(
    String appName,
    String userId,
    String sessionId,
    Instant createTime,
    Instant lastUpdateTime,
    long revision,
    Optional<Instant> expireTime,
    Optional<Instant> closeTime) {
  /** Checks that no component is null (an absent time is an empty Optional). */
  public SessionInfo {
    Objects.requireNonNull(appName, "appName");
    Objects.requireNonNull(userId, "userId");
    Objects.requireNonNull(sessionId, "sessionId");
    Objects.requireNonNull(createTime, "createTime");
    Objects.requireNonNull(lastUpdateTime, "lastUpdateTime");
    Objects.requireNonNull(expireTime, "expireTime");
    Objects.requireNonNull(closeTime, "closeTime");
  }

  /** Whether the session is closed: it reads as before, and refuses appends. */
  public boolean closed() {
    return closeTime.isPresent();
  }

  /** The info of a session message of the server. */
  static SessionInfo of(adk_grpc_sessions.v1.SessionServiceOuterClass.Session message) {
    return new SessionInfo(
        message.getAppName(),
        message.getUserId(),
        message.getSessionId(),
        Timestamps.toInstant(message.getCreateTime()),
        Timestamps.toInstant(message.getLastUpdateTime()),
        message.getRevision(),
        message.hasExpireTime()
            ? Optional.of(Timestamps.toInstant(message.getExpireTime()))
            : Optional.empty(),
        message.hasCloseTime()
            ? Optional.of(Timestamps.toInstant(message.getCloseTime()))
            : Optional.empty());
  }
}
