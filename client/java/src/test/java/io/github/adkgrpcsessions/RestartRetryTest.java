package io.github.adkgrpcsessions;

import static io.github.adkgrpcsessions.Fixtures.textEvent;
import static io.github.adkgrpcsessions.Fixtures.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.adk.events.Event;
import com.google.adk.sessions.Session;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server process is killed (SIGKILL, as a crash) and started again on the same port and
 * SQLite file: calls made meanwhile ride it out within their time budget, and a longer outage
 * fails at the budget, not before and not long after.
 */
class RestartRetryTest {
  @TempDir Path directory;

  @Test
  void anAppendMadeWhileTheServerRestartsIsStoredOnceWithinTheBudget() throws Exception {
    try (ServerProcess server = ServerProcess.onSqliteFile(directory);
        GrpcSessionService service =
            GrpcSessionService.builder(server.address()).timeout(Duration.ofSeconds(60)).build()) {
      String app = unique("restart");
      Session session = service.createSession(app, "u", Map.of(), null).blockingGet();
      service.appendEvent(session, textEvent("agent", "before")).blockingGet();

      server.kill();
      Thread restarter =
          new Thread(
              () -> {
                try {
                  Thread.sleep(1500);
                } catch (InterruptedException interrupted) {
                  return;
                }
                server.restart();
              });
      restarter.start();
      Event during = textEvent("agent", "during the outage");
      service.appendEvent(session, during).blockingGet();
      restarter.join();

      Session stored =
          service.getSession(app, "u", session.id(), Optional.empty()).blockingGet();
      assertEquals(2, stored.events().size(), server.log());
      assertEquals(
          1, stored.events().stream().filter(event -> event.id().equals(during.id())).count());
      // The session object is current after the retried append: the next one is accepted.
      service.appendEvent(session, textEvent("agent", "after")).blockingGet();
    }
  }

  @Test
  void aCallFailsAtItsBudgetWhenTheOutageOutlastsIt() throws Exception {
    try (ServerProcess server = ServerProcess.onSqliteFile(directory);
        GrpcSessionService service =
            GrpcSessionService.builder(server.address()).timeout(Duration.ofSeconds(2)).build()) {
      String app = unique("outage");
      Session session = service.createSession(app, "u", Map.of(), null).blockingGet();
      server.kill();
      long started = System.nanoTime();
      assertThrows(
          SessionServiceUnavailableException.class,
          () -> service.getSession(app, "u", session.id(), Optional.empty()).blockingGet());
      long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertTrue(tookMillis >= 1900, "gave up after " + tookMillis + " ms, before its 2 s budget");
      assertTrue(tookMillis < 8000, "gave up after " + tookMillis + " ms, long after its 2 s budget");
    }
  }
}
