package io.github.adkgrpcsessions;

import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.AppendEventResponse;
import com.google.adk.events.Event;
import com.google.adk.sessions.Session;
import com.google.adk.sessions.State;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * Appending an event through a session object: the append carries the revision the object was
 * read at (so a stale writer is refused, never merged), is recorded as under way for closing to
 * wait for, and once stored is recorded in the object as ADK Java's in-memory service records it.
 */
final class Appending {
  private final SessionReads reads;
  private final AppendsUnderWay appends;

  Appending(SessionReads reads, AppendsUnderWay appends) {
    this.reads = reads;
    this.appends = appends;
  }

  /** Stores {@code event} (given an id and a timestamp if it lacks them) and records it in {@code session}. */
  Event append(MethodCalls calls, Session session, Event event) {
    if (event.id() == null || event.id().isEmpty()) {
      event.setId(Event.generateEventId());
    }
    if (event.timestamp() == 0) {
      event.setTimestamp(Instant.now().toEpochMilli());
    }
    String eventJson = EventJson.toWire(event);
    AppendEventRequest request =
        AppendEventRequest.newBuilder()
            .setAppName(session.appName())
            .setUserId(session.userId())
            .setSessionId(session.id())
            .setEventJson(eventJson)
            .setExpectedRevision(reads.revisionOf(calls, session))
            .build();
    CompletableFuture<Void> underWay =
        appends.start(request.getAppName(), request.getUserId(), request.getSessionId());
    try {
      AppendEventResponse response = calls.append(request);
      commit(session, event, response);
    } finally {
      underWay.complete(null);
    }
    return event;
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
    reads.written(session, response.getRevision());
  }
}
