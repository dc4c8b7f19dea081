package grpcsession_test

import (
	"errors"
	"testing"

	"google.golang.org/adk/v2/session"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/grpcsession"
)

// A missing session and a taken id read as adk-go's in-memory service words
// them (session/inmemory.go), whatever the code and reason carried beside.

func TestATakenSessionIDReadsAsAdkGoWordsIt(t *testing.T) {
	s := newService(t)
	reference := session.InMemoryService()
	for _, service := range []session.Service{reference, s} {
		app := uniqueApp()
		req := &session.CreateRequest{AppName: app, UserID: "u", SessionID: "s1"}
		if _, err := service.Create(t.Context(), req); err != nil {
			t.Fatalf("Create() error = %v", err)
		}
		_, err := service.Create(t.Context(), req)
		if err == nil || err.Error() != "session s1 already exists" {
			t.Errorf("%T: second Create() error = %v, want %q", service, err, "session s1 already exists")
		}
	}
}

func TestAMissingSessionReadsAsAdkGoWordsIt(t *testing.T) {
	s := newService(t)
	reference := session.InMemoryService()
	app := uniqueApp()
	for _, service := range []session.Service{reference, s} {
		_, err := service.Get(t.Context(), &session.GetRequest{AppName: app, UserID: "u", SessionID: "missing"})
		if err == nil || err.Error() != "session missing not found" {
			t.Errorf("%T: Get() error = %v, want %q", service, err, "session missing not found")
		}
	}
}

func TestErrorWordsLeaveTheCodeReasonAndSentinelsAsTheyWere(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	_, err := s.Get(t.Context(), &session.GetRequest{AppName: app, UserID: "u", SessionID: " missing "})
	var failure *grpcsession.Error
	if !errors.As(err, &failure) {
		t.Fatalf("Get() error = %T %v, want *grpcsession.Error", err, err)
	}
	if failure.Reason != "SESSION_NOT_FOUND" || status.Code(err) != codes.NotFound || !errors.Is(err, grpcsession.ErrSessionNotFound) {
		t.Errorf("Get() error = %+v, want NOT_FOUND, SESSION_NOT_FOUND, ErrSessionNotFound", failure)
	}
	want := map[string]string{"app_name": app, "user_id": "u", "session_id": "missing"}
	for key, value := range want {
		if failure.Metadata[key] != value {
			t.Errorf("Metadata[%q] = %q, want %q", key, failure.Metadata[key], value)
		}
	}
	if failure.Message != "Session missing not found." {
		t.Errorf("Message = %q, want the server's (ADK Python's) words", failure.Message)
	}
}
