/**
 * Session metadata, filtered and ordered listings and forks through
 * GrpcSessionService against a real server (memory backend).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { createEvent, type Event, type Session } from "@google/adk";
import {
  InterceptingCall as Call,
  Metadata,
  Server,
  ServerCredentials,
  status,
  type InterceptingCall,
  type Interceptor,
  type InterceptorOptions,
  type NextCall,
  type ServiceError,
} from "@grpc/grpc-js";

import { SessionServiceService } from "../src/gen/adk_grpc_sessions/v1/session_service.js";
import {
  AlreadyExistsError,
  ForkPointUnknownError,
  GrpcSessionService,
  InvalidArgumentError,
  SessionClosedError,
  SessionFilterError,
  SessionNotFoundError,
  type ListSessionInfosRequest,
  type SessionInfo,
} from "../src/index.js";
import { startServer, unavailable, type TestServer } from "./server.js";
import { statusDetails } from "./status_details.js";

let server: TestServer;
let service: GrpcSessionService;

const app = () => `app-${randomUUID()}`;

function event(invocationId: string, stateDelta: Record<string, unknown> = {}): Event {
  return createEvent({
    invocationId,
    author: "agent",
    content: { role: "model", parts: [{ text: `in ${invocationId}` }] },
    actions: { stateDelta },
  });
}

/** An object with `record`'s own entries and the usual prototype, to compare with literals. */
const plain = (record: Record<string, unknown>) => ({ ...record });

async function info(appName: string, userId: string, sessionId: string): Promise<SessionInfo> {
  const got = await service.getSessionInfo({ appName, userId, sessionId });
  assert.ok(got !== undefined, `session ${sessionId} exists`);
  return got;
}

async function listed(request: ListSessionInfosRequest): Promise<string[]> {
  const ids: string[] = [];
  for await (const session of service.iterSessionInfos(request)) {
    ids.push(session.sessionId);
  }
  return ids;
}

/** A session with initial state and four events in three invocations, each changing the state. */
async function conversation(appName: string, sessionId: string): Promise<Session> {
  const session = await service.createSession({
    appName,
    userId: "u",
    sessionId,
    state: { initial: "kept", step: 0 },
    displayName: "source",
    labels: { kind: "source" },
  });
  await service.appendEvent({ session, event: event("inv-1", { step: 1, first: "yes", "user:seen": 1 }) });
  await service.appendEvent({ session, event: event("inv-1", { step: 2 }) });
  await service.appendEvent({ session, event: event("inv-2", { step: 3, second: true }) });
  await service.appendEvent({ session, event: event("inv-3", { step: 4, first: null }) });
  const read = await service.getSession({ appName, userId: "u", sessionId });
  assert.ok(read !== undefined);
  return read;
}

/** A user's sessions created in the order s3, s0, s4, s1, s2 (creation order is not id order). */
async function createFive(appName: string): Promise<void> {
  const topics = ["travel", "work", "travel", "food", "travel"];
  for (const [i, sessionId] of ["s3", "s0", "s4", "s1", "s2"].entries()) {
    const labels: Record<string, string> = { topic: topics[i]! };
    if (i % 2 === 0) labels["pinned"] = "yes";
    await service.createSession({ appName, userId: "u", sessionId, displayName: `chat ${topics[i]}`, labels });
  }
}

describe("session metadata, listings and forks", { skip: unavailable() }, () => {
  before(async () => {
    server = await startServer();
    service = new GrpcSessionService(server.address);
  });
  after(async () => {
    service?.close();
    await server?.stop();
  });

  test("metadata set at create is read back, with the counts the server keeps", async () => {
    const appName = app();
    const labels = { topic: "travel", pinned: "", "trip-id": "r_2026" };
    const session = await service.createSession({
      appName,
      userId: "u",
      displayName: "Trip to Rome ✈ «2026»",
      labels,
      ttlMs: 3_600_000,
    });
    let got = await info(appName, "u", session.id);
    assert.equal(got.displayName, "Trip to Rome ✈ «2026»");
    assert.deepEqual(plain(got.labels), labels);
    assert.equal(got.labels["constructor"], undefined, "labels have no prototype");
    assert.ok(got.expireTime !== undefined);
    assert.equal(got.forkedFrom, undefined);
    assert.equal(got.eventCount, 0);
    await service.appendEvent({ session, event: event("inv-1", { k: "v" }) });
    got = await info(appName, "u", session.id);
    assert.equal(got.eventCount, 1);
    assert.ok(got.storedBytes !== undefined && got.storedBytes > 0, `storedBytes ${got.storedBytes}`);
    const bare = await service.createSession({ appName, userId: "u" });
    const none = await info(appName, "u", bare.id);
    assert.equal(none.displayName, "");
    assert.deepEqual(plain(none.labels), {});
  });

  test("updateSessionMetadata changes what it is given, and neither the revision nor the update time", async () => {
    const appName = app();
    const session = await service.createSession({
      appName,
      userId: "u",
      sessionId: "s1",
      displayName: "first",
      labels: { a: "1" },
    });
    await service.appendEvent({ session, event: event("inv-1") });
    const before = await info(appName, "u", "s1");
    let got = await service.updateSessionMetadata({ appName, userId: "u", sessionId: " s1 ", displayName: "second" });
    assert.equal(got.displayName, "second");
    assert.deepEqual(plain(got.labels), { a: "1" });
    got = await service.updateSessionMetadata({ appName, userId: "u", sessionId: "s1", labels: { b: "2", c: "" } });
    assert.equal(got.displayName, "second");
    assert.deepEqual(plain(got.labels), { b: "2", c: "" });
    assert.equal(got.revision, before.revision);
    assert.equal(got.lastUpdateTime, before.lastUpdateTime);
    // The writer's session is still current: metadata is not state.
    await service.appendEvent({ session, event: event("inv-2") });
    got = await service.updateSessionMetadata({ appName, userId: "u", sessionId: "s1", displayName: "", labels: {} });
    assert.equal(got.displayName, "");
    assert.deepEqual(plain(got.labels), {});
    await assert.rejects(service.updateSessionMetadata({ appName, userId: "u", sessionId: "s1" }), InvalidArgumentError);
    await assert.rejects(
      service.updateSessionMetadata({ appName, userId: "u", sessionId: "missing", displayName: "x" }),
      SessionNotFoundError,
    );
  });

  test("metadata beyond the limits is InvalidArgumentError naming the field, and nothing is stored", async () => {
    const appName = app();
    const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]));
    const cases: [string, { displayName?: string; labels?: Record<string, string> }, string][] = [
      ["a long display name", { displayName: "é".repeat(129) }, "display_name"],
      ["an uppercase key", { labels: { Topic: "x" } }, "labels"],
      ["an uppercase value", { labels: { topic: "X" } }, "labels"],
      ["a reserved key", { labels: { adk_mine: "x" } }, "labels"],
      ["65 labels", { labels: tooMany }, "labels"],
      ["a key of 64", { labels: { ["k" + "x".repeat(63)]: "v" } }, "labels"],
      ["a value of 64", { labels: { k: "v".repeat(64) } }, "labels"],
      ["a key with a dot", { labels: { "a.b": "v" } }, "labels"],
    ];
    for (const [name, metadata, field] of cases) {
      await assert.rejects(service.createSession({ appName, userId: "u", sessionId: "bad", ...metadata }), (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError, `${name}: ${String(error)}`);
        assert.ok(error.violations.some((v) => v.startsWith(field)), `${name}: ${error.violations.join("; ")}`);
        assert.ok(!(error instanceof SessionFilterError), `${name}: not a filter's error`);
        return true;
      });
    }
    assert.deepEqual(await listed({ appName }), []);
    await service.createSession({
      appName,
      userId: "u",
      sessionId: "good",
      displayName: "é".repeat(128),
      labels: { ["k" + "x".repeat(62)]: "v".repeat(63) },
    });
    await assert.rejects(
      service.updateSessionMetadata({ appName, userId: "u", sessionId: "good", labels: { adk_app: "x" } }),
      InvalidArgumentError,
    );
  });

  test("listSessionInfos filters by labels and display name", async () => {
    const appName = app();
    await createFive(appName);
    await service.createSession({ appName, userId: "other", sessionId: "o1", labels: { topic: "travel" } });
    const cases: [string, string[]][] = [
      ['labels.topic = "travel"', ["s3", "s4", "s2"]],
      ["labels.topic = travel AND labels.pinned:*", ["s3", "s4", "s2"]],
      ['labels.topic != "travel"', ["s0", "s1"]],
      ["labels.pinned:*", ["s3", "s4", "s2"]],
      ['display_name = "chat food"', ["s1"]],
      ['display_name != "chat food" AND labels.topic = "work"', ["s0"]],
      ['labels.topic = "none"', []],
    ];
    for (const [filter, want] of cases) {
      assert.deepEqual(await listed({ appName, userId: "u", filter, orderBy: "create_time" }), want, filter);
    }
    assert.deepEqual(
      await listed({ appName, filter: 'labels.topic = "travel"', orderBy: "create_time" }),
      ["s3", "s4", "s2", "o1"],
    );
  });

  test("listSessionInfos orders, pages, and binds a page token to its listing", async () => {
    const appName = app();
    await createFive(appName);
    const s1 = await service.getSession({ appName, userId: "u", sessionId: "s1" });
    assert.ok(s1 !== undefined);
    await service.appendEvent({ session: s1, event: event("latest") });
    const cases: [string | undefined, string[]][] = [
      [undefined, ["s3", "s0", "s4", "s2", "s1"]],
      ["update_time", ["s3", "s0", "s4", "s2", "s1"]],
      ["update_time desc", ["s1", "s2", "s4", "s0", "s3"]],
      ["create_time", ["s3", "s0", "s4", "s1", "s2"]],
      ["create_time asc", ["s3", "s0", "s4", "s1", "s2"]],
      ["create_time desc", ["s2", "s1", "s4", "s0", "s3"]],
    ];
    for (const [orderBy, want] of cases) {
      assert.deepEqual(await listed({ appName, userId: "u", orderBy, pageSize: 2 }), want, String(orderBy));
    }
    const first = await service.listSessionInfos({ appName, userId: "u", orderBy: "create_time desc", pageSize: 2 });
    assert.equal(first.sessions.length, 2);
    assert.notEqual(first.nextPageToken, "");
    assert.equal(first.sessions[0]?.sessionId, "s2");
    assert.equal(first.sessions[0]?.displayName, "chat travel");
    assert.equal(first.sessions[0]?.labels["pinned"], "yes");
    await assert.rejects(
      service.listSessionInfos({ appName, userId: "u", orderBy: "create_time", pageSize: 2, pageToken: first.nextPageToken }),
      InvalidArgumentError,
    );
  });

  test("listSessions takes a filter and an order beside @google/adk's request, and returns sessions with state", async () => {
    const appName = app();
    await createFive(appName);
    const labels = { topic: "travel" };
    await service.createSession({ appName, userId: "u", sessionId: "with-state", state: { k: "v" }, labels });
    const filter = 'labels.topic = "travel"';
    const listed = await service.listSessions({ appName, userId: "u", filter, orderBy: "create_time desc" });
    assert.deepEqual(
      listed.sessions.map((s) => s.id),
      ["with-state", "s2", "s4", "s3"],
    );
    assert.equal(listed.sessions[0]?.state["k"], "v");
    assert.equal(listed.totalItems, 4);
    await assert.rejects(service.listSessions({ appName, filter: "labels.topic = " }), SessionFilterError);
  });

  test("listSessionInfos takes exact RFC 3339 time bounds", async () => {
    const appName = app();
    await service.createSession({ appName, userId: "u", sessionId: "early" });
    await service.createSession({ appName, userId: "u", sessionId: "late" });
    const early = await service.getSessionInfo({ appName, userId: "u", sessionId: "early" });
    assert.ok(early !== undefined);
    const bound = new Date(early.createTime).toISOString();
    const cases: [string, string[]][] = [
      [`create_time < "${bound}"`, []],
      [`create_time >= "${bound}"`, ["early", "late"]],
    ];
    for (const [filter, want] of cases) {
      // The bound is early's creation to the millisecond: at or just before it, never after.
      assert.deepEqual(await listed({ appName, userId: "u", filter, orderBy: "create_time" }), want, filter);
    }
  });

  test("a bad filter is InvalidArgumentError naming filter, with the column of the mistake", async () => {
    const appName = app();
    const cases: [string, string][] = [
      ['labels.topic = "travel" AND colour = "red"', "29"],
      ['labels.topic = "travel" OR labels.a:*', "25"],
      ['create_time < "yesterday"', "15"],
    ];
    for (const [filter, position] of cases) {
      await assert.rejects(service.listSessionInfos({ appName, filter }), (error: unknown) => {
        assert.ok(error instanceof SessionFilterError, `${filter}: ${String(error)}`);
        assert.ok(error instanceof InvalidArgumentError);
        assert.ok(error.violations.some((v) => v.startsWith("filter")), error.violations.join("; "));
        assert.equal(error.metadata["position"], position, `${filter}: ${error.message}`);
        assert.equal(error.position, Number(position));
        return true;
      });
    }
    await assert.rejects(service.listSessionInfos({ appName, orderBy: "display_name" }), InvalidArgumentError);
  });

  test("a fork before an invocation has the source's state at that point, and leaves the source alone", async () => {
    const appName = app();
    const source = await conversation(appName, "src");
    const sourceInfo = await info(appName, "u", "src");
    const started = Date.now() - 1000;
    const forked = await service.forkSession({
      appName,
      userId: "u",
      sessionId: " src ",
      newSessionId: "branch",
      beforeInvocationId: "inv-2",
      displayName: "a branch",
      labels: { kind: "fork" },
    });
    assert.equal(forked.sessionId, "branch");
    assert.equal(forked.displayName, "a branch");
    assert.deepEqual(plain(forked.labels), { kind: "fork" });
    const origin = forked.forkedFrom;
    assert.ok(origin !== undefined);
    const { forkTime, ...where } = origin;
    assert.deepEqual(where, { sessionId: "src", eventCount: 2, beforeInvocationId: "inv-2" });
    assert.ok(forkTime >= started && forkTime <= Date.now() + 1000, `forkTime ${forkTime}`);
    const branch = await service.getSession({ appName, userId: "u", sessionId: "branch" });
    assert.ok(branch !== undefined);
    assert.deepEqual(
      branch.events.map((e) => e.id),
      source.events.slice(0, 2).map((e) => e.id),
    );
    assert.deepEqual(plain(branch.state), { initial: "kept", step: 2, first: "yes", "user:seen": 1 });

    await service.appendEvent({ session: branch, event: event("inv-branch", { step: 99 }) });
    const after = await service.getSession({ appName, userId: "u", sessionId: "src" });
    assert.ok(after !== undefined);
    assert.deepEqual(
      after.events.map((e) => e.id),
      source.events.map((e) => e.id),
    );
    assert.equal(after.state["step"], 4);
    const afterInfo = await info(appName, "u", "src");
    assert.equal(afterInfo.revision, sourceInfo.revision);
    assert.equal(afterInfo.forkedFrom, undefined);
    // The source's writer is still current.
    await service.appendEvent({ session: source, event: event("inv-4") });
  });

  test("a fork of every event of a closed session is open, with a generated id", async () => {
    const appName = app();
    const source = await conversation(appName, "src");
    await service.closeSession({ session: source });
    const forked = await service.forkSession({ appName, userId: "u", sessionId: "src", ttlMs: 3_600_000 });
    assert.notEqual(forked.sessionId, "src");
    assert.equal(forked.closeTime, undefined);
    assert.ok(forked.expireTime !== undefined);
    assert.equal(forked.forkedFrom?.eventCount, 4);
    assert.equal(forked.forkedFrom?.beforeInvocationId, "");
    assert.equal(forked.displayName, "");
    assert.deepEqual(plain(forked.labels), {});
    const branch = await service.getSession({ appName, userId: "u", sessionId: forked.sessionId });
    assert.ok(branch !== undefined);
    assert.deepEqual(
      branch.events.map((e) => e.id),
      source.events.map((e) => e.id),
    );
    assert.deepEqual(plain(branch.state), plain(source.state));
    await service.appendEvent({ session: branch, event: event("inv-after") });
    await assert.rejects(service.appendEvent({ session: source, event: event("inv-closed") }), SessionClosedError);
  });

  test("fork errors", async () => {
    const appName = app();
    await conversation(appName, "src");
    await service.createSession({ appName, userId: "u", sessionId: "taken" });
    await assert.rejects(service.forkSession({ appName, userId: "u", sessionId: "missing" }), SessionNotFoundError);
    await assert.rejects(service.forkSession({ appName, userId: "other", sessionId: "src" }), SessionNotFoundError);
    await assert.rejects(
      service.forkSession({ appName, userId: "u", sessionId: "src", newSessionId: "taken" }),
      AlreadyExistsError,
    );
    await assert.rejects(
      service.forkSession({ appName, userId: "u", sessionId: "src", beforeInvocationId: "inv-none" }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError, String(error));
        assert.ok(error.violations.some((v) => v.startsWith("before_invocation_id")), error.violations.join("; "));
        return true;
      },
    );
    await assert.rejects(
      service.forkSession({ appName, userId: "u", sessionId: "src", labels: { adk_x: "y" } }),
      InvalidArgumentError,
    );
    assert.deepEqual((await listed({ appName, orderBy: "create_time" })).sort(), ["src", "taken"]);
  });

  test("a fork and an update whose answers are lost are retried into one of each", async () => {
    const calls: Record<string, number> = { ForkSession: 0, UpdateSession: 0 };
    const succeeded: Record<string, number> = { ForkSession: 0, UpdateSession: 0 };
    // Lets the first call of each method reach the server, then reports UNAVAILABLE.
    const loseFirstAnswers: Interceptor = (options: InterceptorOptions, nextCall: NextCall): InterceptingCall =>
      new Call(nextCall(options), {
        start(metadata, listener, next) {
          next(metadata, {
            onReceiveStatus(received, nextStatus) {
              const name = options.method_definition.path.split("/").at(-1) ?? "";
              if (name in calls) calls[name]! += 1;
              if (name in succeeded && received.code === status.OK && ++succeeded[name]! === 1) {
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
      await conversation(appName, "src");
      const forked = await flaky.forkSession({ appName, userId: "u", sessionId: "src", beforeInvocationId: "inv-3" });
      assert.equal(forked.forkedFrom?.eventCount, 3);
      const renamed = await flaky.updateSessionMetadata({
        appName,
        userId: "u",
        sessionId: forked.sessionId,
        displayName: "renamed",
      });
      assert.equal(renamed.displayName, "renamed");
      assert.deepEqual((await listed({ appName })).sort(), [forked.sessionId, "src"].sort());
      // The fork's retry is refused (its id is taken by the first attempt) and recognised.
      assert.deepEqual(calls, { ForkSession: 2, UpdateSession: 2 });
      assert.deepEqual(succeeded, { ForkSession: 1, UpdateSession: 2 });
    } finally {
      flaky.close();
    }
  });
});

test("a fork point the storage does not know is ForkPointUnknownError", async () => {
  // A server answering every ForkSession as storage without the source's initial state does.
  const refusing = new Server();
  const unimplemented = (_call: unknown, callback: (error: Partial<ServiceError>) => void) =>
    callback({ code: status.UNIMPLEMENTED });
  const handlers = Object.fromEntries(Object.keys(SessionServiceService).map((name) => [name, unimplemented]));
  refusing.addService(SessionServiceService, {
    ...handlers,
    forkSession: (_call: unknown, callback: (error: Partial<ServiceError>) => void) => {
      const message = "the state of session src before invocation inv-2 is unknown";
      const trailers = new Metadata();
      trailers.set("grpc-status-details-bin", statusDetails(status.FAILED_PRECONDITION, message, "FORK_POINT_UNKNOWN"));
      callback({ code: status.FAILED_PRECONDITION, details: message, metadata: trailers });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    refusing.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const client = new GrpcSessionService(`127.0.0.1:${port}`);
  try {
    await assert.rejects(
      client.forkSession({ appName: "a", userId: "u", sessionId: "src", newSessionId: "f", beforeInvocationId: "inv-2" }),
      (error: unknown) => {
        assert.ok(error instanceof ForkPointUnknownError, String(error));
        assert.equal(error.code, status.FAILED_PRECONDITION);
        assert.equal(error.reason, "FORK_POINT_UNKNOWN");
        return true;
      },
    );
  } finally {
    client.close();
    refusing.forceShutdown();
  }
});
