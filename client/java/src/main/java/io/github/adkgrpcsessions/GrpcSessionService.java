package io.github.adkgrpcsessions;

import adk_grpc_sessions.v1.SessionServiceGrpc;
import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventResponse;
import adk_grpc_sessions.v1.SessionServiceOuterClass.CloseSessionRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.CreateSessionRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.DeleteSessionRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.EraseUserRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.GetAppStateRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.GetSessionRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.GetSessionResponse;
import adk_grpc_sessions.v1.SessionServiceOuterClass.GetUserStateRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.ListEventsRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.ListSessionsRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.ListSessionsResponse;
import adk_grpc_sessions.v1.SessionServiceOuterClass.UpdateSessionRequest;
import com.google.adk.events.Event;
import com.google.adk.sessions.BaseSessionService;
import com.google.adk.sessions.GetSessionConfig;
import com.google.adk.sessions.ListEventsResponse;
import com.google.adk.sessions.Session;
import com.google.adk.sessions.SessionNotFoundException;
import com.google.adk.sessions.State;
import com.google.common.collect.MapMaker;
import com.google.protobuf.FieldMask;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptor;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.MetadataUtils;
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
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;
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
 * declares and leaves empty) and {@link #eraseUser}.
 */
public final class GrpcSessionService implements BaseSessionService, AutoCloseable {
  /** How long each method may take in all, retries included, by default. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  /** The largest page the server returns; listings walk pages of it. */
  private static final int MAX_PAGE_SIZE = 1000;

  /** Times getSession starts over when the session was deleted between the parts of its read. */
  private static final int READ_RESTARTS = 3;

  /** How often a close waiting for appends under way looks whether it was cancelled. */
  private static final long CANCEL_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  private final String target;
  private final ManagedChannel channel;
  private final ScheduledExecutorService timer;
  private final RetryingCaller caller;

  /**
   * The revision each session object was read or last written at. Weak keys compared by identity:
   * a session object is forgotten with the object, and two equal-looking copies stay apart.
   */
  private final ConcurrentMap<Session, Long> revisions = new MapMaker().weakKeys().makeMap();

  /** This service's appends under way, which closing their session waits for. */
  private final AppendsUnderWay appends = new AppendsUnderWay();

  /** A service for the server at {@code target}, with the default options. */
  public GrpcSessionService(String target) {
    this(builder(target));
  }

  private GrpcSessionService(Builder builder) {
    Target parsed = Target.parse(builder.target);
    this.target = parsed.address();
    ChannelCredentials credentials =
        builder.credentials != null
            ? builder.credentials
            : parsed.tls() ? TlsChannelCredentials.create() : InsecureChannelCredentials.create();
    ManagedChannelBuilder<?> channelBuilder =
        Grpc.newChannelBuilder(parsed.address(), credentials)
            .maxInboundMessageSize(Integer.MAX_VALUE)
            .disableRetry(); // retries are RetryingCaller's, within the budget
    List<ClientInterceptor> interceptors = new ArrayList<>(builder.interceptors);
    if (!builder.metadata.keys().isEmpty()) {
      interceptors.add(MetadataUtils.newAttachHeadersInterceptor(builder.metadata));
    }
    channelBuilder.intercept(interceptors);
    builder.channelCustomizer.accept(channelBuilder);
    this.channel = channelBuilder.build();
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            task -> {
              Thread thread = new Thread(task, "adk-grpc-sessions-reconnect");
              thread.setDaemon(true);
              return thread;
            });
    ReconnectPacer.start(channel, timer);
    this.caller =
        new RetryingCaller(
            channel, SessionServiceGrpc.newBlockingStub(channel), builder.timeout, builder.retry);
  }

  /** A builder for a service at {@code target} ("host:port", "grpc://", "grpcs://", "unix:"). */
  public static Builder builder(String target) {
    return new Builder(target);
  }

  /** The gRPC target this service connects to. */
  public String target() {
    return target;
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
    return call(
        () -> {
          String requested = sessionId == null ? "" : sessionId.strip();
          // Choosing the id here makes a retried create recognisable: the id is fresh, so
          // "already exists" can only mean that an earlier attempt landed.
          String id = requested.isEmpty() ? UUID.randomUUID().toString() : requested;
          CreateSessionRequest.Builder builder =
              CreateSessionRequest.newBuilder()
                  .setAppName(appName)
                  .setUserId(userId)
                  .setSessionId(id)
                  .setState(StateJson.split(state));
          expiry.accept(builder);
          CreateSessionRequest request = builder.build();
          Session created = create(caller.budget(), request, !requested.isEmpty());
          if (state != null) {
            state.forEach(
                (key, value) -> {
                  if (key.startsWith(State.TEMP_PREFIX) && value != null && value != State.REMOVED) {
                    created.state().put(key, value);
                  }
                });
          }
          return created;
        });
  }

  /**
   * CreateSession; for an id this client chose, "already exists" means an earlier attempt of this
   * call landed, and the session it made is read back.
   */
  private Session create(@Nullable Deadline deadline, CreateSessionRequest request, boolean idGiven) {
    try {
      return session(caller.call(deadline, stub -> stub.createSession(request)).getSession(), List.of());
    } catch (SessionAlreadyExistsException taken) {
      if (idGiven) {
        throw taken;
      }
      GetSessionRequest read =
          GetSessionRequest.newBuilder()
              .setAppName(request.getAppName())
              .setUserId(request.getUserId())
              .setSessionId(request.getSessionId())
              .build();
      return read(deadline, read).orElseThrow(() -> taken);
    }
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
    Objects.requireNonNull(appName, "appName cannot be null");
    Objects.requireNonNull(userId, "userId cannot be null");
    Objects.requireNonNull(sessionId, "sessionId cannot be null");
    Objects.requireNonNull(config, "config cannot be null");
    return this.<Optional<Session>>call(
            () -> {
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
              return read(caller.budget(), request.build());
            })
        .flatMapMaybe(found -> found.map(Maybe::just).orElseGet(Maybe::empty));
  }

  /** GetSession and the rest of its events, as one session; empty if there is none. */
  private Optional<Session> read(@Nullable Deadline deadline, GetSessionRequest request) {
    for (int restart = 0; ; restart++) {
      GetSessionResponse response;
      try {
        response = caller.call(deadline, stub -> stub.getSession(request));
      } catch (SessionNotFoundException missing) {
        return Optional.empty();
      }
      try {
        List<adk_grpc_sessions.v1.SessionServiceOuterClass.Event> rest =
            readRest(deadline, response.getSession(), response.getNextEventsPageToken());
        return Optional.of(session(response.getSession(), rest));
      } catch (SessionNotFoundException goneBetweenParts) {
        if (restart >= READ_RESTARTS) {
          return Optional.empty();
        }
        // Gone (or deleted and created again) between the parts: read it anew.
      }
    }
  }

  /** The events of a read that did not fit in its first response, listed from its token on. */
  private List<adk_grpc_sessions.v1.SessionServiceOuterClass.Event> readRest(
      @Nullable Deadline deadline,
      adk_grpc_sessions.v1.SessionServiceOuterClass.Session message,
      String token) {
    List<adk_grpc_sessions.v1.SessionServiceOuterClass.Event> rest = new ArrayList<>();
    String next = token;
    while (!next.isEmpty()) {
      ListEventsRequest request =
          ListEventsRequest.newBuilder()
              .setAppName(message.getAppName())
              .setUserId(message.getUserId())
              .setSessionId(message.getSessionId())
              .setPageSize(MAX_PAGE_SIZE)
              .setPageToken(next)
              .build();
      var page = caller.call(deadline, stub -> stub.listEvents(request));
      rest.addAll(page.getEventsList());
      next = page.getNextPageToken();
    }
    return rest;
  }

  /**
   * Lists the sessions of an app, with merged state and without events, oldest update first; of
   * one user, or of every user of the app if {@code userId} is null.
   */
  @Override
  public Single<com.google.adk.sessions.ListSessionsResponse> listSessions(
      String appName, @Nullable String userId) {
    Objects.requireNonNull(appName, "appName cannot be null");
    return call(
        () -> {
          Deadline deadline = caller.budget();
          List<Session> sessions = new ArrayList<>();
          ListSessionsRequest.Builder request =
              ListSessionsRequest.newBuilder()
                  .setAppName(appName)
                  .setUserId(userId == null ? "" : userId)
                  .setPageSize(MAX_PAGE_SIZE);
          while (true) {
            ListSessionsRequest page = request.build();
            ListSessionsResponse response = caller.call(deadline, stub -> stub.listSessions(page));
            for (var message : response.getSessionsList()) {
              sessions.add(session(message, List.of()));
            }
            if (response.getNextPageToken().isEmpty()) {
              return com.google.adk.sessions.ListSessionsResponse.builder().sessions(sessions).build();
            }
            request.setPageToken(response.getNextPageToken());
          }
        });
  }

  /** Deletes a session and its events; deleting a missing session is not an error. */
  @Override
  public Completable deleteSession(String appName, String userId, String sessionId) {
    Objects.requireNonNull(appName, "appName cannot be null");
    Objects.requireNonNull(userId, "userId cannot be null");
    Objects.requireNonNull(sessionId, "sessionId cannot be null");
    return call(
            () -> {
              String id = sessionId.strip();
              if (!id.isEmpty()) {
                DeleteSessionRequest request =
                    DeleteSessionRequest.newBuilder().setAppName(appName).setUserId(userId).setSessionId(id).build();
                caller.call(caller.budget(), stub -> stub.deleteSession(request));
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
    Objects.requireNonNull(appName, "appName cannot be null");
    Objects.requireNonNull(userId, "userId cannot be null");
    Objects.requireNonNull(sessionId, "sessionId cannot be null");
    return call(
        () -> {
          Deadline deadline = caller.budget();
          List<Event> events = new ArrayList<>();
          String token = "";
          try {
            do {
              var page = listEventsPage(deadline, appName, userId, sessionId, MAX_PAGE_SIZE, token);
              events.addAll(page.events());
              token = page.nextPageToken().orElse("");
            } while (!token.isEmpty());
          } catch (SessionNotFoundException missing) {
            return ListEventsResponse.builder().build();
          }
          return ListEventsResponse.builder().events(events).build();
        });
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
    return call(() -> listEventsPage(caller.budget(), appName, userId, sessionId, pageSize, pageToken));
  }

  private ListEventsResponse listEventsPage(
      @Nullable Deadline deadline,
      String appName,
      String userId,
      String sessionId,
      int pageSize,
      String pageToken) {
    ListEventsRequest request =
        ListEventsRequest.newBuilder()
            .setAppName(appName)
            .setUserId(userId)
            .setSessionId(sessionId.strip())
            .setPageSize(pageSize)
            .setPageToken(pageToken == null ? "" : pageToken)
            .build();
    var page = caller.call(deadline, stub -> stub.listEvents(request));
    List<Event> events = new ArrayList<>();
    for (var stored : page.getEventsList()) {
      events.add(EventJson.fromWire(stored.getEventJson(), stored.getTimestamp()));
    }
    ListEventsResponse.Builder response = ListEventsResponse.builder().events(events);
    if (!page.getNextPageToken().isEmpty()) {
      response.nextPageToken(page.getNextPageToken());
    }
    return response.build();
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
    return call(
        () -> {
          if (event.id() == null || event.id().isEmpty()) {
            event.setId(Event.generateEventId());
          }
          if (event.timestamp() == 0) {
            event.setTimestamp(Instant.now().toEpochMilli());
          }
          String eventJson = EventJson.toWire(event);
          Deadline deadline = caller.budget();
          AppendEventRequest request =
              AppendEventRequest.newBuilder()
                  .setAppName(session.appName())
                  .setUserId(session.userId())
                  .setSessionId(session.id())
                  .setEventJson(eventJson)
                  .setExpectedRevision(revisionOf(deadline, session))
                  .build();
          CompletableFuture<Void> underWay =
              appends.start(request.getAppName(), request.getUserId(), request.getSessionId());
          try {
            AppendEventResponse response = caller.call(deadline, stub -> stub.appendEvent(request));
            commit(session, event, response);
          } finally {
            underWay.complete(null);
          }
          return event;
        });
  }

  /** Records a stored event in the caller's session, as ADK Java's in-memory service does. */
  private void commit(Session session, Event event, AppendEventResponse response) {
    Map<String, Object> delta = event.actions() == null ? null : event.actions().stateDelta();
    if (delta != null) {
      delta.forEach(
          (key, value) -> {
            if (value == State.REMOVED || value == null) {
              session.state().remove(key);
            } else {
              session.state().put(key, value);
            }
          });
    }
    List<Event> events = session.events();
    synchronized (events) {
      // A retry through a session that already holds the event replaces it, never doubles it.
      events.removeIf(existing -> Objects.equals(existing.id(), event.id()));
      events.add(event);
    }
    session.lastUpdateTime(Timestamps.toInstant(response.getLastUpdateTime()));
    revisions.put(session, response.getRevision());
  }

  /**
   * The revision {@code session} was read at. A session that this service did not return (built
   * by hand, or by another service) has none; it is then judged as ADK's database services judge
   * one: up to date if storage has not changed since its lastUpdateTime, or if storage's latest
   * event is its latest event.
   */
  private long revisionOf(@Nullable Deadline deadline, Session session) {
    Long known = revisions.get(session);
    if (known != null) {
      return known;
    }
    GetSessionRequest request =
        GetSessionRequest.newBuilder()
            .setAppName(session.appName())
            .setUserId(session.userId())
            .setSessionId(session.id())
            .setNumRecentEvents(1)
            .build();
    GetSessionResponse response = caller.call(deadline, stub -> stub.getSession(request));
    // Its last event may not have fitted beside its state: then it is the one part left.
    List<adk_grpc_sessions.v1.SessionServiceOuterClass.Event> rest =
        readRest(deadline, response.getSession(), response.getNextEventsPageToken());
    var stored = response.getSession();
    String storedLast =
        !rest.isEmpty()
            ? rest.get(rest.size() - 1).getId()
            : stored.getEventsCount() > 0 ? stored.getEvents(stored.getEventsCount() - 1).getId() : "";
    List<Event> own = session.events();
    String ownLast = own == null || own.isEmpty() ? "" : own.get(own.size() - 1).id();
    Instant storedUpdate = Timestamps.toInstant(stored.getLastUpdateTime());
    if (session.lastUpdateTime() != null
        && storedUpdate.isAfter(session.lastUpdateTime())
        && !storedLast.equals(ownLast)) {
      throw Errors.staleSession();
    }
    return stored.getRevision();
  }

  /** The state of one user of an app, keys without "user:" (empty for a user without state). */
  public Single<Map<String, Object>> getUserState(String appName, String userId) {
    GetUserStateRequest request = GetUserStateRequest.newBuilder().setAppName(appName).setUserId(userId).build();
    return call(() -> StateJson.flat(caller.call(caller.budget(), stub -> stub.getUserState(request)).getStateMap()));
  }

  /** The state of an app, keys without "app:" (empty for an app without state). */
  public Single<Map<String, Object>> getAppState(String appName) {
    GetAppStateRequest request = GetAppStateRequest.newBuilder().setAppName(appName).build();
    return call(() -> StateJson.flat(caller.call(caller.budget(), stub -> stub.getAppState(request)).getStateMap()));
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
    Objects.requireNonNull(appName, "appName cannot be null");
    Objects.requireNonNull(userId, "userId cannot be null");
    Objects.requireNonNull(sessionId, "sessionId cannot be null");
    return call(
        () -> {
          var message =
              adk_grpc_sessions.v1.SessionServiceOuterClass.Session.newBuilder()
                  .setAppName(appName)
                  .setUserId(userId)
                  .setSessionId(sessionId.strip());
          expiry.accept(message);
          UpdateSessionRequest request =
              UpdateSessionRequest.newBuilder()
                  .setSession(message)
                  .setUpdateMask(FieldMask.newBuilder().addPaths(path))
                  .build();
          return SessionInfo.of(
              caller.call(caller.budget(), stub -> stub.updateSession(request)).getSession());
        });
  }

  /**
   * A session's expiry, close time and bookkeeping, read without its events or state; empty if
   * there is no such session (or it has expired), as {@link #getSession} is.
   */
  public Maybe<SessionInfo> getSessionInfo(String appName, String userId, String sessionId) {
    Objects.requireNonNull(appName, "appName cannot be null");
    Objects.requireNonNull(userId, "userId cannot be null");
    Objects.requireNonNull(sessionId, "sessionId cannot be null");
    return this.<Optional<SessionInfo>>call(
            () -> {
              String id = sessionId.strip();
              if (id.isEmpty()) {
                return Optional.empty();
              }
              GetSessionRequest request =
                  GetSessionRequest.newBuilder()
                      .setAppName(appName)
                      .setUserId(userId)
                      .setSessionId(id)
                      .setNumRecentEvents(0)
                      .build();
              try {
                return Optional.of(
                    SessionInfo.of(
                        caller.call(caller.budget(), stub -> stub.getSession(request)).getSession()));
              } catch (SessionNotFoundException missing) {
                return Optional.empty();
              }
            })
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
    Objects.requireNonNull(appName, "appName cannot be null");
    Objects.requireNonNull(userId, "userId cannot be null");
    Objects.requireNonNull(sessionId, "sessionId cannot be null");
    return call(
        () -> {
          String id = sessionId.strip();
          Deadline deadline = caller.budget();
          for (CompletableFuture<Void> append : appends.underWay(appName, userId, id)) {
            awaitEnd(deadline, append);
          }
          CloseSessionRequest request =
              CloseSessionRequest.newBuilder().setAppName(appName).setUserId(userId).setSessionId(id).build();
          return SessionInfo.of(caller.call(deadline, stub -> stub.closeSession(request)).getSession());
        });
  }

  /** Waits for an append under way to end, within {@code deadline} and until cancelled. */
  private static void awaitEnd(@Nullable Deadline deadline, CompletableFuture<Void> append) {
    while (true) {
      if (Context.current().isCancelled()) {
        throw Errors.fromStatus(
            Status.CANCELLED.withDescription("the close was cancelled").asRuntimeException());
      }
      long wait = CANCEL_CHECK_NANOS;
      if (deadline != null) {
        if (deadline.isExpired()) {
          throw Errors.fromStatus(
              Status.DEADLINE_EXCEEDED
                  .withDescription("the session's appends under way did not end within the call's time budget")
                  .asRuntimeException());
        }
        wait = Math.min(wait, deadline.timeRemaining(TimeUnit.NANOSECONDS));
      }
      try {
        append.get(Math.max(wait, 1), TimeUnit.NANOSECONDS);
        return;
      } catch (TimeoutException notYet) {
        // Look at the deadline and the cancellation again.
      } catch (ExecutionException ended) {
        return; // its outcome is its caller's; this only waits for it to end
      } catch (InterruptedException interrupted) {
        Thread.currentThread().interrupt();
        throw Errors.fromStatus(
            Status.CANCELLED.withDescription("interrupted").asRuntimeException());
      }
    }
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
    EraseUserRequest request = EraseUserRequest.newBuilder().setAppName(appName).setUserId(userId).build();
    return call(() -> caller.call(caller.budget(), stub -> stub.eraseUser(request)).getDeletedSessions());
  }

  /** Closes the connection, letting calls in flight finish for up to 5 s. */
  @Override
  public void close() {
    timer.shutdownNow();
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException interrupted) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  /** An ADK session from a wire session (and the rest of its events), carrying its revision. */
  private Session session(
      adk_grpc_sessions.v1.SessionServiceOuterClass.Session message,
      List<adk_grpc_sessions.v1.SessionServiceOuterClass.Event> rest) {
    List<Event> events = new ArrayList<>(message.getEventsCount() + rest.size());
    for (var stored : message.getEventsList()) {
      events.add(EventJson.fromWire(stored.getEventJson(), stored.getTimestamp()));
    }
    for (var stored : rest) {
      events.add(EventJson.fromWire(stored.getEventJson(), stored.getTimestamp()));
    }
    Session session =
        Session.builder(message.getSessionId())
            .appName(message.getAppName())
            .userId(message.getUserId())
            .state(StateJson.merged(message.getState()))
            .events(events)
            .lastUpdateTime(Timestamps.toInstant(message.getLastUpdateTime()))
            .build();
    revisions.put(session, message.getRevision());
    return session;
  }

  /**
   * A cold Single running {@code body} when subscribed, on the subscribing thread, in a gRPC
   * context that disposing of the Single cancels.
   */
  private <T> Single<T> call(Supplier<T> body) {
    return Single.create(
        emitter -> {
          Context.CancellableContext context = Context.current().withCancellation();
          emitter.setCancellable(() -> context.cancel(null));
          try {
            T value = context.call(body::get);
            emitter.onSuccess(value);
          } catch (Throwable failure) {
            emitter.tryOnError(failure);
          } finally {
            context.cancel(null);
          }
        });
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

    /** The service. */
    public GrpcSessionService build() {
      return new GrpcSessionService(this);
    }
  }
}
