package io.github.adkgrpcsessions;

import adk_grpc_sessions.v1.SessionServiceOuterClass.ListAppsRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.ListEventsRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.ListSessionsRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.ListSessionsResponse;
import adk_grpc_sessions.v1.SessionServiceOuterClass.ListUsersRequest;
import com.google.adk.events.Event;
import com.google.adk.sessions.ListEventsResponse;
import com.google.adk.sessions.Session;
import com.google.adk.sessions.SessionNotFoundException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Listings, a page at a time or every page: the sessions of an app (or of a user), the events of a
 * session, the apps holding sessions or shared state and the users of an app. Each method makes
 * its calls within the one time budget of the public method it serves ({@link MethodCalls}).
 */
final class Listing {
  private final SessionReads reads;

  Listing(SessionReads reads) {
    this.reads = reads;
  }

  /** Every session of an app (or of one user, if {@code userId} is not null), walking all pages. */
  com.google.adk.sessions.ListSessionsResponse sessions(
      MethodCalls calls, String appName, @Nullable String userId) {
    List<Session> sessions = new ArrayList<>();
    ListSessionsRequest.Builder request =
        ListSessionsRequest.newBuilder()
            .setAppName(appName)
            .setUserId(userId == null ? "" : userId)
            .setPageSize(SessionReads.MAX_PAGE_SIZE);
    while (true) {
      ListSessionsRequest page = request.build();
      ListSessionsResponse response = calls.call(stub -> stub.listSessions(page));
      for (var message : response.getSessionsList()) {
        sessions.add(reads.session(message, List.of()));
      }
      if (response.getNextPageToken().isEmpty()) {
        return com.google.adk.sessions.ListSessionsResponse.builder().sessions(sessions).build();
      }
      request.setPageToken(response.getNextPageToken());
    }
  }

  /** Every event of a session, walking all pages; an empty response if there is no such session. */
  ListEventsResponse events(MethodCalls calls, String appName, String userId, String sessionId) {
    List<Event> events = new ArrayList<>();
    String token = "";
    try {
      do {
        var page = eventsPage(calls, appName, userId, sessionId, SessionReads.MAX_PAGE_SIZE, token);
        events.addAll(page.events());
        token = page.nextPageToken().orElse("");
      } while (!token.isEmpty());
    } catch (SessionNotFoundException missing) {
      return ListEventsResponse.builder().build();
    }
    return ListEventsResponse.builder().events(events).build();
  }

  /** One page of a session's events, from {@code pageToken} (null or empty for the first). */
  ListEventsResponse eventsPage(
      MethodCalls calls,
      String appName,
      String userId,
      String sessionId,
      int pageSize,
      @Nullable String pageToken) {
    ListEventsRequest request =
        ListEventsRequest.newBuilder()
            .setAppName(appName)
            .setUserId(userId)
            .setSessionId(sessionId.strip())
            .setPageSize(pageSize)
            .setPageToken(pageToken == null ? "" : pageToken)
            .build();
    var page = calls.call(stub -> stub.listEvents(request));
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

  /** One page of the apps the caller's token covers, from {@code pageToken} (null or empty for the first). */
  NamePage appsPage(MethodCalls calls, int pageSize, @Nullable String pageToken) {
    ListAppsRequest request =
        ListAppsRequest.newBuilder()
            .setPageSize(pageSize)
            .setPageToken(pageToken == null ? "" : pageToken)
            .build();
    var page = calls.call(stub -> stub.listApps(request));
    return new NamePage(page.getAppNamesList(), Optional.of(page.getNextPageToken()));
  }

  /** One page of an app's users, from {@code pageToken} (null or empty for the first). */
  NamePage usersPage(MethodCalls calls, String appName, int pageSize, @Nullable String pageToken) {
    ListUsersRequest request =
        ListUsersRequest.newBuilder()
            .setAppName(appName)
            .setPageSize(pageSize)
            .setPageToken(pageToken == null ? "" : pageToken)
            .build();
    var page = calls.call(stub -> stub.listUsers(request));
    return new NamePage(page.getUserIdsList(), Optional.of(page.getNextPageToken()));
  }

  /** Every app the caller's token covers, walking all pages. */
  List<String> apps(MethodCalls calls) {
    return everyName(token -> appsPage(calls, SessionReads.MAX_PAGE_SIZE, token));
  }

  /** Every user of an app, walking all pages. */
  List<String> users(MethodCalls calls, String appName) {
    return everyName(token -> usersPage(calls, appName, SessionReads.MAX_PAGE_SIZE, token));
  }

  /** The names of the first page {@code page} reads, then of each next page, to the last. */
  private static List<String> everyName(Function<String, NamePage> page) {
    List<String> names = new ArrayList<>();
    Optional<String> token = Optional.of("");
    while (token.isPresent()) {
      NamePage read = page.apply(token.get());
      names.addAll(read.names());
      token = read.nextPageToken();
    }
    return names;
  }
}
