/**
 * A taken session id and a missing session read as ADK's own services word
 * them ("Session with id s1 already exists.", as @google/adk's
 * DatabaseSessionService and ADK Python say it; "Session s1 not found.", as
 * ADK Python's InMemorySessionService says it), with the gRPC code and
 * ErrorInfo reason beside them as before.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { createEvent, createSession } from "@google/adk";
import { status } from "@grpc/grpc-js";

import { AlreadyExistsError, GrpcSessionService, SessionNotFoundError } from "../src/index.js";
import { startServer, unavailable, type TestServer } from "./server.js";

let server: TestServer;
let service: GrpcSessionService;

describe("error messages in ADK's words", { skip: unavailable() }, () => {
  before(async () => {
    server = await startServer();
    service = new GrpcSessionService(server.address);
  });
  after(async () => {
    service?.close();
    await server?.stop();
  });

  test("a taken session id", async () => {
    const request = { appName: `app-${randomUUID()}`, userId: "u", sessionId: "s1" };
    await service.createSession(request);
    await assert.rejects(service.createSession(request), (error: unknown) => {
      assert.ok(error instanceof AlreadyExistsError);
      assert.equal(error.message, "Session with id s1 already exists.");
      assert.equal(error.code, status.ALREADY_EXISTS);
      assert.equal(error.reason, "SESSION_ALREADY_EXISTS");
      return true;
    });
  });

  test("appending to a deleted session", async () => {
    const appName = `app-${randomUUID()}`;
    const session = await service.createSession({ appName, userId: "u", sessionId: "s1" });
    await service.deleteSession({ appName, userId: "u", sessionId: "s1" });
    await assert.rejects(service.appendEvent({ session, event: createEvent({ author: "user" }) }), (error: unknown) => {
      assert.ok(error instanceof SessionNotFoundError);
      assert.equal(error.message, "Session s1 not found.");
      assert.equal(error.code, status.NOT_FOUND);
      assert.equal(error.reason, "SESSION_NOT_FOUND");
      return true;
    });
  });

  test("appending to a session that never existed", async () => {
    const ghost = createSession({ id: "ghost", appName: `app-${randomUUID()}`, userId: "u", state: {}, events: [] });
    await assert.rejects(service.appendEvent({ session: ghost, event: createEvent({ author: "user" }) }), (error: unknown) => {
      assert.ok(error instanceof SessionNotFoundError);
      assert.equal(error.message, "Session ghost not found.");
      return true;
    });
  });
});
