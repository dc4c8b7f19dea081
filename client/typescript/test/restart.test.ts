/**
 * A server killed (SIGKILL) and started again on the same port and SQLite
 * file, as a deploy or a crashed sidecar would be: calls made while it is
 * down succeed once it is back, and a call's time budget bounds how long it
 * keeps trying.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, test } from "node:test";

import { createEvent, type Event } from "@google/adk";

import { GrpcSessionService, SessionServiceUnavailableError } from "../src/index.js";
import { startRestartableServer, unavailable, type RestartableServer } from "./server.js";

const APP = "restart";

function event(text: string): Event {
  return createEvent({
    invocationId: `inv-${randomUUID()}`,
    author: "agent",
    content: { role: "model", parts: [{ text }] },
    actions: { stateDelta: { last: text } },
  });
}

describe("a restarting server", { skip: unavailable() }, () => {
  let server: RestartableServer | undefined;
  let service: GrpcSessionService | undefined;
  afterEach(async () => {
    service?.close();
    await server?.stop();
  });

  for (const outageMs of [500, 2000]) {
    test(`calls made during a ${outageMs} ms outage succeed once it is back, appends stored once`, async () => {
      server = await startRestartableServer();
      service = new GrpcSessionService(server.address); // default settings: a 30 s budget
      const session = await service.createSession({ appName: APP, userId: "u" });
      const before = event("before");
      await service.appendEvent({ session, event: before });
      await server.kill();

      const during = event("during");
      const appending = service.appendEvent({ session, event: during });
      const reading = service.getSession({ appName: APP, userId: "u", sessionId: session.id });
      const settled = Promise.allSettled([appending, reading]);
      await sleep(outageMs);
      await server.restart();
      const back = Date.now();
      const [appended, read] = await settled;
      console.log(`${outageMs} ms outage: the calls made meanwhile succeeded ${Date.now() - back} ms after it served`);
      const why = (outcome: PromiseSettledResult<unknown>) =>
        outcome.status === "rejected" ? String(outcome.reason) : "";
      assert.equal(appended.status, "fulfilled", `appendEvent during the outage: ${why(appended)}`);
      assert.equal(read.status, "fulfilled", `getSession during the outage: ${why(read)}`);
      assert.notEqual(read.value, undefined, "the session read during the outage");

      const stored = await service.getSession({ appName: APP, userId: "u", sessionId: session.id });
      assert.deepEqual(
        stored?.events.map((e) => e.id),
        [before.id, during.id],
        "each append once",
      );
    });
  }

  for (const [how, flags, stop] of [
    ["killed", [], (stopped: RestartableServer) => stopped.kill()],
    // Drained: it ends its streams once each has answered, and answers the calls it began.
    ["drained", ["--grace-seconds", "5"], (stopped: RestartableServer) => stopped.terminate()],
  ] as const) {
    test(`appends and creates in flight (streamed and batched) when the server is ${how} land once, once it is back`, async () => {
      server = await startRestartableServer(flags);
      service = new GrpcSessionService(server.address); // default settings: a 30 s budget
      const writer = service;
      const sessions = await Promise.all(Array.from({ length: 16 }, () => writer.createSession({ appName: APP, userId: "u" })));
      let done = 0;
      let halfway: () => void = () => {};
      const reachedHalfway = new Promise<void>((resolve) => (halfway = resolve));
      const appending = Promise.all(
        sessions.map(async (session) => {
          const events: Event[] = [];
          for (let n = 0; n < 10; n++) {
            events.push(await writer.appendEvent({ session, event: event(`${n}`) }));
            if (++done === 40) {
              halfway();
            }
          }
          return events;
        }),
      );
      await reachedHalfway;
      const creating = Promise.all(Array.from({ length: 8 }, () => writer.createSession({ appName: APP, userId: "v" })));
      const settled = Promise.allSettled([appending, creating]);
      await stop(server);
      await sleep(300);
      await server.restart();
      const [appendingOutcome, creatingOutcome] = await settled;
      const why = (outcome: PromiseSettledResult<unknown>) =>
        outcome.status === "rejected" ? String(outcome.reason) : "";
      assert.equal(appendingOutcome.status, "fulfilled", `the appends: ${why(appendingOutcome)}`);
      assert.equal(creatingOutcome.status, "fulfilled", `the creates: ${why(creatingOutcome)}`);
      const [appended, created] = [appendingOutcome.value, creatingOutcome.value];
      for (const [i, session] of sessions.entries()) {
        const stored = await writer.getSession({ appName: APP, userId: "u", sessionId: session.id });
        assert.deepEqual(
          stored?.events.map((e) => e.id),
          appended[i]!.map((e) => e.id),
          "each append stored once, in order",
        );
      }
      const listed = (await writer.listSessions({ appName: APP, userId: "v" })).sessions.map((s) => s.id);
      assert.deepEqual(listed.sort(), created.map((s) => s.id).sort(), "each create made its session, once");
    });
  }

  test("writes still waiting for a free call when their budget runs out fail unavailable, and none is stored", async () => {
    server = await startRestartableServer();
    // One call at a time, one write a call: while the first append is tried, the others wait.
    service = new GrpcSessionService(server.address, { timeoutMs: 2000, maxAppendsInFlight: 1, maxAppendsPerCall: 1 });
    const writer = service;
    const session = await writer.createSession({ appName: APP, userId: "u" });
    await server.kill();
    const started = Date.now();
    const outcomes = await Promise.allSettled(
      ["first", "second", "third"].map((text) => writer.appendEvent({ session, event: event(text) })),
    );
    const elapsed = Date.now() - started;
    for (const outcome of outcomes) {
      assert.equal(outcome.status, "rejected");
      const error = (outcome as PromiseRejectedResult).reason as unknown;
      assert.ok(error instanceof SessionServiceUnavailableError, String(error));
    }
    assert.ok(elapsed >= 1800 && elapsed <= 3500, `the writes failed after ${elapsed} ms with a 2 s budget`);
    await server.restart();
    const stored = await writer.getSession({ appName: APP, userId: "u", sessionId: session.id });
    assert.deepEqual(stored?.events, [], "no write was stored");
  });

  test("a call whose budget runs out during the outage fails unavailable after that budget", async () => {
    server = await startRestartableServer();
    service = new GrpcSessionService(server.address, { timeoutMs: 2000 });
    const session = await service.createSession({ appName: APP, userId: "u" });
    await server.kill(); // and it stays down for longer than the budget of each call
    const calls: Record<string, () => Promise<unknown>> = {
      getSession: () => service!.getSession({ appName: APP, userId: "u", sessionId: session.id }),
      appendEvent: () => service!.appendEvent({ session, event: event("lost") }),
    };
    for (const [name, call] of Object.entries(calls)) {
      const started = Date.now();
      const error = await call().then(
        () => undefined,
        (failure: unknown) => failure,
      );
      const elapsed = Date.now() - started;
      console.log(`${name} with a 2 s budget during an outage: ${String(error)} after ${elapsed} ms`);
      assert.ok(error instanceof SessionServiceUnavailableError, `${name}: ${String(error)}`);
      assert.ok(elapsed >= 1800 && elapsed <= 3500, `${name} failed after ${elapsed} ms with a 2 s budget`);
    }
  });
});
