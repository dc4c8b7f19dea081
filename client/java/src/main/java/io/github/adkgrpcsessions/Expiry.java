package io.github.adkgrpcsessions;

import com.google.protobuf.Timestamp;
import java.time.Duration;
import java.time.Instant;

/**
 * The expiry of a request (CreateSession's, UpdateSession's), checked here against the contract's
 * bounds so that a mistake of units fails before anything is sent, as the same {@link
 * InvalidSessionArgumentException} naming the field that the server would answer with.
 */
final class Expiry {
  /**
   * The longest ttl a session may be given: 100 Julian years (the contract's MAX_TTL_SECONDS,
   * client/python/.../wire/limits.py); longer is surely a mistake of units.
   */
  static final Duration MAX_TTL = Duration.ofDays(36_525);

  private Expiry() {}

  /** The wire Duration of a ttl: positive and at most {@link #MAX_TTL}. */
  static com.google.protobuf.Duration ttl(String field, Duration ttl) {
    if (ttl.isNegative() || ttl.isZero()) {
      throw Errors.invalidArgument(field, "must be positive, got " + ttl);
    }
    if (ttl.compareTo(MAX_TTL) > 0) {
      throw Errors.invalidArgument(
          field, "must be at most 100 years (" + MAX_TTL.getSeconds() + " s), got " + ttl);
    }
    return com.google.protobuf.Duration.newBuilder()
        .setSeconds(ttl.getSeconds())
        .setNanos(ttl.getNano())
        .build();
  }

  /**
   * The wire Timestamp of an expiry instant within Timestamp's range. Whether it is in the future
   * is the server's to judge, by its own clock.
   */
  static Timestamp expireTime(String field, Instant expireTime) {
    if (expireTime.getEpochSecond() < Timestamps.MIN_SECONDS
        || expireTime.getEpochSecond() > Timestamps.MAX_SECONDS) {
      throw Errors.invalidArgument(field, expireTime + " is outside 0001-01-01..9999-12-31");
    }
    return Timestamps.toTimestamp(expireTime);
  }
}
