/**
 * The session lifecycle through GrpcSessionService against a real server
 * (memory backend): expiry at create and later, close, erasing a user.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { createEvent, type Event, type Session } from "@google/adk";
import type { InterceptingCall, Interceptor, InterceptorOptions, NextCall } from "@grpc/grpc-js";
import { InterceptingCall as Call, status } from "@grpc/grpc-js";

import {
  GrpcSessionService,
  InvalidArgumentError,
  SessionClosedError,
  SessionNotFoundError,
  SessionServiceError,
  StaleSessionError,
} from "../src/index.js";
import { startServer, unavailable, type TestServer } from "./server.js";

let server: TestServer;
let service: GrpcSessionService;

const app = () => `app-${randomUUID()}`;
/** How long a test waits for a 1 s ttl to pass on a busy machine. */
const EXPIRY_WAIT_MS = 20_000;

function event(author: string, text: string, stateDelta: Record<string, unknown> = {}): Event {
  return createEvent({
    invocationId: `inv-${randomUUID()}`,
    author,
    content: { role: "model", parts: [{ text }] },
    actions: { stateDelta },
  });
}

/** Polls `condition` until it holds, failing after EXPIRY_WAIT_MS. */
async function eventually(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + EXPIRY_WAIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      assert.fail(`after ${EXPIRY_WAIT_MS} ms: ${what} never happened`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function listedIds(appName: string, userId: string): Promise<string[]> {
  return (await service.listSessions({ appName, userId })).sessions.map((s) => s.id);
}

describe("the session lifecycle", { skip: unavailable() }, () => {
  before(async () => {
    server = await startServer();
    service = new GrpcSessionService(server.address);
  });
  after(async () => {
    service?.close();
    await server?.stop();
  });

  test("a session created with a ttl expires: gone for reads, listings and appends", async () => {
    const appName = app();
    const started = Date.now();
    const session = await service.createSession({ appName, userId: "u", sessionId: "short", ttlMs: 1000 });
    const kept = await service.createSession({ appName, userId: "u" });
    const info = await service.getSessionInfo({ appName, userId: "u", sessionId: "short" });
    if (info !== undefined) {
      // The server's clock may be a little off the test's; a second of slack either way.
      assert.ok(info.expireTime !== undefined && info.expireTime >= started && info.expireTime <= Date.now() + 2000);
      assert.ok((await listedIds(appName, "u")).includes("short"), "listed before it expires");
    }
    await eventually("getSession of the expired session answering undefined", async () => {
      return (await service.getSession({ appName, userId: "u", sessionId: "short" })) === undefined;
    });
    assert.deepEqual(await listedIds(appName, "u"), [kept.id]);
    await assert.rejects(service.appendEvent({ session, event: event("user", "late") }), SessionNotFoundError);
    assert.equal(await service.getSessionInfo({ appName, userId: "u", sessionId: "short" }), undefined);
  });

  test("a session created with an expireTime carries it; one created without has none", async () => {
    const appName = app();
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 + 3_600_000);
    const session = await service.createSession({ appName, userId: "u", expireTime: at });
    const info = await service.getSessionInfo({ appName, userId: "u", sessionId: session.id });
    assert.equal(info?.expireTime, at.getTime());
    assert.equal(info?.closeTime, undefined);
    assert.equal(info?.sessionId, session.id);
    const plain = await service.createSession({ appName, userId: "u" });
    const plainInfo = await service.getSessionInfo({ appName, userId: "u", sessionId: plain.id });
    assert.ok(plainInfo !== undefined);
    assert.equal(plainInfo.expireTime, undefined);
  });

  test("a bad ttl or expireTime is InvalidArgumentError and stores nothing", async () => {
    const appName = app();
    for (const expiry of [
      { ttlMs: -1000 },
      { ttlMs: 0 },
      { ttlMs: 101 * 366 * 86_400_000 },
      { expireTime: Date.now() - 3_600_000 },
    ]) {
      await assert.rejects(
        service.createSession({ appName, userId: "u", sessionId: "bad", ...expiry }),
        (error: unknown) => error instanceof InvalidArgumentError && error.code === status.INVALID_ARGUMENT,
        JSON.stringify(expiry),
      );
    }
    assert.deepEqual(await listedIds(appName, "u"), []);
    await assert.rejects(
      service.createSession({ appName, userId: "u", ttlMs: 1000, expireTime: Date.now() + 3_600_000 }),
      InvalidArgumentError,
    );
    const session = await service.createSession({ appName, userId: "u" });
    await assert.rejects(
      service.setSessionExpiry({ appName, userId: "u", sessionId: session.id, ttlMs: -1000 }),
      InvalidArgumentError,
    );
  });

  test("setSessionExpiry sets, clears and shortens the expiry without making writers stale", async () => {
    const appName = app();
    const session = await service.createSession({ appName, userId: "u", state: { k: "v" } });
    await service.appendEvent({ session, event: event("user", "hi") });
    const key = { appName, userId: "u", sessionId: session.id };
    const at = Math.floor(Date.now() / 1000) * 1000 + 3_600_000;
    assert.equal((await service.setSessionExpiry({ ...key, expireTime: at })).expireTime, at);
    assert.equal((await service.setSessionExpiry(key)).expireTime, undefined);
    await service.appendEvent({ session, event: event("agent", "still current") });
    await service.setSessionExpiry({ ...key, ttlMs: 1000 });
    await eventually("the session expiring a second after setSessionExpiry", async () => {
      return (await service.getSessionInfo(key)) === undefined;
    });
    await assert.rejects(service.setSessionExpiry({ ...key, ttlMs: 3_600_000 }), SessionNotFoundError);
  });

  test("a closed session refuses appends with SessionClosedError and still reads", async () => {
    const appName = app();
    const session = await service.createSession({ appName, userId: "u" });
    const stored = event("user", "before the close", { step: 1 });
    await service.appendEvent({ session, event: stored });
    const started = Date.now();
    const info = await service.closeSession({ session });
    assert.ok(info.closeTime !== undefined && Math.abs(info.closeTime - started) < 2000, `closeTime ${info.closeTime}`);

    await assert.rejects(service.appendEvent({ session, event: event("agent", "after the close") }), (error: unknown) => {
      assert.ok(error instanceof SessionClosedError, String(error));
      assert.ok(error instanceof SessionServiceError);
      assert.ok(!(error instanceof StaleSessionError));
      assert.equal(error.code, status.FAILED_PRECONDITION);
      assert.equal(error.reason, "SESSION_CLOSED");
      return true;
    });
    // A retry of an append stored before the close answers as the first time.
    const reread = await service.getSession({ appName, userId: "u", sessionId: session.id });
    assert.ok(reread !== undefined);
    await service.appendEvent({ session: reread, event: stored });
    assert.deepEqual(
      reread.events.map((e) => e.id),
      [stored.id],
    );
    assert.equal(reread.state["step"], 1);
    assert.ok((await listedIds(appName, "u")).includes(session.id));

    const again = await service.closeSession({ session });
    assert.equal(again.closeTime, info.closeTime);
    assert.equal((await service.getSessionInfo({ appName, userId: "u", sessionId: session.id }))?.closeTime, info.closeTime);
    const missing: Session = { ...session, id: "missing" };
    await assert.rejects(service.closeSession({ session: missing }), SessionNotFoundError);
  });

  test("closeSession waits for this service's appends to the session under way", async () => {
    let releaseAppend: () => void = () => {};
    const released = new Promise<void>((resolve) => (releaseAppend = resolve));
    let appendHeld: () => void = () => {};
    const held = new Promise<void>((resolve) => (appendHeld = resolve));
    let closesSent = 0;
    // Holds every append (a call's, or one on the append stream) until released; counts the CloseSession calls sent.
    const holdAppends: Interceptor = (options: InterceptorOptions, nextCall: NextCall): InterceptingCall =>
      new Call(nextCall(options), {
        start(metadata, listener, next) {
          if (options.method_definition.path.endsWith("/CloseSession")) {
            closesSent++;
          }
          next(metadata, listener);
        },
        sendMessage(message: { append?: unknown }, next) {
          const path = options.method_definition.path;
          if (path.endsWith("/AppendEvent") || (path.endsWith("/AppendEventStream") && message.append !== undefined)) {
            appendHeld();
            void released.then(() => next(message));
          } else {
            next(message);
          }
        },
      });
    const heldService = new GrpcSessionService(server.address, { interceptors: [holdAppends] });
    try {
      const session = await heldService.createSession({ appName: app(), userId: "u" });
      const appending = heldService.appendEvent({ session, event: event("user", "in flight") });
      await held;
      let closed = false;
      const closing = heldService.closeSession({ session }).then((info) => {
        closed = true;
        return info;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(closed, false, "closeSession returned while an append to the session was under way");
      assert.equal(closesSent, 0, "CloseSession was sent while an append to the session was under way");
      releaseAppend();
      await appending;
      const info = await closing;
      assert.ok(info.closeTime !== undefined);
      const reread = await service.getSession({ appName: session.appName, userId: "u", sessionId: session.id });
      assert.equal(reread?.events.length, 1);
    } finally {
      releaseAppend();
      heldService.close();
    }
  });

  test("eraseUser leaves nothing of the user and touches no one else", async () => {
    const appName = app();
    const erased: Session[] = [];
    for (let i = 0; i < 3; i++) {
      const session = await service.createSession({
        appName,
        userId: "ada",
        state: { "user:lang": "en", "app:shared": 1, own: true },
      });
      await service.appendEvent({ session, event: event("user", "hi") });
      erased.push(session);
    }
    const other = await service.createSession({ appName, userId: "bob", state: { "user:lang": "fr" } });
    await service.appendEvent({ session: other, event: event("user", "bonjour") });

    assert.equal(await service.eraseUser({ appName, userId: "ada" }), 3);
    for (const session of erased) {
      assert.equal(await service.getSession({ appName, userId: "ada", sessionId: session.id }), undefined);
    }
    assert.deepEqual(await listedIds(appName, "ada"), []);
    assert.deepEqual({ ...(await service.getUserState({ appName, userId: "ada" })) }, {});
    assert.deepEqual({ ...(await service.getAppState({ appName })) }, { shared: 1 });
    const kept = await service.getSession({ appName, userId: "bob", sessionId: other.id });
    assert.equal(kept?.events.length, 1);
    assert.equal(kept?.state["user:lang"], "fr");
    assert.equal(await service.eraseUser({ appName, userId: "ada" }), 0);
    const fresh = await service.createSession({ appName, userId: "ada" });
    assert.equal(fresh.state["user:lang"], undefined);
  });
});

describe("the lifecycle calls", { skip: unavailable() }, () => {
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  test("whose answer is lost are retried", async () => {
    const attempts: Record<string, number> = { UpdateSession: 0, CloseSession: 0, EraseUser: 0 };
    // Lets the first call of each lifecycle method reach the server, then reports UNAVAILABLE.
    const loseFirstAnswers: Interceptor = (options: InterceptorOptions, nextCall: NextCall): InterceptingCall =>
      new Call(nextCall(options), {
        start(metadata, listener, next) {
          next(metadata, {
            onReceiveStatus(received, nextStatus) {
              const name = options.method_definition.path.split("/").at(-1) ?? "";
              if (name in attempts && received.code === status.OK && ++attempts[name]! === 1) {
                nextStatus({ ...received, code: status.UNAVAILABLE, details: "answer lost after the server acted" });
              } else {
                nextStatus(received);
              }
            },
          });
        },
      });
    const flaky = new GrpcSessionService(server.address, { interceptors: [loseFirstAnswers] });
    try {
      const appName = app();
      const session = await flaky.createSession({ appName, userId: "u" });
      await flaky.setSessionExpiry({ appName, userId: "u", sessionId: session.id, ttlMs: 3_600_000 });
      const first = await flaky.closeSession({ session });
      const info = await flaky.getSessionInfo({ appName, userId: "u", sessionId: session.id });
      assert.equal(info?.closeTime, first.closeTime);
      await flaky.eraseUser({ appName, userId: "u" });
      assert.deepEqual((await flaky.listSessions({ appName, userId: "u" })).sessions, []);
      assert.deepEqual(attempts, { UpdateSession: 2, CloseSession: 2, EraseUser: 2 });
    } finally {
      flaky.close();
    }
  });
});
