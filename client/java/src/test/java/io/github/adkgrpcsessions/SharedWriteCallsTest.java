package io.github.adkgrpcsessions;

import static io.github.adkgrpcsessions.Fixtures.textEvent;
import static io.github.adkgrpcsessions.Fixtures.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventStreamRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.BatchAppendEventsRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.CreateSessionRequest;
import com.google.adk.events.Event;
import com.google.adk.sessions.Session;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.MethodDescriptor;
import io.reactivex.rxjava3.disposables.Disposable;
import io.reactivex.rxjava3.schedulers.Schedulers;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Appends and creates share calls, as the Python client's do: a lone write goes on the append
 * stream kept open, writes made while the calls of their kind are all open go together in batch
 * calls, each with its own outcome; and with the option off every write is a call of its own.
 * What went which way is read from the real server's /metrics.
 */
class SharedWriteCallsTest {
  private static final int WRITERS = 32;

  @TempDir Path directory;
  private final ExecutorService threads = Executors.newCachedThreadPool();

  @AfterEach
  void stopThreads() {
    threads.shutdownNow();
  }

  @Test
  void concurrentCreatesAndAppendsAllLandAndTravelInBatchesAndOnTheStream() throws Exception {
    try (ServerProcess server = ServerProcess.onSqliteFile(directory, "--metrics-listen", "127.0.0.1:0");
        GrpcSessionService service =
            GrpcSessionService.builder(server.address()).timeout(Duration.ofSeconds(60)).build()) {
      String app = unique("shared");
      int sessionsEach = 4;
      int appends = 10;
      List<Session> sessions = new ArrayList<>();
      for (List<Session> made : together(WRITERS, writer -> {
        List<Session> mine = new ArrayList<>();
        for (int s = 0; s < sessionsEach; s++) {
          mine.add(service.createSession(app, "u" + writer, Map.of("writer", writer), null).blockingGet());
        }
        return mine;
      })) {
        sessions.addAll(made);
      }
      List<List<String>> appended = together(sessions.size(), index -> appendAll(service, sessions.get(index), appends));

      for (int i = 0; i < sessions.size(); i++) {
        Session mine = sessions.get(i);
        Session stored = service.getSession(app, mine.userId(), mine.id(), Optional.empty()).blockingGet();
        assertEquals(appended.get(i), stored.events().stream().map(Event::id).toList(), "session " + i);
        assertEquals(appends - 1, stored.state().get("count"));
        assertEquals(mine.events().stream().map(Event::id).toList(), appended.get(i));
        // Each session object holds the revision its last append left: the next one is accepted.
        service.appendEvent(mine, textEvent("agent", "after")).blockingGet();
      }
      Scrape metrics = Scrape.of(server);
      assertEquals(sessions.size(), metrics.sum("adk_grpc_sessions_sessions_created_total"));
      assertTrue(metrics.sum("adk_grpc_sessions_batched_appends_total", "code", "OK") > 0, "no append went in a batch");
      assertTrue(metrics.sum("adk_grpc_sessions_streamed_appends_total", "code", "OK") > 0, "no append went on the stream");
      assertTrue(metrics.sum("adk_grpc_sessions_batched_creates_total", "code", "OK") > 0, "no create went in a batch");
      assertTrue(metrics.sum("adk_grpc_sessions_streamed_creates_total", "code", "OK") > 0, "no create went on the stream");
    }
  }

  @Test
  void aStaleAppendInABatchFailsAsAloneWhileItsNeighboursLand() throws Exception {
    HoldFirstWrite hold = new HoldFirstWrite();
    try (ServerProcess server = ServerProcess.onSqliteFile(directory, "--metrics-listen", "127.0.0.1:0");
        GrpcSessionService service =
            GrpcSessionService.builder(server.address()).maxAppendsInFlight(1).interceptor(hold).build()) {
      String app = unique("stale-batch");
      Session holder = service.createSession(app, "u", Map.of(), null).blockingGet();
      List<Session> neighbours = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        neighbours.add(service.createSession(app, "u", Map.of(), null).blockingGet());
      }
      Session target = service.createSession(app, "u", Map.of(), null).blockingGet();
      Session current = service.getSession(app, "u", target.id(), Optional.empty()).blockingGet();
      Session stale = service.getSession(app, "u", target.id(), Optional.empty()).blockingGet();
      service.appendEvent(current, textEvent("agent", "moves the session on")).blockingGet();

      hold.armFor(AppendEventRequest.class);
      Future<Event> held = threads.submit(() -> service.appendEvent(holder, textEvent("agent", "held")).blockingGet());
      assertTrue(hold.holding.await(20, TimeUnit.SECONDS), "the first append never started");
      List<Future<Event>> landed = new ArrayList<>();
      for (Session neighbour : neighbours) {
        landed.add(threads.submit(() -> service.appendEvent(neighbour, textEvent("agent", "neighbour")).blockingGet()));
      }
      Future<Event> refused = threads.submit(() -> service.appendEvent(stale, textEvent("agent", "stale")).blockingGet());
      Thread.sleep(500); // they wait for the one call allowed, whatever the machine's speed
      hold.release.countDown();

      held.get(20, TimeUnit.SECONDS);
      for (Future<Event> neighbour : landed) {
        neighbour.get(20, TimeUnit.SECONDS);
      }
      StaleSessionException inBatch = assertInstanceOf(StaleSessionException.class, failure(refused));
      StaleSessionException alone =
          assertThrows(
              StaleSessionException.class,
              () -> service.appendEvent(stale, textEvent("agent", "stale again")).blockingGet());
      assertSameFailure(alone, inBatch);

      Scrape metrics = Scrape.of(server);
      assertEquals(1, metrics.sum("adk_grpc_sessions_rpcs_total", "method", "BatchAppendEvents"));
      assertEquals(3, metrics.sum("adk_grpc_sessions_batched_appends_total", "code", "OK"));
      assertEquals(1, metrics.sum("adk_grpc_sessions_batched_appends_total", "code", "ABORTED"));
      for (Session neighbour : neighbours) {
        assertEquals(1, service.getSession(app, "u", neighbour.id(), Optional.empty()).blockingGet().events().size());
        service.appendEvent(neighbour, textEvent("agent", "next")).blockingGet(); // its revision was recorded
      }
      assertEquals(1, service.getSession(app, "u", target.id(), Optional.empty()).blockingGet().events().size());
    }
  }

  @Test
  void aDuplicateCreateInABatchIsRefusedAsAloneWhileItsNeighboursAreCreated() throws Exception {
    HoldFirstWrite hold = new HoldFirstWrite();
    try (ServerProcess server = ServerProcess.onSqliteFile(directory, "--metrics-listen", "127.0.0.1:0");
        GrpcSessionService service =
            GrpcSessionService.builder(server.address()).maxAppendsInFlight(1).interceptor(hold).build()) {
      String app = unique("duplicate-batch");
      Session taken = service.createSession(app, "u", Map.of(), "taken").blockingGet();

      hold.armFor(CreateSessionRequest.class);
      Future<Session> held = threads.submit(() -> service.createSession(app, "u", Map.of(), null).blockingGet());
      assertTrue(hold.holding.await(20, TimeUnit.SECONDS), "the first create never started");
      List<Future<Session>> created = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        created.add(threads.submit(() -> service.createSession(app, "u", Map.of("k", "v"), null).blockingGet()));
      }
      created.add(threads.submit(() -> service.createSession(app, "u", Map.of(), " named ").blockingGet()));
      Future<Session> refused = threads.submit(() -> service.createSession(app, "u", Map.of(), "taken").blockingGet());
      Thread.sleep(500); // they wait for the one call allowed, whatever the machine's speed
      hold.release.countDown();

      held.get(20, TimeUnit.SECONDS);
      for (Future<Session> session : created) {
        Session made = session.get(20, TimeUnit.SECONDS);
        Session stored = service.getSession(app, "u", made.id(), Optional.empty()).blockingGet();
        assertEquals(made.state(), stored.state(), made.id());
      }
      assertEquals("named", created.get(3).get().id());
      assertEquals("v", created.get(0).get().state().get("k"));
      SessionAlreadyExistsException inBatch = assertInstanceOf(SessionAlreadyExistsException.class, failure(refused));
      SessionAlreadyExistsException alone =
          assertThrows(
              SessionAlreadyExistsException.class,
              () -> service.createSession(app, "u", Map.of(), "taken").blockingGet());
      assertSameFailure(alone, inBatch);
      assertEquals("taken", taken.id());

      Scrape metrics = Scrape.of(server);
      assertEquals(1, metrics.sum("adk_grpc_sessions_rpcs_total", "method", "BatchCreateSessions"));
      assertEquals(4, metrics.sum("adk_grpc_sessions_batched_creates_total", "code", "OK"));
      assertEquals(1, metrics.sum("adk_grpc_sessions_batched_creates_total", "code", "ALREADY_EXISTS"));
    }
  }

  @Test
  void aCallerGivingUpWhileItsAppendWaitsFailsNoOtherAppendAndItsOwnIsNeverSent() throws Exception {
    HoldFirstWrite hold = new HoldFirstWrite();
    try (ServerProcess server = ServerProcess.onSqliteFile(directory, "--metrics-listen", "127.0.0.1:0");
        GrpcSessionService service =
            GrpcSessionService.builder(server.address()).maxAppendsInFlight(1).interceptor(hold).build()) {
      String app = unique("give-up-queued");
      List<Session> sessions = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        sessions.add(service.createSession(app, "u", Map.of(), null).blockingGet());
      }
      hold.armFor(AppendEventRequest.class);
      Future<Event> held = threads.submit(() -> service.appendEvent(sessions.get(0), textEvent("agent", "held")).blockingGet());
      assertTrue(hold.holding.await(20, TimeUnit.SECONDS), "the first append never started");
      Future<Event> first = threads.submit(() -> service.appendEvent(sessions.get(1), textEvent("agent", "a")).blockingGet());
      Disposable givenUp = service.appendEvent(sessions.get(2), textEvent("agent", "given up")).subscribeOn(Schedulers.io()).subscribe(ok -> {}, failed -> {});
      Future<Event> last = threads.submit(() -> service.appendEvent(sessions.get(3), textEvent("agent", "b")).blockingGet());
      Thread.sleep(500); // they wait for the one call allowed, whatever the machine's speed
      givenUp.dispose();
      hold.release.countDown();

      held.get(20, TimeUnit.SECONDS);
      first.get(20, TimeUnit.SECONDS);
      last.get(20, TimeUnit.SECONDS);
      assertEquals(2, Scrape.of(server).sum("adk_grpc_sessions_batched_appends_total", "code", "OK"));
      assertEquals(0, service.getSession(app, "u", sessions.get(2).id(), Optional.empty()).blockingGet().events().size());
    }
  }

  @Test
  void aCallerGivingUpWhileItsBatchIsUnderWayFailsNoOtherAppend() throws Exception {
    HoldFirstWrite holdLone = new HoldFirstWrite();
    HoldFirstWrite holdBatch = new HoldFirstWrite();
    try (ServerProcess server = ServerProcess.onSqliteFile(directory);
        GrpcSessionService service =
            GrpcSessionService.builder(server.address())
                .maxAppendsInFlight(1)
                .interceptor(holdLone)
                .interceptor(holdBatch)
                .build()) {
      String app = unique("give-up-sent");
      List<Session> sessions = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        sessions.add(service.createSession(app, "u", Map.of(), null).blockingGet());
      }
      holdLone.armFor(AppendEventRequest.class);
      holdBatch.armFor(BatchAppendEventsRequest.class);
      Future<Event> held = threads.submit(() -> service.appendEvent(sessions.get(0), textEvent("agent", "held")).blockingGet());
      assertTrue(holdLone.holding.await(20, TimeUnit.SECONDS), "the first append never started");
      Future<Event> first = threads.submit(() -> service.appendEvent(sessions.get(1), textEvent("agent", "a")).blockingGet());
      Disposable givenUp = service.appendEvent(sessions.get(2), textEvent("agent", "given up")).subscribeOn(Schedulers.io()).subscribe(ok -> {}, failed -> {});
      Future<Event> last = threads.submit(() -> service.appendEvent(sessions.get(3), textEvent("agent", "b")).blockingGet());
      Thread.sleep(500); // they wait for the one call allowed, whatever the machine's speed
      holdLone.release.countDown();
      assertTrue(holdBatch.holding.await(20, TimeUnit.SECONDS), "the batch never started");
      givenUp.dispose();
      Thread.sleep(200);
      holdBatch.release.countDown();

      held.get(20, TimeUnit.SECONDS);
      first.get(20, TimeUnit.SECONDS);
      last.get(20, TimeUnit.SECONDS);
      for (int i : List.of(1, 3)) {
        assertEquals(1, service.getSession(app, "u", sessions.get(i).id(), Optional.empty()).blockingGet().events().size());
      }
    }
  }

  @Test
  void anAppendStillWaitingAtItsDeadlineFailsAsACallWouldAndIsNeverSent() throws Exception {
    HoldFirstWrite hold = new HoldFirstWrite();
    try (ServerProcess server = ServerProcess.onSqliteFile(directory);
        GrpcSessionService service =
            GrpcSessionService.builder(server.address())
                .maxAppendsInFlight(1)
                .timeout(Duration.ofSeconds(1))
                .interceptor(hold)
                .build()) {
      String app = unique("late");
      Session holder = service.createSession(app, "u", Map.of(), null).blockingGet();
      Session waiting = service.createSession(app, "u", Map.of(), null).blockingGet();
      hold.armFor(AppendEventRequest.class);
      Future<Event> held = threads.submit(() -> service.appendEvent(holder, textEvent("agent", "held")).blockingGet());
      assertTrue(hold.holding.await(20, TimeUnit.SECONDS), "the first append never started");
      long started = System.nanoTime();
      assertThrows(
          SessionServiceTimeoutException.class,
          () -> service.appendEvent(waiting, textEvent("agent", "late")).blockingGet());
      long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertTrue(tookMillis >= 900 && tookMillis < 5000, "gave up after " + tookMillis + " ms of its 1 s budget");
      hold.release.countDown();
      try {
        held.get(20, TimeUnit.SECONDS);
      } catch (ExecutionException heldPastItsBudget) {
        // Either outcome is the held append's own; only the late one is under test.
      }
      assertEquals(0, service.getSession(app, "u", waiting.id(), Optional.empty()).blockingGet().events().size());
    }
  }

  @Test
  void writeLimitsOutOfRangeAreRefusedByTheBuilder() {
    GrpcSessionService.Builder builder = GrpcSessionService.builder("localhost:1");
    assertThrows(IllegalArgumentException.class, () -> builder.maxAppendsInFlight(-1));
    assertThrows(IllegalArgumentException.class, () -> builder.maxAppendsPerCall(0));
    assertThrows(IllegalArgumentException.class, () -> builder.maxAppendsPerCall(1001));
    builder.maxAppendsInFlight(0).maxAppendsPerCall(1000).streamAppends(false).build().close();
  }

  @Test
  void withTheOptionOffEveryWriteIsACallOfItsOwn() throws Exception {
    try (ServerProcess server = ServerProcess.onSqliteFile(directory, "--metrics-listen", "127.0.0.1:0");
        GrpcSessionService service =
            GrpcSessionService.builder(server.address()).maxAppendsInFlight(0).streamAppends(false).build()) {
      String app = unique("unshared");
      int appends = 5;
      List<Session> sessions = together(WRITERS, writer -> service.createSession(app, "u", Map.of(), null).blockingGet());
      together(sessions.size(), index -> appendAll(service, sessions.get(index), appends));

      Scrape metrics = Scrape.of(server);
      assertEquals(WRITERS, metrics.sum("adk_grpc_sessions_rpcs_total", "method", "CreateSession"));
      assertEquals(WRITERS * appends, metrics.sum("adk_grpc_sessions_rpcs_total", "method", "AppendEvent"));
      for (String method : List.of("BatchCreateSessions", "BatchAppendEvents", "AppendEventStream")) {
        assertEquals(0, metrics.sum("adk_grpc_sessions_rpcs_total", "method", method), method);
      }
      assertEquals(0, metrics.sum("adk_grpc_sessions_streamed_appends_total"));
      assertEquals(0, metrics.sum("adk_grpc_sessions_streamed_creates_total"));
    }
  }

  @Test
  void writesUnderWayWhenTheServerIsKilledAndRestartedAllLandOnce() throws Exception {
    try (ServerProcess server = ServerProcess.onSqliteFile(directory)) {
      ridesOut(server, () -> {
        server.kill();
        return null;
      });
    }
  }

  @Test
  void writesUnderWayWhenTheServerDrainsAndRestartsAllLandOnce() throws Exception {
    try (ServerProcess server = ServerProcess.onSqliteFile(directory, "--grace-seconds", "5")) {
      ridesOut(server, () -> {
        server.stop(); // SIGTERM: the server drains, ending its append streams
        return null;
      });
    }
  }

  /**
   * Writers create sessions and append to them while {@code stop} stops the server, which starts
   * again 1.5 s later: every write lands, once, in order.
   */
  private void ridesOut(ServerProcess server, Callable stop) throws Exception {
    try (GrpcSessionService service =
        GrpcSessionService.builder(server.address()).timeout(Duration.ofSeconds(60)).build()) {
      String app = unique("restart");
      int writers = 16;
      int appends = 30;
      CountDownLatch halfway = new CountDownLatch(writers);
      CompletableFuture<List<Object>> writing =
          CompletableFuture.supplyAsync(
              () ->
                  together(
                      writers,
                      writer -> {
                        Session session = service.createSession(app, "u" + writer, Map.of(), null).blockingGet();
                        List<String> ids = new ArrayList<>();
                        for (int i = 0; i < appends; i++) {
                          if (i == appends / 3) {
                            halfway.countDown();
                          }
                          Event event = textEvent("agent", "e" + i, System.currentTimeMillis(), Map.of("count", i));
                          ids.add(service.appendEvent(session, event).blockingGet().id());
                        }
                        return List.of(session, ids);
                      }),
              threads);
      assertTrue(halfway.await(60, TimeUnit.SECONDS), "the writers never got going");
      stop.call();
      Thread.sleep(1500);
      server.restart();
      List<Object> written = writing.get(90, TimeUnit.SECONDS);
      for (Object each : written) {
        List<?> pair = (List<?>) each;
        Session session = (Session) pair.get(0);
        Session stored = service.getSession(app, session.userId(), session.id(), Optional.empty()).blockingGet();
        assertEquals(pair.get(1), stored.events().stream().map(Event::id).toList(), server.log());
      }
    }
  }

  /** A step that may throw. */
  private interface Callable {
    Object call() throws Exception;
  }

  /** Appends {@code count} events to {@code session}, each setting "count"; their ids, in order. */
  private static List<String> appendAll(GrpcSessionService service, Session session, int count) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Event event = textEvent("agent", "event " + i, System.currentTimeMillis(), Map.of("count", i));
      ids.add(service.appendEvent(session, event).blockingGet().id());
    }
    return ids;
  }

  /** Runs {@code work} on {@code count} threads released at once; their results, in order. */
  private <T> List<T> together(int count, Function<Integer, T> work) {
    CountDownLatch start = new CountDownLatch(1);
    List<Future<T>> running = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int index = i;
      running.add(
          threads.submit(
              () -> {
                start.await();
                return work.apply(index);
              }));
    }
    start.countDown();
    List<T> results = new ArrayList<>();
    for (Future<T> each : running) {
      results.add(get(each));
    }
    return results;
  }

  private static <T> T get(Future<T> future) {
    try {
      return future.get(120, TimeUnit.SECONDS);
    } catch (ExecutionException failed) {
      throw new AssertionError("a writer failed", failed.getCause());
    } catch (Exception other) {
      throw new AssertionError(other);
    }
  }

  /** What {@code future} failed with (it must fail). */
  private static Throwable failure(Future<?> future) throws Exception {
    ExecutionException failed = assertThrows(ExecutionException.class, () -> future.get(20, TimeUnit.SECONDS));
    return failed.getCause();
  }

  private static void assertSameFailure(SessionServiceFailure alone, SessionServiceFailure inBatch) {
    assertEquals(alone.code(), inBatch.code());
    assertEquals(alone.reason(), inBatch.reason());
    assertEquals(((Throwable) alone).getMessage(), ((Throwable) inBatch).getMessage());
  }

  /** Holds the first write of one kind, once armed, until released, however it travels. */
  private static final class HoldFirstWrite implements ClientInterceptor {
    final CountDownLatch holding = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    private final AtomicBoolean armed = new AtomicBoolean();
    private volatile Class<?> kind = Void.class;

    void armFor(Class<?> kind) {
      this.kind = kind;
      armed.set(true);
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(
        MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
      return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
        @Override
        public void sendMessage(Q message) {
          Object write = message;
          if (message instanceof AppendEventStreamRequest streamed) {
            write = streamed.hasAppend() ? streamed.getAppend() : streamed.getCreate();
          }
          if (kind.isInstance(write) && armed.compareAndSet(true, false)) {
            holding.countDown();
            try {
              if (!release.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the held write was never released");
              }
            } catch (InterruptedException interrupted) {
              Thread.currentThread().interrupt();
            }
          }
          super.sendMessage(message);
        }
      };
    }
  }

  /** One read of a server's /metrics (Prometheus text). */
  private record Scrape(List<String> lines) {
    static Scrape of(ServerProcess server) throws IOException, InterruptedException {
      HttpResponse<String> response =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create("http://" + server.metricsAddress() + "/metrics")).build(),
                  HttpResponse.BodyHandlers.ofString());
      return new Scrape(response.body().lines().filter(line -> !line.startsWith("#")).toList());
    }

    /** The sum of the samples of {@code name} whose labels include {@code label=value} (if given). */
    double sum(String name, String... labelAndValue) {
      double total = 0;
      for (String line : lines) {
        String sample = line.substring(0, line.lastIndexOf(' '));
        boolean named = sample.equals(name) || sample.startsWith(name + "{");
        boolean labelled =
            labelAndValue.length == 0 || sample.contains(labelAndValue[0] + "=\"" + labelAndValue[1] + "\"");
        if (named && labelled) {
          total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
      }
      return total;
    }
  }
}
