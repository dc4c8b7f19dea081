package io.github.adkgrpcsessions;

import static io.github.adkgrpcsessions.Fixtures.text;
import static io.github.adkgrpcsessions.Fixtures.textEvent;
import static io.github.adkgrpcsessions.Fixtures.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.adk.events.Event;
import com.google.adk.sessions.BaseSessionService;
import com.google.adk.sessions.GetSessionConfig;
import com.google.adk.sessions.Session;
import com.google.adk.sessions.State;
import com.google.genai.types.Content;
import com.google.genai.types.Part;
import java.math.BigInteger;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The cases every session service must pass, run against ADK Java's own InMemorySessionService
 * ({@link InMemoryConformanceTest}) and against GrpcSessionService on a real server ({@link
 * GrpcConformanceTest}). Where the two differ, the case asserts both behaviours, under a
 * "DIFFERENCE" comment saying which is ADK Python's (the contract's) and why the other is what it
 * is; everything else must agree exactly.
 */
abstract class SessionServiceConformance {
  /** The service under test; one per test class. */
  abstract BaseSessionService service();

  /** Whether the service under test is GrpcSessionService (for the asserted differences). */
  abstract boolean grpc();

  private final String app = unique("conformance");
  private static final long T0 = 1_700_000_000_123L;

  private Session create(String user, Map<String, Object> state) {
    return service().createSession(app, user, state, null).blockingGet();
  }

  private Optional<Session> get(Session session, GetSessionConfig config) {
    return Optional.ofNullable(
        service()
            .getSession(app, session.userId(), session.id(), Optional.of(config))
            .blockingGet());
  }

  private Session get(Session session) {
    return get(session, GetSessionConfig.builder().build()).orElseThrow();
  }

  private Event append(Session session, Event event) {
    return service().appendEvent(session, event).blockingGet();
  }

  @Test
  void createSessionKeepsTheGivenIdTrimmedAndItsState() {
    Session created =
        service().createSession(app, "u", Map.of("topic", "trains"), "  s-given  ").blockingGet();
    assertEquals("s-given", created.id());
    assertEquals(app, created.appName());
    assertEquals("u", created.userId());
    assertEquals(Map.of("topic", "trains"), Map.copyOf(created.state()));
    assertTrue(created.events().isEmpty());
    assertEquals(Map.of("topic", "trains"), Map.copyOf(get(created).state()));
  }

  @Test
  void createSessionWithoutAnIdGivesEachSessionAFreshId() {
    Session first = create("u", Map.of());
    Session second = create("u", Map.of());
    assertFalse(first.id().isBlank());
    assertNotEquals(first.id(), second.id());
  }

  @Test
  void createSessionWithATakenIdIsRefusedByTheServerAndReplacesInAdkJava() {
    Session first = service().createSession(app, "u", Map.of("v", 1), "taken").blockingGet();
    append(first, textEvent("agent", "kept"));
    if (grpc()) {
      // DIFFERENCE: ADK Python (the contract) refuses a taken id (AlreadyExistsError); the
      // server does, and this client throws SessionAlreadyExistsException. The stored session
      // is untouched.
      assertThrows(
          SessionAlreadyExistsException.class,
          () -> service().createSession(app, "u", Map.of("v", 2), "taken").blockingGet());
      Session stored = get(first);
      assertEquals(1, stored.state().get("v"));
      assertEquals(1, stored.events().size());
    } else {
      // ADK Java's in-memory service silently replaces the session, events and all.
      service().createSession(app, "u", Map.of("v", 2), "taken").blockingGet();
      Session stored = get(first);
      assertEquals(2, stored.state().get("v"));
      assertTrue(stored.events().isEmpty());
    }
  }

  @Test
  void getSessionOfAMissingSessionIsEmpty() {
    assertTrue(
        service().getSession(app, "u", "no-such-session", Optional.empty()).isEmpty().blockingGet());
  }

  @Test
  void sessionsOfOneUserAreNotVisibleToAnother() {
    Session mine = create("alice", Map.of());
    assertTrue(
        service().getSession(app, "bob", mine.id(), Optional.empty()).isEmpty().blockingGet());
  }

  @Test
  void appendEventStoresTheEventAndItsSessionState() {
    Session session = create("u", Map.of());
    Event event = textEvent("agent", "hello", T0, Map.of("count", 1));
    Event returned = append(session, event);
    assertEquals(event.id(), returned.id());
    assertEquals(1, session.state().get("count"));
    assertEquals(List.of(event), session.events());

    Session stored = get(session);
    assertEquals(1, stored.events().size());
    Event read = stored.events().get(0);
    assertEquals(event, read, "the event read back equals the one appended");
    assertEquals(Map.of("count", 1), Map.copyOf(stored.state()));
  }

  @Test
  void appendEventMakesTheEventsTimestampTheLastUpdateTime() {
    Session session = create("u", Map.of());
    append(session, textEvent("agent", "one", T0, Map.of()));
    assertEquals(Instant.ofEpochMilli(T0), session.lastUpdateTime());
    assertEquals(Instant.ofEpochMilli(T0), get(session).lastUpdateTime());
  }

  @Test
  void appStateIsSharedByTheAppAndUserStateByTheUsersSessions() {
    Session alice = create("alice", Map.of());
    Session alicesOther = create("alice", Map.of());
    Session bob = create("bob", Map.of());
    append(
        alice,
        textEvent(
            "agent", "state", T0, Map.of("app:theme", "dark", "user:lang", "fr", "own", true)));
    assertEquals(
        Map.of("app:theme", "dark", "user:lang", "fr"), Map.copyOf(get(alicesOther).state()));
    assertEquals(Map.of("app:theme", "dark"), Map.copyOf(get(bob).state()));
    assertEquals(
        Map.of("app:theme", "dark", "user:lang", "fr", "own", true), Map.copyOf(get(alice).state()));
  }

  @Test
  void stateRemovedByADeltaIsGoneInEveryScope() {
    Session session = create("u", Map.of());
    append(session, textEvent("agent", "set", T0, Map.of("app:a", 1, "user:b", 2, "c", 3)));
    append(
        session,
        textEvent(
            "agent",
            "unset",
            T0 + 1,
            Map.of("app:a", State.REMOVED, "user:b", State.REMOVED, "c", State.REMOVED)));
    assertEquals(Map.of(), Map.copyOf(session.state()));
    assertEquals(Map.of(), Map.copyOf(get(session).state()));
  }

  @Test
  void initialAppAndUserStateOfCreateSessionIsSharedOnlyThroughTheServer() {
    Session first = create("u", Map.of("app:region", "eu", "user:name", "Ada", "own", 1));
    Session second = create("u", Map.of());
    assertEquals(
        Map.of("app:region", "eu", "user:name", "Ada", "own", 1), Map.copyOf(get(first).state()));
    if (grpc()) {
      // ADK Python (the contract) stores app: and user: keys of create_session's state in the
      // app's and the user's state: the user's other sessions see them.
      assertEquals(Map.of("app:region", "eu", "user:name", "Ada"), Map.copyOf(get(second).state()));
    } else {
      // DIFFERENCE: ADK Java's in-memory service keeps the whole initial state in the session.
      assertEquals(Map.of(), Map.copyOf(get(second).state()));
    }
  }

  @Test
  void tempStateIsInTheSessionObjectButNeverStoredByTheServer() {
    Session session = create("u", Map.of());
    Event event = textEvent("agent", "scratch", T0, Map.of("temp:scratch", "x", "kept", "y"));
    append(session, event);
    assertEquals("y", session.state().get("kept"));
    Session stored = get(session);
    assertFalse(
        stored.events().get(0).actions().stateDelta().containsKey("temp:scratch") && grpc(),
        "temp: keys are not sent");
    if (grpc()) {
      // ADK Python (the contract): temp: state lives in the session object of the invocation
      // only; it is never stored, in state or in the event's delta.
      assertEquals("x", session.state().get("temp:scratch"));
      assertEquals(Map.of("kept", "y"), Map.copyOf(stored.state()));
      assertFalse(stored.events().get(0).actions().stateDelta().containsKey("temp:scratch"));
    } else {
      // DIFFERENCE: ADK Java's in-memory service stores the caller's session object itself,
      // temp: keys included.
      assertEquals(Map.of("kept", "y", "temp:scratch", "x"), Map.copyOf(stored.state()));
    }
  }

  @Test
  void tempStateGivenToCreateSessionIsInTheReturnedSessionOnly() {
    Session created = create("u", Map.of("temp:draft", "x", "kept", 1));
    assertEquals(Map.of("temp:draft", "x", "kept", 1), Map.copyOf(created.state()));
    if (grpc()) {
      // ADK Python (the contract): temp: keys are never stored.
      assertEquals(Map.of("kept", 1), Map.copyOf(get(created).state()));
    } else {
      // DIFFERENCE: ADK Java's in-memory service stores the whole initial state.
      assertEquals(Map.of("temp:draft", "x", "kept", 1), Map.copyOf(get(created).state()));
    }
  }

  @Test
  void numRecentEventsAndAfterTimestampSelectEventsAndCombine() {
    Session session = create("u", Map.of());
    for (int i = 0; i < 4; i++) {
      append(session, textEvent("agent", "e" + i, T0 + 1000L * i, Map.of()));
    }
    assertEquals(
        List.of("e2", "e3"), texts(get(session, GetSessionConfig.builder().numRecentEvents(2).build())));
    assertEquals(
        List.of(), texts(get(session, GetSessionConfig.builder().numRecentEvents(0).build())));
    assertEquals(
        List.of("e1", "e2", "e3"),
        texts(
            get(
                session,
                GetSessionConfig.builder().afterTimestamp(Instant.ofEpochMilli(T0 + 1000)).build())),
        "afterTimestamp is inclusive");
    assertEquals(
        List.of("e3"),
        texts(
            get(
                session,
                GetSessionConfig.builder()
                    .numRecentEvents(1)
                    .afterTimestamp(Instant.ofEpochMilli(T0 + 1000))
                    .build())));
  }

  private static List<String> texts(Optional<Session> session) {
    return session.orElseThrow().events().stream().map(Fixtures::text).collect(Collectors.toList());
  }

  @Test
  void listSessionsGivesTheUsersSessionsWithMergedStateAndNoEvents() {
    Session one = create("lister", Map.of("n", 1));
    Session two = create("lister", Map.of("n", 2));
    create("someone-else", Map.of());
    append(one, textEvent("agent", "x", T0, Map.of("app:shared", "yes")));
    List<Session> listed = service().listSessions(app, "lister").blockingGet().sessions();
    assertEquals(Set.of(one.id(), two.id()), listed.stream().map(Session::id).collect(Collectors.toSet()));
    Map<String, Map<String, Object>> states = new HashMap<>();
    for (Session session : listed) {
      assertTrue(session.events().isEmpty(), "no events in a listing");
      states.put(session.id(), Map.copyOf(session.state()));
    }
    assertEquals(Map.of("n", 1, "app:shared", "yes"), states.get(one.id()));
    assertEquals(Map.of("n", 2, "app:shared", "yes"), states.get(two.id()));
  }

  @Test
  void listSessionsOfEveryUserIsAnExtensionOfTheServer() {
    Session alice = create("alice", Map.of());
    Session bob = create("bob", Map.of());
    if (grpc()) {
      // ADK Python lists every user's sessions for user_id None; so does this client for null.
      assertEquals(
          Set.of(alice.id(), bob.id()),
          service().listSessions(app, null).blockingGet().sessions().stream()
              .map(Session::id)
              .collect(Collectors.toSet()));
    } else {
      // DIFFERENCE: ADK Java's in-memory service requires a user.
      assertThrows(NullPointerException.class, () -> service().listSessions(app, null));
    }
  }

  @Test
  void deleteSessionRemovesItAndDeletingAMissingSessionIsNoError() {
    Session session = create("u", Map.of());
    append(session, textEvent("agent", "x"));
    service().deleteSession(app, "u", session.id()).blockingAwait();
    assertTrue(get(session, GetSessionConfig.builder().build()).isEmpty());
    service().deleteSession(app, "u", session.id()).blockingAwait();
    service().deleteSession(app, "u", "never-existed").blockingAwait();
  }

  @Test
  void listEventsGivesEveryEventInOrderAndNothingForAMissingSession() {
    Session session = create("u", Map.of());
    for (int i = 0; i < 3; i++) {
      append(session, textEvent("agent", "e" + i, T0 + i, Map.of()));
    }
    List<Event> events = service().listEvents(app, "u", session.id()).blockingGet().events();
    assertEquals(session.events(), events);
    assertTrue(service().listEvents(app, "u", "missing").blockingGet().events().isEmpty());
  }

  @Test
  void aPartialEventIsNotStored() {
    Session session = create("u", Map.of());
    Event partial =
        textEvent("agent", "stream chunk", T0, Map.of("app:p", 1, "user:p", 2, "p", 3)).toBuilder()
            .partial(true)
            .build();
    append(session, partial);
    Session stored = get(session);
    assertTrue(stored.events().isEmpty());
    assertTrue(session.events().isEmpty());
    if (grpc()) {
      // ADK Python (the contract) and ADK Java's BaseSessionService: a partial event changes
      // nothing.
      assertEquals(Map.of(), Map.copyOf(stored.state()));
    } else {
      // DIFFERENCE: ADK Java's in-memory service applies a partial event's state delta before
      // its base class skips the event itself.
      assertEquals(Map.of("app:p", 1, "user:p", 2, "p", 3), Map.copyOf(stored.state()));
    }
  }

  @Test
  void anAppendThroughAStaleSessionIsRejectedByTheServer() {
    Session created = create("u", Map.of());
    Session first = get(created);
    Session second = get(created);
    append(first, textEvent("agent", "first writer", T0, Map.of("w", "first")));
    Event late = textEvent("agent", "second writer", T0 + 1, Map.of("w", "second"));
    if (grpc()) {
      // ADK Python (the contract): StaleSessionError; nothing of the late write is stored.
      StaleSessionException stale =
          assertThrows(StaleSessionException.class, () -> append(second, late));
      assertEquals("STALE_SESSION", stale.reason());
      Session stored = get(created);
      assertEquals(List.of("first writer"), texts(Optional.of(stored)));
      assertEquals("first", stored.state().get("w"));
    } else {
      // DIFFERENCE: ADK Java's in-memory service has no revisions: the stale object replaces
      // the stored session, and the first writer's event is lost.
      append(second, late);
      Session stored = get(created);
      assertEquals(List.of("second writer"), texts(Optional.of(stored)));
    }
  }

  @Test
  void aRetriedAppendOfTheSameEventIsStoredOnce() {
    Session session = create("u", Map.of());
    Event event = textEvent("agent", "once", T0, Map.of("n", 1));
    append(session, event);
    append(session, event);
    if (grpc()) {
      // ADK Python (the contract): the event id is the idempotency key.
      assertEquals(1, session.events().size());
      assertEquals(1, get(session).events().size());
    } else {
      // DIFFERENCE: ADK Java's in-memory service appends the same event twice.
      assertEquals(2, get(session).events().size());
    }
  }

  @Test
  void numbersKeepTheirFormAndTextItsCharacters() {
    BigInteger big = BigInteger.TWO.pow(63).add(BigInteger.ONE);
    Map<String, Object> values = new HashMap<>();
    values.put("int", 1);
    values.put("long", 1L << 40);
    values.put("big", big);
    values.put("float", 1.0);
    values.put("half", 0.5);
    values.put("text", "Zoë 🐍 名前");
    values.put("list", List.of(1, 2.5, "three"));
    values.put("nested", Map.of("deeper", Map.of("n", 7)));
    Session session = create("u", values);
    Map<String, Object> stored = Map.copyOf(get(session).state());
    assertEquals(values, stored);
    assertEquals(Integer.class, stored.get("int").getClass());
    assertEquals(Double.class, stored.get("float").getClass());
    assertEquals(BigInteger.class, stored.get("big").getClass());
  }

  @Test
  void bytesInContentRoundTrip() {
    Session session = create("u", Map.of());
    byte[] bytes = {(byte) 0xfb, (byte) 0xff, (byte) 0xfe, 0, 1, 2, 3};
    Event event =
        textEvent("agent", "bytes", T0, Map.of()).toBuilder()
            .content(Content.fromParts(Part.fromText("bytes"), Part.fromBytes(bytes, "image/png")))
            .build();
    append(session, event);
    Event read = get(session).events().get(0);
    byte[] back =
        read.content().orElseThrow().parts().orElseThrow().get(1).inlineData().orElseThrow().data().orElseThrow();
    assertEquals(java.util.HexFormat.of().formatHex(bytes), java.util.HexFormat.of().formatHex(back));
    // genai's Blob compares its bytes by identity: compare the events' JSON instead.
    assertEquals(event.toJson(), read.toJson());
  }

  @Test
  void anEventWithEveryCommonFieldRoundTrips() {
    Session session = create("u", Map.of());
    Event event =
        Event.builder()
            .id(Event.generateEventId())
            .invocationId("inv-all-fields")
            .author("agent")
            .branch("root.agent")
            .timestamp(T0)
            .content(
                Content.builder()
                    .role("model")
                    .parts(
                        List.of(
                            Part.fromText("calling"),
                            Part.fromFunctionCall("lookup", Map.of("q", "trains", "n", 3))))
                    .build())
            .longRunningToolIds(Set.of("call-1"))
            .turnComplete(true)
            .interrupted(false)
            .modelVersion("scripted-1")
            .avgLogprobs(-0.25)
            .finishReason(new com.google.genai.types.FinishReason(com.google.genai.types.FinishReason.Known.STOP))
            .usageMetadata(
                com.google.genai.types.GenerateContentResponseUsageMetadata.builder()
                    .promptTokenCount(12)
                    .candidatesTokenCount(3)
                    .build())
            .customMetadata(
                List.of(com.google.genai.types.CustomMetadata.builder().key("origin").stringValue("java").build()))
            .actions(
                com.google.adk.events.EventActions.builder()
                    .stateDelta(new java.util.concurrent.ConcurrentHashMap<>(Map.of("k", "v")))
                    .artifactDelta(new java.util.concurrent.ConcurrentHashMap<>(Map.of("report.txt", 2)))
                    .transferToAgent("helper")
                    .escalate(false)
                    .skipSummarization(true)
                    .compaction(
                        com.google.adk.events.EventCompaction.builder()
                            .startTimestamp(T0 - 5000)
                            .endTimestamp(T0 - 1)
                            .compactedContent(Content.fromParts(Part.fromText("summary")))
                            .build())
                    .build())
            .build();
    append(session, event);
    Event read = get(session).events().get(0);
    assertEquals(event.toJson(), read.toJson());
    assertEquals(event, read);
  }

  @Test
  void closeSessionCompletes() {
    Session session = create("u", Map.of());
    service().closeSession(session).blockingAwait();
    assertEquals(session.id(), get(session).id());
  }

  @Test
  void anEventsFirstTextSurvives() {
    Session session = create("u", Map.of());
    append(session, textEvent("user", "¿qué tal? 👋"));
    assertEquals("¿qué tal? 👋", text(get(session).events().get(0)));
  }
}
