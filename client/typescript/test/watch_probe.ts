/**
 * The TypeScript side of the cross-language watch test
 * (tests/polyglot/test_cross_language_watch.py): through GrpcSessionService
 * it watches one session live and writes one JSON line per update on
 * stdout, as it arrives, until the session ends.
 *
 * Reads its instructions as JSON on stdin; a failed watch exits with status
 * 1 and says why on stderr.
 */
import { GrpcSessionService } from "../src/index.js";

interface Instructions {
  target: string;
  token?: string;
  app: string;
  user: string;
  session: string;
  afterRevision: number;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

async function main(): Promise<void> {
  const instructions = JSON.parse(await readStdin()) as Instructions;
  const service = new GrpcSessionService(instructions.target, {
    metadata: instructions.token ? { authorization: `Bearer ${instructions.token}` } : {},
  });
  const watch = service.watchSessionUpdates({
    appName: instructions.app,
    userId: instructions.user,
    sessionId: instructions.session,
    afterRevision: BigInt(instructions.afterRevision),
  });
  for await (const update of watch) {
    let line: Record<string, unknown>;
    if (update.kind === "event") {
      line = {
        kind: "event",
        revision: Number(update.revision),
        id: update.event.id,
        author: update.event.author,
        text: update.event.content?.parts?.[0]?.text ?? "",
        eventJson: update.eventJson,
      };
    } else if (update.kind === "caughtUp") {
      line = { kind: "caughtUp", revision: Number(update.revision) };
    } else {
      line = { kind: "ended", reason: update.reason };
    }
    process.stdout.write(JSON.stringify(line) + "\n");
  }
  service.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`watch_probe: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
  process.exit(1);
});
