/**
 * Watching through GrpcSessionService against a real server (memory backend):
 * stored then live events in order, the end with its reason, a missing
 * session, stopping with break, a session deleted while its watch
 * reconnects ended as deleted, and a watcher the server cuts off for
 * falling behind resumed without losing an event.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";

import { createEvent, type Event, type Session } from "@google/adk";

import { GrpcSessionService, SessionNotFoundError, type SessionWatch, type WatchUpdate } from "../src/index.js";
import { startRestartableServer, startServer, unavailable, type TestServer } from "./server.js";

const WAIT_MS = 60_000;
const app = () => `app-${randomUUID()}`;

function event(text: string): Event {
  return createEvent({
    invocationId: `inv-${randomUUID()}`,
    author: "agent",
    content: { role: "model", parts: [{ text }] },
  });
}

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) {
      assert.fail(`after ${WAIT_MS} ms: ${what} never happened`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Reads a watch in the background; `hold` (until released) keeps it from reading on after an update. */
class Reader {
  readonly updates: WatchUpdate[] = [];
  error: unknown;
  readonly done: Promise<void>;
  private release: () => void = () => {};
  private readonly held: Promise<void>;

  constructor(readonly watch: SessionWatch, hold = false) {
    this.held = hold ? new Promise((resolve) => (this.release = resolve)) : Promise.resolve();
    this.done = this.read();
  }

  private async read(): Promise<void> {
    try {
      for await (const update of this.watch) {
        this.updates.push(update);
        await this.held;
      }
    } catch (error) {
      this.error = error;
    }
  }

  go(): void {
    this.release();
  }

  eventIds(): string[] {
    return this.updates.flatMap((u) => (u.kind === "event" ? [u.event.id] : []));
  }

  caughtUp(): number {
    return this.updates.filter((u) => u.kind === "caughtUp").length;
  }
}

/** A TCP proxy to a server that the test can cut: `shut` closes its connections and holds new ones until `open`. */
class ConnectionGate {
  private readonly sockets = new Set<Socket>();
  private opened: Promise<void> = Promise.resolve();
  private release: () => void = () => {};

  private constructor(
    private readonly proxy: Server,
    readonly address: string,
  ) {}

  static async to(target: string): Promise<ConnectionGate> {
    const proxy = createServer();
    await new Promise<void>((resolve, reject) => {
      proxy.once("error", reject);
      proxy.listen(0, "127.0.0.1", resolve);
    });
    const gate = new ConnectionGate(proxy, `127.0.0.1:${(proxy.address() as AddressInfo).port}`);
    const colon = target.lastIndexOf(":");
    const [host, port] = [target.slice(0, colon), Number(target.slice(colon + 1))];
    proxy.on("connection", (client) => void gate.forward(client, host, port));
    return gate;
  }

  shut(): void {
    this.opened = new Promise((resolve) => (this.release = resolve));
    for (const socket of this.sockets) {
      socket.destroy();
    }
  }

  open(): void {
    this.release();
  }

  async close(): Promise<void> {
    this.shut();
    await new Promise((resolve) => this.proxy.close(resolve));
  }

  private async forward(client: Socket, host: string, port: number): Promise<void> {
    this.track(client);
    await this.opened;
    if (client.destroyed) {
      return;
    }
    const upstream = this.track(connect(port, host));
    client.pipe(upstream).pipe(client);
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => client.destroy());
  }

  private track(socket: Socket): Socket {
    this.sockets.add(socket);
    socket.on("error", () => {}); // a cut connection is the point, not a failure
    socket.once("close", () => this.sockets.delete(socket));
    return socket;
  }
}

async function appended(service: GrpcSessionService, session: Session, ...texts: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const text of texts) {
    const stored = await service.appendEvent({ session, event: event(text) });
    ids.push(stored.id);
  }
  return ids;
}

describe("watching a session", { skip: unavailable() }, () => {
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

  test("yields the stored events, then live ones, and ends when the session is closed", async () => {
    const appName = app();
    const session = await service.createSession({ appName, userId: "u" });
    const want = await appended(service, session, "one", "two");
    const watch = service.watchSession({ appName, userId: "u", sessionId: session.id });
    const received: Event[] = [];
    const reading = (async () => {
      for await (const item of watch) {
        received.push(item);
      }
    })();
    await until("the stored events", () => received.length === 2);
    want.push(...(await appended(service, session, "three ✓")));
    await until("the live event", () => received.length === 3);
    await service.closeSession({ session });
    await reading;
    assert.deepEqual(
      received.map((e) => e.id),
      want,
    );
    assert.equal(received[2]?.content?.parts?.[0]?.text, "three ✓");
    assert.equal(watch.ended, "closed");
    const info = await service.getSessionInfo({ appName, userId: "u", sessionId: session.id });
    assert.equal(watch.revision, info?.revision);
  });

  test("typed updates: each event with its revision, caughtUp, and deleted at the end", async () => {
    const appName = app();
    const session = await service.createSession({ appName, userId: "u" });
    await appended(service, session, "one", "two");
    const info = await service.getSessionInfo({ appName, userId: "u", sessionId: session.id });
    const reader = new Reader(
      service.watchSessionUpdates({ appName, userId: "u", sessionId: session.id, afterRevision: 0n }),
    );
    await until("caught up", () => reader.caughtUp() === 1);
    await service.deleteSession({ appName, userId: "u", sessionId: session.id });
    await reader.done;
    assert.deepEqual(
      reader.updates.map((u) => u.kind),
      ["event", "event", "caughtUp", "ended"],
    );
    const [first, second, caughtUp, ended] = reader.updates;
    assert.ok(first?.kind === "event" && second?.kind === "event" && first.revision < second.revision);
    assert.ok(caughtUp?.kind === "caughtUp" && caughtUp.revision === info?.revision);
    assert.deepEqual(ended, { kind: "ended", reason: "deleted" });
    assert.equal(JSON.parse(first.eventJson).id, first.event.id);
  });

  test("a session that does not exist throws SessionNotFoundError", async () => {
    const watch = service.watchSession({ appName: app(), userId: "u", sessionId: "missing" });
    await assert.rejects(async () => {
      for await (const _ of watch) {
        assert.fail("no event expected");
      }
    }, SessionNotFoundError);
  });

  test("a session deleted while its watch reconnects ends the watch as deleted", async () => {
    const gate = await ConnectionGate.to(server.address);
    const watcher = new GrpcSessionService(gate.address, { timeoutMs: WAIT_MS });
    try {
      const appName = app();
      const session = await service.createSession({ appName, userId: "u" });
      await appended(service, session, "one");
      const reader = new Reader(watcher.watchSessionUpdates({ appName, userId: "u", sessionId: session.id }));
      await until("caught up", () => reader.caughtUp() === 1);
      gate.shut(); // the stream breaks; the next one waits for the gate
      await service.deleteSession({ appName, userId: "u", sessionId: session.id });
      gate.open();
      await reader.done;
      assert.equal(reader.error, undefined);
      assert.deepEqual(
        reader.updates.map((u) => u.kind),
        ["event", "caughtUp", "ended"],
      );
      assert.deepEqual(reader.updates.at(-1), { kind: "ended", reason: "deleted" });
      assert.equal(reader.watch.ended, "deleted");
    } finally {
      watcher.close();
      await gate.close();
    }
  });

  test("break stops the watch", async () => {
    const appName = app();
    const session = await service.createSession({ appName, userId: "u" });
    await appended(service, session, "one", "two");
    const watch = service.watchSession({ appName, userId: "u", sessionId: session.id });
    for await (const item of watch) {
      assert.ok(item.id);
      break;
    }
    assert.deepEqual(await watch.next(), { done: true, value: undefined });
    assert.equal(watch.ended, undefined);
  });

  test("closing a watch while a loop waits for its next event ends that loop", async () => {
    const appName = app();
    const session = await service.createSession({ appName, userId: "u" });
    await appended(service, session, "one");
    const reader = new Reader(service.watchSessionUpdates({ appName, userId: "u", sessionId: session.id }));
    await until("caught up", () => reader.caughtUp() === 1);
    await reader.watch.close();
    await reader.done;
    assert.equal(reader.error, undefined);
    assert.deepEqual(reader.eventIds().length, 1);
    assert.equal(reader.watch.reconnects, 0);
  });

  test("closing a watch while it waits for its server to come back ends it at once", async () => {
    const crashing = await startRestartableServer();
    const client = new GrpcSessionService(crashing.address, { timeoutMs: WAIT_MS });
    try {
      const appName = app();
      const session = await client.createSession({ appName, userId: "u" });
      const reader = new Reader(client.watchSessionUpdates({ appName, userId: "u", sessionId: session.id }));
      await until("caught up", () => reader.caughtUp() === 1);
      await crashing.kill();
      await new Promise((resolve) => setTimeout(resolve, 500)); // reconnecting, with a minute of budget
      const closed = Date.now();
      await reader.watch.close();
      await reader.done;
      assert.equal(reader.error, undefined);
      assert.ok(Date.now() - closed < 5_000, `the watch ended ${Date.now() - closed} ms after close`);
    } finally {
      client.close();
      await crashing.stop();
    }
  });

  test("a watcher cut off for falling behind resumes without losing an event", async () => {
    const small = await startServer(["--watch-buffer-bytes", "16384"]);
    const writer = new GrpcSessionService(small.address);
    const watcher = new GrpcSessionService(small.address);
    try {
      const appName = app();
      const session = await writer.createSession({ appName, userId: "u" });
      const reader = new Reader(watcher.watchSessionUpdates({ appName, userId: "u", sessionId: session.id }), true);
      await until("caught up", () => reader.caughtUp() === 1);
      const padding = "x".repeat(8 * 1024);
      const want: string[] = [];
      for (let i = 0; i < 120; i++) {
        want.push(...(await appended(writer, session, `event ${i} ${padding}`)));
      }
      reader.go();
      await until("every event", () => reader.eventIds().length >= want.length || reader.error !== undefined);
      assert.equal(reader.error, undefined);
      assert.deepEqual(reader.eventIds(), want);
      assert.ok(reader.watch.reconnects >= 1, "the watcher was never cut off");
      await reader.watch.close();
    } finally {
      writer.close();
      watcher.close();
      await small.stop();
    }
  });

  test("a watch resumes after the server is killed and started again", async () => {
    const crashing = await startRestartableServer();
    const client = new GrpcSessionService(crashing.address, { timeoutMs: WAIT_MS });
    try {
      const appName = app();
      let session = await client.createSession({ appName, userId: "u" });
      const want = await appended(client, session, "before 1", "before 2");
      const reader = new Reader(client.watchSessionUpdates({ appName, userId: "u", sessionId: session.id }));
      await until("caught up", () => reader.caughtUp() === 1);
      await crashing.kill();
      await crashing.restart();
      const fresh = await client.getSession({ appName, userId: "u", sessionId: session.id });
      assert.ok(fresh !== undefined);
      session = fresh;
      want.push(...(await appended(client, session, "after 1", "after 2")));
      await client.closeSession({ session });
      await reader.done;
      assert.equal(reader.error, undefined);
      assert.deepEqual(reader.eventIds(), want);
      assert.equal(reader.watch.reconnects, 1);
      assert.equal(reader.watch.ended, "closed");
    } finally {
      client.close();
      await crashing.stop();
    }
  });
});
