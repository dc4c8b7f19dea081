/**
 * GrpcSessionService: @google/adk's BaseSessionService over the adk-grpc-sessions server.
 *
 * One class, because it is the one class users hold: its methods are short
 * adapters over the modules that do the work (connection, session_reads,
 * listing, lifecycle, metadata, watching), which is why it runs past 400
 * lines: most of it is the methods' documented signatures.
 */
import { randomUUID } from "node:crypto";

import { status as Code } from "@grpc/grpc-js";

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

import { Connection, required, type GrpcSessionServiceOptions } from "./connection.js";
import { REVISION, decodeMap, eventJson, sessionFromMessage, stateDelta, type StoredSession } from "./conversions.js";
import { AlreadyExistsError, SessionNotFoundError } from "./errors.js";
import { AppendsUnderWay, closeAfterAppends, erase, expiration, setExpiry, type SessionExpiry } from "./lifecycle.js";
import {
  apps,
  appsPage,
  listAdkSessions,
  sessionInfos,
  sessionInfosPage,
  users,
  usersPage,
  type AppPage,
  type ListAppsRequest,
  type ListUsersRequest,
  type UserPage,
} from "./listing.js";
import {
  fork,
  updateMetadata,
  type ForkRequest,
  type ListSessionInfosRequest,
  type SessionInfoPage,
  type SessionMetadata,
} from "./metadata.js";
import { readSession, readSessionInfo, revisionOf } from "./session_reads.js";
import { labelsToMap, type SessionInfo } from "./session_info.js";
import { UserSessionsWatch } from "./session_notices.js";
import { EventWatch, SessionWatch, type WatchSessionRequestOptions } from "./watching.js";
import { msFromSeconds, msFromTimestamp, secondsFromMs } from "./timestamps.js";
import { answeredById, type Created } from "./write_routes.js";

export { DEFAULT_TIMEOUT_MS, type GrpcSessionServiceOptions } from "./connection.js";

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
  private readonly connection: Connection;
  private readonly appends = new AppendsUnderWay();

  constructor(target: string, options: GrpcSessionServiceOptions = {}) {
    super();
    this.connection = new Connection(target, options);
    this.target = this.connection.address;
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
    let created: Created;
    try {
      created = await this.connection.create(request);
    } catch (error) {
      if (!requested && error instanceof AlreadyExistsError) {
        const existing = await this.getSession({ appName, userId, sessionId: id });
        if (existing !== undefined) {
          return existing;
        }
      }
      throw error;
    }
    if (answeredById(created)) {
      // Created in a batch whose response had no room left for it: read it.
      const stored = await this.getSession({ appName, userId, sessionId: created.sessionId });
      if (stored === undefined) {
        throw new SessionNotFoundError(`Session ${created.sessionId} was deleted once created.`, Code.NOT_FOUND);
      }
      return stored;
    }
    return sessionFromMessage(required(created.session));
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
  override getSession(request: GetSessionRequest): Promise<Session | undefined> {
    return readSession(this.connection, request);
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
  override listSessions(
    request: ListSessionsRequest & Pick<ListSessionInfosRequest, "filter" | "orderBy">,
  ): Promise<ListSessionsResponse> {
    return listAdkSessions(this.connection, request);
  }

  /** Deletes a session and its events; deleting a missing one is not an error. */
  override async deleteSession({ appName, userId, sessionId }: DeleteSessionRequest): Promise<void> {
    const id = sessionId?.trim();
    if (!id) {
      return;
    }
    await this.connection.call((c) => c.deleteSession, { appName, userId, sessionId: id });
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
      expectedRevision: await revisionOf(this.connection, session),
    };
    const response = await this.connection.append(request);
    const appended = await super.appendEvent({ session, event });
    (session as StoredSession)[REVISION] = response.revision;
    session.lastUpdateTime = msFromTimestamp(response.lastUpdateTime);
    return appended;
  }

  /** The state of one user of an app, keys without "user:". */
  async getUserState({ appName, userId }: { appName: string; userId: string }): Promise<Record<string, unknown>> {
    const response = await this.connection.call((c) => c.getUserState, { appName, userId });
    return decodeMap(response.state);
  }

  /** The state of an app, keys without "app:". */
  async getAppState({ appName }: { appName: string }): Promise<Record<string, unknown>> {
    const response = await this.connection.call((c) => c.getAppState, { appName });
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
    return new SessionWatch(this.connection.watchTransport(), request);
  }

  /**
   * Follows every session of a user live:
   * `for await (const update of service.watchSessions(appName, userId))` yields
   * a listing of them (notices "listed"), "caughtUp", then a notice of each
   * session created, updated, closed, deleted or expired as it is committed.
   * It reconnects by itself; a new stream cannot resume the last one, so it
   * starts over with a "relisting" update and a new listing. The loop goes on
   * until `break` (or the watch's `close`). See session_notices.ts.
   *
   * @throws SessionServiceUnavailableError if the server cannot be reached within the time budget.
   */
  watchSessions(appName: string, userId: string): UserSessionsWatch {
    return new UserSessionsWatch(this.connection.sessionsWatchTransport(), { appName, userId });
  }

  /**
   * A session's expiry, close time and bookkeeping (not its events), or
   * undefined if it does not exist (or has expired).
   */
  getSessionInfo(key: CompositeSessionKey): Promise<SessionInfo | undefined> {
    return readSessionInfo(this.connection, key);
  }

  /**
   * Changes when a session expires: `ttlMs` from now, at `expireTime`, or,
   * with neither, never. Its revision, events and state are untouched, so no
   * writer's session becomes stale.
   *
   * @throws SessionNotFoundError if the session does not exist (or has expired).
   * @throws InvalidArgumentError for both ttlMs and expireTime, or either out of range.
   */
  setSessionExpiry(request: CompositeSessionKey & SessionExpiry): Promise<SessionInfo> {
    return setExpiry(this.connection, request);
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
  updateSessionMetadata(request: CompositeSessionKey & SessionMetadata): Promise<SessionInfo> {
    return updateMetadata(this.connection, request);
  }

  /**
   * One page of the sessions `request` selects (see ListSessionInfosRequest),
   * in its order, without their events or state. Paging is by key: a session
   * changed between pages appears at most once, an unchanged one exactly once.
   *
   * @throws InvalidArgumentError for a filter or order the server cannot read,
   *   or a page token of another listing.
   */
  listSessionInfos(request: ListSessionInfosRequest): Promise<SessionInfoPage> {
    return sessionInfosPage(this.connection, request);
  }

  /** Every session `request` selects, from its pageToken on, walking the pages as they are needed. */
  iterSessionInfos(request: ListSessionInfosRequest): AsyncGenerator<SessionInfo, void, undefined> {
    return sessionInfos(this.connection, request);
  }

  /**
   * One page of the apps that hold a session, app state or user state and
   * that this service's token covers, by name in code point order. An app
   * added while the listing is paged through appears if its name sorts after
   * the page being read.
   *
   * @throws InvalidArgumentError for a negative pageSize or a page token of another listing.
   * @throws SessionServiceError with code UNIMPLEMENTED (reason
   *   "NOT_SUPPORTED_BY_BACKEND") if the server's storage cannot list apps (Agent Engine).
   */
  listApps(request: ListAppsRequest = {}): Promise<AppPage> {
    return appsPage(this.connection, request);
  }

  /** Every app listApps lists, from `request`'s pageToken on, walking the pages as they are needed. */
  iterApps(request: ListAppsRequest = {}): AsyncGenerator<string, void, undefined> {
    return apps(this.connection, request);
  }

  /**
   * One page of the users of an app that hold a session or user state, by id
   * in code point order.
   *
   * @throws InvalidArgumentError for no appName, a negative pageSize or a page token of another listing.
   * @throws SessionServiceError with code PERMISSION_DENIED for an app the token does not cover, or
   *   UNIMPLEMENTED (reason "NOT_SUPPORTED_BY_BACKEND") if the server's storage cannot list users.
   */
  listUsers(request: ListUsersRequest): Promise<UserPage> {
    return usersPage(this.connection, request);
  }

  /** Every user listUsers lists, from `request`'s pageToken on, walking the pages as they are needed. */
  iterUsers(request: ListUsersRequest): AsyncGenerator<string, void, undefined> {
    return users(this.connection, request);
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
  forkSession(request: ForkRequest): Promise<SessionInfo> {
    return fork(this.connection, request);
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
  closeSession({ session }: { session: Session }): Promise<SessionInfo> {
    return closeAfterAppends(this.connection, this.appends, session);
  }

  /**
   * Erases one user of an app: every session, event and the user's
   * user-scoped state; returns how many sessions this call deleted from
   * storage (after a retry, those its last attempt deleted). Nothing of the user is visible to any call once the server has
   * accepted it; what the call had no time to delete the server deletes in
   * the background. Erasing again is harmless, so it is retried like every
   * other call. App state and other users are untouched.
   */
  eraseUser({ appName, userId }: { appName: string; userId: string }): Promise<number> {
    return erase(this.connection, appName, userId);
  }

  /** Closes the connection; a later call opens a new one. */
  close(): void {
    this.connection.close();
  }
}
