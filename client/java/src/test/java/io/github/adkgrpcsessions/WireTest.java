package io.github.adkgrpcsessions;

import static io.github.adkgrpcsessions.Fixtures.textEvent;
import static io.github.adkgrpcsessions.Fixtures.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.adk.events.Event;
import com.google.adk.sessions.GetSessionConfig;
import com.google.adk.sessions.Session;
import com.google.genai.types.Content;
import com.google.genai.types.Part;
import com.google.protobuf.Timestamp;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Time, bytes and targets as the contract defines them; tokens, unix sockets, paged reads, limits. */
class WireTest {
  @TempDir Path directory;

  @Test
  void everyMillisecondSurvivesFloatSecondsExactly() {
    SplittableRandom random = new SplittableRandom(21);
    long min = Timestamps.MIN_SECONDS * 1000;
    long max = Timestamps.MAX_SECONDS * 1000 + 999;
    List<Long> samples = new ArrayList<>(List.of(0L, 1L, -1L, 1_700_000_000_123L, min, max));
    for (int i = 0; i < 100_000; i++) {
      samples.add(random.nextLong(min, max + 1));
    }
    for (long millis : samples) {
      double seconds = Timestamps.secondsFromMillis(millis).doubleValue();
      Instant instant = Timestamps.instantFromSeconds(seconds);
      assertEquals(millis, Timestamps.toMillis(instant), () -> millis + " ms");
      assertEquals(millis, instant.toEpochMilli(), () -> millis + " ms as an instant");
    }
  }

  @Test
  void floatSecondsFollowTheContractsRule() {
    assertEquals(new BigDecimal("1700000000.123"), Timestamps.secondsFromMillis(1_700_000_000_123L));
    assertEquals(new BigDecimal("1700000000.0"), Timestamps.secondsFromMillis(1_700_000_000_000L));
    // A Python float with more than milliseconds: its shortest decimal, to the nanosecond.
    assertEquals(
        Instant.ofEpochSecond(1_700_000_000L, 123_456_700),
        Timestamps.instantFromSeconds(1700000000.1234567));
    assertEquals(Instant.ofEpochSecond(0, 100_000_000), Timestamps.instantFromSeconds(0.1));
    assertEquals(
        1_700_000_000_123L,
        Timestamps.toMillis(Timestamp.newBuilder().setSeconds(1_700_000_000L).setNanos(123_999_999).build()),
        "rounded toward the past");
    assertThrows(IllegalArgumentException.class, () -> Timestamps.instantFromSeconds(Double.NaN));
  }

  @Test
  void bytesAreWrittenInTheUrlSafeAlphabetAndReadInEither() {
    byte[] bytes = {(byte) 0xfb, (byte) 0xff, (byte) 0xfe};
    Event event =
        textEvent("agent", "b").toBuilder()
            .content(Content.fromParts(Part.fromBytes(bytes, "application/octet-stream")))
            .build();
    String json = EventJson.toWire(event);
    assertTrue(json.contains("\"data\":\"-__-\""), json);
    for (String written : List.of("-__-", "+//+", "-__-".replace("=", ""))) {
      Event read =
          EventJson.fromWire(
              json.replace("-__-", written), Timestamp.newBuilder().setSeconds(1).build());
      byte[] back =
          read.content().orElseThrow().parts().orElseThrow().get(0).inlineData().orElseThrow().data().orElseThrow();
      assertEquals(HexFormat.of().formatHex(bytes), HexFormat.of().formatHex(back), written);
    }
  }

  @Test
  void targetsAreReadAsTheOtherClientsReadThem() {
    assertEquals(new Target("localhost:50051", false), Target.parse("localhost:50051"));
    assertEquals(new Target("example.com:50051", false), Target.parse("grpc://example.com"));
    assertEquals(new Target("example.com:7000", false), Target.parse("grpc://example.com:7000"));
    assertEquals(new Target("example.com:443", true), Target.parse("grpcs://example.com"));
    assertEquals(new Target("[::1]:9000", true), Target.parse("grpcs://[::1]:9000"));
    assertEquals(new Target("unix:/run/sessions.sock", false), Target.parse("unix:/run/sessions.sock"));
    assertThrows(IllegalArgumentException.class, () -> Target.parse(" "));
    assertThrows(IllegalArgumentException.class, () -> Target.parse("grpc://host:1/path"));
  }

  @Test
  void aBearerTokenIsSentWithEveryCall() throws Exception {
    String app = unique("tokens");
    String secret = "java-client-secret";
    String digest =
        HexFormat.of()
            .formatHex(MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
    try (ServerProcess server =
            ServerProcess.onSqliteFile(directory, "--tokens", "java " + digest + " " + app);
        GrpcSessionService anonymous = new GrpcSessionService(server.address());
        GrpcSessionService holder =
            GrpcSessionService.builder(server.address()).bearerToken(secret).build()) {
      SessionServiceException refused =
          assertThrows(
              SessionServiceException.class,
              () -> anonymous.createSession(app, "u", Map.of(), null).blockingGet());
      assertEquals(io.grpc.Status.Code.UNAUTHENTICATED, refused.code());
      Session session = holder.createSession(app, "u", Map.of("k", 1), null).blockingGet();
      assertEquals(1, holder.getSession(app, "u", session.id(), Optional.empty()).blockingGet().state().get("k"));
    }
  }

  @Test
  void aGrpcsTargetSpeaksTlsToTheServer() throws Exception {
    Path cert = directory.resolve("cert.pem");
    Path key = directory.resolve("key.pem");
    // A self-signed certificate for localhost, from Debian's openssl.
    Process openssl =
        new ProcessBuilder(
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-days", "1", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost",
                "-keyout", key.toString(), "-out", cert.toString())
            .redirectErrorStream(true)
            .start();
    String said = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, openssl.waitFor(), said);
    try (ServerProcess server =
            ServerProcess.onSqliteFile(directory, "--tls-cert", cert.toString(), "--tls-key", key.toString());
        GrpcSessionService plaintext = GrpcSessionService.builder(server.address()).timeout(java.time.Duration.ofSeconds(3)).build();
        GrpcSessionService tls =
            GrpcSessionService.builder("grpcs://localhost:" + server.address().replaceAll(".*:", ""))
                .credentials(io.grpc.TlsChannelCredentials.newBuilder().trustManager(cert.toFile()).build())
                .build()) {
      assertThrows(
          SessionServiceUnavailableException.class,
          () -> plaintext.createSession("tls-app", "u", Map.of(), null).blockingGet());
      Session session = tls.createSession("tls-app", "u", Map.of("k", 1), null).blockingGet();
      assertEquals(1, tls.getSession("tls-app", "u", session.id(), Optional.empty()).blockingGet().state().get("k"));
    }
  }

  @Test
  void aUnixSocketTargetReachesTheServer() {
    String socket = "unix:" + directory.resolve("sessions.sock").toAbsolutePath();
    try (ServerProcess server = ServerProcess.listening(socket, directory);
        GrpcSessionService service = new GrpcSessionService(socket)) {
      assertTrue(server.address().startsWith("unix:"), server.address());
      Session session = service.createSession("unix-app", "u", Map.of(), null).blockingGet();
      service.appendEvent(session, textEvent("agent", "over a unix socket")).blockingGet();
      assertEquals(
          1, service.getSession("unix-app", "u", session.id(), Optional.empty()).blockingGet().events().size());
    }
  }

  @Test
  void aSessionLargerThanOneResponseIsReadWhole() {
    try (ServerProcess server =
            ServerProcess.onSqliteFile(
                directory, "--max-message-bytes", "4194304", "--max-state-bytes", "1048576");
        GrpcSessionService service = new GrpcSessionService(server.address())) {
      String app = unique("paged");
      Session session = service.createSession(app, "u", Map.of(), null).blockingGet();
      List<String> texts = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        String text = String.valueOf((char) ('a' + i)).repeat(700_000);
        service.appendEvent(session, textEvent("agent", text)).blockingGet();
        texts.add(text);
      }
      for (int recent : List.of(0, 7, 8)) {
        Session read =
            service
                .getSession(
                    app, "u", session.id(), Optional.of(GetSessionConfig.builder().numRecentEvents(recent).build()))
                .blockingGet();
        List<String> expected = texts.subList(texts.size() - recent, texts.size());
        assertEquals(expected, read.events().stream().map(Fixtures::text).toList(), "last " + recent);
      }
      Session whole = service.getSession(app, "u", session.id(), Optional.empty()).blockingGet();
      assertEquals(texts, whole.events().stream().map(Fixtures::text).toList());
      assertEquals(8, service.listEvents(app, "u", session.id()).blockingGet().events().size());
      // Read whole, it is current: an append through it is not stale.
      service.appendEvent(whole, textEvent("user", "last")).blockingGet();
    }
  }

  @Test
  void anAppendPastTheSessionSizeLimitIsALimitException() {
    try (ServerProcess server = ServerProcess.onSqliteFile(directory, "--max-session-bytes", "2000000");
        GrpcSessionService service = new GrpcSessionService(server.address())) {
      String app = unique("limits");
      Session session = service.createSession(app, "u", Map.of(), null).blockingGet();
      for (int i = 0; i < 3; i++) {
        service.appendEvent(session, textEvent("agent", "x".repeat(600_000))).blockingGet();
      }
      SessionServiceLimitException refused =
          assertThrows(
              SessionServiceLimitException.class,
              () -> service.appendEvent(session, textEvent("agent", "y".repeat(600_000))).blockingGet());
      assertEquals("SESSION_SIZE_LIMIT", refused.reason());
      assertEquals("2000000", refused.metadata().get("limit_bytes"));
      assertEquals(
          3, service.getSession(app, "u", session.id(), Optional.empty()).blockingGet().events().size());
    }
  }

  @Test
  void aStateValueNestedPastTheLimitIsAnInvalidArgumentNamingIt() {
    Object nested = 1;
    for (int depth = 0; depth < 300; depth++) {
      nested = List.of(nested);
    }
    Map<String, Object> state = Map.of("deep", nested);
    try (ServerProcess server = ServerProcess.onSqliteFile(directory);
        GrpcSessionService service = new GrpcSessionService(server.address())) {
      InvalidSessionArgumentException refused =
          assertThrows(
              InvalidSessionArgumentException.class,
              () -> service.createSession(unique("depth"), "u", state, null).blockingGet());
      assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, refused.code());
      assertTrue(refused.getMessage().contains("deep"), refused.getMessage());
    }
  }
}
