package grpcsession_test

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/adk/v2/session"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/grpcsession"
	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/internal/testserver"
)

// A server whose responses hold at most 4 MiB: eight events of 700 kB are a
// session larger than one response.
var smallLimits = []string{"--max-message-bytes", "4194304", "--max-state-bytes", "1048576"}

func serviceOn(t *testing.T, address string) *grpcsession.Service {
	t.Helper()
	service, err := grpcsession.New(address)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(func() { _ = service.Close() })
	return service
}

func TestGetReadsASessionLargerThanOneResponseWhole(t *testing.T) {
	address := testserver.Start(t, smallLimits...)
	s := serviceOn(t, address)
	app := uniqueApp()
	sess := create(t, s, app, "u", nil)
	var texts []string
	for i := range 8 {
		text := strings.Repeat(string(rune('a'+i)), 700_000)
		if err := s.AppendEvent(t.Context(), sess, textEvent("agent", text, nil)); err != nil {
			t.Fatalf("AppendEvent(%d) error = %v", i, err)
		}
		texts = append(texts, text)
	}

	// The server serves it in parts: its first response holds only some of the events.
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient() error = %v", err)
	}
	defer conn.Close()
	first, err := sessionsv1.NewSessionServiceClient(conn).GetSession(t.Context(), &sessionsv1.GetSessionRequest{
		AppName: app, UserId: "u", SessionId: sess.ID(),
	})
	if err != nil {
		t.Fatalf("GetSession() error = %v", err)
	}
	if len(first.GetSession().GetEvents()) >= len(texts) || first.GetNextEventsPageToken() == "" {
		t.Fatalf("the first response holds %d events and token %q; want fewer than %d and a token",
			len(first.GetSession().GetEvents()), first.GetNextEventsPageToken(), len(texts))
	}

	for _, recent := range []int{0, 7} {
		got, err := s.Get(t.Context(), &session.GetRequest{AppName: app, UserID: "u", SessionID: sess.ID(), NumRecentEvents: recent})
		if err != nil {
			t.Fatalf("Get(NumRecentEvents: %d) error = %v", recent, err)
		}
		want := texts
		if recent > 0 {
			want = texts[len(texts)-recent:]
		}
		events := got.Session.Events()
		if events.Len() != len(want) {
			t.Fatalf("Get(NumRecentEvents: %d) has %d events, want %d", recent, events.Len(), len(want))
		}
		for i, text := range want {
			if got := events.At(i).Content.Parts[0].Text; got != text {
				t.Fatalf("event %d has %d bytes of %q, want %d of %q", i, len(got), got[:1], len(text), text[:1])
			}
		}
	}
	// Read whole, it is current: an append through it is not stale.
	got := get(t, s, sess)
	if err := s.AppendEvent(t.Context(), got, textEvent("user", "last", nil)); err != nil {
		t.Fatalf("AppendEvent() through the session read in parts: %v", err)
	}
}

func TestAnAppendPastTheSessionSizeLimitFailsWithErrLimitExceeded(t *testing.T) {
	s := serviceOn(t, testserver.Start(t, "--max-session-bytes", "2000000"))
	sess := create(t, s, uniqueApp(), "u", nil)
	for i := range 3 {
		if err := s.AppendEvent(t.Context(), sess, textEvent("agent", strings.Repeat("x", 600_000), nil)); err != nil {
			t.Fatalf("AppendEvent(%d) error = %v", i, err)
		}
	}
	err := s.AppendEvent(t.Context(), sess, textEvent("agent", strings.Repeat("y", 600_000), nil))
	var failure *grpcsession.Error
	if !errors.Is(err, grpcsession.ErrLimitExceeded) || !errors.As(err, &failure) {
		t.Fatalf("AppendEvent() past the limit error = %v, want ErrLimitExceeded", err)
	}
	if failure.Reason != "SESSION_SIZE_LIMIT" || failure.Metadata["limit_bytes"] != "2000000" {
		t.Fatalf("reason %q, metadata %v; want SESSION_SIZE_LIMIT with limit_bytes 2000000", failure.Reason, failure.Metadata)
	}
	if n := get(t, s, sess).Events().Len(); n != 3 {
		t.Fatalf("the session holds %d events after the refusal, want 3", n)
	}
}
