package io.github.adkgrpcsessions;

import io.grpc.Status;
import java.util.List;
import java.util.Map;

/**
 * What the server said about a failed call, on every exception this client throws for one: the
 * gRPC code, the {@code google.rpc.ErrorInfo} reason and metadata (domain "adk-grpc-sessions"),
 * and any {@code google.rpc.BadRequest} field violations.
 */
public interface SessionServiceFailure {
  /** The call's gRPC status code. */
  Status.Code code();

  /** ErrorInfo.reason, e.g. "STALE_SESSION"; empty if the server sent none. */
  String reason();

  /**
   * ErrorInfo.metadata: e.g. "app_name", "user_id" and "session_id" of a missing session, or
   * "limit_bytes" and "size_bytes" of a size limit; empty if none was sent.
   */
  Map<String, String> metadata();

  /** BadRequest field violations, each "field: description". */
  List<String> violations();
}
