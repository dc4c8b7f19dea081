package io.github.adkgrpcsessions;

import adk_grpc_sessions.v1.SessionServiceOuterClass.CreateSessionRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.DeleteSessionRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.GetAppStateRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.GetSessionRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.GetUserStateRequest;
import com.google.adk.events.Event;
import com.google.adk.sessions.BaseSessionService;
import com.google.adk.sessions.GetSessionConfig;
import com.google.adk.sessions.ListEventsResponse;
import com.google.adk.sessions.Session;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.reactivex.rxjava3.core.Completable;
import io.reactivex.rxjava3.core.Maybe;
import io.reactivex.rxjava3.core.Single;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * A drop-in ADK Java {@link BaseSessionService} that keeps sessions, events and state in an
 * adk-grpc-sessions server, shared with ADK agents in Python, Go, TypeScript and any other
 * language.
 *
 * <p>{@code new GrpcSessionService("localhost:50051")}; {@code "grpc://host:port"}, {@code
 * "grpcs://host:port"} (TLS) and {@code "unix:/path"} (Linux) work too, and {@link #builder}
 * takes a time budget, credentials, a bearer token and anything else grpc-java offers. No
 * connection is made until the first call. Close it when done.
 *
 * <p>Every method returns a cold {@code Single}/{@code Maybe}/{@code Completable}, as ADK Java's
 * own VertexAiSessionService does: the call is made when it is subscribed (by a {@code Runner},
 * {@code blockingGet()}, ...), on the subscribing thread, within one time budget (30 s by default)
 * in which it rides out a restarting server; disposing of it cancels the call.
 *
 * <p>Sessions it returns carry the server's revision (kept beside the object, which ADK Java
 * declares final), so appending through an out-of-date session fails with {@link
 * StaleSessionException} instead of overwriting what another writer stored.
 *
 * <p>Beyond {@code BaseSessionService} it offers the session lifecycle: an expiry at {@link
 * #createSession(String, String, Map, String, Duration) create} or {@link #setSessionExpiry
 * later}, {@link #getSessionInfo}, {@link #closeSession(Session) closeSession} (which ADK Java
 * declares and leaves empty) and {@link #eraseUser}; and the listings of {@link #listApps apps}
 * and of an app's {@link #listUsers users}.
 *
 * <p>One class, because ADK's interface is one class: its methods are short adapters over the
 * package's classes that do the work ({@code Connection}, {@code SessionReads}, {@code Creation},
 * {@code Listing}, {@code Appending}, {@code Lifecycle}), which is why it runs past 400 lines:
 * most of it is the methods' documented signatures and the {@link Builder}.
 */
public final class GrpcSessionService implements BaseSessionService, AutoCloseable {
  /** How long each method may take in all, retries included, by default. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  private final Connection connection;
  private final SessionReads reads;
  private final Creation creation;
  private final Listing listing;
  private final Appending appending;
  private final Lifecycle lifecycle;

  /** A service for the server at {@code target}, with the default options. */
  public GrpcSessionService(String target) {
    this(builder(target));
  }

  private GrpcSessionService(Builder builder) {
    this.connection =
        new Connection(
            builder.target,
            builder.timeout,
            builder.retry,
            builder.credentials,
            builder.metadata,
            builder.interceptors,
            builder.channelCustomizer,
            new Writes.Limits(builder.maxAppendsInFlight, builder.maxAppendsPerCall, builder.streamAppends));
    this.reads = new SessionReads();
    this.creation = new Creation(reads);
    this.listing = new Listing(reads);
    AppendsUnderWay appends = new AppendsUnderWay();
    this.appending = new Appending(reads, appends);
    this.lifecycle = new Lifecycle(appends);
  }

  /** A builder for a service at {@code target} ("host:port", "grpc://", "grpcs://", "unix:"). */
  public static Builder builder(String target) {
    return new Builder(target);
  }

  /** The gRPC target this service connects to. */
  public String target() {
    return connection.address();
  }

  /**
   * Creates a session with the id given (whitespace trimmed) or a new UUID, and its initial
   * state: "app:" and "user:" keys go to the app's and the user's state, other keys to the
   * session's; "temp:" keys are kept in the returned object only.
   *
   * <p>Fails with {@link SessionAlreadyExistsException} if the id is taken (ADK Java's in-memory
   * service overwrites the existing session; ADK Python refuses).
   */
  @Override
  public Single<Session> createSession(
      String appName,
      String userId,
      @Nullable Map<String, Object> state,
      @Nullable String sessionId) {
    return createSession(appName, userId, state, sessionId, request -> {});
  }

  /**
   * {@link #createSession(String, String, Map, String)} for a session that expires {@code ttl}
   * after the server's clock at the call (and, on a server run with
   * --session-ttl-refresh-on-append, {@code ttl} after each append). An expired session is gone at
   * once for every call: {@code getSession} is empty, {@code listSessions} leaves it out, an
   * append fails with {@link GrpcSessionNotFoundException}; the server then purges its events and
   * session state, and keeps its user and app state.
   *
   * <p>Fails with {@link InvalidSessionArgumentException} (naming "ttl"), before anything is
   * sent, if {@code ttl} is not positive or longer than 100 years.
   */
  public Single<Session> createSession(
      String appName,
      String userId,
      @Nullable Map<String, Object> state,
      @Nullable String sessionId,
      Duration ttl) {
    Objects.requireNonNull(ttl, "ttl cannot be null");
    return createSession(
        appName, userId, state, sessionId, request -> request.setTtl(Expiry.ttl("ttl", ttl)));
  }

  /**
   * {@link #createSession(String, String, Map, String)} for a session that expires at {@code
   * expireTime}; see {@link #createSession(String, String, Map, String, Duration)} for what
   * expiring means. Fails with {@link InvalidSessionArgumentException} (naming "expire_time") if
   * it is not after the server's clock.
   */
  public Single<Session> createSession(
      String appName,
      String userId,
      @Nullable Map<String, Object> state,
      @Nullable String sessionId,
      Instant expireTime) {
    Objects.requireNonNull(expireTime, "expireTime cannot be null");
    return createSession(
        appName,
        userId,
        state,
        sessionId,
        request -> request.setExpireTime(Expiry.expireTime("expire_time", expireTime)));
  }

  /** createSession with {@code expiry} setting the request's expiration (or leaving it unset). */
  private Single<Session> createSession(
      String appName,
      String userId,
      @Nullable Map<String, Object> state,
      @Nullable String sessionId,
      Consumer<CreateSessionRequest.Builder> expiry) {
    Objects.requireNonNull(appName, "appName cannot be null");
    Objects.requireNonNull(userId, "userId cannot be null");
    return call(calls -> creation.create(calls, appName, userId, state, sessionId, expiry));
  }

  /** Same as {@link #createSession(String, String, Map, String)}. */
  @Deprecated
  @Override
  public Single<Session> createSession(
      String appName,
      String userId,
      @Nullable ConcurrentMap<String, Object> state,
      @Nullable String sessionId) {
    return createSession(appName, userId, (Map<String, Object>) state, sessionId);
  }

  /**
   * Reads a session with its merged state and its events, or nothing if there is no such
   * session. {@code numRecentEvents} keeps the last N events (0 keeps none); {@code
   * afterTimestamp} keeps those at or after that instant (compared exactly, to the nanosecond);
   * both combine.
   *
   * <p>The whole session, however large: a session whose events do not fit in one response of the
   * server arrives in parts (GetSession, then ListEvents pages of the same read's selection),
   * assembled here. The session, its revision and its events are those of one moment: events
   * appended meanwhile are not included, and appending through the session then detects them.
   */
  @Override
  public Maybe<Session> getSession(
      String appName, String userId, String sessionId, Optional<GetSessionConfig> config) {
    requireSessionKey(appName, userId, sessionId);
    Objects.requireNonNull(config, "config cannot be null");
    return this.<Optional<Session>>call(
            calls -> {
              String id = sessionId.strip();
              if (id.isEmpty()) {
                return Optional.empty();
              }
              GetSessionRequest.Builder request =
                  GetSessionRequest.newBuilder().setAppName(appName).setUserId(userId).setSessionId(id);
              config.flatMap(GetSessionConfig::numRecentEvents).ifPresent(request::setNumRecentEvents);
              config
                  .flatMap(GetSessionConfig::afterTimestamp)
                  .ifPresent(after -> request.setAfterTimestamp(Timestamps.toTimestamp(after)));
              return reads.read(calls, request.build());
            })
        .flatMapMaybe(found -> found.map(Maybe::just).orElseGet(Maybe::empty));
  }

  /**
   * Lists the sessions of an app, with merged state and without events, oldest update first; of
   * one user, or of every user of the app if {@code userId} is null.
   */
  @Override
  public Single<com.google.adk.sessions.ListSessionsResponse> listSessions(
      String appName, @Nullable String userId) {
    Objects.requireNonNull(appName, "appName cannot be null");
    return call(calls -> listing.sessions(calls, appName, userId));
  }

  /** Deletes a session and its events; deleting a missing session is not an error. */
  @Override
  public Completable deleteSession(String appName, String userId, String sessionId) {
    requireSessionKey(appName, userId, sessionId);
    return call(
            calls -> {
              String id = sessionId.strip();
              if (!id.isEmpty()) {
                DeleteSessionRequest request =
                    DeleteSessionRequest.newBuilder().setAppName(appName).setUserId(userId).setSessionId(id).build();
                calls.call(stub -> stub.deleteSession(request));
              }
              return Boolean.TRUE;
            })
        .ignoreElement();
  }

  /**
   * Lists every event of a session, in append order (all pages); an empty response if the session
   * does not exist, as ADK Java's in-memory service answers. {@link #listEventsPage} reads one
   * page at a time.
   */
  @Override
  public Single<ListEventsResponse> listEvents(String appName, String userId, String sessionId) {
    requireSessionKey(appName, userId, sessionId);
    return call(calls -> listing.events(calls, appName, userId, sessionId));
  }

  /**
   * One page of a session's events, in append order: at most {@code pageSize} (0 is the
   * server's default, 100; above 1000 is 1000), from {@code pageToken} (empty for the first
   * page). The response's {@code nextPageToken} is absent on the last page.
   *
   * <p>Fails with {@link GrpcSessionNotFoundException} if the session does not exist.
   */
  public Single<ListEventsResponse> listEventsPage(
      String appName, String userId, String sessionId, int pageSize, String pageToken) {
    return call(calls -> listing.eventsPage(calls, appName, userId, sessionId, pageSize, pageToken));
  }

  /**
   * Lists every app that holds a session, app state or user state and that this service's token
   * covers, by name in code point order (walking all pages; {@link #listAppsPage} reads one page
   * at a time).
   *
   * <p>Fails with {@link SessionServiceException} of code UNIMPLEMENTED (reason
   * "NOT_SUPPORTED_BY_BACKEND") if the server's storage cannot list apps (Agent Engine).
   */
  public Single<List<String>> listApps() {
    return call(calls -> listing.apps(calls));
  }

  /**
   * One page of {@link #listApps}: at most {@code pageSize} apps (0 is the server's default, 100;
   * above 1000 is 1000), from {@code pageToken} (empty for the first page). An app added while
   * the listing is paged through appears if its name sorts after the page being read.
   *
   * <p>Fails with {@link InvalidSessionArgumentException} for a negative page size or a page token
   * of another listing.
   */
  public Single<NamePage> listAppsPage(int pageSize, String pageToken) {
    return call(calls -> listing.appsPage(calls, pageSize, pageToken));
  }

  /**
   * Lists every user of an app that holds a session or user state, by id in code point order
   * (walking all pages; {@link #listUsersPage} reads one page at a time).
   *
   * <p>Fails with {@link SessionServiceException} of code PERMISSION_DENIED for an app the token
   * does not cover, or UNIMPLEMENTED (reason "NOT_SUPPORTED_BY_BACKEND") if the server's storage
   * cannot list users.
   */
  public Single<List<String>> listUsers(String appName) {
    Objects.requireNonNull(appName, "appName cannot be null");
    return call(calls -> listing.users(calls, appName));
  }

  /**
   * One page of {@link #listUsers}: at most {@code pageSize} users (0 is the server's default,
   * 100; above 1000 is 1000), from {@code pageToken} (empty for the first page; a token of
   * another app's listing is refused with {@link InvalidSessionArgumentException}).
   */
  public Single<NamePage> listUsersPage(String appName, int pageSize, String pageToken) {
    Objects.requireNonNull(appName, "appName cannot be null");
    return call(calls -> listing.usersPage(calls, appName, pageSize, pageToken));
  }

  /**
   * Stores an event and applies its state delta, if {@code session} is up to date; then records
   * both in {@code session} as ADK Java's in-memory service does ("temp:" keys included, in the
   * object only: they are never sent). A partial event is neither stored nor applied. An event
   * without an id gets a UUID, one without a timestamp the current time.
   *
   * <p>Fails with {@link StaleSessionException} if the session changed in storage since {@code
   * session} was read (nothing is stored), and with {@link GrpcSessionNotFoundException} if it
   * does not exist (or has expired), and with {@link SessionClosedException} if it was closed.
   * Retrying a failed call with the same event is safe: an event already stored is not stored
   * again.
   */
  @Override
  public Single<Event> appendEvent(Session session, Event event) {
    Objects.requireNonNull(session, "session cannot be null");
    Objects.requireNonNull(event, "event cannot be null");
    if (event.partial().orElse(false)) {
      return Single.just(event);
    }
    return call(calls -> appending.append(calls, session, event));
  }

  /** The state of one user of an app, keys without "user:" (empty for a user without state). */
  public Single<Map<String, Object>> getUserState(String appName, String userId) {
    GetUserStateRequest request = GetUserStateRequest.newBuilder().setAppName(appName).setUserId(userId).build();
    return call(calls -> StateJson.flat(calls.call(stub -> stub.getUserState(request)).getStateMap()));
  }

  /** The state of an app, keys without "app:" (empty for an app without state). */
  public Single<Map<String, Object>> getAppState(String appName) {
    GetAppStateRequest request = GetAppStateRequest.newBuilder().setAppName(appName).build();
    return call(calls -> StateJson.flat(calls.call(stub -> stub.getAppState(request)).getStateMap()));
  }

  /**
   * Changes when a session expires to {@code ttl} from the server's clock now (and, on a server
   * run with --session-ttl-refresh-on-append, {@code ttl} after each later append). Its revision,
   * events and state are untouched, so no writer's session object becomes stale.
   *
   * <p>Fails with {@link InvalidSessionArgumentException} (naming "session.ttl"), before anything
   * is sent, if {@code ttl} is not positive or longer than 100 years, and with {@link
   * GrpcSessionNotFoundException} if the session does not exist (or has expired).
   */
  public Single<SessionInfo> setSessionExpiry(
      String appName, String userId, String sessionId, Duration ttl) {
    Objects.requireNonNull(ttl, "ttl cannot be null");
    return updateExpiry(
        appName, userId, sessionId, "ttl", message -> message.setTtl(Expiry.ttl("session.ttl", ttl)));
  }

  /**
   * Changes when a session expires to {@code expireTime}, which must be after the server's clock
   * (else {@link InvalidSessionArgumentException} naming "session.expire_time"); otherwise as
   * {@link #setSessionExpiry(String, String, String, Duration)}.
   */
  public Single<SessionInfo> setSessionExpiry(
      String appName, String userId, String sessionId, Instant expireTime) {
    Objects.requireNonNull(expireTime, "expireTime cannot be null");
    return updateExpiry(
        appName,
        userId,
        sessionId,
        "expire_time",
        message -> message.setExpireTime(Expiry.expireTime("session.expire_time", expireTime)));
  }

  /**
   * Removes a session's expiry (and its ttl): it is kept until deleted. Fails with {@link
   * GrpcSessionNotFoundException} if it does not exist (or has already expired).
   */
  public Single<SessionInfo> removeSessionExpiry(String appName, String userId, String sessionId) {
    // The path named with its field left unset clears the expiry.
    return updateExpiry(appName, userId, sessionId, "expire_time", message -> {});
  }

  /** UpdateSession of the session's expiry: the field mask names {@code path}. */
  private Single<SessionInfo> updateExpiry(
      String appName,
      String userId,
      String sessionId,
      String path,
      Consumer<adk_grpc_sessions.v1.SessionServiceOuterClass.Session.Builder> expiry) {
    requireSessionKey(appName, userId, sessionId);
    return call(calls -> lifecycle.updateExpiry(calls, appName, userId, sessionId, path, expiry));
  }

  /**
   * A session's expiry, close time and bookkeeping, read without its events or state; empty if
   * there is no such session (or it has expired), as {@link #getSession} is.
   */
  public Maybe<SessionInfo> getSessionInfo(String appName, String userId, String sessionId) {
    requireSessionKey(appName, userId, sessionId);
    return this.<Optional<SessionInfo>>call(calls -> reads.readInfo(calls, appName, userId, sessionId))
        .flatMapMaybe(found -> found.map(Maybe::just).orElseGet(Maybe::empty));
  }

  /**
   * Closes {@code session}, as ADK Python's {@code close_session(session=...)}: see {@link
   * #closeSession(String, String, String)}. ADK Java declares this method and leaves it empty; its
   * Runner never calls it, so sessions are closed only when the caller says so.
   */
  @Override
  public Completable closeSession(Session session) {
    Objects.requireNonNull(session, "session cannot be null");
    return closeSession(session.appName(), session.userId(), session.id()).ignoreElement();
  }

  /**
   * Closes a session once this service's appends to it that are under way have finished (whatever
   * their outcome). A closed session still reads and lists as before; every later append to it
   * fails with {@link SessionClosedException}. Closing a closed session succeeds and keeps its
   * first close time; closing changes neither its revision nor its lastUpdateTime. On a server run
   * with --closed-session-ttl a closed session expires that long after its close at the latest.
   *
   * <p>Fails with {@link GrpcSessionNotFoundException} if the session does not exist (or has
   * expired).
   */
  public Single<SessionInfo> closeSession(String appName, String userId, String sessionId) {
    requireSessionKey(appName, userId, sessionId);
    return call(calls -> lifecycle.close(calls, appName, userId, sessionId));
  }

  /**
   * Erases one user of an app: every session, event and the user's user-scoped state; returns how
   * many sessions this call deleted from storage (after a retry, those its last attempt deleted).
   * Nothing of the user is visible to any call once the server has accepted it; what the call had
   * no time to delete the server deletes in the background. Erasing again is harmless (and
   * returns 0), which is why it is retried like every other call. App state and other users are
   * untouched.
   */
  public Single<Long> eraseUser(String appName, String userId) {
    Objects.requireNonNull(appName, "appName cannot be null");
    Objects.requireNonNull(userId, "userId cannot be null");
    return call(calls -> lifecycle.eraseUser(calls, appName, userId));
  }

  /** Closes the connection, letting calls in flight finish for up to 5 s. */
  @Override
  public void close() {
    connection.close();
  }

  /** Fails with NullPointerException, naming the argument, for a null part of a session's key. */
  private static void requireSessionKey(String appName, String userId, String sessionId) {
    Objects.requireNonNull(appName, "appName cannot be null");
    Objects.requireNonNull(userId, "userId cannot be null");
    Objects.requireNonNull(sessionId, "sessionId cannot be null");
  }

  /** A cold Single of {@code body}, its calls within one time budget: see {@code Connection.call}. */
  private <T> Single<T> call(Function<MethodCalls, T> body) {
    return connection.call(body);
  }

  /** Options of a {@link GrpcSessionService}. */
  public static final class Builder {
    private final String target;
    private Duration timeout = DEFAULT_TIMEOUT;
    private RetryPolicy retry = RetryPolicy.DEFAULT;
    private @Nullable ChannelCredentials credentials;
    private final Metadata metadata = new Metadata();
    private final List<ClientInterceptor> interceptors = new ArrayList<>();
    private Consumer<ManagedChannelBuilder<?>> channelCustomizer = unused -> {};
    private int maxAppendsInFlight = Writes.Limits.DEFAULT.maxInFlight();
    private int maxAppendsPerCall = Writes.Limits.DEFAULT.maxPerCall();
    private boolean streamAppends = Writes.Limits.DEFAULT.stream();

    private Builder(String target) {
      this.target = target;
    }

    /**
     * How long each method may take in all, retries included: while the server is unavailable
     * (restarting, say) a call is retried until this is spent. {@link Duration#ZERO} for no
     * limit (a call then keeps trying until it is disposed of). 30 s by default.
     */
    public Builder timeout(Duration timeout) {
      if (timeout.isNegative()) {
        throw new IllegalArgumentException("timeout must not be negative, got " + timeout);
      }
      this.timeout = timeout;
      return this;
    }

    /** How often calls failing with UNAVAILABLE are retried within their time budget. */
    public Builder retryPolicy(RetryPolicy retry) {
      this.retry = Objects.requireNonNull(retry);
      return this;
    }

    /**
     * The channel's credentials, e.g. {@code TlsChannelCredentials.newBuilder().trustManager(caPem)
     * .build()}. Default: plaintext, or TLS with the system's roots for "grpcs://".
     */
    public Builder credentials(ChannelCredentials credentials) {
      this.credentials = Objects.requireNonNull(credentials);
      return this;
    }

    /** Sends {@code authorization: Bearer <token>} with every call, for a server with tokens. */
    public Builder bearerToken(String token) {
      return metadata("authorization", "Bearer " + token);
    }

    /** Adds an ASCII metadata entry sent with every call. */
    public Builder metadata(String key, String value) {
      metadata.put(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER), value);
      return this;
    }

    /** Adds grpc-java client interceptors. */
    public Builder interceptor(ClientInterceptor interceptor) {
      interceptors.add(Objects.requireNonNull(interceptor));
      return this;
    }

    /**
     * Anything else grpc-java offers (keepalive, an executor, ...), applied to the channel
     * builder last, so it wins over this service's own settings.
     */
    public Builder channel(Consumer<ManagedChannelBuilder<?>> customizer) {
      this.channelCustomizer = Objects.requireNonNull(customizer);
      return this;
    }

    /**
     * Append calls open at once (8 by default). An append made while no append call is open
     * goes at once, on its own; appends made while calls are open wait for one to end and go
     * together, up to {@link #maxAppendsPerCall} in one BatchAppendEvents call, each with its
     * own outcome (the result, or the exception it would have met alone) and its own time
     * budget. Creates share calls the same way (BatchCreateSessions), with calls of their own.
     * 0 sends each append and each create in a call of its own, at once.
     */
    public Builder maxAppendsInFlight(int maxAppendsInFlight) {
      this.maxAppendsInFlight = new Writes.Limits(maxAppendsInFlight, maxAppendsPerCall, streamAppends).maxInFlight();
      return this;
    }

    /** Most appends (or creates) in one batch call: 1 to 1000, 16 by default. */
    public Builder maxAppendsPerCall(int maxAppendsPerCall) {
      this.maxAppendsPerCall = new Writes.Limits(maxAppendsInFlight, maxAppendsPerCall, streamAppends).maxPerCall();
      return this;
    }

    /**
     * Whether an append (or a create) that goes on its own is sent as a message on a stream kept
     * open between them (AppendEventStream), which waits less than a call of its own; true by
     * default. False for a call per append and per create (say, behind a proxy that cuts
     * long-lived streams); with {@code maxAppendsInFlight(0)} too, every write is a unary call.
     */
    public Builder streamAppends(boolean streamAppends) {
      this.streamAppends = streamAppends;
      return this;
    }

    /** The service. */
    public GrpcSessionService build() {
      return new GrpcSessionService(this);
    }
  }
}
