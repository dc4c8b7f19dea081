package io.github.adkgrpcsessions;

import static io.github.adkgrpcsessions.Fixtures.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.adk.agents.LlmAgent;
import com.google.adk.events.Event;
import com.google.adk.runner.Runner;
import com.google.adk.sessions.BaseSessionService;
import com.google.adk.sessions.InMemorySessionService;
import com.google.adk.sessions.Session;
import com.google.adk.tools.Annotations.Schema;
import com.google.adk.tools.FunctionTool;
import com.google.adk.tools.ToolContext;
import com.google.genai.types.Content;
import com.google.genai.types.Part;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real ADK Java Runner (LlmAgent, scripted model, a FunctionTool writing app:, user:, session
 * and temp: state) runs the same two turns on ADK Java's InMemorySessionService and on
 * GrpcSessionService; the sessions they leave agree. Public, as ADK calls the tool by reflection.
 */
public class RunnerTest {
  @TempDir static Path directory;
  private static ServerProcess server;
  private static GrpcSessionService grpc;

  @BeforeAll
  static void startServer() {
    server = ServerProcess.onSqliteFile(directory);
    grpc = new GrpcSessionService(server.address());
  }

  @AfterAll
  static void stopServer() {
    grpc.close();
    server.close();
  }

  /** The tool: counts visits (app), remembers the city (user), notes (session), scratch (temp). */
  public static Map<String, Object> recordVisit(
      @Schema(name = "city", description = "the city visited") String city,
      @Schema(name = "toolContext") ToolContext toolContext) {
    Object visits = toolContext.state().getOrDefault("app:visits", 0);
    int count = ((Number) visits).intValue() + 1;
    toolContext.state().put("app:visits", count);
    toolContext.state().put("user:city", city);
    toolContext.state().put("note", "written by the Java agent");
    toolContext.state().put("temp:scratch", "never stored");
    return Map.of("visits", count);
  }

  /** What a run left: the stored session, and what the model saw in its last request. */
  private record Outcome(Session session, Session otherSessionOfUser, List<String> lastHistory) {}

  private static Outcome runTwoTurns(BaseSessionService service) {
    String app = unique("runner");
    ScriptedModel model =
        new ScriptedModel()
            .call("recordVisit", Map.of("city", "Zürich"))
            .reply("Zürich noted.")
            .call("recordVisit", Map.of("city", "Oslo"))
            .reply("Oslo noted.");
    LlmAgent agent =
        LlmAgent.builder()
            .name("java_agent")
            .model(model)
            .instruction("You are the Java agent.")
            .tools(FunctionTool.create(RunnerTest.class, "recordVisit"))
            .outputKey("reply")
            .build();
    Runner runner = Runner.builder().agent(agent).appName(app).sessionService(service).build();
    Session session = service.createSession(app, "ada", Map.of("start", 1), null).blockingGet();
    for (String message : List.of("I am in Zürich", "Now Oslo")) {
      runner
          .runAsync("ada", session.id(), Content.fromParts(Part.fromText(message)))
          .blockingSubscribe();
    }
    Session stored =
        service.getSession(app, "ada", session.id(), Optional.empty()).blockingGet();
    Session other = service.createSession(app, "ada", Map.of(), null).blockingGet();
    return new Outcome(stored, other, texts(model.requests().get(model.requests().size() - 1).contents()));
  }


  private static List<String> texts(List<Content> contents) {
    return contents.stream()
        .flatMap(content -> content.parts().orElse(List.of()).stream())
        .flatMap(part -> part.text().stream())
        .collect(Collectors.toList());
  }

  /** An event as the comparison sees it: who, and what it said, called or answered. */
  private static String describe(Event event) {
    StringBuilder description = new StringBuilder(event.author());
    for (Part part : event.content().flatMap(Content::parts).orElse(List.of())) {
      part.text().ifPresent(text -> description.append(" text:").append(text));
      part.functionCall()
          .ifPresent(call -> description.append(" call:").append(call.name().orElse("")).append(call.args().orElse(Map.of())));
      part.functionResponse()
          .ifPresent(
              response ->
                  description
                      .append(" response:")
                      .append(response.name().orElse(""))
                      .append(response.response().orElse(Map.of())));
    }
    Map<String, Object> delta = event.actions().stateDelta();
    if (!delta.isEmpty()) {
      description.append(" delta:").append(new java.util.TreeMap<>(delta));
    }
    return description.toString();
  }

  @Test
  void aRunnerTurnThroughTheServerLeavesWhatTheInMemoryServiceLeaves() {
    Outcome reference = runTwoTurns(new InMemorySessionService());
    Outcome ours = runTwoTurns(grpc);

    List<String> expected = reference.session().events().stream().map(RunnerTest::describe).toList();
    List<String> actual = ours.session().events().stream().map(RunnerTest::describe).toList();
    // The tool's temp: key is in ADK Java's in-memory deltas; the server never stores temp:
    // state (see the conformance suite), so it is compared without it.
    assertEquals(
        expected.stream().map(line -> line.replace("temp:scratch=never stored, ", "")).toList(),
        actual);
    assertEquals(8, actual.size(), String.join("\n", actual));
    assertTrue(actual.get(2).contains("response:recordVisit{visits=1}"), actual.get(2));
    assertTrue(actual.get(6).contains("response:recordVisit{visits=2}"), actual.get(6));

    Map<String, Object> state = Map.copyOf(ours.session().state());
    assertEquals(
        Map.of(
            "start", 1,
            "app:visits", 2,
            "user:city", "Oslo",
            "note", "written by the Java agent",
            "reply", "Oslo noted."),
        state);
    Map<String, Object> referenceState = new java.util.HashMap<>(reference.session().state());
    // DIFFERENCE (see the conformance suite): ADK Java's in-memory service stores temp: keys.
    assertEquals("never stored", referenceState.remove("temp:scratch"));
    assertEquals(referenceState, state);

    // app: and user: state reach the user's other sessions, in both.
    assertEquals(
        Map.of("app:visits", 2, "user:city", "Oslo"), Map.copyOf(ours.otherSessionOfUser().state()));
    assertEquals(
        Map.copyOf(reference.otherSessionOfUser().state()),
        Map.copyOf(ours.otherSessionOfUser().state()));

    // The model of the second turn was shown the first turn, read back from the server.
    assertEquals(reference.lastHistory(), ours.lastHistory());
    assertTrue(ours.lastHistory().contains("Zürich noted."), ours.lastHistory().toString());
  }
}
