/**
 * The TypeScript side of the cross-language metadata test
 * (tests/polyglot/test_cross_language_metadata.py): through
 * GrpcSessionService it lists sessions another language wrote, with a
 * filter and an order, forks one, appends to the fork and changes the
 * fork's metadata.
 *
 * Reads its instructions as JSON on stdin and writes what it saw as JSON on
 * stdout (the Python test judges it); a failed call exits with status 1 and
 * says why on stderr.
 */
import { createEvent } from "@google/adk";

import { GrpcSessionService, type SessionInfo } from "../src/index.js";
import { parseJson, stringifyJson } from "../src/json.js";

interface Instructions {
  target: string;
  app: string;
  user: string;
  list: { filter: string; orderBy: string; pageSize: number };
  fork: {
    source: string;
    newSessionId: string;
    beforeInvocationId: string;
    displayName: string;
    labels: Record<string, string>;
  };
  append: { invocationId: string; stateDelta: Record<string, unknown> };
  update: { displayName: string; labels?: Record<string, string> };
}

/** A SessionInfo as the report carries it (times as RFC 3339, as the Go probe writes them). */
function reported(info: SessionInfo): Record<string, unknown> {
  return {
    sessionId: info.sessionId,
    displayName: info.displayName,
    labels: { ...info.labels },
    eventCount: info.eventCount ?? null,
    storedBytes: info.storedBytes ?? null,
    createTime: new Date(info.createTime).toISOString(),
    revision: info.revision,
    forkedFrom:
      info.forkedFrom === undefined
        ? null
        : {
            sessionId: info.forkedFrom.sessionId,
            eventCount: info.forkedFrom.eventCount,
            beforeInvocationId: info.forkedFrom.beforeInvocationId,
          },
  };
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const input = parseJson(Buffer.concat(chunks).toString("utf8")) as Instructions;
  const sessions = new GrpcSessionService(input.target);
  const key = { appName: input.app, userId: input.user };
  try {
    const listed: Record<string, unknown>[] = [];
    for await (const info of sessions.iterSessionInfos({ ...key, ...input.list })) {
      listed.push(reported(info));
    }
    const forked = await sessions.forkSession({
      ...key,
      sessionId: input.fork.source,
      newSessionId: input.fork.newSessionId,
      beforeInvocationId: input.fork.beforeInvocationId,
      displayName: input.fork.displayName,
      labels: input.fork.labels,
    });
    const read = await sessions.getSession({ ...key, sessionId: forked.sessionId });
    if (read === undefined) {
      throw new Error(`the fork ${forked.sessionId} cannot be read`);
    }
    const forkEvents = read.events.map((e) => ({ id: e.id, invocationId: e.invocationId }));
    const forkState = { ...read.state };
    const event = createEvent({
      invocationId: input.append.invocationId,
      author: "js_probe",
      content: { role: "model", parts: [{ text: "appended to the fork by TypeScript" }] },
      actions: { stateDelta: input.append.stateDelta },
    });
    await sessions.appendEvent({ session: read, event });
    const updated = await sessions.updateSessionMetadata({ ...key, sessionId: forked.sessionId, ...input.update });
    process.stdout.write(
      stringifyJson({
        language: "typescript",
        listed,
        forked: reported(forked),
        forkEvents,
        forkState,
        updated: reported(updated),
      }) + "\n",
    );
  } finally {
    sessions.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`metadata_probe: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
