package io.github.adkgrpcsessions;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.adk.events.Event;
import com.google.adk.sessions.State;
import com.google.protobuf.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Events as the contract carries them: ADK Python's camelCase JSON. ADK Java's own JSON has the
 * same field names; what differs, and is converted here both ways:
 *
 * <ul>
 *   <li>time: Java keeps epoch milliseconds, Python float seconds ({@code timestamp}, and {@code
 *       actions.compaction}'s {@code startTimestamp} and {@code endTimestamp}); see {@link
 *       Timestamps}.
 *   <li>{@code customMetadata}: a list of genai {@code CustomMetadata} in Java, an object in
 *       Python. Entries Java's type cannot hold (objects, numbers inside lists, ...) are left out
 *       of the Java event; storage keeps them.
 *   <li>null fields: Java writes its unset plain fields as null, Python leaves them out (and
 *       refuses null for a few of them); they are left out.
 *   <li>{@code actions.deletedArtifactIds} exists in Java only: Python refuses unknown action
 *       fields, so it is not sent (ADK Java's own VertexAiSessionService does not store it
 *       either).
 *   <li>{@code actions.stateDelta}: "temp:" keys are not sent; {@link State#REMOVED} is sent as
 *       null, and null read back as REMOVED, as ADK Java's own services do.
 *   <li>bytes: written URL-safe as Python writes them, read in either alphabet (see {@link
 *       WireJson}).
 * </ul>
 *
 * Fields that one language knows and the other does not pass through storage untouched: a Java
 * reader ignores Python's {@code actions.route}, and the stored event keeps it.
 */
final class EventJson {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private EventJson() {}

  /**
   * An ADK Java event as ADK Python's JSON.
   *
   * @throws IllegalArgumentException if a part of it has no JSON form (a state value NaN, say) or
   *     its time is outside 0001-01-01..9999-12-31
   */
  static String toWire(Event event) {
    ObjectNode node = WireJson.MAPPER.valueToTree(event);
    removeNulls(node);
    node.set("timestamp", NODES.numberNode(Timestamps.secondsFromMillis(event.timestamp())));
    if (node.get("actions") instanceof ObjectNode actions) {
      removeNulls(actions);
      actions.remove("deletedArtifactIds");
      actions.set("stateDelta", stateDelta(event.actions().stateDelta()));
      if (actions.get("compaction") instanceof ObjectNode compaction) {
        removeNulls(compaction);
        secondsFromMillis(compaction, "startTimestamp");
        secondsFromMillis(compaction, "endTimestamp");
      }
      if (actions.get("requestedToolConfirmations") instanceof ObjectNode confirmations) {
        confirmations.forEach(
            confirmation -> {
              if (confirmation instanceof ObjectNode fields) {
                removeNulls(fields);
              }
            });
      }
    }
    if (node.get("customMetadata") instanceof ArrayNode entries) {
      node.set("customMetadata", customMetadataObject(entries));
    }
    try {
      return WireJson.MAPPER.writeValueAsString(node);
    } catch (JsonProcessingException unwritable) {
      throw new IllegalArgumentException("event " + event.id() + " has no JSON form: " + unwritable.getOriginalMessage(), unwritable);
    }
  }

  /**
   * An ADK Java event from ADK Python's JSON, with its time from the stored event's typed
   * timestamp (the server's exact reading of the JSON's float seconds), in milliseconds rounded
   * toward the past.
   */
  static Event fromWire(String json, Timestamp timestamp) {
    try {
      JsonNode parsed = WireJson.MAPPER.readTree(json);
      if (!(parsed instanceof ObjectNode node)) {
        throw new IllegalStateException("an event from the server is not a JSON object");
      }
      node.put("timestamp", Timestamps.toMillis(timestamp));
      if (node.get("actions") instanceof ObjectNode actions
          && actions.get("compaction") instanceof ObjectNode compaction) {
        millisFromSeconds(compaction, "startTimestamp");
        millisFromSeconds(compaction, "endTimestamp");
      }
      JsonNode customMetadata = node.get("customMetadata");
      if (customMetadata != null && !customMetadata.isArray()) {
        node.set("customMetadata", customMetadataList(customMetadata));
      }
      return WireJson.MAPPER.treeToValue(node, Event.class);
    } catch (JsonProcessingException unreadable) {
      throw new IllegalStateException("an event from the server is not an ADK event: " + unreadable.getOriginalMessage(), unreadable);
    }
  }

  private static ObjectNode stateDelta(Map<String, Object> delta) {
    ObjectNode node = NODES.objectNode();
    if (delta == null) {
      return node;
    }
    delta.forEach(
        (key, value) -> {
          if (key.startsWith(State.TEMP_PREFIX)) {
            return;
          }
          try {
            node.set(key, WireJson.MAPPER.readTree(StateJson.encode(key, value)));
          } catch (JsonProcessingException impossible) {
            throw new IllegalStateException(impossible);
          }
        });
    return node;
  }

  private static void removeNulls(ObjectNode node) {
    node.properties().removeIf(field -> field.getValue().isNull());
  }

  private static void secondsFromMillis(ObjectNode node, String field) {
    JsonNode value = node.get(field);
    if (value != null && value.canConvertToLong()) {
      node.set(field, NODES.numberNode(Timestamps.secondsFromMillis(value.longValue())));
    }
  }

  private static void millisFromSeconds(ObjectNode node, String field) {
    JsonNode value = node.get(field);
    if (value != null && value.isNumber()) {
      node.put(field, Timestamps.toMillis(Timestamps.instantFromSeconds(value.doubleValue())));
    }
  }

  /** Java's list of {key, stringValue | numericValue | stringListValue} as Python's object. */
  private static ObjectNode customMetadataObject(ArrayNode entries) {
    ObjectNode object = NODES.objectNode();
    for (JsonNode entry : entries) {
      JsonNode key = entry.get("key");
      if (key == null || !key.isTextual()) {
        continue;
      }
      if (entry.hasNonNull("stringValue")) {
        object.set(key.asText(), entry.get("stringValue"));
      } else if (entry.hasNonNull("numericValue")) {
        object.set(key.asText(), entry.get("numericValue"));
      } else if (entry.path("stringListValue").has("values")) {
        object.set(key.asText(), entry.get("stringListValue").get("values"));
      }
    }
    return object;
  }

  /** Python's object as Java's list, for the values genai's CustomMetadata can hold. */
  private static ArrayNode customMetadataList(JsonNode object) {
    ArrayNode list = NODES.arrayNode();
    for (Map.Entry<String, JsonNode> field : object.properties()) {
      JsonNode value = field.getValue();
      ObjectNode entry = NODES.objectNode().put("key", field.getKey());
      if (value.isTextual()) {
        list.add(entry.set("stringValue", value));
      } else if (value.isNumber()) {
        list.add(entry.set("numericValue", value));
      } else if (value.isArray() && allText(value)) {
        list.add(entry.set("stringListValue", NODES.objectNode().set("values", value)));
      }
    }
    return list;
  }

  private static boolean allText(JsonNode array) {
    List<Boolean> kinds = new ArrayList<>();
    array.forEach(item -> kinds.add(item.isTextual()));
    return !kinds.contains(false);
  }
}
