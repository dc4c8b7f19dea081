/**
 * Watching a user's sessions through GrpcSessionService against a real
 * server: the listing, caughtUp, a create and a delete seen live, and a
 * relisting after the server is killed and started again.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { GrpcSessionService, type SessionsUpdate, type UserSessionsWatch } from "../src/index.js";
import { startRestartableServer, startServer, unavailable, type TestServer } from "./server.js";

const WAIT_MS = 60_000;
const app = () => `app-${randomUUID()}`;

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) {
      assert.fail(`after ${WAIT_MS} ms: ${what} never happened`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Reads a watch of a user's sessions in the background until it is closed. */
class Reader {
  readonly updates: SessionsUpdate[] = [];
  error: unknown;
  readonly done: Promise<void>;

  constructor(readonly watch: UserSessionsWatch) {
    this.done = this.read();
  }

  private async read(): Promise<void> {
    try {
      for await (const update of this.watch) {
        this.updates.push(update);
      }
    } catch (error) {
      this.error = error;
    }
  }

  caughtUp(): number {
    return this.updates.filter((u) => u.kind === "caughtUp").length;
  }

  noticed(notice: string, sessionId: string): boolean {
    return this.updates.some((u) => u.kind === "notice" && u.notice === notice && u.sessionId === sessionId);
  }
}

describe("watching a user's sessions", { skip: unavailable() }, () => {
  let server: TestServer;
  let service: GrpcSessionService;

  before(async () => {
    server = await startServer();
    service = new GrpcSessionService(server.address);
  });
  after(async () => {
    service?.close();
    await server?.stop();
  });

  test("lists the sessions, catches up, then sees a create and a delete live", async () => {
    const appName = app();
    const listed = await service.createSession({ appName, userId: "u", state: { k: "v" } });
    await service.createSession({ appName, userId: "someone else" });
    const reader = new Reader(service.watchSessions(appName, "u"));
    await until("caught up", () => reader.caughtUp() === 1);
    const [first, caughtUp] = reader.updates;
    assert.equal(reader.updates.length, 2);
    assert.ok(first?.kind === "notice" && first.notice === "listed" && first.sessionId === listed.id);
    assert.deepEqual({ ...first.session?.state }, { k: "v" });
    assert.equal(first.info?.sessionId, listed.id);
    assert.deepEqual(caughtUp, { kind: "caughtUp", listed: 1 });

    const created = await service.createSession({ appName, userId: "u" });
    await until("the create noticed", () => reader.noticed("created", created.id));
    await service.deleteSession({ appName, userId: "u", sessionId: listed.id });
    await until("the delete noticed", () => reader.noticed("deleted", listed.id));
    const deleted = reader.updates.at(-1);
    assert.ok(deleted?.kind === "notice" && deleted.session === undefined && deleted.info === undefined);
    assert.deepEqual([...reader.watch.sessions.keys()], [created.id]);
    await reader.watch.close();
    await reader.done;
    assert.equal(reader.error, undefined);
  });

  test("after the server is killed and started again, it relists", async () => {
    const crashing = await startRestartableServer();
    const client = new GrpcSessionService(crashing.address, { timeoutMs: WAIT_MS });
    try {
      const appName = app();
      const kept = await client.createSession({ appName, userId: "u" });
      const reader = new Reader(client.watchSessions(appName, "u"));
      await until("caught up", () => reader.caughtUp() === 1);
      await crashing.kill();
      await crashing.restart();
      await until("caught up again", () => reader.caughtUp() === 2 || reader.error !== undefined);
      assert.equal(reader.error, undefined);
      assert.deepEqual(
        reader.updates.slice(2).map((u) => (u.kind === "notice" ? `${u.notice} ${u.sessionId}` : u.kind)),
        ["relisting", `listed ${kept.id}`, "caughtUp"],
      );
      assert.equal(reader.watch.reconnects, 1);
      assert.ok(reader.watch.caughtUp);
      await reader.watch.close();
      await reader.done;
    } finally {
      client.close();
      await crashing.stop();
    }
  });
});
