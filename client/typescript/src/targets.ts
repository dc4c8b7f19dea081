/** The one place that turns what a user passes ("host:port", "grpc://...") into a gRPC target. */

export const DEFAULT_PORT = 50051;
const DEFAULT_TLS_PORT = 443;

/** Where to connect and whether the connection uses TLS. */
export interface Target {
  /** A gRPC target string: "host:port", "unix:/path", "dns:///host:port", ... */
  address: string;
  tls: boolean;
}

/**
 * Resolves the server address as the Python client does: "host:port" and any
 * other gRPC target string are used as they are; "grpc://host[:port]" is
 * plaintext (port 50051 by default) and "grpcs://host[:port]" is TLS (port
 * 443 by default).
 *
 * @throws TypeError for an empty address or a malformed grpc(s):// URI.
 */
export function parseTarget(text: string): Target {
  const trimmed = text.trim();
  if (trimmed === "") {
    throw new TypeError("the session server address is empty");
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme !== "grpc" && scheme !== "grpcs") {
    return { address: trimmed, tls: false };
  }
  const url = new URL(trimmed.replace(/^grpcs?:/i, "http:"));
  if (url.hostname === "") {
    throw new TypeError(`no host in session server URI ${JSON.stringify(text)}`);
  }
  if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "" || url.hash !== "") {
    throw new TypeError(`a session server URI is ${scheme}://HOST[:PORT], got ${JSON.stringify(text)}`);
  }
  const tls = scheme === "grpcs";
  const port = url.port || String(tls ? DEFAULT_TLS_PORT : DEFAULT_PORT);
  return { address: `${url.hostname}:${port}`, tls };
}
