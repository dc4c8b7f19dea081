// Package testserver runs real adk-grpc-sessions servers (memory backend, or
// a SQLite file for a server that is killed and restarted) on real TCP
// sockets for the tests of this module.
//
// The server executable is $ADK_GRPC_SESSIONS_SERVER, else the
// adk-grpc-sessions of the repository's .venv (made by `make install`), else
// one on $PATH; with none of these the calling test is skipped, saying so.
// When $ADK_GRPC_SESSIONS_TARGET is set, Shared uses that server instead of
// starting one.
package testserver

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const startTimeout = 30 * time.Second

// Server is one running server process.
type Server struct {
	// Address is "127.0.0.1:PORT".
	Address string
	binary  string
	backend string
	flags   []string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// Start starts a fresh, empty server that stops when the test ends; flags
// are added to its command line (e.g. "--max-message-bytes", "4194304").
func Start(t testing.TB, flags ...string) string {
	t.Helper()
	binary := executable(t)
	server, err := start(binary, flags...)
	if err != nil {
		t.Fatalf("starting the session server: %v", err)
	}
	t.Cleanup(server.Stop)
	return server.Address
}

// StartWithMetrics is Start for a server that also serves its Prometheus
// metrics: it returns the server's address and the URL of its /metrics.
func StartWithMetrics(t testing.TB, flags ...string) (address, metricsURL string) {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("choosing the metrics port: %v", err)
	}
	metricsAddress := fmt.Sprintf("127.0.0.1:%d", port)
	address = Start(t, append([]string{"--metrics-listen", metricsAddress}, flags...)...)
	return address, "http://" + metricsAddress + "/metrics"
}

// StartOnFile starts a fresh server whose sessions live in a SQLite file of
// the test's own, so that they outlive Kill and Restart. It stops when the
// test ends.
func StartOnFile(t testing.TB) *Server {
	t.Helper()
	binary := executable(t)
	backend := "sqlite:///" + filepath.Join(t.TempDir(), "sessions.db")
	var server *Server
	var err error
	for range 3 { // the port may be taken between choosing and binding it
		var port int
		if port, err = freePort(); err != nil {
			break
		}
		if server, err = launch(binary, fmt.Sprintf("127.0.0.1:%d", port), backend); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("starting the session server: %v", err)
	}
	t.Cleanup(func() { server.Stop() })
	return server
}

// Kill ends the server at once with SIGKILL, as a crash would (no drain, no
// goodbye to its clients), and waits for it to be gone.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Restart starts a new process on the server's address and storage, after
// Kill or Stop, and returns once it serves.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	restarted, err := launch(s.binary, s.Address, s.backend, s.flags...)
	if err != nil {
		t.Fatalf("restarting the session server: %v", err)
	}
	s.cmd, s.exited = restarted.cmd, restarted.exited
}

var shared struct {
	once    sync.Once
	server  *Server
	address string
	err     error
}

// Shared returns the address of a server shared by every test of the
// package run ($ADK_GRPC_SESSIONS_TARGET if set). Tests using it must pick
// names (apps, users) of their own. Call StopShared from TestMain.
func Shared(t testing.TB) string {
	t.Helper()
	if address := os.Getenv("ADK_GRPC_SESSIONS_TARGET"); address != "" {
		return address
	}
	binary := executable(t)
	shared.once.Do(func() {
		shared.server, shared.err = start(binary)
		if shared.err == nil {
			shared.address = shared.server.Address
		}
	})
	if shared.err != nil {
		t.Fatalf("starting the shared session server: %v", shared.err)
	}
	return shared.address
}

// StopShared stops the shared server, if one was started.
func StopShared() {
	if shared.server != nil {
		shared.server.Stop()
	}
}

func executable(t testing.TB) string {
	t.Helper()
	if path := os.Getenv("ADK_GRPC_SESSIONS_SERVER"); path != "" {
		return path
	}
	if dir, err := os.Getwd(); err == nil {
		for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
			candidate := filepath.Join(dir, ".venv", "bin", "adk-grpc-sessions")
			if _, err := os.Stat(candidate); err == nil {
				return candidate
			}
		}
	}
	if path, err := exec.LookPath("adk-grpc-sessions"); err == nil {
		return path
	}
	t.Skip("SKIPPED: no adk-grpc-sessions server executable: run `make install` at the repository root, " +
		"or set ADK_GRPC_SESSIONS_SERVER")
	return ""
}

// start launches a server on a free port, trying again if another process
// took the port between choosing and binding it.
func start(binary string, flags ...string) (*Server, error) {
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		server, err := launch(binary, fmt.Sprintf("127.0.0.1:%d", port), "memory://", flags...)
		if err == nil {
			return server, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func freePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}

func launch(binary, address, backend string, flags ...string) (*Server, error) {
	args := append([]string{"serve", "--listen", address, "--backend", backend, "--grace-seconds", "0"}, flags...)
	cmd := exec.Command(binary, args...)
	output, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	server := &Server{Address: address, binary: binary, backend: backend, flags: flags, cmd: cmd, exited: make(chan struct{})}
	ready := make(chan struct{})
	var log strings.Builder
	var logMu sync.Mutex
	go func() {
		scanner := bufio.NewScanner(output)
		signalled := false
		for scanner.Scan() {
			line := scanner.Text()
			logMu.Lock()
			log.WriteString(line + "\n")
			logMu.Unlock()
			if !signalled && strings.Contains(line, "serving on") {
				close(ready)
				signalled = true
			}
		}
		_ = cmd.Wait()
		close(server.exited)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	select {
	case <-ready:
		return server, nil
	case <-server.exited:
	case <-ctx.Done():
		server.Stop()
	}
	logMu.Lock()
	defer logMu.Unlock()
	return nil, fmt.Errorf("server on %s did not start:\n%s", address, log.String())
}

// Stop ends the server (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (s *Server) Stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}
