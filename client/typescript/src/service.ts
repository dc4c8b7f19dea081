/**
 * GrpcSessionService: @google/adk's BaseSessionService over the adk-grpc-sessions server.
 *
 * Past 400 lines because it is the one class users hold: each RPC's method is a short
 * adapter here, while requests, conversions, metadata and session info live in modules
 * of their own (metadata.ts, session_info.ts, ...).
 */
import { randomUUID } from "node:crypto";

import {
  BaseSessionService,
  type AppendEventRequest,
  type CompositeSessionKey,
  type CreateSessionRequest,
  type DeleteSessionRequest,
  type Event,
  type GetSessionRequest,
  type ListSessionsRequest,
  type ListSessionsResponse,
  type Session,
} from "@google/adk";
import {
  connectivityState,
  status as Code,
  credentials as grpcCredentials,
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientUnaryCall,
  type Interceptor,
  type Metadata,
  type ServiceError,
} from "@grpc/grpc-js";

import {
  REVISION,
  decodeMap,
  eventJson,
  sessionFromMessage,
  stateDelta,
  type StoredSession,
} from "./conversions.js";
import { AlreadyExistsError, InvalidArgumentError, SessionNotFoundError, StaleSessionError } from "./errors.js";
import {
  SessionServiceClient,
  type GetSessionRequest as GetSessionMessage,
  type GetSessionResponse,
  type ListSessionsRequest as ListSessionsMessage,
  type Session as SessionMessage,
} from "./gen/adk_grpc_sessions/v1/session_service.js";
import { AppendsUnderWay, expiration, type SessionExpiry } from "./lifecycle.js";
import {
  updateRequest,
  type ForkRequest,
  type ListSessionInfosRequest,
  type SessionInfoPage,
  type SessionMetadata,
} from "./metadata.js";
import { labelsToMap, sessionInfoFromMessage, type SessionInfo } from "./session_info.js";
import { CHANNEL_OPTIONS, attemptMetadata, callWithRetry, retryPolicy, type RetryPolicy } from "./retry.js";
import { parseTarget, type Target } from "./targets.js";
import { EventWatch, SessionWatch, type WatchSessionRequestOptions } from "./watching.js";
import { lowerBoundTimestampFromMs, msFromSeconds, msFromTimestamp, secondsFromMs } from "./timestamps.js";

/** Milliseconds each method may take in all, retries included, by default. */
export const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_PAGE_SIZE = 1000;
/** Times getSession starts over when the session was deleted (or re-created) between the parts of its read. */
const READ_RESTARTS = 3;

/** How a GrpcSessionService connects and calls. */
export interface GrpcSessionServiceOptions {
  /**
   * Milliseconds each method may take in all, retries included: while the
   * server is unavailable (restarting, say) a call is retried until this is
   * spent. 0 for no limit (a call then keeps trying). Default 30 s.
   */
  timeoutMs?: number;
  /** How often UNAVAILABLE calls are retried within their time budget. */
  retry?: Partial<RetryPolicy>;
  /** Channel credentials; default plaintext, or TLS with the system roots for grpcs://. */
  credentials?: ChannelCredentials;
  /** Metadata sent with every call (e.g. an authorization header). */
  metadata?: Record<string, string>;
  /** Extra @grpc/grpc-js channel options (they win over the service's own, such as its reconnect backoff). */
  channelOptions?: ChannelOptions;
  /** @grpc/grpc-js client interceptors. */
  interceptors?: Interceptor[];
}

type Callback<Res> = (error: ServiceError | null, response: Res) => void;
type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: Callback<Res>,
) => ClientUnaryCall;

/**
 * A drop-in @google/adk BaseSessionService that keeps sessions in an
 * adk-grpc-sessions server, shared with ADK agents in other languages.
 *
 * `new GrpcSessionService("localhost:50051")`; "grpc://host:port",
 * "grpcs://host:port" and "unix:/path" work too. No connection is made until
 * the first call. Every call has a time budget and is retried with backoff
 * while the server is UNAVAILABLE; retries never apply a write twice.
 * Sessions it returns carry the server's revision, so appending through an
 * out-of-date session throws StaleSessionError.
 */
export class GrpcSessionService extends BaseSessionService {
  /** The gRPC target this service connects to. */
  readonly target: string;
  private readonly tls: boolean;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly options: GrpcSessionServiceOptions;
  private client: SessionServiceClient | undefined;
  private readonly appends = new AppendsUnderWay();

  constructor(target: string, options: GrpcSessionServiceOptions = {}) {
    super();
    const parsed: Target = parseTarget(target);
    this.target = parsed.address;
    this.tls = parsed.tls;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retry = retryPolicy(options.retry);
    this.options = options;
  }

  private stub(): SessionServiceClient {
    if (this.client === undefined) {
      const credentials =
        this.options.credentials ??
        (this.tls ? grpcCredentials.createSsl() : grpcCredentials.createInsecure());
      this.client = new SessionServiceClient(this.target, credentials, {
        "grpc.max_receive_message_length": -1,
        "grpc.max_send_message_length": -1,
        ...CHANNEL_OPTIONS,
        ...this.options.channelOptions,
        interceptors: this.options.interceptors ?? [],
      });
    }
    return this.client;
  }

  /** Whether the channel has a connection to the server now (see retry.ts). */
  private connected(): boolean {
    return this.client?.getChannel().getConnectivityState(false) === connectivityState.READY;
  }

  /** Calls one RPC within the time budget, retrying UNAVAILABLE until it is spent. */
  private call<Req, Res>(pick: (client: SessionServiceClient) => UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    const client = this.stub();
    const method = pick(client).bind(client);
    return callWithRetry(
      (deadline, waitForReady) =>
        new Promise<Res>((resolve, reject) => {
          const metadata = attemptMetadata(this.options.metadata ?? {}, waitForReady);
          method(request, metadata, deadline ? { deadline } : {}, (error, response) =>
            error ? reject(error) : resolve(response),
          );
        }),
      this.timeoutMs > 0 ? this.timeoutMs : undefined,
      this.retry,
      () => this.connected(),
    );
  }

  /**
   * Creates a session with the id given (trimmed) or a new UUID, and its
   * initial state ("app:" and "user:" keys go to the app's and the user's
   * state; "temp:" keys are dropped).
   *
   * Beyond @google/adk's request, `ttlMs` or `expireTime` (see SessionExpiry)
   * say when the session expires; neither = the server's default
   * (--session-ttl; by default sessions never expire). An expired session is
   * gone at once for every call (getSession answers undefined, listSessions
   * leaves it out); the server then purges its events and session state,
   * keeping the user's and the app's. `displayName` and `labels` (see
   * SessionMetadata) are read back by getSessionInfo and filtered on by
   * listSessionInfos.
   *
   * @throws AlreadyExistsError if a session with this id exists.
   * @throws InvalidArgumentError for both ttlMs and expireTime, either out of
   *   range, or metadata beyond its limits.
   */
  override async createSession({
    appName,
    userId,
    state,
    sessionId,
    ttlMs,
    expireTime,
    displayName,
    labels,
  }: CreateSessionRequest & SessionExpiry & SessionMetadata): Promise<Session> {
    const requested = sessionId?.trim();
    // Choosing the id here makes a retried create recognisable: the id is
    // fresh, so "already exists" can only mean an earlier attempt landed.
    const id = requested || randomUUID();
    const request = {
      appName,
      userId,
      sessionId: id,
      state: stateDelta(state),
      displayName: displayName ?? "",
      labels: labelsToMap(labels),
      ...expiration({ ttlMs, expireTime }),
    };
    try {
      const response = await this.call((c) => c.createSession, request);
      return sessionFromMessage(required(response.session));
    } catch (error) {
      if (!requested && error instanceof AlreadyExistsError) {
        const existing = await this.getSession({ appName, userId, sessionId: id });
        if (existing !== undefined) {
          return existing;
        }
      }
      throw error;
    }
  }

  /**
   * Reads a session, or undefined if there is none. `numRecentEvents` keeps
   * the last N events (0 keeps none, as in ADK Python); `afterTimestamp` (ms)
   * keeps those at or after that time; both combine.
   *
   * The whole session, however large: a session whose events do not fit in
   * one response of the server arrives in parts (GetSession, then ListEvents
   * pages of the same read's selection), assembled here. The session, its
   * revision and its events are those of one moment: events appended
   * meanwhile are not included, and appending through the session then
   * detects them (StaleSessionError).
   */
  override async getSession({ appName, userId, sessionId, config }: GetSessionRequest): Promise<Session | undefined> {
    const id = sessionId?.trim();
    if (!id) {
      return undefined;
    }
    const request: GetSessionMessage = {
      appName,
      userId,
      sessionId: id,
      numRecentEvents: config?.numRecentEvents,
      afterTimestamp:
        config?.afterTimestamp === undefined ? undefined : lowerBoundTimestampFromMs(config.afterTimestamp),
    };
    for (let restart = 0; ; restart++) {
      let response: GetSessionResponse;
      try {
        response = await this.call((c) => c.getSession, request);
      } catch (error) {
        if (error instanceof SessionNotFoundError) {
          return undefined;
        }
        throw error;
      }
      const message = required(response.session);
      try {
        await this.readRest(message, response.nextEventsPageToken);
      } catch (error) {
        if (error instanceof SessionNotFoundError && restart < READ_RESTARTS) {
          continue; // gone between the parts: read it anew
        }
        throw error;
      }
      return sessionFromMessage(message);
    }
  }

  /**
   * Appends to `message` the rest of a read's events, listed from its
   * next_events_page_token on.
   *
   * @throws SessionNotFoundError if the session read is gone.
   */
  private async readRest(message: SessionMessage, token: string): Promise<void> {
    while (token !== "") {
      const page = await this.call((c) => c.listEvents, {
        appName: message.appName,
        userId: message.userId,
        sessionId: message.sessionId,
        pageSize: MAX_PAGE_SIZE,
        pageToken: token,
        afterTimestamp: undefined,
      });
      message.events.push(...page.events);
      token = page.nextPageToken;
    }
  }

  /**
   * Lists sessions (with merged state, without events) of an app, or of one
   * user. Pagination and order follow @google/adk's InMemorySessionService;
   * without `order`, sessions come oldest update first.
   *
   * Beyond @google/adk's request, `filter` keeps the sessions it matches and
   * `orderBy` orders them on the server, as listSessionInfos takes them
   * (`order`, if given, then sorts what the server listed).
   *
   * @throws SessionFilterError for a filter the server cannot read.
   */
  override async listSessions({
    appName,
    userId,
    limit,
    offset,
    page,
    order,
    filter,
    orderBy,
  }: ListSessionsRequest & Pick<ListSessionInfosRequest, "filter" | "orderBy">): Promise<ListSessionsResponse> {
    const all: Session[] = [];
    const request: ListSessionsMessage = {
      appName,
      userId: userId ?? "",
      pageSize: MAX_PAGE_SIZE,
      pageToken: "",
      filter: filter ?? "",
      orderBy: orderBy ?? "",
    };
    do {
      const response = await this.call((c) => c.listSessions, request);
      all.push(...response.sessions.map(sessionFromMessage));
      request.pageToken = response.nextPageToken;
    } while (request.pageToken !== "");
    if (order !== undefined) {
      const direction = order === "asc" ? 1 : -1;
      all.sort((a, b) => direction * (a.lastUpdateTime - b.lastUpdateTime) || a.id.localeCompare(b.id));
    }
    const totalItems = all.length;
    if (limit === undefined) {
      return {
        sessions: offset ? all.slice(offset) : all,
        page: 1,
        limit: totalItems,
        totalItems,
        totalPages: totalItems === 0 ? 0 : 1,
      };
    }
    const start = page !== undefined ? (page - 1) * limit : (offset ?? 0);
    return {
      sessions: all.slice(start, start + limit),
      page: page ?? (limit === 0 ? 1 : Math.floor(start / limit) + 1),
      limit,
      totalItems,
      totalPages: limit === 0 ? 0 : Math.ceil(totalItems / limit),
    };
  }

  /** Deletes a session and its events; deleting a missing one is not an error. */
  override async deleteSession({ appName, userId, sessionId }: DeleteSessionRequest): Promise<void> {
    const id = sessionId?.trim();
    if (!id) {
      return;
    }
    await this.call((c) => c.deleteSession, { appName, userId, sessionId: id });
  }

  /**
   * Stores an event and applies its state delta, if `session` is up to date,
   * then records both in `session` as @google/adk's BaseSessionService does
   * (which leaves "temp:" keys out). A partial event is neither stored nor
   * applied. An event without an id gets a UUID, one without a timestamp
   * the current time.
   *
   * @throws StaleSessionError if the session changed in storage since `session` was read.
   * @throws SessionNotFoundError if the session does not exist (or has expired).
   * @throws SessionClosedError if the session was closed.
   */
  override appendEvent(request: AppendEventRequest): Promise<Event> {
    const { session } = request;
    return this.appends.track(session.appName, session.userId, session.id, this.append(request));
  }

  private async append({ session, event }: AppendEventRequest): Promise<Event> {
    if (event.partial) {
      return event;
    }
    if (!event.id) {
      event.id = randomUUID();
    }
    // What readers in every language will see: the time as float seconds, read back.
    event.timestamp = msFromSeconds(secondsFromMs(event.timestamp || Date.now()));
    const request = {
      appName: session.appName,
      userId: session.userId,
      sessionId: session.id,
      eventJson: eventJson(event),
      expectedRevision: await this.revisionOf(session),
    };
    const response = await this.call((c) => c.appendEvent, request);
    const appended = await super.appendEvent({ session, event });
    (session as StoredSession)[REVISION] = response.revision;
    session.lastUpdateTime = msFromTimestamp(response.lastUpdateTime);
    return appended;
  }

  /**
   * The revision `session` was read at. A session that this service did not
   * return (built by hand, or by another service) has none; it is then judged
   * as ADK's database services judge one: up to date if storage has not
   * changed since its lastUpdateTime, or if storage's latest event is its
   * latest event.
   */
  private async revisionOf(session: Session): Promise<bigint> {
    const known = (session as StoredSession)[REVISION];
    if (known !== undefined) {
      return known;
    }
    let stored: SessionMessage;
    try {
      const response = await this.call((c) => c.getSession, {
        appName: session.appName,
        userId: session.userId,
        sessionId: session.id,
        numRecentEvents: 1,
        afterTimestamp: undefined,
      });
      stored = required(response.session);
      // Its last event may not have fitted beside its state: then it is the one part left.
      await this.readRest(stored, response.nextEventsPageToken);
    } catch (error) {
      if (error instanceof SessionNotFoundError) {
        throw new SessionNotFoundError(`Session ${session.id} not found.`, error.code, error.reason);
      }
      throw error;
    }
    if (msFromTimestamp(stored.lastUpdateTime) > session.lastUpdateTime) {
      const storedLast = stored.events.at(-1)?.id;
      const ownLast = session.events.at(-1)?.id;
      if (storedLast !== ownLast) {
        throw new StaleSessionError();
      }
    }
    return stored.revision;
  }

  /** The state of one user of an app, keys without "user:". */
  async getUserState({ appName, userId }: { appName: string; userId: string }): Promise<Record<string, unknown>> {
    const response = await this.call((c) => c.getUserState, { appName, userId });
    return decodeMap(response.state);
  }

  /** The state of an app, keys without "app:". */
  async getAppState({ appName }: { appName: string }): Promise<Record<string, unknown>> {
    const response = await this.call((c) => c.getAppState, { appName });
    return decodeMap(response.state);
  }

  /**
   * Follows a session live: `for await (const event of service.watchSession({...}))`
   * yields every event stored after `afterRevision` (0n: from the first;
   * getSessionInfo's revision for only those appended from now on), in order,
   * then each event as it is committed. It reconnects by itself (a server
   * restarting or draining, a lost connection, a watcher that fell behind),
   * resuming after the last event received: none missed, none twice. The loop
   * ends when the session is closed, deleted or expired (the watch's `ended`
   * says which); `break` stops it earlier. See watching.ts.
   *
   * @throws SessionNotFoundError (from the loop) if the session does not exist.
   * @throws SessionServiceUnavailableError if the server cannot be reached within the time budget.
   */
  watchSession(request: WatchSessionRequestOptions): EventWatch {
    return new EventWatch(this.watchSessionUpdates(request));
  }

  /**
   * watchSession as typed updates: each event with its revision, "caughtUp"
   * after each connection's backlog, and "ended" with its reason.
   */
  watchSessionUpdates(request: WatchSessionRequestOptions): SessionWatch {
    return new SessionWatch(
      {
        open: (message, waitForReady) =>
          this.stub().watchSession(message, attemptMetadata(this.options.metadata ?? {}, waitForReady)),
        budgetMs: this.timeoutMs > 0 ? this.timeoutMs : undefined,
        policy: this.retry,
        connected: () => this.connected(),
      },
      request,
    );
  }

  /**
   * A session's expiry, close time and bookkeeping (not its events), or
   * undefined if it does not exist (or has expired).
   */
  async getSessionInfo({ appName, userId, sessionId }: CompositeSessionKey): Promise<SessionInfo | undefined> {
    const id = sessionId?.trim();
    if (!id) {
      return undefined;
    }
    try {
      const response = await this.call((c) => c.getSession, {
        appName,
        userId,
        sessionId: id,
        numRecentEvents: 0,
        afterTimestamp: undefined,
      });
      return sessionInfoFromMessage(required(response.session));
    } catch (error) {
      if (error instanceof SessionNotFoundError) {
        return undefined;
      }
      throw error;
    }
  }

  /**
   * Changes when a session expires: `ttlMs` from now, at `expireTime`, or,
   * with neither, never. Its revision, events and state are untouched, so no
   * writer's session becomes stale.
   *
   * @throws SessionNotFoundError if the session does not exist (or has expired).
   * @throws InvalidArgumentError for both ttlMs and expireTime, or either out of range.
   */
  async setSessionExpiry({
    appName,
    userId,
    sessionId,
    ttlMs,
    expireTime,
  }: CompositeSessionKey & SessionExpiry): Promise<SessionInfo> {
    const fields = expiration({ ttlMs, expireTime });
    // "expire_time" left unset: never.
    const paths = [fields.ttl === undefined ? "expire_time" : "ttl"];
    const request = updateRequest({ appName, userId, sessionId }, fields, paths);
    const response = await this.call((c) => c.updateSession, request);
    return sessionInfoFromMessage(required(response.session));
  }

  /**
   * Changes a session's display name, labels or both: each given replaces
   * the session's ("" removes the display name, {} every label); each left
   * undefined stays as it is (giving neither throws InvalidArgumentError).
   * Returns the session's info after the change. Its revision, last update
   * time, events and state are untouched, so no writer's session becomes
   * stale.
   *
   * @throws SessionNotFoundError if the session does not exist (or has expired).
   * @throws InvalidArgumentError for metadata beyond its limits (see SessionMetadata).
   */
  async updateSessionMetadata({
    appName,
    userId,
    sessionId,
    displayName,
    labels,
  }: CompositeSessionKey & SessionMetadata): Promise<SessionInfo> {
    const paths = [];
    if (displayName !== undefined) paths.push("display_name");
    if (labels !== undefined) paths.push("labels");
    if (paths.length === 0) {
      throw new InvalidArgumentError("updateSessionMetadata: give displayName, labels or both", Code.INVALID_ARGUMENT);
    }
    const fields = { displayName: displayName ?? "", labels: labelsToMap(labels) };
    const request = updateRequest({ appName, userId, sessionId }, fields, paths);
    const response = await this.call((c) => c.updateSession, request);
    return sessionInfoFromMessage(required(response.session));
  }

  /**
   * One page of the sessions `request` selects (see ListSessionInfosRequest),
   * in its order, without their events or state. Paging is by key: a session
   * changed between pages appears at most once, an unchanged one exactly once.
   *
   * @throws InvalidArgumentError for a filter or order the server cannot read,
   *   or a page token of another listing.
   */
  async listSessionInfos({
    appName,
    userId,
    filter,
    orderBy,
    pageSize,
    pageToken,
  }: ListSessionInfosRequest): Promise<SessionInfoPage> {
    const response = await this.call((c) => c.listSessions, {
      appName,
      userId: userId ?? "",
      pageSize: pageSize ?? 0,
      pageToken: pageToken ?? "",
      filter: filter ?? "",
      orderBy: orderBy ?? "",
    });
    return { sessions: response.sessions.map(sessionInfoFromMessage), nextPageToken: response.nextPageToken };
  }

  /** Every session `request` selects, from its pageToken on, walking the pages as they are needed. */
  async *iterSessionInfos(request: ListSessionInfosRequest): AsyncGenerator<SessionInfo, void, undefined> {
    let pageToken = request.pageToken;
    do {
      const page = await this.listSessionInfos({ ...request, pageToken });
      yield* page.sessions;
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
  }

  /**
   * Copies a session into a new session of the same user, and returns the
   * new session's info (forkedFrom says where it came from); read the new
   * session with getSession. Its session-scoped state is exactly the
   * source's after the last copied event, its events keep their ids, and it
   * is open even if the source is closed; app and user state are shared as
   * ever. Metadata and expiry are the new session's own (the source's are
   * not copied). The source is not changed.
   *
   * @throws SessionNotFoundError if the source does not exist.
   * @throws AlreadyExistsError if newSessionId is taken.
   * @throws InvalidArgumentError if no event of the source has beforeInvocationId, or for bad metadata or expiry.
   * @throws ForkPointUnknownError for a fork before an invocation of a
   *   session whose initial state the server's storage does not know.
   */
  async forkSession({
    appName,
    userId,
    sessionId,
    newSessionId,
    beforeInvocationId,
    displayName,
    labels,
    ttlMs,
    expireTime,
  }: ForkRequest): Promise<SessionInfo> {
    const source = sessionId.trim();
    const requested = newSessionId?.trim();
    // Choosing the id here makes a retried fork recognisable, as a retried create.
    const id = requested || randomUUID();
    const request = {
      appName,
      userId,
      sessionId: source,
      newSessionId: id,
      beforeInvocationId: beforeInvocationId ?? "",
      displayName: displayName ?? "",
      labels: labelsToMap(labels),
      ...expiration({ ttlMs, expireTime }),
    };
    try {
      const response = await this.call((c) => c.forkSession, request);
      return sessionInfoFromMessage(required(response.session));
    } catch (error) {
      if (!requested && error instanceof AlreadyExistsError) {
        // A fresh id already taken: an earlier attempt whose answer was lost made it.
        const existing = await this.getSessionInfo({ appName, userId, sessionId: id });
        if (existing?.forkedFrom?.sessionId === source) {
          return existing;
        }
      }
      throw error;
    }
  }

  /**
   * Closes `session` once this service's appends to it under way have
   * settled (whatever their outcome), as ADK Python's
   * `close_session(session=...)`. A closed session can still be read; every
   * later append to it throws SessionClosedError. Closing a closed session
   * succeeds and keeps its first closeTime.
   *
   * @throws SessionNotFoundError if the session does not exist (or has expired).
   */
  async closeSession({ session }: { session: Session }): Promise<SessionInfo> {
    await this.appends.settled(session.appName, session.userId, session.id);
    const response = await this.call((c) => c.closeSession, {
      appName: session.appName,
      userId: session.userId,
      sessionId: session.id,
    });
    return sessionInfoFromMessage(required(response.session));
  }

  /**
   * Erases one user of an app: every session, event and the user's
   * user-scoped state; returns how many sessions this call deleted from
   * storage (after a retry, those its last attempt deleted). Nothing of the user is visible to any call once the server has
   * accepted it; what the call had no time to delete the server deletes in
   * the background. Erasing again is harmless, so it is retried like every
   * other call. App state and other users are untouched.
   */
  async eraseUser({ appName, userId }: { appName: string; userId: string }): Promise<number> {
    const response = await this.call((c) => c.eraseUser, { appName, userId });
    return Number(response.deletedSessions);
  }

  /** Closes the connection; a later call opens a new one. */
  close(): void {
    this.client?.close();
    this.client = undefined;
  }
}

function required<T>(value: T | undefined): T {
  if (value === undefined) {
    throw new TypeError("the server's response lacks its session");
  }
  return value;
}
