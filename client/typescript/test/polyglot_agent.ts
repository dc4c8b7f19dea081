/**
 * The TypeScript side of the cross-language test
 * (tests/polyglot/test_cross_language.py): an adk-js agent on a session that
 * an ADK Python agent started, through GrpcSessionService.
 *
 * Reads its instructions as JSON on stdin, then:
 *  1. reads the session and checks the events and merged state it was told to expect;
 *  2. runs one turn of an adk-js Runner (LlmAgent, scripted model, a tool
 *     writing app:, user:, session and temp: state), checking that the model
 *     was shown the earlier turns as history;
 *  3. checks that a stale writer is rejected and that a retried append is
 *     stored once;
 * and writes a report as JSON on stdout. A failed check exits with status 1.
 */
import { createEvent, BaseLlm, FunctionTool, LlmAgent, Runner, type Context, type Event, type Session } from "@google/adk";
import type { BaseLlmConnection, LlmRequest, LlmResponse } from "@google/adk";
import { Type, type Content } from "@google/genai";

import { GrpcSessionService, SessionClosedError, StaleSessionError } from "../src/index.js";
import { parseJson, stringifyJson } from "../src/json.js";

interface ExpectedEvent {
  id: string;
  author: string;
  /** ADK Python's float seconds. */
  timestamp: number;
  text: string;
  functionCall: string;
  functionResponse: string;
}

interface Instructions {
  target: string;
  app: string;
  user: string;
  session: string;
  expect: { events: ExpectedEvent[]; state: Record<string, unknown>; history: string[] };
  message: string;
  city: string;
  /** If set, a session of the same user that Python closed. */
  closedSession?: string;
}

class CheckFailed extends Error {}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
}

/** A model that answers with canned contents, in order, and records what it was asked. */
class ScriptedModel extends BaseLlm {
  readonly requests: LlmRequest[] = [];

  constructor(private readonly script: Content[]) {
    super({ model: "scripted-model" });
  }

  override async *generateContentAsync(request: LlmRequest): AsyncGenerator<LlmResponse, void> {
    this.requests.push(request);
    const content = this.script.shift();
    if (content === undefined) throw new Error("the script has no more responses");
    yield { content, turnComplete: true };
  }

  override connect(): Promise<BaseLlmConnection> {
    throw new Error("live connections are not scripted");
  }
}

const text = (e: Event) => e.content?.parts?.find((p) => p.text)?.text ?? "";
const callName = (e: Event) => e.content?.parts?.find((p) => p.functionCall)?.functionCall?.name ?? "";
const responseName = (e: Event) => e.content?.parts?.find((p) => p.functionResponse)?.functionResponse?.name ?? "";

/** JSON text with sorted keys, numbers as written (bigints exact). */
function canonical(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v !== null && typeof v === "object"
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]))
        : v;
  return stringifyJson(sort(value));
}

function probe(message: string): Event {
  return createEvent({
    invocationId: "js-probe-invocation",
    author: "js_probe",
    content: { role: "model", parts: [{ text: message }] },
  });
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const input = parseJson(Buffer.concat(chunks).toString("utf8")) as Instructions;
  const sessions = new GrpcSessionService(input.target);
  const key = { appName: input.app, userId: input.user, sessionId: input.session };
  const read = async (): Promise<Session> => {
    const session = await sessions.getSession(key);
    check(session !== undefined, "the session is missing");
    return session;
  };
  try {
    // 1. What the agents before us wrote.
    const before = await read();
    check(
      before.events.length === input.expect.events.length,
      `read ${before.events.length} events, want ${input.expect.events.length}`,
    );
    input.expect.events.forEach((want, i) => {
      const got = before.events[i]!;
      check(got.id === want.id && got.author === want.author, `event ${i} is ${got.id} by ${got.author}, want ${want.id} by ${want.author}`);
      // adk-js keeps milliseconds; the float seconds are within a quarter microsecond.
      check(Math.abs(got.timestamp / 1000 - want.timestamp) <= 2.5e-7, `event ${want.id} at ${got.timestamp} ms, want ${want.timestamp} s`);
      check(
        text(got) === want.text && callName(got) === want.functionCall && responseName(got) === want.functionResponse,
        `event ${want.id} content is ${JSON.stringify([text(got), callName(got), responseName(got)])}`,
      );
    });
    check(
      canonical(before.state) === canonical(input.expect.state),
      `state is ${canonical(before.state)}, want ${canonical(input.expect.state)}`,
    );
    const eventsRead = before.events.length;

    // 2. A turn of our own, through adk-js's Runner.
    const model = new ScriptedModel([
      { role: "model", parts: [{ functionCall: { id: "js-call-1", name: "record_visit", args: { city: input.city } } }] },
      { role: "model", parts: [{ text: `TypeScript agent here: ${input.city} noted.` }] },
    ]);
    const recordVisit = new FunctionTool({
      name: "record_visit",
      description: "Records a visit to a city in app, user, session and temp state.",
      parameters: { type: Type.OBJECT, properties: { city: { type: Type.STRING } }, required: ["city"] },
      execute: (args: unknown, context?: Context) => {
        const { city } = args as { city: string };
        const state = context!.state;
        const visits = state.get<number>("app:visits");
        check(typeof visits === "number", `app:visits is ${String(visits)}, want a number`);
        state.set("app:visits", visits + 1);
        state.set("app:js_runs", 1);
        state.set("user:js_city", city);
        state.set("js_note", "written by the TypeScript agent");
        state.set("temp:js_scratch", "never stored");
        return { visits: visits + 1 };
      },
    });
    const agent = new LlmAgent({
      name: "js_agent",
      model,
      instruction: "You are the TypeScript agent.",
      tools: [recordVisit],
      outputKey: "js_reply",
    });
    const runner = new Runner({ appName: input.app, agent, sessionService: sessions });
    let reply = "";
    for await (const event of runner.runAsync({
      userId: input.user,
      sessionId: input.session,
      newMessage: { role: "user", parts: [{ text: input.message }] },
    })) {
      if (event.errorCode) throw new CheckFailed(`the runner: ${event.errorCode} ${event.errorMessage}`);
      if (text(event)) reply = text(event);
    }
    const seen = (model.requests[0]?.contents ?? []).flatMap((c) => (c.parts ?? []).map((p) => p.text ?? "")).filter(Boolean);
    for (const want of input.expect.history) {
      // Another agent's words reach the model quoted ("[python_agent] said: ..."): look for them inside.
      check(seen.some((s) => s.includes(want)), `the model was not shown ${JSON.stringify(want)}; it saw ${JSON.stringify(seen)}`);
    }

    // 3a. A stale writer is rejected.
    const first = await read();
    const second = await read();
    await sessions.appendEvent({ session: first, event: probe("js stale probe: accepted") });
    let staleRejected = false;
    let staleReason = "";
    try {
      await sessions.appendEvent({ session: second, event: probe("js stale probe: must be rejected") });
    } catch (error) {
      staleRejected = error instanceof StaleSessionError;
      staleReason = (error as StaleSessionError).reason ?? "";
    }

    // 3b. A retry (the same event, through the session as read before the first attempt) is stored once.
    const earlier = await read();
    const current = await read();
    const retried = probe("js retry probe");
    await sessions.appendEvent({ session: current, event: retried });
    await sessions.appendEvent({ session: earlier, event: retried });

    // 3c. The session Python closed reads, and refuses an append.
    let closedEventsRead = 0;
    let closedRefused = false;
    let closedReason = "";
    if (input.closedSession) {
      const closed = await sessions.getSession({ appName: input.app, userId: input.user, sessionId: input.closedSession });
      check(closed !== undefined, "the closed session is missing");
      closedEventsRead = closed.events.length;
      try {
        await sessions.appendEvent({ session: closed, event: probe("js closed probe: must be refused") });
      } catch (error) {
        closedRefused = error instanceof SessionClosedError;
        closedReason = (error as SessionClosedError).reason ?? "";
      }
    }

    const after = await read();
    const appended = after.events.slice(eventsRead);
    process.stdout.write(
      stringifyJson({
        language: "typescript",
        eventsRead,
        historySeen: seen,
        reply,
        appended: appended.map((e) => ({ id: e.id, author: e.author, ms: e.timestamp, text: text(e) })),
        staleRejected,
        staleReason,
        retryStoredTimes: appended.filter((e) => e.id === retried.id).length,
        closedEventsRead,
        closedRefused,
        closedReason,
      }) + "\n",
    );
  } finally {
    sessions.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`polyglot_agent: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
