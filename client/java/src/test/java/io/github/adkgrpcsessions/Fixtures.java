package io.github.adkgrpcsessions;

import com.google.adk.events.Event;
import com.google.adk.events.EventActions;
import com.google.genai.types.Content;
import com.google.genai.types.Part;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/** Events and names the tests build. */
final class Fixtures {
  private Fixtures() {}

  /** A name no other test uses, so tests may share one server. */
  static String unique(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /** A model event of one text part at {@code millis}, applying {@code delta}. */
  static Event textEvent(String author, String text, long millis, Map<String, Object> delta) {
    return Event.builder()
        .id(Event.generateEventId())
        .invocationId("invocation-" + author)
        .author(author)
        .timestamp(millis)
        .content(Content.fromParts(Part.fromText(text)))
        .actions(EventActions.builder().stateDelta(new ConcurrentHashMap<>(delta)).build())
        .build();
  }

  /** A model event of one text part now, changing no state. */
  static Event textEvent(String author, String text) {
    return textEvent(author, text, System.currentTimeMillis(), Map.of());
  }

  /** The first text of an event, or "". */
  static String text(Event event) {
    return event.content().flatMap(Content::parts).stream()
        .flatMap(java.util.List::stream)
        .flatMap(part -> part.text().stream())
        .findFirst()
        .orElse("");
  }
}
