package io.github.adkgrpcsessions;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real adk-grpc-sessions server process on a real TCP port, for the tests.
 *
 * <p>The executable is $ADK_GRPC_SESSIONS_SERVER, else the adk-grpc-sessions of the repository's
 * .venv (made by {@code make install}). It listens on 127.0.0.1 port 0 at first; the port it
 * chose is read from its "serving on" log line, and a restart binds that same port again, so
 * that clients connected before see the server come back where it was.
 */
final class ServerProcess implements AutoCloseable {
  private static final long START_SECONDS = 60;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<String> flags;
  private final String backend;
  private final StringBuffer log = new StringBuffer();
  private Process process;
  private String address;
  private volatile String metricsAddress;

  private ServerProcess(String backend, List<String> flags) {
    this.backend = backend;
    this.flags = flags;
  }

  /** A started server keeping its sessions in a new SQLite file under {@code directory}. */
  static ServerProcess onSqliteFile(Path directory, String... flags) {
    return listening("127.0.0.1:0", directory, flags);
  }

  /** A started server on {@code listen} (HOST:PORT or unix:PATH), over a new SQLite file. */
  static ServerProcess listening(String listen, Path directory, String... flags) {
    String backend = "sqlite:///" + directory.resolve("sessions.db").toAbsolutePath();
    ServerProcess server = new ServerProcess(backend, List.of(flags));
    server.launch(listen);
    return server;
  }

  /** "127.0.0.1:PORT" (or the unix:PATH it listens on). */
  String address() {
    return address;
  }

  /** "127.0.0.1:PORT" of its /metrics, for a server started with --metrics-listen; else null. */
  String metricsAddress() {
    return metricsAddress;
  }

  /** Ends the process at once with SIGKILL, as a crash would, and waits for it to be gone. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor();
  }

  /** Starts a new process on the same address and storage, after {@link #kill}. */
  void restart() {
    launch(address);
  }

  /** What the server printed, for failure messages. */
  String log() {
    return log.toString();
  }

  private void launch(String listen) {
    List<String> command = new ArrayList<>();
    command.add(executable().toString());
    command.addAll(
        List.of("serve", "--listen", listen, "--backend", backend, "--grace-seconds", "0"));
    command.addAll(flags);
    CompletableFuture<String> listening = new CompletableFuture<>();
    try {
      process = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException failed) {
      throw new IllegalStateException("could not start " + command, failed);
    }
    Process started = process;
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader lines =
                  new BufferedReader(
                      new InputStreamReader(started.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = lines.readLine()) != null; ) {
                  log.append(line).append('\n');
                  if (!listening.isDone() && line.contains("serving on")) {
                    JsonNode parsed = JSON.readTree(line);
                    JsonNode metrics = parsed.get("metrics_listening");
                    metricsAddress = metrics == null || metrics.isNull() ? null : metrics.asText();
                    listening.complete(parsed.get("listening").get(0).asText());
                  }
                }
              } catch (IOException ended) {
                // The process is gone; its exit is reported below.
              }
              listening.completeExceptionally(new IllegalStateException("the server exited"));
            },
            "server-log");
    reader.setDaemon(true);
    reader.start();
    try {
      address = listening.get(START_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException failed) {
      process.destroyForcibly();
      throw new IllegalStateException("the server did not start:\n" + log, failed);
    } catch (InterruptedException interrupted) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(interrupted);
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL after 5 s). */
  @Override
  public void close() {
    stop();
  }

  /**
   * Stops the server as a deploy does (SIGTERM: it drains, then exits; SIGKILL after 5 s), and
   * waits for it to be gone; {@link #restart} starts it again.
   */
  void stop() {
    if (process != null && process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
          kill();
        }
      } catch (InterruptedException interrupted) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }

  private static Path executable() {
    String configured = System.getenv("ADK_GRPC_SESSIONS_SERVER");
    if (configured != null && !configured.isEmpty()) {
      return Paths.get(configured);
    }
    for (Path dir = Paths.get("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path candidate = dir.resolve(".venv/bin/adk-grpc-sessions");
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    throw new IllegalStateException(
        "no adk-grpc-sessions server executable: run `make install` at the repository root,"
            + " or set ADK_GRPC_SESSIONS_SERVER");
  }
}
