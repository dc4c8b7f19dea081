/**
 * Conversions between adk-js time (milliseconds since the epoch, a
 * `number`), ADK Python time (seconds since the epoch, a float) and
 * google.protobuf.Timestamp (whole seconds and nanoseconds).
 *
 * - ms -> seconds: the float nearest to ms / 1000 (see secondsFromMs). So
 *   1700000000123 ms is 1700000000.123 s, and every whole millisecond (what
 *   adk-js writes) comes back from seconds exactly.
 * - seconds -> ms: a number that converts back to the very same seconds,
 *   preferring the seconds' own decimal digits moved by three places
 *   (1763711206.783613 s is 1763711206783.613 ms). That exists for about 98%
 *   of floats: a double holding milliseconds is slightly coarser than one
 *   holding seconds. For the rest it is the nearest number, and converts back
 *   to a neighbouring float, less than 0.25 µs away.
 * - a filter's lower bound in ms (afterTimestamp) becomes the earliest float
 *   that converts to the same ms, so an event whose time was read as that ms
 *   is never left out.
 * - seconds <-> Timestamp: as the server converts, through the float's
 *   shortest decimal form, so a time read from an event and sent back as a
 *   filter is compared as the very same float.
 */
import type { Timestamp } from "./gen/google/protobuf/timestamp.js";

const NANOS_PER_SECOND = 1_000_000_000n;
/** The range of google.protobuf.Timestamp: 0001-01-01 to 9999-12-31. */
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;

interface Decimal {
  /** value = digits * 10^exponent */
  digits: bigint;
  exponent: number;
}

function finite(value: number): number {
  if (!Number.isFinite(value)) {
    throw new RangeError(`${value} is not a finite time`);
  }
  return value;
}

/** A number's shortest decimal form (what String() writes). */
function shortestDecimal(value: number): Decimal {
  const [mantissa = "0", exponentText = "0"] = String(finite(value)).split("e");
  const [whole = "0", fraction = ""] = mantissa.split(".");
  return { digits: BigInt(whole + fraction), exponent: Number(exponentText) - fraction.length };
}

const bits = new DataView(new ArrayBuffer(8));

/** A number's exact value as a decimal (every double has a finite one). */
function exactDecimal(value: number): Decimal {
  bits.setFloat64(0, finite(value));
  const raw = bits.getBigUint64(0);
  const sign = raw >> 63n ? -1n : 1n;
  const biased = Number((raw >> 52n) & 0x7ffn);
  const fraction = raw & 0xfffffffffffffn;
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const power = (biased === 0 ? 1 : biased) - 1075; // value = mantissa * 2^power
  if (power >= 0) {
    return { digits: sign * (mantissa << BigInt(power)), exponent: 0 };
  }
  // m * 2^-k = m * 5^k * 10^-k
  return { digits: sign * mantissa * 5n ** BigInt(-power), exponent: power };
}

/** The number nearest to a decimal moved by `places` (one correctly rounded step). */
function nearest({ digits, exponent }: Decimal, places = 0): number {
  return Number(`${digits}e${exponent + places}`);
}

/** The next number after `value` in the direction of `steps` (|steps| apart). */
function neighbour(value: number, steps: number): number {
  bits.setFloat64(0, value);
  const raw = bits.getBigInt64(0);
  bits.setBigInt64(0, raw + BigInt(value >= 0 ? steps : -steps));
  return bits.getFloat64(0);
}

/** Seconds (ADK Python) from milliseconds (adk-js): the float nearest to the exact ms / 1000. */
export function secondsFromMs(ms: number): number {
  return nearest(exactDecimal(ms), -3);
}

/** Milliseconds (adk-js) from seconds (ADK Python); see the module comment. */
export function msFromSeconds(seconds: number): number {
  const pretty = nearest(shortestDecimal(seconds), 3);
  if (secondsFromMs(pretty) === seconds) {
    return pretty;
  }
  const closest = nearest(exactDecimal(seconds), 3);
  for (const steps of [0, -1, 1, -2, 2]) {
    const candidate = neighbour(closest, steps);
    if (secondsFromMs(candidate) === seconds) {
      return candidate;
    }
  }
  return closest;
}

/** Divides, rounding half to even (d > 0). */
function divideHalfEven(n: bigint, d: bigint): bigint {
  let q = n / d;
  let r = n % d;
  if (r < 0n) {
    q -= 1n;
    r += d;
  }
  if (2n * r > d || (2n * r === d && q % 2n !== 0n)) {
    q += 1n;
  }
  return q;
}

/**
 * The Timestamp of float seconds, as the server makes it: the exact value of
 * the float's shortest decimal form, to the nearest nanosecond.
 *
 * @throws RangeError outside 0001-01-01..9999-12-31 or not finite.
 */
export function timestampFromSeconds(seconds: number): Timestamp {
  const { digits, exponent } = shortestDecimal(seconds);
  const power = exponent + 9;
  const nanos = power >= 0 ? digits * 10n ** BigInt(power) : divideHalfEven(digits, 10n ** BigInt(-power));
  let whole = nanos / NANOS_PER_SECOND;
  let rest = nanos % NANOS_PER_SECOND;
  if (rest < 0n) {
    whole -= 1n;
    rest += NANOS_PER_SECOND;
  }
  if (whole < MIN_SECONDS || whole > MAX_SECONDS) {
    throw new RangeError(`${seconds} s is outside 0001-01-01..9999-12-31`);
  }
  return { seconds: whole, nanos: Number(rest) };
}

/** Float seconds from a Timestamp: the float nearest to its exact value. */
export function secondsFromTimestamp(timestamp: Timestamp): number {
  return nearest({ digits: timestamp.seconds * NANOS_PER_SECOND + BigInt(timestamp.nanos), exponent: -9 });
}

/** The Timestamp of a time in milliseconds (through its float seconds). */
export function timestampFromMs(ms: number): Timestamp {
  return timestampFromSeconds(secondsFromMs(ms));
}

/**
 * The Timestamp for an inclusive lower bound given in ms: the earliest float
 * seconds whose ms is `ms` (an event read as `ms` is at or after it).
 */
export function lowerBoundTimestampFromMs(ms: number): Timestamp {
  let seconds = secondsFromMs(ms);
  for (let step = 0; step < 2; step++) {
    const earlier = neighbour(seconds, -1);
    if (msFromSeconds(earlier) !== ms) {
      break;
    }
    seconds = earlier;
  }
  return timestampFromSeconds(seconds);
}

/** Milliseconds from a Timestamp (through its float seconds); 0 if there is none. */
export function msFromTimestamp(timestamp: Timestamp | undefined): number {
  return timestamp === undefined ? 0 : msFromSeconds(secondsFromTimestamp(timestamp));
}

/**
 * Seconds written as ADK Python's JSON writes a float: the shortest decimal,
 * always with a fractional part, so Python reads a float.
 */
export function secondsJson(seconds: number): string {
  const text = String(seconds);
  return /[.e]/.test(text) ? text : `${text}.0`;
}
