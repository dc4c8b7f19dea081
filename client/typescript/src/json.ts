/**
 * Exact JSON for state values and events.
 *
 * JSON.parse turns every number into a double, so an integer beyond 2^53
 * (which ADK Python and Go keep exactly) would silently change. Here such an
 * integer becomes a `bigint` instead, and a `bigint` is written back as the
 * same digits; every other number is a plain `number`, as with JSON.parse.
 * Writing otherwise follows JSON.stringify (toJSON, undefined left out,
 * NaN and Infinity as null).
 */
import { parse, stringify } from "lossless-json";

const INTEGER = /^-?\d+$/;

function parseNumber(text: string): number | bigint {
  const value = Number(text);
  if (INTEGER.test(text) && !Number.isSafeInteger(value)) {
    return BigInt(text);
  }
  return value;
}

/** Parses JSON text; integers beyond ±(2^53 - 1) become `bigint`. */
export function parseJson(text: string): unknown {
  return parse(text, null, parseNumber);
}

/**
 * JSON text for a value, as JSON.stringify writes it but with `bigint` as
 * exact integers.
 *
 * @throws TypeError if the value has no JSON form (undefined, a function).
 */
export function stringifyJson(value: unknown): string {
  const text = stringify(value);
  if (text === undefined) {
    throw new TypeError(`${typeof value} has no JSON form`);
  }
  return text;
}
