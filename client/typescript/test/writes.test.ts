/**
 * How appends and creates travel (see write_pipeline.ts), against a real
 * server whose /metrics say which calls it served: a lone write on the
 * append stream, writes made together in batch calls, each write with the
 * outcome it would have had alone, and a call per write when both are off.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { createEvent, type Event, type Session } from "@google/adk";
import { InterceptingCall, Metadata, status, type Interceptor, type InterceptorOptions, type NextCall } from "@grpc/grpc-js";
import { setTimeout as sleep } from "node:timers/promises";

import {
  AlreadyExistsError,
  GrpcSessionService,
  StaleSessionError,
  type GrpcSessionServiceOptions,
} from "../src/index.js";
import { STREAM_IDLE_MS } from "../src/append_stream.js";
import { startMeteredServer, unavailable, type MeteredServer } from "./server.js";

const SESSIONS = 32;
const APPENDS_EACH = 5;

function event(text: string): Event {
  return createEvent({
    invocationId: `inv-${randomUUID()}`,
    author: "agent",
    content: { role: "model", parts: [{ text }] },
    actions: { stateDelta: { last: text } },
  });
}

/** The sum of the samples of counter `name` that carry every one of `labels`. */
function counted(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [sample, value] of samples) {
    const [sampleName, sampleLabels = ""] = sample.split("{");
    if (sampleName === name && Object.entries(labels).every(([k, v]) => sampleLabels.includes(`${k}="${v}"`))) {
      sum += value;
    }
  }
  return sum;
}

/** The samples `servedSince` counts: [counter, labels it must carry]. */
const SERVED = {
  AppendEvent: ["adk_grpc_sessions_rpcs_total", { method: "AppendEvent" }],
  CreateSession: ["adk_grpc_sessions_rpcs_total", { method: "CreateSession" }],
  BatchAppendEvents: ["adk_grpc_sessions_rpcs_total", { method: "BatchAppendEvents" }],
  BatchCreateSessions: ["adk_grpc_sessions_rpcs_total", { method: "BatchCreateSessions" }],
  batchedAppends: ["adk_grpc_sessions_batched_appends_total", {}],
  batchedCreates: ["adk_grpc_sessions_batched_creates_total", {}],
  batchedStale: ["adk_grpc_sessions_batched_appends_total", { code: "ABORTED" }],
  batchedDuplicate: ["adk_grpc_sessions_batched_creates_total", { code: "ALREADY_EXISTS" }],
  streamedAppends: ["adk_grpc_sessions_streamed_appends_total", {}],
  streamedCreates: ["adk_grpc_sessions_streamed_creates_total", {}],
  streamsEnded: ["adk_grpc_sessions_rpcs_total", { method: "AppendEventStream" }],
} as const satisfies Record<string, readonly [string, Record<string, string>]>;

/** How many of each kind of write call (and write inside one) the server served since `before`. */
async function servedSince(
  server: MeteredServer,
  before: Map<string, number>,
): Promise<Record<keyof typeof SERVED, number>> {
  const now = await server.metrics();
  const entries = Object.entries(SERVED).map(([key, [name, labels]]) => [
    key,
    counted(now, name, labels) - counted(before, name, labels),
  ]);
  return Object.fromEntries(entries) as Record<keyof typeof SERVED, number>;
}

/** Rejects with what `promise` rejected with; fails if it resolved. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => assert.fail(`expected a failure, got ${String(value)}`),
    (error: unknown) => error,
  );
}

describe("writes through the write pipeline", { skip: unavailable() }, () => {
  let server: MeteredServer;
  const services: GrpcSessionService[] = [];
  const service = (options: GrpcSessionServiceOptions = {}) => {
    const made = new GrpcSessionService(server.address, options);
    services.push(made);
    return made;
  };
  before(async () => {
    server = await startMeteredServer();
  });
  after(async () => {
    services.forEach((made) => made.close());
    await server?.stop();
  });

  /** Creates SESSIONS sessions at once, appends APPENDS_EACH events to each (all sessions at once), checks them. */
  async function manyWritesLand(sessions: GrpcSessionService): Promise<void> {
    const appName = `app-${randomUUID()}`;
    const created: Session[] = await Promise.all(
      Array.from({ length: SESSIONS }, (_, i) => sessions.createSession({ appName, userId: `u${i}`, state: { i } })),
    );
    assert.equal(new Set(created.map((s) => s.id)).size, SESSIONS, "every create made its own session");
    created.forEach((session, i) => assert.equal(session.state["i"], i, "each create got its own session back"));
    const appended = await Promise.all(
      created.map(async (session) => {
        const events: Event[] = [];
        for (let n = 0; n < APPENDS_EACH; n++) {
          events.push(await sessions.appendEvent({ session, event: event(`${session.id}-${n}`) }));
        }
        return events;
      }),
    );
    for (const [i, session] of created.entries()) {
      const stored = await sessions.getSession({ appName, userId: `u${i}`, sessionId: session.id });
      assert.deepEqual(
        stored?.events.map((e) => e.id),
        appended[i]!.map((e) => e.id),
        "each append stored once, in order",
      );
      assert.equal(stored?.state["last"], `${session.id}-${APPENDS_EACH - 1}`);
      // Only a session holding the revision its last append returned may append again.
      await sessions.appendEvent({ session, event: event("after") });
    }
  }

  test("many sessions created and appended to at once all land, lone writes on the stream and the rest in batches", async () => {
    const sessions = service();
    const before = await server.metrics();
    const lone = await sessions.createSession({ appName: "lone", userId: "u" });
    await sessions.appendEvent({ session: lone, event: event("lone") });
    await manyWritesLand(sessions);
    const served = await servedSince(server, before);
    console.log(`the server served: ${JSON.stringify(served)}`);
    assert.ok(served.streamedCreates >= 1 && served.streamedAppends >= 1, `lone writes on the stream: ${JSON.stringify(served)}`);
    assert.ok(served.BatchCreateSessions >= 1 && served.batchedCreates >= 2, `creates made at once batched: ${JSON.stringify(served)}`);
    assert.ok(served.BatchAppendEvents >= 1 && served.batchedAppends >= 2, `appends made at once batched: ${JSON.stringify(served)}`);
    const writes = served.AppendEvent + served.batchedAppends + served.streamedAppends;
    assert.equal(writes, 1 + SESSIONS * (APPENDS_EACH + 1), "each append served once");
  });

  test("a stale append in a batch fails as it would alone, and its neighbours succeed", async () => {
    const sessions = service();
    const appName = `app-${randomUUID()}`;
    const fresh = await Promise.all(
      Array.from({ length: 4 }, (_, i) => sessions.createSession({ appName, userId: `u${i}` })),
    );
    const read = () => sessions.getSession({ appName, userId: "u0", sessionId: fresh[0]!.id });
    const [behindAlone, behind] = [(await read())!, (await read())!];
    await sessions.appendEvent({ session: fresh[0]!, event: event("ahead") }); // both copies are now stale
    const aloneError = await failure(sessions.appendEvent({ session: behindAlone, event: event("stale, alone") }));

    const before = await server.metrics();
    const outcomes = await Promise.allSettled([
      sessions.appendEvent({ session: fresh[1]!, event: event("first, alone") }),
      sessions.appendEvent({ session: fresh[2]!, event: event("batched") }),
      sessions.appendEvent({ session: behind, event: event("stale, batched") }),
      sessions.appendEvent({ session: fresh[3]!, event: event("batched too") }),
    ]);
    const served = await servedSince(server, before);
    assert.equal(served.batchedStale, 1, `the stale append went in a batch: ${JSON.stringify(served)}`);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ["fulfilled", "fulfilled", "rejected", "fulfilled"],
    );
    const batchedError = (outcomes[2] as PromiseRejectedResult).reason as StaleSessionError;
    assert.ok(batchedError instanceof StaleSessionError, String(batchedError));
    assert.ok(aloneError instanceof StaleSessionError, String(aloneError));
    assert.deepEqual(
      [batchedError.constructor, batchedError.code, batchedError.reason, batchedError.message],
      [aloneError.constructor, aloneError.code, aloneError.reason, aloneError.message],
      "the same error as alone",
    );
  });

  test("a duplicate create in a batch fails with AlreadyExistsError, and its neighbours succeed", async () => {
    const sessions = service();
    const appName = `app-${randomUUID()}`;
    const taken = await sessions.createSession({ appName, userId: "u", sessionId: "taken" });
    const aloneError = await failure(sessions.createSession({ appName, userId: "u", sessionId: "taken" }));

    const before = await server.metrics();
    const outcomes = await Promise.allSettled([
      sessions.createSession({ appName, userId: "u", sessionId: "first" }),
      sessions.createSession({ appName, userId: "u", sessionId: "second" }),
      sessions.createSession({ appName, userId: "u", sessionId: taken.id, state: { lost: true } }),
      sessions.createSession({ appName, userId: "u" }),
    ]);
    const served = await servedSince(server, before);
    assert.equal(served.batchedDuplicate, 1, `the duplicate went in a batch: ${JSON.stringify(served)}`);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ["fulfilled", "fulfilled", "rejected", "fulfilled"],
    );
    const batchedError = (outcomes[2] as PromiseRejectedResult).reason as AlreadyExistsError;
    assert.ok(batchedError instanceof AlreadyExistsError, String(batchedError));
    assert.ok(aloneError instanceof AlreadyExistsError, String(aloneError));
    assert.deepEqual(
      [batchedError.code, batchedError.reason, batchedError.message],
      [aloneError.code, aloneError.reason, aloneError.message],
      "the same error as alone",
    );
    const stored = await sessions.getSession({ appName, userId: "u", sessionId: "taken" });
    assert.equal(stored?.state["lost"], undefined, "the duplicate changed nothing");
  });

  test("with batches and the stream off, every write is a call of its own", async () => {
    const sessions = service({ maxAppendsInFlight: 0, streamAppends: false });
    const before = await server.metrics();
    await manyWritesLand(sessions);
    const served = await servedSince(server, before);
    assert.deepEqual(
      [served.BatchAppendEvents, served.BatchCreateSessions, served.streamedAppends, served.streamedCreates],
      [0, 0, 0, 0],
      `no batch or stream: ${JSON.stringify(served)}`,
    );
    assert.equal(served.AppendEvent, SESSIONS * (APPENDS_EACH + 1));
    assert.equal(served.CreateSession, SESSIONS);
  });

  test("an append whose answer on the stream is lost is sent again on a new stream and stored once", async () => {
    let answers = 0;
    let streams = 0;
    // Fails the append stream UNAVAILABLE in place of its first append's answer: the server applied it.
    const loseFirstAnswer: Interceptor = (options: InterceptorOptions, nextCall: NextCall) => {
      const onStream = options.method_definition.path.endsWith("/AppendEventStream");
      streams += onStream ? 1 : 0;
      return new InterceptingCall(nextCall(options), {
        start(metadata, listener, next) {
          let lost = false;
          next(metadata, {
            onReceiveMessage(message: { result?: unknown }, nextMessage) {
              if (onStream && message.result !== undefined && ++answers === 1) {
                lost = true;
                listener.onReceiveStatus({ code: status.UNAVAILABLE, details: "answer lost", metadata: new Metadata() });
              } else {
                nextMessage(message);
              }
            },
            onReceiveStatus(received, nextStatus) {
              if (!lost) {
                nextStatus(received);
              }
            },
          });
        },
      });
    };
    const sessions = service({ interceptors: [loseFirstAnswer] });
    const session = await sessions.createSession({ appName: `app-${randomUUID()}`, userId: "u" });
    const once = event("once");
    await sessions.appendEvent({ session, event: once });
    assert.equal(answers, 2, "the append was answered twice: lost, then on a new stream");
    assert.equal(streams, 2, "the lost answer dropped the stream");
    const stored = await sessions.getSession({ appName: session.appName, userId: "u", sessionId: session.id });
    assert.deepEqual(
      stored?.events.map((e) => e.id),
      [once.id],
    );
    await sessions.appendEvent({ session, event: event("next") }); // the session's revision is right
  });

  test("an append stream left idle is ended, so that it does not keep the process alive", async () => {
    services.forEach((made) => made.close()); // the streams of the tests before end now, not during this one
    await sleep(500);
    const sessions = service();
    const before = await server.metrics();
    const session = await sessions.createSession({ appName: `app-${randomUUID()}`, userId: "u" });
    await sessions.appendEvent({ session, event: event("then idle") });
    assert.equal((await servedSince(server, before)).streamsEnded, 0, "the stream stays open between writes");
    await sleep(STREAM_IDLE_MS + 1000);
    assert.equal((await servedSince(server, before)).streamsEnded, 1, "the idle stream was ended");
    await sessions.appendEvent({ session, event: event("on a new stream") });
  });

  test("limits out of range are refused when the service is made", () => {
    for (const options of [{ maxAppendsInFlight: -1 }, { maxAppendsPerCall: 0 }, { maxAppendsPerCall: 1001 }]) {
      assert.throws(() => new GrpcSessionService("localhost:1", options), RangeError, JSON.stringify(options));
    }
  });
});
