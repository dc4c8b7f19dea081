/**
 * The one conversion module between adk-js objects and wire messages.
 *
 * Events travel as ADK Python's camelCase JSON. adk-js events are already
 * camelCase; what differs is the timestamp (adk-js milliseconds, Python
 * float seconds), the route (top-level `route` in adk-js, `actions.route`
 * in Python) and bytes (Python writes URL-safe base64, @google/genai reads
 * the standard alphabet). State values travel as JSON text (see json.ts).
 */
import { createEvent, State, type Event, type Session } from "@google/adk";
import { LosslessNumber } from "lossless-json";

import type {
  Session as SessionMessage,
  State as StateMessage,
  StateDelta,
} from "./gen/adk_grpc_sessions/v1/session_service.js";
import { parseJson, stringifyJson } from "./json.js";
import { msFromSeconds, msFromTimestamp, secondsFromMs, secondsJson } from "./timestamps.js";

/** Where a session read from the server keeps its revision (see revisionOf). */
export const REVISION = Symbol.for("adk-grpc-sessions.revision");

/** A session as returned by GrpcSessionService: an adk-js Session plus its revision. */
export type StoredSession = Session & { [REVISION]?: bigint };

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/*
 * State keys are data, so any name is a key, "__proto__" and "constructor"
 * included: the wire's maps are `Map`s (ts-proto's useMapType) and the state
 * objects handed to adk-js have no prototype, so no key can fall into
 * Object.prototype's members on the way in or out.
 */

/** One scope of state from the wire, each key given `prefix`. */
function decodeScope(into: JsonObject, prefix: string, values: ReadonlyMap<string, string>): void {
  for (const [key, text] of values) {
    into[prefix + key] = parseJson(text);
  }
}

/** A map of JSON texts read as values, keys as they are. */
export function decodeMap(values: ReadonlyMap<string, string>): Record<string, unknown> {
  const decoded: JsonObject = Object.create(null);
  decodeScope(decoded, "", values);
  return decoded;
}

/** ADK's merged view: session keys, then "app:" keys, then "user:" keys. */
export function mergedState(state: StateMessage | undefined): Record<string, unknown> {
  const merged: JsonObject = Object.create(null);
  const none = new Map<string, string>();
  decodeScope(merged, "", state?.session ?? none);
  decodeScope(merged, State.APP_PREFIX, state?.app ?? none);
  decodeScope(merged, State.USER_PREFIX, state?.user ?? none);
  return merged;
}

/** ADK state (prefixed keys) split by scope for the wire; "temp:" keys are left out. */
export function stateDelta(state: Record<string, unknown> | undefined): StateDelta {
  const delta: StateDelta = { app: new Map(), user: new Map(), session: new Map() };
  for (const [key, value] of Object.entries(state ?? {})) {
    if (key.startsWith(State.TEMP_PREFIX)) {
      continue;
    }
    const text = stringifyJson(value);
    if (key.startsWith(State.APP_PREFIX)) {
      delta.app.set(key.slice(State.APP_PREFIX.length), text);
    } else if (key.startsWith(State.USER_PREFIX)) {
      delta.user.set(key.slice(State.USER_PREFIX.length), text);
    } else {
      delta.session.set(key, text);
    }
  }
  return delta;
}

/**
 * An adk-js event as ADK Python's JSON: timestamp in float seconds, route
 * as actions.route, "temp:" keys left out of the state delta.
 */
export function eventJson(event: Event): string {
  const { route, timestamp, actions, ...rest } = event;
  const wireActions: JsonObject = { ...actions };
  if (isObject(actions?.stateDelta)) {
    wireActions["stateDelta"] = Object.fromEntries(
      Object.entries(actions.stateDelta).filter(([key]) => !key.startsWith(State.TEMP_PREFIX)),
    );
  }
  if (route !== undefined) {
    wireActions["route"] = route;
  }
  return stringifyJson({
    ...rest,
    actions: wireActions,
    timestamp: new LosslessNumber(secondsJson(secondsFromMs(timestamp))),
  });
}

/** An adk-js event from ADK Python's JSON (or from what eventJson wrote). */
export function eventFromJson(text: string): Event {
  const fields = parseJson(text);
  if (!isObject(fields)) {
    throw new TypeError("an event from the server is not a JSON object");
  }
  standardBase64(fields, "");
  const { timestamp, actions, ...rest } = fields;
  const params: JsonObject = { ...rest };
  if (typeof timestamp === "number") {
    params["timestamp"] = msFromSeconds(timestamp);
  } else if (typeof timestamp === "bigint") {
    params["timestamp"] = msFromSeconds(Number(timestamp));
  }
  if (isObject(actions)) {
    const { route, ...otherActions } = actions;
    params["actions"] = otherActions;
    if (route !== undefined && params["route"] === undefined) {
      params["route"] = route;
    }
  }
  return createEvent(params as Parameters<typeof createEvent>[0]);
}

/** Rewrites bytes fields (Blob.data, thoughtSignature) from URL-safe to standard base64. */
function standardBase64(value: unknown, key: string): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      standardBase64(item, key);
    }
    return;
  }
  if (!isObject(value)) {
    return;
  }
  for (const [name, item] of Object.entries(value)) {
    if (typeof item === "string" && (name === "thoughtSignature" || (key === "inlineData" && name === "data"))) {
      const standard = item.replace(/-/g, "+").replace(/_/g, "/");
      value[name] = standard.padEnd(Math.ceil(standard.length / 4) * 4, "=");
    } else {
      standardBase64(item, name);
    }
  }
}

/** An adk-js Session from a wire Session, carrying its revision. */
export function sessionFromMessage(message: SessionMessage): StoredSession {
  return {
    id: message.sessionId,
    appName: message.appName,
    userId: message.userId,
    state: mergedState(message.state),
    events: message.events.map((event) => eventFromJson(event.eventJson)),
    lastUpdateTime: msFromTimestamp(message.lastUpdateTime),
    [REVISION]: message.revision,
  };
}
