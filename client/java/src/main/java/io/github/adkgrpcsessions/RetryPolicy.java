package io.github.adkgrpcsessions;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How often a call that fails with UNAVAILABLE (or CANCELLED by the server) is tried again within
 * its time budget: exponential backoff with full jitter, capped. Only the budget ends the
 * retrying, never a count of attempts.
 *
 * @param initialBackoff bounds the wait before the first retry (the actual wait is random below it)
 * @param maxBackoff bounds any one wait
 * @param multiplier grows the bound after every retry
 */
public record RetryPolicy(Duration initialBackoff, Duration maxBackoff, double multiplier) {
  /** The policy of a service built without one: 50 ms, doubling, capped at 1 s. */
  public static final RetryPolicy DEFAULT =
      new RetryPolicy(Duration.ofMillis(50), Duration.ofSeconds(1), 2);

  /** Fields that are missing or could not end a wait are taken from {@link #DEFAULT}. */
  public RetryPolicy {
    if (initialBackoff == null || initialBackoff.isNegative() || initialBackoff.isZero()) {
      initialBackoff = Duration.ofMillis(50);
    }
    if (maxBackoff == null || maxBackoff.compareTo(initialBackoff) < 0) {
      maxBackoff = Duration.ofSeconds(1).compareTo(initialBackoff) < 0 ? initialBackoff : Duration.ofSeconds(1);
    }
    if (!(multiplier >= 1)) {
      multiplier = 2;
    }
  }

  /** A random wait before retry number {@code retry} (1-based), in nanoseconds. */
  long backoffNanos(int retry) {
    double ceiling = initialBackoff.toNanos();
    for (int i = 1; i < retry && ceiling < maxBackoff.toNanos(); i++) {
      ceiling *= multiplier;
    }
    long bound = (long) Math.min(ceiling, maxBackoff.toNanos());
    return bound <= 0 ? 0 : ThreadLocalRandom.current().nextLong(bound + 1);
  }
}
