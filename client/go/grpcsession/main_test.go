package grpcsession_test

import (
	"os"
	"testing"

	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/internal/testserver"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.StopShared()
	os.Exit(code)
}
