package io.github.adkgrpcsessions;

import com.google.adk.sessions.BaseSessionService;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** The conformance cases against GrpcSessionService on a real server over a SQLite file. */
class GrpcConformanceTest extends SessionServiceConformance {
  @TempDir static Path directory;
  private static ServerProcess server;
  private static GrpcSessionService service;

  @BeforeAll
  static void startServer() {
    server = ServerProcess.onSqliteFile(directory);
    service = new GrpcSessionService(server.address());
  }

  @AfterAll
  static void stopServer() {
    service.close();
    server.close();
  }

  @Override
  BaseSessionService service() {
    return service;
  }

  @Override
  boolean grpc() {
    return true;
  }
}
