package io.github.adkgrpcsessions;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The appends a service has sent and not yet seen answered, per session, so that closing a
 * session lets them land first (as ADK Python's close_session flushes a session's pending
 * appends).
 */
final class AppendsUnderWay {
  private record Key(String appName, String userId, String sessionId) {}

  private final Map<Key, Set<CompletableFuture<Void>>> running = new HashMap<>();

  /** Records an append to the session as under way; completing what it returns ends it. */
  CompletableFuture<Void> start(String appName, String userId, String sessionId) {
    Key key = new Key(appName, userId, sessionId);
    CompletableFuture<Void> done = new CompletableFuture<>();
    synchronized (running) {
      running.computeIfAbsent(key, unused -> new HashSet<>()).add(done);
    }
    done.whenComplete(
        (unused, failure) -> {
          synchronized (running) {
            Set<CompletableFuture<Void>> appends = running.get(key);
            if (appends != null && appends.remove(done) && appends.isEmpty()) {
              running.remove(key);
            }
          }
        });
    return done;
  }

  /** The appends to the session under way now, each completing when it ends. */
  List<CompletableFuture<Void>> underWay(String appName, String userId, String sessionId) {
    synchronized (running) {
      return new ArrayList<>(running.getOrDefault(new Key(appName, userId, sessionId), Set.of()));
    }
  }
}
