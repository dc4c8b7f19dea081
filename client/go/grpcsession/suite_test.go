package grpcsession_test

import (
	"testing"

	"google.golang.org/adk/v2/session"
	"google.golang.org/adk/v2/session/sessiontestsuite"

	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/grpcsession"
	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/internal/testserver"
)

// TestADKSessionServiceSuite runs adk-go's own session service test suite
// (the one its in-memory, database and Vertex AI services pass) against this
// service and a real server. Every case gets a fresh, empty server, as every
// case of the suite expects an empty store.
func TestADKSessionServiceSuite(t *testing.T) {
	opts := sessiontestsuite.SuiteOptions{SupportsUserProvidedSessionID: true}
	sessiontestsuite.RunServiceTests(t, opts, func(t *testing.T) session.Service {
		service, err := grpcsession.New(testserver.Start(t))
		if err != nil {
			t.Fatalf("New() error = %v", err)
		}
		t.Cleanup(func() { _ = service.Close() })
		return service
	})
}
