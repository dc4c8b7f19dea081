/**
 * How each kind of write travels, alone and in a batch: the Routes of
 * write_pipeline.ts.
 *
 * AppendRoute: a lone append on the append stream (append_stream.ts) when it
 * is free, else in an AppendEvent call; appends together in
 * BatchAppendEvents. CreateRoute: a lone create on the same stream when it
 * is free, else in a CreateSession call; creates together in
 * BatchCreateSessions.
 */
import { status as Code } from "@grpc/grpc-js";

import type { AppendStream } from "./append_stream.js";
import type { UnaryAttempts } from "./connection.js";
import { resultFailure, statusError } from "./errors.js";
import {
  AppendEventRequest,
  CreateSessionRequest,
  type AppendEventResponse,
  type AppendEventResult,
  type CreatedSession,
  type CreateSessionResponse,
  type CreateSessionResult,
} from "./gen/adk_grpc_sessions/v1/session_service.js";
import type { Attempt } from "./retry.js";
import type { Outcome, Route } from "./write_pipeline.js";

/** What a create came to: the new session, or its id alone (a batch's response had no room for it). */
export type Created = CreateSessionResponse | CreatedSession;

/** Whether a create was answered by the new session's id alone. */
export function answeredById(created: Created): created is CreatedSession {
  return "sessionId" in created;
}

/** Appends: alone on the append stream (or a call), together in BatchAppendEvents. */
export class AppendRoute implements Route<AppendEventRequest, AppendEventResponse> {
  readonly method = "AppendEvent";
  readonly batchMethod = "BatchAppendEvents";

  /** Calls through `calls`; a lone append on `stream` when it is free (undefined: always a call). */
  constructor(
    private readonly calls: UnaryAttempts,
    private readonly stream: AppendStream | undefined,
  ) {}

  alone(request: AppendEventRequest): Attempt<AppendEventResponse> {
    const call = this.calls.unary((c) => c.appendEvent, request);
    return (deadline, waitForReady) =>
      this.stream !== undefined && !this.stream.busy
        ? this.stream.append(request, deadline, waitForReady)
        : call(deadline, waitForReady);
  }

  together(requests: readonly AppendEventRequest[]): Attempt<Outcome<AppendEventResponse>[]> {
    const call = this.calls.unary((c) => c.batchAppendEvents, { requests: [...requests] });
    return async (deadline, waitForReady) =>
      answered((await call(deadline, waitForReady)).results, requests.length).map(appended);
  }

  size(request: AppendEventRequest): number {
    return AppendEventRequest.encode(request).finish().length;
  }
}

/** Creates: alone on the append stream (or a call), together in BatchCreateSessions. */
export class CreateRoute implements Route<CreateSessionRequest, Created> {
  readonly method = "CreateSession";
  readonly batchMethod = "BatchCreateSessions";

  /** Calls through `calls`; a lone create on `stream` when it is free (undefined: always a call). */
  constructor(
    private readonly calls: UnaryAttempts,
    private readonly stream: AppendStream | undefined,
  ) {}

  alone(request: CreateSessionRequest): Attempt<Created> {
    const call = this.calls.unary((c) => c.createSession, request);
    return (deadline, waitForReady) =>
      this.stream !== undefined && !this.stream.busy
        ? this.stream.create(request, deadline, waitForReady)
        : call(deadline, waitForReady);
  }

  together(requests: readonly CreateSessionRequest[]): Attempt<Outcome<Created>[]> {
    const call = this.calls.unary((c) => c.batchCreateSessions, { requests: [...requests] });
    return async (deadline, waitForReady) =>
      answered((await call(deadline, waitForReady)).results, requests.length).map(created);
  }

  size(request: CreateSessionRequest): number {
    return CreateSessionRequest.encode(request).finish().length;
  }
}

/** A batch's results, one per write; an answer short fails the call (no retry mends it). */
function answered<T>(results: T[], count: number): T[] {
  if (results.length !== count) {
    throw statusError(Code.INTERNAL, `the server answered a batch of ${count} with ${results.length} results`);
  }
  return results;
}

function appended(result: AppendEventResult): Outcome<AppendEventResponse> {
  return result.response !== undefined ? { result: result.response } : { failure: resultFailure(result.error) };
}

function created(result: CreateSessionResult): Outcome<Created> {
  if (result.response !== undefined) {
    return { result: result.response };
  }
  return result.created !== undefined ? { result: result.created } : { failure: resultFailure(result.error) };
}
