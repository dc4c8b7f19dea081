/**
 * adk-grpc-sessions for @google/adk: GrpcSessionService, a drop-in
 * BaseSessionService that keeps sessions in an adk-grpc-sessions server.
 */
export { GrpcSessionService, DEFAULT_TIMEOUT_MS, type GrpcSessionServiceOptions } from "./service.js";
export type { SessionExpiry } from "./lifecycle.js";
export type { AppPage, ListAppsRequest, ListUsersRequest, UserPage } from "./listing.js";
export type { ForkRequest, ListSessionInfosRequest, SessionInfoPage, SessionMetadata } from "./metadata.js";
export type { ForkOrigin, SessionInfo } from "./session_info.js";
export { UserSessionsWatch, type SessionNoticeKind, type SessionsUpdate } from "./session_notices.js";
export {
  EventWatch,
  SessionWatch,
  type WatchEndReason,
  type WatchSessionRequestOptions,
  type WatchUpdate,
} from "./watching.js";
export {
  AlreadyExistsError,
  EventIdConflictError,
  ForkPointUnknownError,
  InvalidArgumentError,
  LimitExceededError,
  SessionClosedError,
  SessionFilterError,
  SessionNotFoundError,
  SessionServiceError,
  SessionServiceTimeoutError,
  SessionServiceUnavailableError,
  StaleSessionError,
} from "./errors.js";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.js";
