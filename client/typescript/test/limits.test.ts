/**
 * The contract's limits through GrpcSessionService, against a real server
 * whose responses hold at most 4 MiB: a session larger than one response is
 * read whole, and an append past a size limit throws LimitExceededError.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { createEvent, type Event } from "@google/adk";
import { credentials } from "@grpc/grpc-js";

import { GrpcSessionService, LimitExceededError } from "../src/index.js";
import { SessionServiceClient, type GetSessionResponse } from "../src/gen/adk_grpc_sessions/v1/session_service.js";
import { startServer, unavailable, type TestServer } from "./server.js";

const SMALL_LIMITS = ["--max-message-bytes", "4194304", "--max-state-bytes", "1048576", "--max-session-bytes", "6000000"];

function bigEvent(index: number, bytes: number): Event {
  return createEvent({
    invocationId: `inv-${randomUUID()}`,
    author: "agent",
    content: { role: "model", parts: [{ text: String.fromCharCode(97 + index).repeat(bytes) }] },
    timestamp: Date.UTC(2026, 0, 1) + index * 1000,
  });
}

function firstResponse(address: string, appName: string, sessionId: string): Promise<GetSessionResponse> {
  const raw = new SessionServiceClient(address, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    raw.getSession(
      { appName, userId: "u", sessionId, numRecentEvents: undefined, afterTimestamp: undefined },
      (error, response) => {
        raw.close();
        return error ? reject(error) : resolve(response);
      },
    );
  });
}

describe("limits", { skip: unavailable() }, () => {
  let server: TestServer;
  let service: GrpcSessionService;

  before(async () => {
    server = await startServer(SMALL_LIMITS);
    service = new GrpcSessionService(server.address);
  });
  after(async () => {
    service?.close();
    await server?.stop();
  });

  test("getSession reads a session larger than one response whole", async () => {
    const appName = `app-${randomUUID()}`;
    const session = await service.createSession({ appName, userId: "u" });
    const texts: string[] = [];
    for (let i = 0; i < 8; i++) {
      const event = bigEvent(i, 700_000);
      await service.appendEvent({ session, event });
      texts.push(event.content?.parts?.[0]?.text ?? "");
    }

    const first = await firstResponse(server.address, appName, session.id);
    assert.ok(first.session !== undefined && first.session.events.length < texts.length, "served in parts");
    assert.notEqual(first.nextEventsPageToken, "");

    const whole = await service.getSession({ appName, userId: "u", sessionId: session.id });
    assert.deepEqual(
      whole?.events.map((e) => e.content?.parts?.[0]?.text),
      texts,
    );
    const recent = await service.getSession({
      appName,
      userId: "u",
      sessionId: session.id,
      config: { numRecentEvents: 7 },
    });
    assert.deepEqual(
      recent?.events.map((e) => e.content?.parts?.[0]?.text),
      texts.slice(1),
    );
    // Read whole, it is current: an append through it is not stale.
    await service.appendEvent({ session: whole!, event: bigEvent(8, 10) });
  });

  test("an append past the session size limit throws LimitExceededError and stores nothing", async () => {
    const appName = `app-${randomUUID()}`;
    const session = await service.createSession({ appName, userId: "u" });
    for (let i = 0; i < 3; i++) {
      await service.appendEvent({ session, event: bigEvent(i, 1_800_000) });
    }
    await assert.rejects(service.appendEvent({ session, event: bigEvent(3, 1_800_000) }), (error: unknown) => {
      assert.ok(error instanceof LimitExceededError);
      assert.equal(error.reason, "SESSION_SIZE_LIMIT");
      assert.equal(error.metadata["limit_bytes"], "6000000");
      return true;
    });
    const stored = await service.getSession({ appName, userId: "u", sessionId: session.id });
    assert.equal(stored?.events.length, 3);
  });
});
