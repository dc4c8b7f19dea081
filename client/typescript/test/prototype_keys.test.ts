/**
 * State keys named like Object.prototype's members ("__proto__",
 * "constructor", "toString", ...) are keys like any other: in every scope, in
 * initial state and in a delta, sent and received, against a real server.
 *
 * "Sent" is checked by reading what the server holds with the generated
 * stub; "received" by writing with the generated stub and reading through
 * GrpcSessionService.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { createEvent } from "@google/adk";
import { credentials } from "@grpc/grpc-js";

import { GrpcSessionService } from "../src/index.js";
import {
  CreateSessionRequest,
  SessionServiceClient,
  type Session as SessionMessage,
  type StateDelta,
} from "../src/gen/adk_grpc_sessions/v1/session_service.js";
import { startServer, unavailable, type TestServer } from "./server.js";

const KEYS = ["__proto__", "constructor", "hasOwnProperty", "toString", "valueOf", "__defineGetter__", "prototype"];
const SCOPES = [
  { prefix: "", scope: "session" },
  { prefix: "app:", scope: "app" },
  { prefix: "user:", scope: "user" },
] as const;

let server: TestServer;
let service: GrpcSessionService;
let raw: SessionServiceClient;

/** An object with these own keys, whatever their names (a literal `__proto__:` would set the prototype). */
function withKeys(entries: [string, unknown][]): Record<string, unknown> {
  return Object.fromEntries(entries);
}

/** The own entries of an object, sorted: what a key named like a prototype member must survive into. */
function own(value: Record<string, unknown>): [string, unknown][] {
  return Object.keys(value)
    .sort()
    .map((key) => [key, value[key]]);
}

/** A value that holds the key too, one level down. */
const valueFor = (key: string, n: number) => withKeys([[key, n]]);

function rawCall<Req, Res>(
  method: (request: Req, callback: (error: Error | null, response: Res) => void) => unknown,
  request: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(raw, request, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

async function rawSession(appName: string, userId: string, sessionId: string): Promise<SessionMessage> {
  const response = await rawCall<object, { session?: SessionMessage }>(
    raw.getSession as never,
    { appName, userId, sessionId, numRecentEvents: undefined, afterTimestamp: undefined },
  );
  assert.ok(response.session);
  return response.session;
}

function emptyDelta(): StateDelta {
  return { app: new Map(), user: new Map(), session: new Map() };
}

describe("state keys named like Object.prototype members", { skip: unavailable() }, () => {
  before(async () => {
    server = await startServer();
    service = new GrpcSessionService(server.address);
    raw = new SessionServiceClient(server.address, credentials.createInsecure());
  });
  after(async () => {
    service?.close();
    raw?.close();
    await server?.stop();
  });

  for (const { prefix, scope } of SCOPES) {
    test(`in ${scope} scope, initial state is sent and read back`, async () => {
      const appName = `app-${randomUUID()}`;
      const state = withKeys(KEYS.map((key, n) => [prefix + key, valueFor(key, n)]));
      const created = await service.createSession({ appName, userId: "u", sessionId: "s", state });
      assert.deepEqual(own(created.state), own(state));
      const stored = await rawSession(appName, "u", "s");
      const sent = stored.state?.[scope];
      assert.ok(sent instanceof Map);
      assert.deepEqual([...sent.keys()].sort(), [...KEYS].sort());
      assert.deepEqual(JSON.parse(sent.get("__proto__") ?? "null"), { ["__proto__"]: 0 });
      const read = await service.getSession({ appName, userId: "u", sessionId: "s" });
      assert.ok(read);
      assert.deepEqual(own(read.state), own(state));
      const listed = await service.listSessions({ appName, userId: "u" });
      assert.deepEqual(own(listed.sessions[0]!.state), own(state));
    });

    test(`in ${scope} scope, a delta is sent and read back, in the state and in the event`, async () => {
      const appName = `app-${randomUUID()}`;
      const session = await service.createSession({ appName, userId: "u", sessionId: "s" });
      const stateDelta = withKeys(KEYS.map((key, n) => [prefix + key, valueFor(key, n + 10)]));
      await service.appendEvent({ session, event: createEvent({ author: "user", actions: { stateDelta } }) });
      assert.deepEqual(own(session.state), own(stateDelta), "the caller's session has the delta applied");
      const stored = await rawSession(appName, "u", "s");
      assert.deepEqual([...(stored.state?.[scope].keys() ?? [])].sort(), [...KEYS].sort());
      assert.deepEqual([...(stored.events[0]?.stateDelta?.[scope].keys() ?? [])].sort(), [...KEYS].sort());
      const read = await service.getSession({ appName, userId: "u", sessionId: "s" });
      assert.ok(read);
      assert.deepEqual(own(read.state), own(stateDelta));
      assert.deepEqual(own(read.events[0]!.actions.stateDelta), own(stateDelta));
    });

    test(`in ${scope} scope, what another writer stored is received`, async () => {
      const appName = `app-${randomUUID()}`;
      const state = emptyDelta();
      KEYS.forEach((key, n) => state[scope].set(key, JSON.stringify(valueFor(key, n))));
      const request = { ...CreateSessionRequest.fromPartial({ appName, userId: "u", sessionId: "s" }), state };
      const created = await rawCall<CreateSessionRequest, { session?: SessionMessage }>(raw.createSession as never, request);
      assert.deepEqual([...(created.session?.state?.[scope].keys() ?? [])].sort(), [...KEYS].sort());
      const expected = withKeys(KEYS.map((key, n) => [prefix + key, valueFor(key, n)]));
      const read = await service.getSession({ appName, userId: "u", sessionId: "s" });
      assert.ok(read);
      assert.deepEqual(own(read.state), own(expected));
      if (scope === "user") {
        const user = await service.getUserState({ appName, userId: "u" });
        assert.deepEqual(own(user), own(withKeys(KEYS.map((key, n) => [key, valueFor(key, n)]))));
      }
      if (scope === "app") {
        const appState = await service.getAppState({ appName });
        assert.deepEqual(own(appState), own(withKeys(KEYS.map((key, n) => [key, valueFor(key, n)]))));
      }
    });
  }
});
