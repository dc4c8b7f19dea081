package io.github.adkgrpcsessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import adk_grpc_sessions.v1.SessionServiceGrpc;
import adk_grpc_sessions.v1.SessionServiceOuterClass.ListAppsRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.ListAppsResponse;
import adk_grpc_sessions.v1.SessionServiceOuterClass.ListUsersRequest;
import adk_grpc_sessions.v1.SessionServiceOuterClass.ListUsersResponse;
import com.google.protobuf.Any;
import com.google.rpc.Code;
import com.google.rpc.ErrorInfo;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * listApps/listUsers and their pages on a real server asking for tokens: order and paging, a
 * token's scope, bad input; and storage that cannot list names, on a server answering as the real
 * one does over Agent Engine.
 */
class AppsAndUsersTest {
  private static final List<String> APPS = List.of("alpha", "beta", "delta", "epsilon", "gamma");

  @TempDir static Path directory;
  private static ServerProcess server;
  private static GrpcSessionService everything;
  private static GrpcSessionService alphaOnly;

  private static String grant(String name, String token, String apps) throws Exception {
    byte[] digest = MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    return name + " " + HexFormat.of().formatHex(digest) + " " + apps;
  }

  @BeforeAll
  static void startServer() throws Exception {
    server =
        ServerProcess.onSqliteFile(
            directory,
            "--tokens",
            grant("all", "token-all", "*") + ";" + grant("alpha", "token-alpha", "alpha,gamma"));
    everything = GrpcSessionService.builder(server.address()).bearerToken("token-all").build();
    alphaOnly = GrpcSessionService.builder(server.address()).bearerToken("token-alpha").build();
    for (String app : List.of("epsilon", "alpha", "delta", "beta", "gamma")) {
      for (String user : List.of("u2", "u1", "u3")) {
        everything.createSession(app, user, Map.of(), "s").blockingGet();
      }
    }
  }

  @AfterAll
  static void stopServer() {
    everything.close();
    alphaOnly.close();
    server.close();
  }

  @Test
  void appsAndUsersAreListedInCodePointOrderAcrossPages() {
    assertEquals(APPS, everything.listApps().blockingGet());
    NamePage first = everything.listAppsPage(2, "").blockingGet();
    assertEquals(List.of("alpha", "beta"), first.names());
    assertTrue(first.nextPageToken().isPresent());
    NamePage second = everything.listAppsPage(2, first.nextPageToken().get()).blockingGet();
    assertEquals(List.of("delta", "epsilon"), second.names());
    NamePage last = everything.listAppsPage(2, second.nextPageToken().get()).blockingGet();
    assertEquals(new NamePage(List.of("gamma"), java.util.Optional.empty()), last);

    assertEquals(List.of("u1", "u2", "u3"), everything.listUsers("beta").blockingGet());
    NamePage users = everything.listUsersPage("beta", 2, "").blockingGet();
    assertEquals(List.of("u1", "u2"), users.names());
    NamePage rest = everything.listUsersPage("beta", 2, users.nextPageToken().get()).blockingGet();
    assertEquals(List.of("u3"), rest.names());
    assertTrue(rest.nextPageToken().isEmpty());
    assertEquals(List.of(), everything.listUsers("nobody").blockingGet());
  }

  @Test
  void aTokenForSomeAppsListsOnlyThose() {
    assertEquals(List.of("alpha", "gamma"), alphaOnly.listApps().blockingGet());
    NamePage first = alphaOnly.listAppsPage(1, "").blockingGet();
    assertEquals(List.of("alpha"), first.names());
    assertEquals(List.of("gamma"), alphaOnly.listAppsPage(1, first.nextPageToken().get()).blockingGet().names());
    assertEquals(List.of("u1", "u2", "u3"), alphaOnly.listUsers("gamma").blockingGet());
    SessionServiceException denied =
        assertThrows(SessionServiceException.class, () -> alphaOnly.listUsers("beta").blockingGet());
    assertEquals(Status.Code.PERMISSION_DENIED, denied.code());
  }

  @Test
  void badInputIsInvalidSessionArgumentException() {
    NamePage users = everything.listUsersPage("beta", 1, "").blockingGet();
    String token = users.nextPageToken().get();
    List<Executable> refused =
        List.of(
            () -> everything.listUsers("").blockingGet(),
            () -> everything.listUsersPage("beta", -1, "").blockingGet(),
            () -> everything.listUsersPage("alpha", 0, token).blockingGet(), // another app's listing
            () -> everything.listAppsPage(0, token).blockingGet(), // a user listing's token
            () -> everything.listAppsPage(-1, "").blockingGet());
    for (Executable call : refused) {
      assertThrows(InvalidSessionArgumentException.class, call);
    }
  }

  /**
   * A server giving one name a page whatever the page size asked for, as the contract allows (a
   * page is also bounded in bytes): a listing of a few names then spans pages.
   */
  private static final class OneNameAPage extends SessionServiceGrpc.SessionServiceImplBase {
    private static final List<String> NAMES = List.of("n1", "n2", "n3");

    /** The page after {@code token} ("" = the first) and the token of the next ("" after the last). */
    private static Map.Entry<String, String> page(String token) {
      int index = token.isEmpty() ? 0 : Integer.parseInt(token);
      String next = index + 1 < NAMES.size() ? String.valueOf(index + 1) : "";
      return Map.entry(NAMES.get(index), next);
    }

    @Override
    public void listApps(ListAppsRequest request, StreamObserver<ListAppsResponse> response) {
      var page = page(request.getPageToken());
      response.onNext(
          ListAppsResponse.newBuilder().addAppNames(page.getKey()).setNextPageToken(page.getValue()).build());
      response.onCompleted();
    }

    @Override
    public void listUsers(ListUsersRequest request, StreamObserver<ListUsersResponse> response) {
      var page = page(request.getPageToken());
      response.onNext(
          ListUsersResponse.newBuilder()
              .addUserIds(request.getAppName() + "/" + page.getKey())
              .setNextPageToken(page.getValue())
              .build());
      response.onCompleted();
    }
  }

  @Test
  void everyPageIsWalkedToTheLast() throws Exception {
    Server paging =
        Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
            .addService(new OneNameAPage())
            .build()
            .start();
    try (GrpcSessionService client = new GrpcSessionService("127.0.0.1:" + paging.getPort())) {
      assertEquals(List.of("n1", "n2", "n3"), client.listApps().blockingGet());
      assertEquals(List.of("a/n1", "a/n2", "a/n3"), client.listUsers("a").blockingGet());
    } finally {
      paging.shutdownNow();
      paging.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** A server answering ListApps and ListUsers as the real one does over Agent Engine. */
  private static final class RefusingNames extends SessionServiceGrpc.SessionServiceImplBase {
    private static StatusRuntimeException notSupported(String reason) {
      ErrorInfo info =
          ErrorInfo.newBuilder()
              .setReason("NOT_SUPPORTED_BY_BACKEND")
              .setDomain("adk-grpc-sessions")
              .putMetadata("backend_reason", reason)
              .build();
      return StatusProto.toStatusRuntimeException(
          com.google.rpc.Status.newBuilder()
              .setCode(Code.UNIMPLEMENTED_VALUE)
              .setMessage("the storage cannot list apps or users")
              .addDetails(Any.pack(info))
              .build());
    }

    @Override
    public void listApps(ListAppsRequest request, StreamObserver<ListAppsResponse> response) {
      response.onError(notSupported("NO_LIST_APPS"));
    }

    @Override
    public void listUsers(ListUsersRequest request, StreamObserver<ListUsersResponse> response) {
      response.onError(notSupported("NO_LIST_USERS"));
    }
  }

  @Test
  void storageThatCannotListNamesIsASessionServiceExceptionUnimplemented() throws Exception {
    Server refusing =
        Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
            .addService(new RefusingNames())
            .build()
            .start();
    try (GrpcSessionService client = new GrpcSessionService("127.0.0.1:" + refusing.getPort())) {
      Map<String, Executable> calls =
          Map.of(
              "listApps", () -> client.listApps().blockingGet(),
              "listAppsPage", () -> client.listAppsPage(0, "").blockingGet(),
              "listUsers", () -> client.listUsers("a").blockingGet(),
              "listUsersPage", () -> client.listUsersPage("a", 0, "").blockingGet());
      for (var call : calls.entrySet()) {
        SessionServiceException failure = assertThrows(SessionServiceException.class, call.getValue(), call.getKey());
        assertEquals(Status.Code.UNIMPLEMENTED, failure.code(), call.getKey());
        assertEquals("NOT_SUPPORTED_BY_BACKEND", failure.reason(), call.getKey());
        assertTrue(failure.metadata().get("backend_reason").startsWith("NO_LIST_"), call.getKey());
      }
    } finally {
      refusing.shutdownNow();
      refusing.awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
