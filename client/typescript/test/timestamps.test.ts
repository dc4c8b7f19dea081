import assert from "node:assert/strict";
import { test } from "node:test";

import {
  lowerBoundTimestampFromMs,
  msFromSeconds,
  msFromTimestamp,
  secondsFromMs,
  secondsFromTimestamp,
  secondsJson,
  timestampFromMs,
  timestampFromSeconds,
} from "../src/timestamps.js";

/** A deterministic pseudo-random sequence (xorshift), so failures reproduce. */
function* randomIntegers(seed: number, below: number, count: number): Generator<number> {
  let x = BigInt(seed);
  for (let i = 0; i < count; i++) {
    x ^= (x << 13n) & 0xffffffffffffffffn;
    x ^= x >> 7n;
    x ^= (x << 17n) & 0xffffffffffffffffn;
    yield Number(x % BigInt(below));
  }
}

test("milliseconds become the seconds their decimal names", () => {
  assert.equal(secondsFromMs(1700000000123), 1700000000.123);
  assert.equal(secondsFromMs(1), 0.001);
  assert.equal(secondsFromMs(-1500), -1.5);
  assert.equal(msFromSeconds(1700000000.123), 1700000000123);
  assert.equal(msFromSeconds(1763711206.783613), 1763711206783.613);
});

test("whole milliseconds survive ms -> s -> ms exactly", () => {
  for (const ms of randomIntegers(7, 253402300799999, 20_000)) {
    assert.equal(msFromSeconds(secondsFromMs(ms)), ms);
  }
});

test("any float seconds survive s -> ms -> s, but for the ~2% no millisecond number holds", () => {
  let misses = 0;
  const count = 20_000;
  for (const n of randomIntegers(13, 2 ** 52, count)) {
    const seconds = 1.6e9 + (n / 2 ** 52) * 2e8; // time.time() floats of 2020..2026
    const back = secondsFromMs(msFromSeconds(seconds));
    if (back !== seconds) {
      misses++;
      assert.ok(Math.abs(back - seconds) <= 2.5e-7, `${seconds} came back as ${back}`);
    }
  }
  assert.ok(misses / count < 0.03, `${misses} of ${count} did not survive`);
});

test("Timestamps are made as the server makes them, from the float's shortest decimal", () => {
  assert.deepEqual(timestampFromSeconds(1700000000.123), { seconds: 1700000000n, nanos: 123000000 });
  assert.deepEqual(timestampFromSeconds(1763711206.7836134), { seconds: 1763711206n, nanos: 783613400 });
  assert.deepEqual(timestampFromSeconds(-1.5), { seconds: -2n, nanos: 500000000 });
  assert.deepEqual(timestampFromSeconds(5e-10), { seconds: 0n, nanos: 0 }); // half a nanosecond: to even
  assert.deepEqual(timestampFromMs(1700000000123), { seconds: 1700000000n, nanos: 123000000 });
  assert.equal(secondsFromTimestamp({ seconds: 1763711206n, nanos: 783613400 }), 1763711206.7836134);
  assert.equal(msFromTimestamp({ seconds: 1700000000n, nanos: 123000000 }), 1700000000123);
  assert.equal(msFromTimestamp({ seconds: -1n, nanos: 999000000 }), -1);
  for (const ms of randomIntegers(5, 253402300799999, 20_000)) {
    assert.equal(msFromTimestamp(timestampFromMs(ms)), ms);
  }
});

test("a lower bound in ms keeps every float that reads as that ms", () => {
  for (const n of randomIntegers(17, 2 ** 52, 20_000)) {
    const seconds = 1.6e9 + (n / 2 ** 52) * 2e8;
    const bound = secondsFromTimestamp(lowerBoundTimestampFromMs(msFromSeconds(seconds)));
    assert.ok(bound <= seconds, `${seconds} read as ms gives the bound ${bound}, after it`);
    assert.ok(seconds - bound < 5e-7);
  }
});

test("times a Timestamp cannot hold are rejected", () => {
  assert.throws(() => timestampFromMs(Number.NaN), RangeError);
  assert.throws(() => timestampFromMs(Number.POSITIVE_INFINITY), RangeError);
  assert.throws(() => timestampFromMs(253402300800000), RangeError);
  assert.throws(() => timestampFromMs(-62135596800001), RangeError);
});

test("seconds are written as Python writes a float", () => {
  assert.equal(secondsJson(1700000000.123), "1700000000.123");
  assert.equal(secondsJson(1700000000), "1700000000.0");
  assert.equal(secondsJson(-62135596800), "-62135596800.0");
});
