/**
 * Connection: the service's channel to the server, made at its first call, and
 * every call made on it.
 *
 * Every unary call goes through `call` (retried within the service's time
 * budget while the server is UNAVAILABLE, see retry.ts), and every watch
 * stream is opened through `watchTransport` (see watching.ts), so the options
 * a user gives (metadata, credentials, interceptors) reach every call.
 */
import {
  connectivityState,
  credentials as grpcCredentials,
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientUnaryCall,
  type Interceptor,
  type Metadata,
  type ServiceError,
} from "@grpc/grpc-js";

import { SessionServiceClient } from "./gen/adk_grpc_sessions/v1/session_service.js";
import { CHANNEL_OPTIONS, attemptMetadata, callWithRetry, retryPolicy, type RetryPolicy } from "./retry.js";
import { parseTarget, type Target } from "./targets.js";
import type { SessionsWatchTransport } from "./session_notices.js";
import type { WatchTransport } from "./watching.js";

/** Milliseconds each method may take in all, retries included, by default. */
export const DEFAULT_TIMEOUT_MS = 30_000;

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

/** A unary method of the generated client, as `call` picks it. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: Callback<Res>,
) => ClientUnaryCall;

/** The channel to one server and the rules every call on it follows. */
export class Connection {
  /** The gRPC address calls go to ("host:port", "unix:/path"). */
  readonly address: string;
  private readonly tls: boolean;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly options: GrpcSessionServiceOptions;
  private client: SessionServiceClient | undefined;

  constructor(target: string, options: GrpcSessionServiceOptions) {
    const parsed: Target = parseTarget(target);
    this.address = parsed.address;
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
      this.client = new SessionServiceClient(this.address, credentials, {
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

  /** The call's time budget in milliseconds; undefined for none. */
  private get budgetMs(): number | undefined {
    return this.timeoutMs > 0 ? this.timeoutMs : undefined;
  }

  /** Calls one RPC within the time budget, retrying UNAVAILABLE until it is spent. */
  call<Req, Res>(pick: (client: SessionServiceClient) => UnaryMethod<Req, Res>, request: Req): Promise<Res> {
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
      this.budgetMs,
      this.retry,
      () => this.connected(),
    );
  }

  /** How a watch opens its streams on this channel, within the same budget and retry policy. */
  watchTransport(): WatchTransport {
    return {
      open: (message, waitForReady) =>
        this.stub().watchSession(message, attemptMetadata(this.options.metadata ?? {}, waitForReady)),
      budgetMs: this.budgetMs,
      policy: this.retry,
      connected: () => this.connected(),
    };
  }

  /** How a watch of a user's sessions opens its streams: through this connection's channel and options. */
  sessionsWatchTransport(): SessionsWatchTransport {
    return {
      open: (message, waitForReady) =>
        this.stub().watchSessions(message, attemptMetadata(this.options.metadata ?? {}, waitForReady)),
      budgetMs: this.budgetMs,
      policy: this.retry,
      connected: () => this.connected(),
    };
  }

  /** Closes the channel; a later call opens a new one. */
  close(): void {
    this.client?.close();
    this.client = undefined;
  }
}

/** A response's session, which every response naming one carries. */
export function required<T>(value: T | undefined): T {
  if (value === undefined) {
    throw new TypeError("the server's response lacks its session");
  }
  return value;
}
