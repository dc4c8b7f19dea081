package io.github.adkgrpcsessions;

import static io.github.adkgrpcsessions.Fixtures.textEvent;
import static io.github.adkgrpcsessions.Fixtures.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventStreamRequest;
import com.google.adk.events.Event;
import com.google.adk.sessions.Session;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The session lifecycle on a real server over a SQLite file: expiry at create and later, close,
 * and erasing a user.
 */
class LifecycleTest {
  /** How long a test waits for a 1 s ttl to pass on a busy machine. */
  private static final Duration EXPIRY_WAIT = Duration.ofSeconds(20);

  /** Slack either way between the server's clock and the test's. */
  private static final Duration CLOCK_SLACK = Duration.ofSeconds(1);

  @TempDir static Path directory;
  private static ServerProcess server;
  private static GrpcSessionService service;

  @BeforeAll
  static void startServer() {
    server = ServerProcess.onSqliteFile(directory);
    service = new GrpcSessionService(server.address());
  }

  @AfterAll
  static void stopServer() {
    service.close();
    server.close();
  }

  @Test
  void aSessionCreatedWithATtlIsReadableThenGoneForEveryCall() throws Exception {
    String app = unique("ttl");
    Instant before = Instant.now();
    Session expiring = service.createSession(app, "u", Map.of("k", "v"), "short", Duration.ofSeconds(1)).blockingGet();
    Session kept = service.createSession(app, "u", Map.of(), null).blockingGet();
    SessionInfo info = service.getSessionInfo(app, "u", "short").blockingGet();
    Instant expires = info.expireTime().orElseThrow(() -> new AssertionError("no expireTime: " + info));
    assertTrue(
        !expires.isBefore(before.minus(CLOCK_SLACK))
            && !expires.isAfter(Instant.now().plus(Duration.ofSeconds(1)).plus(CLOCK_SLACK)),
        "expireTime " + expires + ", want about a second after " + before);
    assertFalse(info.closed());
    // Readable until it expires (unless this machine was too slow to read it within its second).
    Session read = service.getSession(app, "u", "short", Optional.empty()).blockingGet();
    assertTrue(read != null || Instant.now().isAfter(expires.minus(CLOCK_SLACK)), "not readable before its expiry");

    eventually("the session with a 1 s ttl expires", () -> get(app, "u", "short") == null);
    assertNull(service.getSessionInfo(app, "u", "short").blockingGet());
    assertEquals(Set.of(kept.id()), listedIds(app, "u"));
    assertThrows(
        GrpcSessionNotFoundException.class,
        () -> service.appendEvent(expiring, textEvent("agent", "too late")).blockingGet());
    assertThrows(
        GrpcSessionNotFoundException.class,
        () -> service.setSessionExpiry(app, "u", "short", Duration.ofHours(1)).blockingGet());
    assertTrue(get(app, "u", kept.id()) != null, "a session without an expiry expired too");
  }

  @Test
  void aSessionCreatedWithAnExpireTimeCarriesIt() {
    String app = unique("expire-time");
    Instant at = Instant.ofEpochSecond(Instant.now().plus(Duration.ofHours(1)).getEpochSecond(), 250_000_000);
    Session created = service.createSession(app, "u", Map.of(), null, at).blockingGet();
    SessionInfo info = service.getSessionInfo(app, "u", created.id()).blockingGet();
    assertEquals(Optional.of(at), info.expireTime());
    assertEquals(Optional.empty(), info.closeTime());
    assertEquals(created.id(), info.sessionId());
    assertEquals(created.lastUpdateTime(), info.lastUpdateTime());
  }

  @Test
  void setSessionExpiryChangesAndRemovesTheExpiryAndKeepsTheRevision() throws Exception {
    String app = unique("set-expiry");
    Session session = service.createSession(app, "u", Map.of(), null).blockingGet();
    SessionInfo before = service.getSessionInfo(app, "u", session.id()).blockingGet();
    assertEquals(Optional.empty(), before.expireTime());

    Instant now = Instant.now();
    SessionInfo hour = service.setSessionExpiry(app, "u", session.id(), Duration.ofHours(1)).blockingGet();
    Instant expires = hour.expireTime().orElseThrow(() -> new AssertionError("no expireTime: " + hour));
    assertTrue(
        Duration.between(now.plus(Duration.ofHours(1)), expires).abs().compareTo(CLOCK_SLACK.multipliedBy(5)) < 0,
        "expireTime " + expires + ", want about an hour after " + now);
    assertEquals(before.revision(), hour.revision());
    // The session object read before is still current: the expiry is no write of its own.
    service.appendEvent(session, textEvent("user", "still current")).blockingGet();

    Instant at = Instant.ofEpochSecond(Instant.now().plus(Duration.ofDays(2)).getEpochSecond());
    assertEquals(Optional.of(at), service.setSessionExpiry(app, "u", session.id(), at).blockingGet().expireTime());
    assertEquals(Optional.empty(), service.removeSessionExpiry(app, "u", session.id()).blockingGet().expireTime());
    assertEquals(Optional.empty(), service.getSessionInfo(app, "u", session.id()).blockingGet().expireTime());

    service.setSessionExpiry(app, "u", session.id(), Duration.ofSeconds(1)).blockingGet();
    eventually("the session given a 1 s ttl expires", () -> get(app, "u", session.id()) == null);
    assertThrows(
        GrpcSessionNotFoundException.class,
        () -> service.removeSessionExpiry(app, "u", session.id()).blockingGet());
  }

  @Test
  void aClosedSessionRefusesAppendsAndStillReads() {
    String app = unique("close");
    Session session = service.createSession(app, "u", Map.of("k", "v"), null).blockingGet();
    Event stored = textEvent("user", "before the close", System.currentTimeMillis(), Map.of("step", 1));
    service.appendEvent(session, stored).blockingGet();
    Instant before = Instant.now().minus(CLOCK_SLACK);
    SessionInfo closed = service.closeSession(app, "u", session.id()).blockingGet();
    Instant closedAt = closed.closeTime().orElseThrow(() -> new AssertionError("no closeTime: " + closed));
    assertTrue(closed.closed());
    assertTrue(
        !closedAt.isBefore(before) && !closedAt.isAfter(Instant.now().plus(CLOCK_SLACK)),
        "closeTime " + closedAt + ", want about now");

    SessionClosedException refused =
        assertThrows(
            SessionClosedException.class,
            () -> service.appendEvent(session, textEvent("agent", "after the close")).blockingGet());
    assertEquals(Status.Code.FAILED_PRECONDITION, refused.code());
    assertEquals("SESSION_CLOSED", refused.reason());
    assertTrue(refused instanceof SessionServiceException);

    Session reread = get(app, "u", session.id());
    assertEquals(List.of(stored.id()), reread.events().stream().map(Event::id).toList());
    assertEquals(1, reread.state().get("step"));
    assertTrue(listedIds(app, "u").contains(session.id()), "a closed session is not listed");

    // Closing again, through ADK's closeSession(Session), succeeds and keeps the first close time.
    service.closeSession(session).blockingAwait();
    assertEquals(Optional.of(closedAt), service.getSessionInfo(app, "u", session.id()).blockingGet().closeTime());
    assertThrows(
        GrpcSessionNotFoundException.class,
        () -> service.closeSession(app, "u", "missing").blockingGet());
  }

  @Test
  void closeSessionWaitsForTheSessionsAppendsUnderWay() throws Exception {
    HoldAppends hold = new HoldAppends();
    // Threads of its own: the common pool may have a single one, which the held append would take.
    ExecutorService threads = Executors.newFixedThreadPool(2);
    try (GrpcSessionService held = GrpcSessionService.builder(server.address()).interceptor(hold).build()) {
      String app = unique("close-wait");
      Session session = held.createSession(app, "u", Map.of(), null).blockingGet();
      CompletableFuture<Event> appended =
          CompletableFuture.supplyAsync(() -> held.appendEvent(session, textEvent("user", "in flight")).blockingGet(), threads);
      assertTrue(hold.held.await(20, TimeUnit.SECONDS), "the append never started");
      CompletableFuture<SessionInfo> closed =
          CompletableFuture.supplyAsync(() -> held.closeSession(session.appName(), "u", session.id()).blockingGet(), threads);
      Thread.sleep(300); // the close must still be waiting after this, whatever the machine's speed
      assertFalse(closed.isDone(), "closeSession returned while an append to the session was under way");
      assertEquals(0, hold.closes.get(), "CloseSession was sent while an append to the session was under way");

      hold.release.countDown();
      appended.get(20, TimeUnit.SECONDS);
      assertTrue(closed.get(20, TimeUnit.SECONDS).closed());
      assertEquals(1, get(app, "u", session.id()).events().size());
    } finally {
      hold.release.countDown();
      threads.shutdownNow();
    }
  }

  @Test
  void eraseUserLeavesNothingOfTheUserAndTouchesNoOneElse() {
    String app = unique("erase");
    for (int i = 0; i < 3; i++) {
      Session session =
          service.createSession(app, "ada", Map.of("user:lang", "en", "app:shared", 1, "own", true), null).blockingGet();
      service.appendEvent(session, textEvent("user", "hi")).blockingGet();
    }
    Session other = service.createSession(app, "bob", Map.of("user:lang", "fr"), null).blockingGet();
    service.appendEvent(other, textEvent("user", "bonjour")).blockingGet();

    assertEquals(3L, service.eraseUser(app, "ada").blockingGet());
    assertEquals(Set.of(), listedIds(app, "ada"));
    assertEquals(Map.of(), service.getUserState(app, "ada").blockingGet());
    assertEquals(Map.of("shared", 1), service.getAppState(app).blockingGet());
    Session kept = get(app, "bob", other.id());
    assertEquals(1, kept.events().size());
    assertEquals("fr", kept.state().get("user:lang"));
    assertEquals(0L, service.eraseUser(app, "ada").blockingGet());
    Session fresh = service.createSession(app, "ada", Map.of(), null).blockingGet();
    assertNull(fresh.state().get("user:lang"), "a session created after the erase has the erased user's state");
  }

  @Test
  void aBadTtlIsRefusedBeforeAnythingIsSent() {
    CountCalls count = new CountCalls();
    try (GrpcSessionService counted = GrpcSessionService.builder(server.address()).interceptor(count).build()) {
      String app = unique("bad-ttl");
      for (Duration ttl : List.of(Duration.ZERO, Duration.ofSeconds(-1), Duration.ofDays(101 * 366))) {
        InvalidSessionArgumentException refused =
            assertThrows(
                InvalidSessionArgumentException.class,
                () -> counted.createSession(app, "u", Map.of(), null, ttl).blockingGet(),
                "ttl " + ttl);
        assertEquals(Status.Code.INVALID_ARGUMENT, refused.code());
        assertTrue(refused.violations().get(0).startsWith("ttl: "), refused.violations().toString());
        InvalidSessionArgumentException update =
            assertThrows(
                InvalidSessionArgumentException.class,
                () -> counted.setSessionExpiry(app, "u", "s", ttl).blockingGet(),
                "ttl " + ttl);
        assertTrue(update.violations().get(0).startsWith("session.ttl: "), update.violations().toString());
      }
      assertEquals(0, count.calls.get(), "a bad ttl was sent to the server");
      // The longest ttl allowed is accepted.
      Session longest = counted.createSession(app, "u", Map.of(), null, Duration.ofDays(36_525)).blockingGet();
      assertTrue(service.getSessionInfo(app, "u", longest.id()).blockingGet().expireTime().isPresent());
    }
  }

  @Test
  void anExpireTimeInThePastIsRefusedByTheServerNamingTheField() {
    String app = unique("bad-expire-time");
    Instant past = Instant.now().minus(Duration.ofMinutes(1));
    InvalidSessionArgumentException refused =
        assertThrows(
            InvalidSessionArgumentException.class,
            () -> service.createSession(app, "u", Map.of(), null, past).blockingGet());
    assertTrue(refused.violations().get(0).startsWith("expire_time: "), refused.violations().toString());
    Session session = service.createSession(app, "u", Map.of(), null).blockingGet();
    InvalidSessionArgumentException update =
        assertThrows(
            InvalidSessionArgumentException.class,
            () -> service.setSessionExpiry(app, "u", session.id(), past).blockingGet());
    assertTrue(update.violations().get(0).startsWith("session.expire_time: "), update.violations().toString());
    assertEquals(Set.of(session.id()), listedIds(app, "u"));
  }

  private static Session get(String app, String user, String id) {
    return service.getSession(app, user, id, Optional.empty()).blockingGet();
  }

  private static Set<String> listedIds(String app, String user) {
    return service.listSessions(app, user).blockingGet().sessions().stream()
        .map(Session::id)
        .collect(Collectors.toSet());
  }

  /** Polls {@code condition} until it holds, failing after {@link #EXPIRY_WAIT}. */
  private static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + EXPIRY_WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("after " + EXPIRY_WAIT + ": " + what + " never happened");
      }
      Thread.sleep(50);
    }
  }

  /**
   * Holds every append until released, however it travels (an AppendEvent call, or a message on
   * the append stream), and counts the CloseSession calls.
   */
  private static final class HoldAppends implements ClientInterceptor {
    final CountDownLatch held = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final AtomicInteger closes = new AtomicInteger();

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(
        MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
      String name = method.getBareMethodName();
      if ("CloseSession".equals(name)) {
        closes.incrementAndGet();
      }
      return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
        @Override
        public void sendMessage(Q message) {
          if ("AppendEvent".equals(name)
              || (message instanceof AppendEventStreamRequest request && request.hasAppend())) {
            hold();
          }
          super.sendMessage(message);
        }
      };
    }

    private void hold() {
      held.countDown();
      try {
        if (!release.await(60, TimeUnit.SECONDS)) {
          throw new IllegalStateException("the held append was never released");
        }
      } catch (InterruptedException interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Counts the calls made, by method. */
  private static final class CountCalls implements ClientInterceptor {
    final AtomicInteger calls = new AtomicInteger();

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(
        MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
      calls.incrementAndGet();
      return next.newCall(method, options);
    }
  }
}
