package grpcsession

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

const (
	defaultPort    = 50051
	defaultTLSPort = 443
)

// target is where to connect and whether the connection uses TLS.
type target struct {
	address string
	tls     bool
}

// parseTarget resolves the server address as the Python client does:
// "host:port" and any other gRPC target string ("unix:/path",
// "dns:///host:port") are used as they are; "grpc://host[:port]" is
// plaintext (port 50051 by default) and "grpcs://host[:port]" is TLS (port
// 443 by default).
func parseTarget(text string) (target, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return target{}, fmt.Errorf("grpcsession: the session server address is empty")
	}
	scheme, _, hasScheme := strings.Cut(text, "://")
	scheme = strings.ToLower(scheme)
	if !hasScheme || (scheme != "grpc" && scheme != "grpcs") {
		return target{address: text}, nil
	}
	parts, err := url.Parse(text)
	if err != nil {
		return target{}, fmt.Errorf("grpcsession: session server URI %q: %w", text, err)
	}
	if parts.Hostname() == "" {
		return target{}, fmt.Errorf("grpcsession: no host in session server URI %q", text)
	}
	if (parts.Path != "" && parts.Path != "/") || parts.RawQuery != "" || parts.Fragment != "" {
		return target{}, fmt.Errorf("grpcsession: a session server URI is %s://HOST[:PORT], got %q", scheme, text)
	}
	tls := scheme == "grpcs"
	port := strconv.Itoa(defaultPort)
	if tls {
		port = strconv.Itoa(defaultTLSPort)
	}
	if parts.Port() != "" {
		port = parts.Port()
	}
	return target{address: net.JoinHostPort(parts.Hostname(), port), tls: tls}, nil
}
