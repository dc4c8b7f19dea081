package io.github.adkgrpcsessions;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * Where to connect and whether the connection uses TLS, from what a user passes: "host:port" and
 * any other gRPC target string ("unix:/path", "dns:///host:port") are used as they are;
 * "grpc://host[:port]" is plaintext (port 50051 by default) and "grpcs://host[:port]" is TLS (port
 * 443 by default), as the Python, Go and TypeScript clients read them.
 *
 * @param address a grpc-java target string
 * @param tls whether the target asked for TLS (grpcs://)
 */
record Target(String address, boolean tls) {
  static final int DEFAULT_PORT = 50051;
  static final int DEFAULT_TLS_PORT = 443;

  /**
   * Parses a target.
   *
   * @throws IllegalArgumentException for an empty address or a malformed grpc(s):// URI
   */
  static Target parse(String text) {
    String trimmed = text == null ? "" : text.trim();
    if (trimmed.isEmpty()) {
      throw new IllegalArgumentException("the session server address is empty");
    }
    int separator = trimmed.indexOf("://");
    String scheme = separator < 0 ? "" : trimmed.substring(0, separator).toLowerCase(Locale.ROOT);
    if (!scheme.equals("grpc") && !scheme.equals("grpcs")) {
      return new Target(trimmed, false);
    }
    URI uri;
    try {
      uri = new URI(trimmed);
    } catch (URISyntaxException malformed) {
      throw new IllegalArgumentException("session server URI " + trimmed + ": " + malformed.getMessage(), malformed);
    }
    if (uri.getHost() == null || uri.getHost().isEmpty()) {
      throw new IllegalArgumentException("no host in session server URI " + trimmed);
    }
    String path = uri.getRawPath();
    if ((path != null && !path.isEmpty() && !path.equals("/"))
        || uri.getRawQuery() != null
        || uri.getRawFragment() != null
        || uri.getRawUserInfo() != null) {
      throw new IllegalArgumentException(
          "a session server URI is " + scheme + "://HOST[:PORT], got " + trimmed);
    }
    boolean tls = scheme.equals("grpcs");
    int port = uri.getPort() >= 0 ? uri.getPort() : tls ? DEFAULT_TLS_PORT : DEFAULT_PORT;
    // URI keeps IPv6 literals bracketed, as a target needs them.
    return new Target(uri.getHost() + ":" + port, tls);
  }
}
