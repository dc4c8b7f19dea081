/**
 * adk-grpc-sessions for @google/adk: GrpcSessionService, a drop-in
 * BaseSessionService that keeps sessions in an adk-grpc-sessions server.
 */
export { GrpcSessionService, DEFAULT_TIMEOUT_MS, type GrpcSessionServiceOptions } from "./service.js";
export type { SessionExpiry, SessionInfo } from "./lifecycle.js";
export {
  AlreadyExistsError,
  EventIdConflictError,
  InvalidArgumentError,
  LimitExceededError,
  SessionClosedError,
  SessionNotFoundError,
  SessionServiceError,
  SessionServiceTimeoutError,
  SessionServiceUnavailableError,
  StaleSessionError,
} from "./errors.js";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.js";
