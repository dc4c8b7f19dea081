package io.github.adkgrpcsessions;

import com.google.protobuf.Timestamp;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.time.Instant;

/**
 * Conversions between ADK Java time (epoch milliseconds, a {@code long}; {@link Instant} for
 * filters and update times), ADK Python time (float seconds in event JSON) and {@code
 * google.protobuf.Timestamp}, all exact.
 *
 * <ul>
 *   <li>milliseconds to float seconds: the decimal {@code ms / 1000} itself. It has at most 15
 *       significant digits over Timestamp's whole range, so it is the shortest form of the double
 *       nearest to it, which is what Python reads and writes back.
 *   <li>float seconds to an instant: the contract's rule (the double's shortest decimal form; past
 *       nine fractional digits, its exact value rounded half to even to the nanosecond).
 *   <li>an instant to milliseconds: rounded down (toward the past), so that an event's own
 *       milliseconds, used as {@code afterTimestamp}, never leave the event out.
 * </ul>
 */
final class Timestamps {
  /** The range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z. */
  static final long MIN_SECONDS = -62_135_596_800L;

  static final long MAX_SECONDS = 253_402_300_799L;

  private static final BigDecimal NANOS_PER_SECOND = BigDecimal.valueOf(1_000_000_000L);

  private Timestamps() {}

  /** The Timestamp of an instant, exactly. */
  static Timestamp toTimestamp(Instant instant) {
    checkRange(instant.getEpochSecond(), instant.toString());
    return Timestamp.newBuilder()
        .setSeconds(instant.getEpochSecond())
        .setNanos(instant.getNano())
        .build();
  }

  /** The instant of a Timestamp, exactly. */
  static Instant toInstant(Timestamp timestamp) {
    return Instant.ofEpochSecond(timestamp.getSeconds(), timestamp.getNanos());
  }

  /** Epoch milliseconds of a Timestamp, rounded toward the past. */
  static long toMillis(Timestamp timestamp) {
    return Math.addExact(
        Math.multiplyExact(timestamp.getSeconds(), 1000L), timestamp.getNanos() / 1_000_000);
  }

  /** Epoch milliseconds of an instant, rounded toward the past. */
  static long toMillis(Instant instant) {
    return Math.addExact(
        Math.multiplyExact(instant.getEpochSecond(), 1000L), instant.getNano() / 1_000_000);
  }

  /**
   * Float seconds as ADK Python's JSON writes them, for epoch milliseconds: the exact decimal,
   * always with a fractional part so Python reads a float ({@code 1700000000123} is {@code
   * 1700000000.123}, {@code 1700000000000} is {@code 1700000000.0}).
   *
   * @throws IllegalArgumentException outside 0001-01-01..9999-12-31
   */
  static BigDecimal secondsFromMillis(long millis) {
    checkRange(Math.floorDiv(millis, 1000L), millis + " ms");
    BigDecimal seconds = BigDecimal.valueOf(millis, 3).stripTrailingZeros();
    return seconds.scale() < 1 ? seconds.setScale(1) : seconds;
  }

  /**
   * The instant a double of seconds names, by the contract's rule: the exact value of its
   * shortest decimal form; if that has more than nine fractional digits, the double's exact
   * binary value rounded half to even to the nanosecond.
   *
   * @throws IllegalArgumentException if not finite or outside 0001-01-01..9999-12-31
   */
  static Instant instantFromSeconds(double seconds) {
    if (!Double.isFinite(seconds)) {
      throw new IllegalArgumentException(seconds + " is not a finite number of seconds");
    }
    BigDecimal shortest = shortestDecimal(seconds);
    BigDecimal nanos =
        shortest.scale() <= 9
            ? shortest.multiply(NANOS_PER_SECOND)
            : new BigDecimal(seconds).multiply(NANOS_PER_SECOND).setScale(0, RoundingMode.HALF_EVEN);
    BigInteger[] split = nanos.toBigIntegerExact().divideAndRemainder(NANOS_PER_SECOND.toBigInteger());
    BigInteger whole = split[0];
    BigInteger rest = split[1];
    if (rest.signum() < 0) {
      whole = whole.subtract(BigInteger.ONE);
      rest = rest.add(NANOS_PER_SECOND.toBigInteger());
    }
    if (whole.compareTo(BigInteger.valueOf(MIN_SECONDS)) < 0
        || whole.compareTo(BigInteger.valueOf(MAX_SECONDS)) > 0) {
      throw new IllegalArgumentException(seconds + " s is outside 0001-01-01..9999-12-31");
    }
    return Instant.ofEpochSecond(whole.longValueExact(), rest.longValueExact());
  }

  /**
   * The shortest decimal that reads back as the same double (and of those, the nearest), as
   * Python's repr and Java 19+'s Double.toString give it; Java 17's Double.toString is not always
   * shortest, so it is searched for here: for each count of significant digits, the two decimals
   * of that many digits around the double's exact value are the only candidates.
   */
  static BigDecimal shortestDecimal(double value) {
    if (value == 0) {
      return BigDecimal.ZERO;
    }
    BigDecimal exact = new BigDecimal(value);
    for (int digits = 1; digits <= 17; digits++) {
      BigDecimal down = exact.round(new MathContext(digits, RoundingMode.DOWN));
      BigDecimal up = exact.round(new MathContext(digits, RoundingMode.UP));
      boolean downReads = Double.parseDouble(down.toString()) == value;
      boolean upReads = Double.parseDouble(up.toString()) == value;
      if (downReads && upReads) {
        BigDecimal nearest = exact.round(new MathContext(digits, RoundingMode.HALF_EVEN));
        return nearest.stripTrailingZeros();
      }
      if (downReads) {
        return down.stripTrailingZeros();
      }
      if (upReads) {
        return up.stripTrailingZeros();
      }
    }
    return exact.stripTrailingZeros(); // unreachable: 17 significant digits always read back
  }

  private static void checkRange(long epochSeconds, String what) {
    if (epochSeconds < MIN_SECONDS || epochSeconds > MAX_SECONDS) {
      throw new IllegalArgumentException(what + " is outside 0001-01-01..9999-12-31");
    }
  }
}
