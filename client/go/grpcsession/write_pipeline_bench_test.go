package grpcsession_test

import (
	"runtime"
	"testing"

	"google.golang.org/adk/v2/session"

	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/grpcsession"
	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/internal/testserver"
)

// The write path's benchmarks: a lone append, 32 sessions appending at
// once, 32 callers creating at once; each as the service sends writes by
// default and with a call per write. They use the shared server, or the
// one $ADK_GRPC_SESSIONS_TARGET names (a SQLite server, say):
//
//	go test ./grpcsession -run '^$' -bench Writes -cpu 2

// writeSettings are the ways of sending writes the benchmarks compare.
var writeSettings = []struct {
	name string
	opts []grpcsession.Option
}{
	{"default", nil},
	{"a-call-per-write", []grpcsession.Option{grpcsession.WithMaxAppendsInFlight(0), grpcsession.WithStreamAppends(false)}},
}

// writers is how many goroutines write at once in the concurrent benchmarks.
const writers = 32

// writersPerProc is the parallelism that makes RunParallel run writers goroutines.
func writersPerProc() int { return max(writers/runtime.GOMAXPROCS(0), 1) }

func benchService(b *testing.B, opts []grpcsession.Option) *grpcsession.Service {
	b.Helper()
	s, err := grpcsession.New(testserver.Shared(b), opts...)
	if err != nil {
		b.Fatalf("New() error = %v", err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func BenchmarkWritesLoneAppend(b *testing.B) {
	for _, setting := range writeSettings {
		b.Run(setting.name, func(b *testing.B) {
			s := benchService(b, setting.opts)
			created, err := s.Create(b.Context(), &session.CreateRequest{AppName: uniqueApp(), UserID: "u"})
			if err != nil {
				b.Fatalf("Create() error = %v", err)
			}
			for b.Loop() {
				if err := s.AppendEvent(b.Context(), created.Session, textEvent("agent", "hello", nil)); err != nil {
					b.Fatalf("AppendEvent() error = %v", err)
				}
			}
		})
	}
}

func BenchmarkWritesAppendsFromManySessions(b *testing.B) {
	for _, setting := range writeSettings {
		b.Run(setting.name, func(b *testing.B) {
			s := benchService(b, setting.opts)
			app := uniqueApp()
			b.SetParallelism(writersPerProc())
			b.RunParallel(func(pb *testing.PB) {
				created, err := s.Create(b.Context(), &session.CreateRequest{AppName: app, UserID: "u"})
				if err != nil {
					b.Errorf("Create() error = %v", err)
					return
				}
				for pb.Next() {
					if err := s.AppendEvent(b.Context(), created.Session, textEvent("agent", "hello", nil)); err != nil {
						b.Errorf("AppendEvent() error = %v", err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkWritesCreatesFromManyCallers(b *testing.B) {
	for _, setting := range writeSettings {
		b.Run(setting.name, func(b *testing.B) {
			s := benchService(b, setting.opts)
			app := uniqueApp()
			b.SetParallelism(writersPerProc())
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Create(b.Context(), &session.CreateRequest{AppName: app, UserID: "u"}); err != nil {
						b.Errorf("Create() error = %v", err)
						return
					}
				}
			})
		})
	}
}
