/**
 * The behaviours of the Python conformance suite, for GrpcSessionService
 * against a real server. Tests share one server; each uses an app of its own.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { createEvent, type Event, type Session } from "@google/adk";
import type { InterceptingCall, Interceptor, InterceptorOptions, NextCall } from "@grpc/grpc-js";
import { InterceptingCall as Call, status } from "@grpc/grpc-js";

import {
  AlreadyExistsError,
  EventIdConflictError,
  GrpcSessionService,
  InvalidArgumentError,
  StaleSessionError,
} from "../src/index.js";
import { startServer, unavailable, type TestServer } from "./server.js";

let server: TestServer;
let service: GrpcSessionService;

const app = () => `app-${randomUUID()}`;
const plain = (state: Record<string, unknown>) => ({ ...state });

function event(author: string, text: string, stateDelta: Record<string, unknown> = {}, timestamp?: number): Event {
  return createEvent({
    invocationId: `inv-${randomUUID()}`,
    author,
    content: { role: "model", parts: [{ text }] },
    actions: { stateDelta },
    ...(timestamp === undefined ? {} : { timestamp }),
  });
}

async function reread(session: Session, config?: { numRecentEvents?: number; afterTimestamp?: number }) {
  const got = await service.getSession({
    appName: session.appName,
    userId: session.userId,
    sessionId: session.id,
    ...(config ? { config } : {}),
  });
  assert.ok(got, "the session should exist");
  return got;
}

describe("GrpcSessionService", { skip: unavailable() }, () => {
  before(async () => {
    server = await startServer();
    service = new GrpcSessionService(server.address);
  });
  after(async () => {
    service?.close();
    await server?.stop();
  });

  describe("create", () => {
    test("with an id keeps the id, trimmed", async () => {
      const session = await service.createSession({ appName: app(), userId: "u", sessionId: "  s1 " });
      assert.equal(session.id, "s1");
      assert.deepEqual(session.events, []);
    });

    test("without an id generates one", async () => {
      const session = await service.createSession({ appName: app(), userId: "u" });
      assert.match(session.id, /^[0-9a-f-]{36}$/);
    });

    test("with a taken id throws AlreadyExistsError", async () => {
      const request = { appName: app(), userId: "u", sessionId: "dup" };
      await service.createSession(request);
      await assert.rejects(service.createSession(request), AlreadyExistsError);
    });

    test("keeps the initial state by scope and drops temp: keys", async () => {
      const appName = app();
      const session = await service.createSession({
        appName,
        userId: "u",
        state: { "app:a": 1, "user:b": 2, c: 3, "temp:d": 4 },
      });
      assert.deepEqual(plain(session.state), { "app:a": 1, "user:b": 2, c: 3 });
    });
  });

  describe("get", () => {
    test("of a missing session is undefined", async () => {
      assert.equal(await service.getSession({ appName: app(), userId: "u", sessionId: "missing" }), undefined);
    });

    test("is scoped to the user", async () => {
      const session = await service.createSession({ appName: app(), userId: "alice" });
      const other = await service.getSession({ appName: session.appName, userId: "bob", sessionId: session.id });
      assert.equal(other, undefined);
    });

    test("numRecentEvents keeps the last N (0 keeps none) and afterTimestamp is inclusive", async () => {
      const session = await service.createSession({ appName: app(), userId: "u" });
      const base = Date.UTC(2025, 0, 1);
      for (let i = 0; i < 5; i++) {
        await service.appendEvent({ session, event: event("agent", `e${i}`, {}, base + i * 1000) });
      }
      const texts = (s: Session) => s.events.map((e) => e.content?.parts?.[0]?.text);
      assert.deepEqual(texts(await reread(session)), ["e0", "e1", "e2", "e3", "e4"]);
      assert.deepEqual(texts(await reread(session, { numRecentEvents: 2 })), ["e3", "e4"]);
      assert.deepEqual(texts(await reread(session, { numRecentEvents: 0 })), []);
      assert.deepEqual(texts(await reread(session, { afterTimestamp: base + 2000 })), ["e2", "e3", "e4"]);
      assert.deepEqual(texts(await reread(session, { numRecentEvents: 3, afterTimestamp: base + 3000 })), ["e3", "e4"]);
      assert.equal((await reread(session)).lastUpdateTime, base + 4000);
    });

    test("a negative numRecentEvents is InvalidArgumentError", async () => {
      const session = await service.createSession({ appName: app(), userId: "u" });
      await assert.rejects(reread(session, { numRecentEvents: -1 }), InvalidArgumentError);
    });
  });

  describe("list", () => {
    test("lists one user's sessions or every user's, with merged state and no events", async () => {
      const appName = app();
      const a1 = await service.createSession({ appName, userId: "a", state: { "user:k": 1 } });
      await service.appendEvent({ session: a1, event: event("agent", "x") });
      await service.createSession({ appName, userId: "a" });
      await service.createSession({ appName, userId: "b" });
      const mine = await service.listSessions({ appName, userId: "a" });
      assert.equal(mine.sessions.length, 2);
      assert.equal(mine.totalItems, 2);
      assert.ok(mine.sessions.every((s) => s.events.length === 0 && s.state["user:k"] === 1));
      const all = await service.listSessions({ appName });
      assert.deepEqual(all.sessions.map((s) => s.userId).sort(), ["a", "a", "b"]);
      assert.deepEqual(await service.listSessions({ appName, userId: "nobody" }), {
        sessions: [],
        page: 1,
        limit: 0,
        totalItems: 0,
        totalPages: 0,
      });
    });

    test("pages and orders like adk-js's in-memory service", async () => {
      const appName = app();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const s = await service.createSession({ appName, userId: "u", sessionId: `s${i}` });
        await service.appendEvent({ session: s, event: event("agent", "x", {}, Date.UTC(2025, 0, 1) + i) });
        ids.push(s.id);
      }
      const page = await service.listSessions({ appName, userId: "u", limit: 2, page: 2, order: "desc" });
      assert.deepEqual(page.sessions.map((s) => s.id), ["s0"]);
      assert.deepEqual([page.page, page.limit, page.totalItems, page.totalPages], [2, 2, 3, 2]);
    });
  });

  describe("delete", () => {
    test("removes the session; deleting a missing one is fine", async () => {
      const session = await service.createSession({ appName: app(), userId: "u" });
      await service.deleteSession({ appName: session.appName, userId: "u", sessionId: session.id });
      assert.equal(await service.getSession({ appName: session.appName, userId: "u", sessionId: session.id }), undefined);
      await service.deleteSession({ appName: session.appName, userId: "u", sessionId: session.id });
    });
  });

  describe("state", () => {
    test("app: is shared by the app, user: by the user's sessions, plain keys by one session, temp: by none", async () => {
      const appName = app();
      const first = await service.createSession({ appName, userId: "alice" });
      await service.appendEvent({
        session: first,
        event: event("agent", "x", { "app:a": "A", "user:u": "U", s: "S", "temp:t": "T" }),
      });
      assert.deepEqual(plain(first.events[0]?.actions.stateDelta ?? {}), { "app:a": "A", "user:u": "U", s: "S" });
      assert.deepEqual(plain((await reread(first)).state), { "app:a": "A", "user:u": "U", s: "S" });
      const second = await service.createSession({ appName, userId: "alice" });
      assert.deepEqual(plain(second.state), { "app:a": "A", "user:u": "U" });
      const other = await service.createSession({ appName, userId: "bob" });
      assert.deepEqual(plain(other.state), { "app:a": "A" });
      assert.deepEqual(plain(await service.getUserState({ appName, userId: "alice" })), { u: "U" });
      assert.deepEqual(plain(await service.getAppState({ appName })), { a: "A" });
    });

    test("unicode keys and values survive", async () => {
      const session = await service.createSession({ appName: app(), userId: "ユーザー", state: { 名前: "Zoë 🐍" } });
      await service.appendEvent({ session, event: event("agent", "ünïcödé ✓", { "user:città": "Zürich" }) });
      const got = await reread(session);
      assert.deepEqual(plain(got.state), { 名前: "Zoë 🐍", "user:città": "Zürich" });
      assert.equal(got.events[0]?.content?.parts?.[0]?.text, "ünïcödé ✓");
    });

    test("big integers stay exact, as bigint", async () => {
      const big = 2n ** 63n + 1n;
      const session = await service.createSession({ appName: app(), userId: "u", state: { big, small: 7, nested: { big } } });
      await service.appendEvent({ session, event: event("agent", "x", { "app:big": -big }) });
      const got = await reread(session);
      assert.deepEqual(plain(got.state), { big, small: 7, nested: { big }, "app:big": -big });
      assert.equal(got.events[0]?.actions.stateDelta["app:big"], -big);
    });
  });

  describe("append", () => {
    test("records the event in the session and keeps timestamps exact", async () => {
      const session = await service.createSession({ appName: app(), userId: "u" });
      const appended = await service.appendEvent({ session, event: event("agent", "hi", { k: 1 }, 1700000000123) });
      assert.equal(session.events.length, 1);
      assert.equal(session.state["k"], 1);
      assert.equal(session.lastUpdateTime, 1700000000123);
      const stored = (await reread(session)).events[0];
      assert.equal(stored?.id, appended.id);
      assert.equal(stored?.timestamp, 1700000000123);
      assert.equal(stored?.author, "agent");
    });

    test("a partial event is neither stored nor applied", async () => {
      const session = await service.createSession({ appName: app(), userId: "u" });
      const partial = { ...event("agent", "stream", { k: 1 }), partial: true };
      await service.appendEvent({ session, event: partial });
      assert.equal(session.events.length, 0);
      assert.equal((await reread(session)).events.length, 0);
    });

    test("a stale writer is rejected with StaleSessionError and nothing is stored", async () => {
      const session = await service.createSession({ appName: app(), userId: "u" });
      const first = await reread(session);
      const second = await reread(session);
      await service.appendEvent({ session: first, event: event("a", "first", { k: 1 }) });
      await assert.rejects(service.appendEvent({ session: second, event: event("b", "second", { k: 2 }) }), StaleSessionError);
      assert.equal(second.events.length, 0);
      const stored = await reread(session);
      assert.deepEqual([stored.events.length, stored.state["k"]], [1, 1]);
      await service.appendEvent({ session: stored, event: event("b", "second") });
    });

    test("a session built by hand is checked against storage", async () => {
      const session = await service.createSession({ appName: app(), userId: "u" });
      const handMade = (lastUpdateTime: number): Session => ({
        id: session.id,
        appName: session.appName,
        userId: session.userId,
        state: {},
        events: [],
        lastUpdateTime,
      });
      await service.appendEvent({ session: handMade(Date.now() + 3_600_000), event: event("a", "ok") });
      await assert.rejects(service.appendEvent({ session: handMade(0), event: event("a", "late") }), StaleSessionError);
    });

    test("the same event appended twice is stored once", async () => {
      const session = await service.createSession({ appName: app(), userId: "u" });
      const once = event("agent", "once", { "user:visits": 1 });
      await service.appendEvent({ session, event: once });
      await service.appendEvent({ session, event: once });
      assert.equal((await reread(session)).events.length, 1);
      assert.equal(session.events.length, 1);
    });

    test("a different event under a stored id is EventIdConflictError", async () => {
      const session = await service.createSession({ appName: app(), userId: "u" });
      const first = event("agent", "one");
      await service.appendEvent({ session, event: first });
      await assert.rejects(
        service.appendEvent({ session, event: { ...event("agent", "two"), id: first.id } }),
        EventIdConflictError,
      );
    });

    for (const [name, code] of [
      ["UNAVAILABLE", status.UNAVAILABLE],
      ["CANCELLED", status.CANCELLED],
    ] as const) {
      test(`a retry after an answer lost as ${name} applies the event once`, async () => {
        let appends = 0;
        // Lets the first AppendEvent reach the server, then reports `code`.
        const loseFirstAnswer: Interceptor = (options: InterceptorOptions, nextCall: NextCall): InterceptingCall =>
          new Call(nextCall(options), {
            start(metadata, listener, next) {
              next(metadata, {
                onReceiveStatus(received, nextStatus) {
                  const isAppend = options.method_definition.path.endsWith("/AppendEvent");
                  if (isAppend && received.code === status.OK && ++appends === 1) {
                    nextStatus({ ...received, code, details: "answer lost" });
                  } else {
                    nextStatus(received);
                  }
                },
              });
            },
          });
        // Appends as calls of their own (not on the append stream), whose status the interceptor replaces.
        const flaky = new GrpcSessionService(server.address, { interceptors: [loseFirstAnswer], streamAppends: false });
        try {
          const session = await flaky.createSession({ appName: app(), userId: "u" });
          await flaky.appendEvent({ session, event: event("agent", "once", { "user:visits": 1 }) });
          assert.equal(appends, 2, "the append should have been retried once");
          assert.equal((await reread(session)).events.length, 1);
          await flaky.appendEvent({ session, event: event("agent", "next") });
        } finally {
          flaky.close();
        }
      });
    }
  });
});
