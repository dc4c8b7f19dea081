package io.github.adkgrpcsessions;

import adk_grpc_sessions.v1.SessionServiceOuterClass.GetSessionRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.GetSessionResponse;
import adk_grpc_sessions.v1.SessionServiceOuterClass.ListEventsRequest;
import com.google.adk.events.Event;
import com.google.adk.sessions.Session;
import com.google.adk.sessions.SessionNotFoundException;
import com.google.common.collect.MapMaker;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentMap;

/**
 * Reading one session: whole, however large; its info alone; and the revision each session object
 * was read or last written at, which an append carries.
 *
 * <p>A session whose events do not fit in one response of the server arrives in parts:
 * GetSession, then ListEvents pages of the same read's selection (next_events_page_token). The
 * parts are of one moment: events appended meanwhile are not included, and appending through the
 * session then detects them. A session deleted between the parts (or deleted and created again)
 * has no such moment: the read starts over.
 */
final class SessionReads {
  /** The largest page the server returns; listings walk pages of it. */
  static final int MAX_PAGE_SIZE = 1000;

  /** Times a read starts over when the session was deleted between the parts of its read. */
  private static final int READ_RESTARTS = 3;

  /**
   * The revision each session object was read or last written at. Weak keys compared by identity:
   * a session object is forgotten with the object, and two equal-looking copies stay apart.
   */
  private final ConcurrentMap<Session, Long> revisions = new MapMaker().weakKeys().makeMap();

  /** GetSession and the rest of its events, as one session; empty if there is none. */
  Optional<Session> read(MethodCalls calls, GetSessionRequest request) {
    for (int restart = 0; ; restart++) {
      GetSessionResponse response;
      try {
        response = calls.call(stub -> stub.getSession(request));
      } catch (SessionNotFoundException missing) {
        return Optional.empty();
      }
      try {
        List<adk_grpc_sessions.v1.SessionServiceOuterClass.Event> rest =
            readRest(calls, response.getSession(), response.getNextEventsPageToken());
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
      MethodCalls calls,
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
      var page = calls.call(stub -> stub.listEvents(request));
      rest.addAll(page.getEventsList());
      next = page.getNextPageToken();
    }
    return rest;
  }

  /** A session's info, read without its events or state; empty if there is no such session. */
  Optional<SessionInfo> readInfo(MethodCalls calls, String appName, String userId, String sessionId) {
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
      return Optional.of(SessionInfo.of(calls.call(stub -> stub.getSession(request)).getSession()));
    } catch (SessionNotFoundException missing) {
      return Optional.empty();
    }
  }

  /** An ADK session from a wire session (and the rest of its events), carrying its revision. */
  Session session(
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

  /** Records that {@code session} is now at {@code revision} (after an append through it). */
  void written(Session session, long revision) {
    revisions.put(session, revision);
  }

  /**
   * The revision {@code session} was read at. A session that this service did not return (built
   * by hand, or by another service) has none; it is then judged as ADK's database services judge
   * one: up to date if storage has not changed since its lastUpdateTime, or if storage's latest
   * event is its latest event.
   */
  long revisionOf(MethodCalls calls, Session session) {
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
    GetSessionResponse response = calls.call(stub -> stub.getSession(request));
    // Its last event may not have fitted beside its state: then it is the one part left.
    List<adk_grpc_sessions.v1.SessionServiceOuterClass.Event> rest =
        readRest(calls, response.getSession(), response.getNextEventsPageToken());
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
}
