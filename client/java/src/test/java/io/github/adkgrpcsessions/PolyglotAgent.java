package io.github.adkgrpcsessions;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.adk.agents.LlmAgent;
import com.google.adk.events.Event;
import com.google.adk.runner.Runner;
import com.google.adk.sessions.Session;
import com.google.adk.tools.Annotations.Schema;
import com.google.adk.tools.FunctionTool;
import com.google.adk.tools.ToolContext;
import com.google.genai.types.Content;
import com.google.genai.types.Part;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The Java side of the cross-language test (tests/polyglot/test_cross_language.py): an ADK Java
 * agent on a session that agents in Python, Go and TypeScript wrote before it, through
 * GrpcSessionService.
 *
 * <p>Reads its instructions as JSON on stdin, then: 1. reads the session and checks every event
 * and the merged state it was told to expect; 2. runs one turn of an ADK Java Runner (LlmAgent,
 * scripted model, a tool writing app:, user:, session and temp: state), checking that the model
 * was shown the earlier turns as history; 3. checks that a stale writer is rejected and that a
 * retried append is stored once, and, given "closedSession" (a session of the same user that Python
 * closed), that it still reads and refuses an append as closed; and writes a report as JSON on
 * stdout. A failed check exits with
 * status 1 and says why on stderr.
 */
public final class PolyglotAgent {
  private static final String AGENT = "java_agent";

  private PolyglotAgent() {}

  /** Runs the agent; see the class comment. */
  public static void main(String[] args) {
    try {
      System.out.println(WireJson.MAPPER.writeValueAsString(run(System.in)));
      System.exit(0);
    } catch (Exception | AssertionError failed) {
      System.err.println("polyglot agent: " + failed);
      failed.printStackTrace();
      System.exit(1);
    }
  }

  /** The tool: counts visits (app), and writes one key in every other scope. */
  @Schema(name = "record_visit", description = "Records a visit to a city in app, user, session and temp state.")
  public static Map<String, Object> recordVisit(
      @Schema(name = "city", description = "the city visited") String city,
      @Schema(name = "toolContext") ToolContext toolContext) {
    Object visits = toolContext.state().get("app:visits");
    check(visits instanceof Integer, "app:visits from the earlier turns is " + visits + ", want an Integer");
    int count = (Integer) visits + 1;
    toolContext.state().put("app:visits", count);
    toolContext.state().put("app:java_runs", 1);
    toolContext.state().put("user:java_city", city);
    toolContext.state().put("java_note", "written by the Java agent");
    toolContext.state().put("temp:java_scratch", "never stored");
    return Map.of("visits", count);
  }

  private static ObjectNode run(InputStream input) throws IOException {
    JsonNode in = WireJson.MAPPER.readTree(new String(input.readAllBytes(), StandardCharsets.UTF_8));
    String app = in.get("app").asText();
    String user = in.get("user").asText();
    String sessionId = in.get("session").asText();
    ObjectNode report = WireJson.MAPPER.createObjectNode().put("language", "java");
    try (GrpcSessionService sessions = new GrpcSessionService(in.get("target").asText())) {
      // 1. What the other languages wrote.
      Session read = read(sessions, app, user, sessionId);
      checkEvents(read.events(), in.get("expect").get("events"));
      Map<String, Object> expectedState =
          WireJson.MAPPER.convertValue(in.get("expect").get("state"), new TypeReference<Map<String, Object>>() {});
      check(
          expectedState.equals(new HashMap<>(read.state())),
          "state is " + read.state() + ", want " + expectedState);
      int eventsRead = read.events().size();
      report.put("eventsRead", eventsRead);

      // 2. A turn of our own, through ADK Java's Runner.
      String city = in.get("city").asText();
      ScriptedModel model =
          new ScriptedModel().call("record_visit", Map.of("city", city)).reply("Java agent here: " + city + " noted.");
      LlmAgent agent =
          LlmAgent.builder()
              .name(AGENT)
              .model(model)
              .instruction("You are the Java agent.")
              .tools(FunctionTool.create(PolyglotAgent.class, "recordVisit"))
              .outputKey("java_reply")
              .build();
      Runner runner = Runner.builder().agent(agent).appName(app).sessionService(sessions).build();
      List<Event> produced =
          runner
              .runAsync(user, sessionId, Content.fromParts(Part.fromText(in.get("message").asText())))
              .toList()
              .blockingGet();
      report.put("reply", produced.isEmpty() ? "" : Fixtures.text(produced.get(produced.size() - 1)));
      check(!model.requests().isEmpty(), "the model was never called");
      List<String> seen = new ArrayList<>();
      for (Content content : model.requests().get(0).contents()) {
        for (Part part : content.parts().orElse(List.of())) {
          part.text().ifPresent(seen::add);
        }
      }
      ArrayNode historySeen = report.putArray("historySeen");
      seen.forEach(historySeen::add);
      for (JsonNode want : in.get("expect").get("history")) {
        // Another agent's words reach the model quoted ("For context: [go_agent] said: ...").
        check(
            seen.stream().anyMatch(text -> text.contains(want.asText())),
            "the model was not shown \"" + want.asText() + "\"; it saw " + seen);
      }

      // 3a. A stale writer is rejected.
      Session first = read(sessions, app, user, sessionId);
      Session second = read(sessions, app, user, sessionId);
      sessions.appendEvent(first, probe("java stale probe: accepted")).blockingGet();
      boolean rejected = false;
      String reason = "";
      try {
        sessions.appendEvent(second, probe("java stale probe: must be rejected")).blockingGet();
      } catch (StaleSessionException stale) {
        rejected = true;
        reason = stale.reason();
      }
      report.put("staleRejected", rejected).put("staleReason", reason);

      // 3b. A retry (the same event, through the session as read before the first attempt) is
      // stored once.
      Session before = read(sessions, app, user, sessionId);
      Session current = read(sessions, app, user, sessionId);
      Event retried = probe("java retry probe");
      sessions.appendEvent(current, retried).blockingGet();
      sessions.appendEvent(before, retried).blockingGet();

      Session last = read(sessions, app, user, sessionId);
      int stored = 0;
      ArrayNode appended = report.putArray("appended");
      for (Event event : last.events().subList(eventsRead, last.events().size())) {
        if (event.id().equals(retried.id())) {
          stored++;
        }
        appended
            .addObject()
            .put("id", event.id())
            .put("author", event.author())
            .put("ms", event.timestamp())
            .put("text", Fixtures.text(event));
      }
      report.put("retryStoredTimes", stored);

      // 3c. The session Python closed reads, and refuses an append.
      JsonNode closedId = in.get("closedSession");
      if (closedId != null && !closedId.asText().isEmpty()) {
        Session closed = read(sessions, app, user, closedId.asText());
        report.put("closedEventsRead", closed.events().size());
        boolean refused = false;
        String closedReason = "";
        try {
          sessions.appendEvent(closed, probe("java closed probe: must be refused")).blockingGet();
        } catch (SessionClosedException closedFailure) {
          refused = true;
          closedReason = closedFailure.reason();
        }
        report.put("closedRefused", refused).put("closedReason", closedReason);
      }
    }
    return report;
  }

  private static Session read(GrpcSessionService sessions, String app, String user, String id) {
    Session session = sessions.getSession(app, user, id, Optional.empty()).blockingGet();
    check(session != null, "session " + id + " not found");
    return session;
  }

  private static Event probe(String text) {
    return Event.builder()
        .id(Event.generateEventId())
        .invocationId("java-probe-invocation")
        .author("java_probe")
        .timestamp(System.currentTimeMillis())
        .content(Content.builder().role("model").parts(List.of(Part.fromText(text))).build())
        .build();
  }

  /**
   * Each event as expected: id, author, content, and time. ADK Java keeps milliseconds, so an
   * event written in another language is read at its time rounded toward the past to the
   * millisecond.
   */
  private static void checkEvents(List<Event> events, JsonNode expected) {
    check(events.size() == expected.size(), "read " + events.size() + " events, want " + expected.size());
    for (int i = 0; i < events.size(); i++) {
      Event got = events.get(i);
      JsonNode want = expected.get(i);
      check(
          got.id().equals(want.get("id").asText()) && got.author().equals(want.get("author").asText()),
          "event " + i + " is " + got.id() + " by " + got.author() + ", want " + want);
      long millis =
          BigDecimal.valueOf(want.get("seconds").asLong())
              .multiply(BigDecimal.valueOf(1000))
              .add(BigDecimal.valueOf(want.get("nanos").asLong() / 1_000_000))
              .longValueExact();
      check(got.timestamp() == millis, "event " + got.id() + " at " + got.timestamp() + " ms, want " + millis);
      String call = got.functionCalls().isEmpty() ? "" : got.functionCalls().get(0).name().orElse("");
      String response =
          got.functionResponses().isEmpty() ? "" : got.functionResponses().get(0).name().orElse("");
      check(
          Fixtures.text(got).equals(want.get("text").asText())
              && call.equals(want.get("functionCall").asText())
              && response.equals(want.get("functionResponse").asText()),
          "event " + got.id() + " has text \"" + Fixtures.text(got) + "\", call " + call + ", response "
              + response + "; want " + want);
    }
  }

  private static void check(boolean condition, String message) {
    if (!condition) {
      throw new IllegalStateException(message);
    }
  }
}
