package io.github.adkgrpcsessions;

import io.grpc.Status;
import java.util.List;
import java.util.Map;

/** The parts of a failed call's status that every exception of this client carries. */
record FailureDetails(
    Status.Code code, String reason, Map<String, String> metadata, List<String> violations) {
  FailureDetails {
    metadata = Map.copyOf(metadata);
    violations = List.copyOf(violations);
  }

  /** Details for a failure found by the client itself, with this code and reason. */
  static FailureDetails of(Status.Code code, String reason) {
    return new FailureDetails(code, reason, Map.of(), List.of());
  }
}
