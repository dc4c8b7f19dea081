package io.github.adkgrpcsessions;

import adk_grpc_sessions.v1.SessionServiceOuterClass;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.google.adk.sessions.State;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * State values as the contract carries them: each value as JSON text, each scope a map from the
 * key without its prefix. Numbers keep their form ({@code 1} is an Integer, Long or BigInteger of
 * any size, {@code 1.0} a Double, and each is written back as it was read). ADK Java's {@link
 * State#REMOVED} is written as JSON {@code null}, which is how ADK Java's own services write it;
 * and as a session's state map cannot hold null, a key whose value is null reads as absent in
 * Java (ADK Python sees None).
 */
final class StateJson {
  private StateJson() {}

  /**
   * A state value as JSON text.
   *
   * @throws IllegalArgumentException if the value has no JSON form (NaN, infinities, ...)
   */
  static String encode(String key, Object value) {
    if (value == null || value == State.REMOVED) {
      return "null";
    }
    try {
      JsonNode tree = WireJson.MAPPER.valueToTree(value);
      requireFinite(key, tree);
      return WireJson.MAPPER.writeValueAsString(tree);
    } catch (IllegalArgumentException | JsonProcessingException unwritable) {
      throw new IllegalArgumentException("state \"" + key + "\" has no JSON form: " + unwritable.getMessage(), unwritable);
    }
  }

  private static void requireFinite(String key, JsonNode node) {
    if (node.isFloatingPointNumber() && !Double.isFinite(node.doubleValue())) {
      throw new IllegalArgumentException("state \"" + key + "\" holds " + node.doubleValue() + ", which JSON cannot");
    }
    for (JsonNode child : node) {
      requireFinite(key, child);
    }
  }

  /** A state value from its JSON text (null for JSON null). */
  static Object decode(String key, String text) {
    try {
      return WireJson.MAPPER.readValue(text, Object.class);
    } catch (JsonProcessingException malformed) {
      throw new IllegalStateException("state \"" + key + "\" from the server is not JSON: " + malformed.getOriginalMessage(), malformed);
    }
  }

  /** ADK state (prefixed keys) split by scope for the wire; "temp:" keys are left out. */
  static SessionServiceOuterClass.StateDelta split(Map<String, Object> state) {
    SessionServiceOuterClass.StateDelta.Builder delta = SessionServiceOuterClass.StateDelta.newBuilder();
    if (state == null) {
      return delta.build();
    }
    state.forEach(
        (key, value) -> {
          if (key.startsWith(State.TEMP_PREFIX)) {
            return;
          }
          String text = encode(key, value);
          if (key.startsWith(State.APP_PREFIX)) {
            delta.putApp(key.substring(State.APP_PREFIX.length()), text);
          } else if (key.startsWith(State.USER_PREFIX)) {
            delta.putUser(key.substring(State.USER_PREFIX.length()), text);
          } else {
            delta.putSession(key, text);
          }
        });
    return delta.build();
  }

  /** ADK's merged view of a session's state: session keys, then "app:" keys, then "user:" keys. */
  static ConcurrentHashMap<String, Object> merged(SessionServiceOuterClass.State state) {
    ConcurrentHashMap<String, Object> merged = new ConcurrentHashMap<>();
    putScope(merged, "", state.getSessionMap());
    putScope(merged, State.APP_PREFIX, state.getAppMap());
    putScope(merged, State.USER_PREFIX, state.getUserMap());
    return merged;
  }

  private static void putScope(Map<String, Object> into, String prefix, Map<String, String> scope) {
    scope.forEach(
        (key, text) -> {
          Object value = decode(prefix + key, text);
          if (value != null) {
            into.put(prefix + key, value);
          }
        });
  }

  /** A map of JSON texts read as values, keys as they are, nulls kept. */
  static Map<String, Object> flat(Map<String, String> values) {
    Map<String, Object> decoded = new LinkedHashMap<>();
    values.forEach((key, text) -> decoded.put(key, decode(key, text)));
    return decoded;
  }
}
