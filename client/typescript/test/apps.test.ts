/**
 * listApps/listUsers (and their iterators) through GrpcSessionService against
 * a real server asking for tokens: order and paging, a token's scope, bad
 * input; and storage that cannot list names, on a server answering as the
 * real one does over Agent Engine.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { Metadata, Server, ServerCredentials, status, type ServiceError } from "@grpc/grpc-js";

import { SessionServiceService } from "../src/gen/adk_grpc_sessions/v1/session_service.js";
import { GrpcSessionService, InvalidArgumentError, SessionServiceError } from "../src/index.js";
import { startServer, unavailable, type TestServer } from "./server.js";
import { statusDetails } from "./status_details.js";

/** A --tokens line granting `token` the apps ("*" = all). */
function grant(name: string, token: string, apps: string): string {
  return `${name} ${createHash("sha256").update(token).digest("hex")} ${apps}`;
}

async function all(names: AsyncIterable<string>): Promise<string[]> {
  const got: string[] = [];
  for await (const name of names) {
    got.push(name);
  }
  return got;
}

function asToken(token: string): { metadata: Record<string, string> } {
  return { metadata: { authorization: `Bearer ${token}` } };
}

describe("apps and users", { skip: unavailable() }, () => {
  let server: TestServer;
  let everything: GrpcSessionService;
  let alphaOnly: GrpcSessionService;

  before(async () => {
    server = await startServer([
      "--tokens",
      `${grant("all", "token-all", "*")};${grant("alpha", "token-alpha", "alpha,gamma")}`,
    ]);
    everything = new GrpcSessionService(server.address, asToken("token-all"));
    alphaOnly = new GrpcSessionService(server.address, asToken("token-alpha"));
    for (const appName of ["epsilon", "alpha", "delta", "beta", "gamma"]) {
      for (const userId of ["u2", "u1", "u3"]) {
        await everything.createSession({ appName, userId, sessionId: "s" });
      }
    }
  });

  after(async () => {
    everything.close();
    alphaOnly.close();
    await server.stop();
  });

  test("apps and users are listed in code point order across pages", async () => {
    const first = await everything.listApps({ pageSize: 2 });
    assert.deepEqual(first.appNames, ["alpha", "beta"]);
    assert.notEqual(first.nextPageToken, "");
    const second = await everything.listApps({ pageSize: 2, pageToken: first.nextPageToken });
    assert.deepEqual(second.appNames, ["delta", "epsilon"]);
    assert.deepEqual(await all(everything.iterApps({ pageSize: 2 })), ["alpha", "beta", "delta", "epsilon", "gamma"]);
    assert.deepEqual(await all(everything.iterApps({ pageSize: 2, pageToken: first.nextPageToken })), [
      "delta",
      "epsilon",
      "gamma",
    ]);
    assert.deepEqual(await all(everything.iterApps()), ["alpha", "beta", "delta", "epsilon", "gamma"]);

    assert.deepEqual(await all(everything.iterUsers({ appName: "beta", pageSize: 1 })), ["u1", "u2", "u3"]);
    const users = await everything.listUsers({ appName: "beta", pageSize: 2 });
    assert.deepEqual(users.userIds, ["u1", "u2"]);
    const rest = await everything.listUsers({ appName: "beta", pageSize: 2, pageToken: users.nextPageToken });
    assert.deepEqual(rest, { userIds: ["u3"], nextPageToken: "" });
    assert.deepEqual(await all(everything.iterUsers({ appName: "nobody" })), []);
  });

  test("a token for some apps lists only those", async () => {
    assert.deepEqual(await all(alphaOnly.iterApps({ pageSize: 1 })), ["alpha", "gamma"]);
    assert.deepEqual(await all(alphaOnly.iterUsers({ appName: "gamma" })), ["u1", "u2", "u3"]);
    await assert.rejects(all(alphaOnly.iterUsers({ appName: "beta" })), (error: unknown) => {
      assert.ok(error instanceof SessionServiceError, String(error));
      assert.equal(error.code, status.PERMISSION_DENIED);
      return true;
    });
  });

  test("bad input is InvalidArgumentError", async () => {
    const users = await everything.listUsers({ appName: "beta", pageSize: 1 });
    for (const request of [
      { appName: "" },
      { appName: "beta", pageSize: -1 },
      { appName: "alpha", pageToken: users.nextPageToken }, // another app's listing
    ]) {
      await assert.rejects(everything.listUsers(request), InvalidArgumentError, JSON.stringify(request));
    }
    await assert.rejects(all(everything.iterApps({ pageToken: users.nextPageToken })), InvalidArgumentError);
  });
});

test("storage that cannot list names is a SessionServiceError UNIMPLEMENTED", async () => {
  // A server answering ListApps and ListUsers as the real one does over Agent Engine.
  const refusing = new Server();
  const notSupported = (_call: unknown, callback: (error: Partial<ServiceError>) => void) => {
    const message = "the storage cannot list apps or users";
    const trailers = new Metadata();
    trailers.set("grpc-status-details-bin", statusDetails(status.UNIMPLEMENTED, message, "NOT_SUPPORTED_BY_BACKEND"));
    callback({ code: status.UNIMPLEMENTED, details: message, metadata: trailers });
  };
  const handlers = Object.fromEntries(Object.keys(SessionServiceService).map((name) => [name, notSupported]));
  refusing.addService(SessionServiceService, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    refusing.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const client = new GrpcSessionService(`127.0.0.1:${port}`);
  try {
    for (const call of [() => all(client.iterApps()), () => client.listUsers({ appName: "a" })]) {
      await assert.rejects(call(), (error: unknown) => {
        assert.ok(error instanceof SessionServiceError, String(error));
        assert.equal(error.code, status.UNIMPLEMENTED);
        assert.equal(error.reason, "NOT_SUPPORTED_BY_BACKEND");
        return true;
      });
    }
  } finally {
    client.close();
    refusing.forceShutdown();
  }
});
