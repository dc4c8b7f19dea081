/**
 * Connection: the service's channel to the server, made at its first call, and
 * every call made on it.
 *
 * Every unary call goes through `call` (retried within the service's time
 * budget while the server is UNAVAILABLE, see retry.ts), every append
 * through `append` and every create through `create` (the connection's write
 * pipelines, see write_pipeline.ts), and every watch stream is opened through
 * `watchTransport` (see watching.ts), so the options a user gives (metadata,
 * credentials, interceptors) reach every call.
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

import { AppendStream } from "./append_stream.js";
import {
  SessionServiceClient,
  type AppendEventRequest,
  type AppendEventResponse,
  type CreateSessionRequest,
} from "./gen/adk_grpc_sessions/v1/session_service.js";
import {
  Attempts,
  CHANNEL_OPTIONS,
  attemptMetadata,
  deadlineIn,
  retryPolicy,
  type Attempt,
  type RetryPolicy,
} from "./retry.js";
import { parseTarget, type Target } from "./targets.js";
import type { SessionsWatchTransport } from "./session_notices.js";
import type { WatchTransport } from "./watching.js";
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_PER_CALL, MAX_BATCH_WRITES, WritePipeline } from "./write_pipeline.js";
import { AppendRoute, CreateRoute, type Created } from "./write_routes.js";

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
  /**
   * Append calls open at once (default 8). Appends made while any is open
   * go together, up to `maxAppendsPerCall` in one BatchAppendEvents call
   * (creates likewise, in BatchCreateSessions calls of their own). 0: no
   * batches, every append and create is sent at once on its own (on the
   * append stream if it is free and `streamAppends`, else in a call).
   */
  maxAppendsInFlight?: number;
  /** Most appends (or creates) in one call, 1 to 1000 (default 16). */
  maxAppendsPerCall?: number;
  /**
   * Send a lone append (or create) as a message on an AppendEventStream
   * kept open (default true), which costs less than a call of its own;
   * false for a unary call each, e.g. behind a proxy that cuts long-lived
   * streams.
   */
  streamAppends?: boolean;
}

type Callback<Res> = (error: ServiceError | null, response: Res) => void;

/** A unary method of the generated client, as `call` picks it. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: Callback<Res>,
) => ClientUnaryCall;

/** Makes the attempts of unary calls (what write_routes.ts sends writes with). */
export interface UnaryAttempts {
  /** The attempt of one call of the method `pick` takes from the client, with `request`. */
  unary<Req, Res>(pick: (client: SessionServiceClient) => UnaryMethod<Req, Res>, request: Req): Attempt<Res>;
}

/** The channel to one server and the rules every call on it follows. */
export class Connection implements UnaryAttempts {
  /** The gRPC address calls go to ("host:port", "unix:/path"). */
  readonly address: string;
  private readonly tls: boolean;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly options: GrpcSessionServiceOptions;
  private client: SessionServiceClient | undefined;
  private readonly appendStream: AppendStream | undefined;
  private readonly appends: WritePipeline<AppendEventRequest, AppendEventResponse>;
  private readonly creates: WritePipeline<CreateSessionRequest, Created>;

  /** @throws RangeError for maxAppendsInFlight below 0 or maxAppendsPerCall outside 1 to 1000. */
  constructor(target: string, options: GrpcSessionServiceOptions) {
    const parsed: Target = parseTarget(target);
    this.address = parsed.address;
    this.tls = parsed.tls;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retry = retryPolicy(options.retry);
    this.options = options;
    const limits = {
      maxInFlight: options.maxAppendsInFlight ?? DEFAULT_MAX_IN_FLIGHT,
      maxPerCall: options.maxAppendsPerCall ?? DEFAULT_MAX_PER_CALL,
    };
    if (
      !Number.isInteger(limits.maxInFlight) ||
      limits.maxInFlight < 0 ||
      !Number.isInteger(limits.maxPerCall) ||
      limits.maxPerCall < 1 ||
      limits.maxPerCall > MAX_BATCH_WRITES
    ) {
      throw new RangeError(
        `maxAppendsInFlight must be an integer of at least 0 and maxAppendsPerCall one of 1 to ${MAX_BATCH_WRITES}, ` +
          `got ${limits.maxInFlight} and ${limits.maxPerCall}`,
      );
    }
    if (options.streamAppends ?? true) {
      this.appendStream = new AppendStream((waitForReady) =>
        this.stub().appendEventStream(attemptMetadata(this.options.metadata ?? {}, waitForReady)),
      );
    }
    const start = () => this.attempts(deadlineIn(this.budgetMs), this.budgetMs);
    const until = (deadline: Date | undefined) =>
      this.attempts(deadline, deadline === undefined ? undefined : deadline.getTime() - Date.now());
    this.appends = new WritePipeline(new AppendRoute(this, this.appendStream), start, until, limits);
    this.creates = new WritePipeline(new CreateRoute(this, this.appendStream), start, until, limits);
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

  /** The attempts of one operation ending at `deadline`, whose budget errors name `budgetMs`. */
  private attempts(deadline: Date | undefined, budgetMs: number | undefined): Attempts {
    return new Attempts(deadline, budgetMs, this.retry, () => this.connected());
  }

  /** Calls one RPC within the time budget, retrying UNAVAILABLE until it is spent. */
  call<Req, Res>(pick: (client: SessionServiceClient) => UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    return this.attempts(deadlineIn(this.budgetMs), this.budgetMs).run(this.unary(pick, request));
  }

  /** The attempt of one call of the method `pick` takes from the client (made at the attempt), with `request`. */
  unary<Req, Res>(pick: (client: SessionServiceClient) => UnaryMethod<Req, Res>, request: Req): Attempt<Res> {
    return (deadline, waitForReady) =>
      new Promise<Res>((resolve, reject) => {
        const client = this.stub();
        const metadata = attemptMetadata(this.options.metadata ?? {}, waitForReady);
        pick(client).call(client, request, metadata, deadline ? { deadline } : {}, (error, response) =>
          error ? reject(error) : resolve(response),
        );
      });
  }

  /**
   * Stores one append within the time budget, alone or with appends made
   * meanwhile (see write_pipeline.ts); rejects with what AppendEvent would.
   */
  append(request: AppendEventRequest): Promise<AppendEventResponse> {
    return this.appends.send(request);
  }

  /**
   * Makes one create within the time budget, alone or with creates made
   * meanwhile; rejects with what CreateSession would. A create made in a
   * batch whose response had no room for the session is answered by its id.
   */
  create(request: CreateSessionRequest): Promise<Created> {
    return this.creates.send(request);
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

  /** Closes the channel (ending the append stream); a later call opens a new one. */
  close(): void {
    this.appendStream?.close();
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
