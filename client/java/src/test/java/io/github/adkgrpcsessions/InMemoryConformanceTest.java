package io.github.adkgrpcsessions;

import com.google.adk.sessions.BaseSessionService;
import com.google.adk.sessions.InMemorySessionService;

/** The conformance cases against ADK Java's own InMemorySessionService, the reference. */
class InMemoryConformanceTest extends SessionServiceConformance {
  private final InMemorySessionService service = new InMemorySessionService();

  @Override
  BaseSessionService service() {
    return service;
  }

  @Override
  boolean grpc() {
    return false;
  }
}
