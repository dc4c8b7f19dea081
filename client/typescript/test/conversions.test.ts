import assert from "node:assert/strict";
import { test } from "node:test";

import { createEvent } from "@google/adk";

import { eventFromJson, eventJson, mergedState, stateDelta } from "../src/conversions.js";
import { parseJson, stringifyJson } from "../src/json.js";

/** What ADK Python 2.13 writes for an event (model_dump_json(by_alias=True, exclude_none=True)). */
const PYTHON_EVENT =
  '{"content":{"parts":[{"text":"Zürich, 東京 ✓","thoughtSignature":"-__-AQ=="},' +
  '{"inlineData":{"data":"-_-_Pj8=","mimeType":"image/png"}},{"functionCall":{"id":"call-1",' +
  '"args":{"city":"Zürich","n":9223372036854775809},"name":"record_visit"}}],"role":"model"},' +
  '"turnComplete":true,"finishReason":"STOP","usageMetadata":{"candidatesTokenCount":4,' +
  '"promptTokenCount":3,"totalTokenCount":7},"invocationId":"inv-1","author":"travel_agent",' +
  '"actions":{"stateDelta":{"app:visits":9223372036854775809,"user:name":"Ada","count":1,"ratio":0.5},' +
  '"artifactDelta":{},"requestedAuthConfigs":{},"requestedToolConfirmations":{},"route":["left","right"]},' +
  '"nodeInfo":{"path":""},"longRunningToolIds":["call-1"],"branch":"root.travel_agent","id":"e-1",' +
  '"timestamp":1763711206.7836134}';

test("an ADK Python event becomes an adk-js event", () => {
  const event = eventFromJson(PYTHON_EVENT);
  // made by createEvent, so adk-js recognises it as an event
  assert.ok(Object.getOwnPropertySymbols(event).length > 0);
  assert.equal(event.id, "e-1");
  assert.equal(event.author, "travel_agent");
  assert.equal(event.invocationId, "inv-1");
  assert.equal(event.branch, "root.travel_agent");
  assert.equal(event.timestamp, 1763711206783.6135); // the ms number that converts back to 1763711206.7836134 s
  assert.deepEqual(event.route, ["left", "right"]);
  assert.deepEqual(event.longRunningToolIds, ["call-1"]);
  assert.deepEqual(event.actions.stateDelta, {
    "app:visits": 9223372036854775809n,
    "user:name": "Ada",
    count: 1,
    ratio: 0.5,
  });
  const parts = event.content?.parts ?? [];
  assert.equal(parts[0]?.text, "Zürich, 東京 ✓");
  assert.equal(parts[0]?.thoughtSignature, "+//+AQ==");
  assert.equal(parts[1]?.inlineData?.data, "+/+/Pj8=");
  assert.deepEqual(parts[2]?.functionCall?.args, { city: "Zürich", n: 9223372036854775809n });
  assert.equal(event.finishReason, "STOP");
});

test("an adk-js event becomes ADK Python's JSON", () => {
  const event = createEvent({
    id: "e-2",
    invocationId: "inv-2",
    author: "js_agent",
    timestamp: 1700000000000,
    route: "next",
    content: { role: "model", parts: [{ text: "hi <b>" }] },
    actions: { stateDelta: { "temp:x": 1, "user:big": 2n ** 64n, k: "v" } },
  });
  const wire = parseJson(eventJson(event)) as Record<string, any>;
  assert.match(eventJson(event), /"timestamp":1700000000\.0/);
  assert.equal(wire["timestamp"], 1700000000);
  assert.equal(wire["route"], undefined);
  assert.equal(wire["actions"]["route"], "next");
  assert.deepEqual(wire["actions"]["stateDelta"], { "user:big": 2n ** 64n, k: "v" });
  assert.deepEqual(wire["content"], { role: "model", parts: [{ text: "hi <b>" }] });
  // and it reads back as the same event
  const back = eventFromJson(eventJson(event));
  assert.equal(back.timestamp, 1700000000000);
  assert.equal(back.route, "next");
  assert.deepEqual(back.content, event.content);
});

test("state splits by scope for the wire and merges back with prefixes", () => {
  const delta = stateDelta({ "app:a": 1, "user:b": [true, null], c: { d: "é" }, "temp:e": 5 });
  assert.deepEqual(delta, {
    app: new Map([["a", "1"]]),
    user: new Map([["b", "[true,null]"]]),
    session: new Map([["c", '{"d":"é"}']]),
  });
  const merged = mergedState({ app: delta.app, user: delta.user, session: delta.session });
  assert.deepEqual({ ...merged }, { "app:a": 1, "user:b": [true, null], c: { d: "é" } });
});

test("JSON keeps integers beyond 2^53 exact and everything else as JSON.parse does", () => {
  assert.deepEqual(parseJson('[9007199254740991, 9007199254740992, -9223372036854775809, 1.0, 1e2, "x"]'), [
    9007199254740991,
    9007199254740992n,
    -9223372036854775809n,
    1,
    100,
    "x",
  ]);
  assert.equal(stringifyJson({ a: 2n ** 70n, b: undefined, c: Number.NaN }), '{"a":1180591620717411303424,"c":null}');
  assert.throws(() => stringifyJson(undefined), TypeError);
});
