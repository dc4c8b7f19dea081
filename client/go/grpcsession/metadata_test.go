package grpcsession_test

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"google.golang.org/adk/v2/session"
	"google.golang.org/grpc/codes"

	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/grpcsession"
)

func createWith(t *testing.T, s *grpcsession.Service, app, user, id string, opts grpcsession.CreateOptions) session.Session {
	t.Helper()
	created, err := s.CreateWithOptions(t.Context(), &session.CreateRequest{AppName: app, UserID: user, SessionID: id}, opts)
	if err != nil {
		t.Fatalf("CreateWithOptions() error = %v", err)
	}
	return created.Session
}

func info(t *testing.T, s *grpcsession.Service, app, user, id string) *grpcsession.SessionInfo {
	t.Helper()
	got, err := s.GetSessionInfo(t.Context(), app, user, id)
	if err != nil {
		t.Fatalf("GetSessionInfo() error = %v", err)
	}
	return got
}

func TestMetadataSetAtCreateIsReadBack(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	labels := map[string]string{"topic": "travel", "pinned": "", "trip-id": "r_2026"}
	sess := createWith(t, s, app, "u", "s1", grpcsession.CreateOptions{
		DisplayName: "Trip to Rome ✈ «2026»",
		Labels:      labels,
		Expiry:      grpcsession.Expiry{TTL: time.Hour},
	})
	got := info(t, s, app, "u", sess.ID())
	if got.DisplayName != "Trip to Rome ✈ «2026»" || !maps.Equal(got.Labels, labels) {
		t.Errorf("GetSessionInfo() metadata = %q %v, want the display name and labels given", got.DisplayName, got.Labels)
	}
	if got.ExpireTime.IsZero() || got.ForkedFrom != nil {
		t.Errorf("GetSessionInfo() = %+v, want an expiry and no fork origin", got)
	}
	if got.EventCount == nil || *got.EventCount != 0 {
		t.Errorf("EventCount = %v, want 0", got.EventCount)
	}
	if err := s.AppendEvent(t.Context(), sess, textEvent("user", "hello", map[string]any{"k": "v"})); err != nil {
		t.Fatalf("AppendEvent() error = %v", err)
	}
	got = info(t, s, app, "u", sess.ID())
	if got.EventCount == nil || *got.EventCount != 1 || got.StoredBytes == nil || *got.StoredBytes <= 0 {
		t.Errorf("after an append EventCount = %v, StoredBytes = %v; want 1 and some bytes", got.EventCount, got.StoredBytes)
	}
	plain := create(t, s, app, "u", nil)
	if got := info(t, s, app, "u", plain.ID()); got.DisplayName != "" || got.Labels == nil || len(got.Labels) != 0 {
		t.Errorf("a session created without metadata reads %q %v, want none (an empty map)", got.DisplayName, got.Labels)
	}
}

func TestUpdateSessionMetadataChangesWhatItNamesAndNotTheRevision(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	sess := createWith(t, s, app, "u", "s1", grpcsession.CreateOptions{DisplayName: "first", Labels: map[string]string{"a": "1"}})
	if err := s.AppendEvent(t.Context(), sess, textEvent("user", "hi", nil)); err != nil {
		t.Fatalf("AppendEvent() error = %v", err)
	}
	before := info(t, s, app, "u", "s1")

	renamed := "second"
	got, err := s.UpdateSessionMetadata(t.Context(), app, "u", " s1 ", grpcsession.MetadataUpdate{DisplayName: &renamed})
	if err != nil || got.DisplayName != "second" || !maps.Equal(got.Labels, map[string]string{"a": "1"}) {
		t.Fatalf("UpdateSessionMetadata(DisplayName) = %+v, %v; want the new name and the labels kept", got, err)
	}
	got, err = s.UpdateSessionMetadata(t.Context(), app, "u", "s1", grpcsession.MetadataUpdate{Labels: map[string]string{"b": "2", "c": ""}})
	if err != nil || got.DisplayName != "second" || !maps.Equal(got.Labels, map[string]string{"b": "2", "c": ""}) {
		t.Fatalf("UpdateSessionMetadata(Labels) = %+v, %v; want the labels replaced and the name kept", got, err)
	}
	if got.Revision != before.Revision || !got.LastUpdateTime.Equal(before.LastUpdateTime) {
		t.Errorf("after the updates revision %d, last update %v; want %d, %v unchanged",
			got.Revision, got.LastUpdateTime, before.Revision, before.LastUpdateTime)
	}
	// The writer's session is still current: metadata is not state.
	if err := s.AppendEvent(t.Context(), sess, textEvent("agent", "still current", nil)); err != nil {
		t.Fatalf("AppendEvent() after UpdateSessionMetadata error = %v, want the session still current", err)
	}

	none := ""
	got, err = s.UpdateSessionMetadata(t.Context(), app, "u", "s1", grpcsession.MetadataUpdate{DisplayName: &none, Labels: map[string]string{}})
	if err != nil || got.DisplayName != "" || len(got.Labels) != 0 {
		t.Errorf("UpdateSessionMetadata(clear both) = %+v, %v; want no name and no labels", got, err)
	}
	if _, err := s.UpdateSessionMetadata(t.Context(), app, "u", "s1", grpcsession.MetadataUpdate{}); !errors.Is(err, grpcsession.ErrInvalidArgument) {
		t.Errorf("UpdateSessionMetadata() naming nothing error = %v, want ErrInvalidArgument", err)
	}
	_, err = s.UpdateSessionMetadata(t.Context(), app, "u", "missing", grpcsession.MetadataUpdate{DisplayName: &renamed})
	if !errors.Is(err, grpcsession.ErrSessionNotFound) {
		t.Errorf("UpdateSessionMetadata() of a missing session error = %v, want ErrSessionNotFound", err)
	}
}

func TestMetadataBeyondTheLimitsIsErrInvalidArgumentNamingTheField(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	tooMany := map[string]string{}
	for i := range 65 {
		tooMany["k"+strings.Repeat("x", i)] = "v"
	}
	for name, c := range map[string]struct {
		opts  grpcsession.CreateOptions
		field string
	}{
		"long display name":  {grpcsession.CreateOptions{DisplayName: strings.Repeat("é", 129)}, "display_name"},
		"uppercase key":      {grpcsession.CreateOptions{Labels: map[string]string{"Topic": "x"}}, "labels"},
		"uppercase value":    {grpcsession.CreateOptions{Labels: map[string]string{"topic": "X"}}, "labels"},
		"reserved key":       {grpcsession.CreateOptions{Labels: map[string]string{"adk_mine": "x"}}, "labels"},
		"65 labels":          {grpcsession.CreateOptions{Labels: tooMany}, "labels"},
		"key of 64":          {grpcsession.CreateOptions{Labels: map[string]string{"k" + strings.Repeat("x", 63): "v"}}, "labels"},
		"value of 64":        {grpcsession.CreateOptions{Labels: map[string]string{"k": strings.Repeat("v", 64)}}, "labels"},
		"key from a digit":   {grpcsession.CreateOptions{Labels: map[string]string{"1k": "v"}}, "labels"},
		"key with a dot":     {grpcsession.CreateOptions{Labels: map[string]string{"a.b": "v"}}, "labels"},
		"value with a space": {grpcsession.CreateOptions{Labels: map[string]string{"k": "a b"}}, "labels"},
	} {
		_, err := s.CreateWithOptions(t.Context(), &session.CreateRequest{AppName: app, UserID: "u", SessionID: "bad"}, c.opts)
		var failure *grpcsession.Error
		if !errors.As(err, &failure) || failure.Code != codes.InvalidArgument || !violationNames(failure, c.field) {
			t.Errorf("%s: CreateWithOptions() error = %v, want INVALID_ARGUMENT naming %s", name, err, c.field)
		}
		if errors.Is(err, grpcsession.ErrInvalidFilter) {
			t.Errorf("%s: CreateWithOptions() error = %v matches ErrInvalidFilter", name, err)
		}
	}
	if ids := listedIDs(t, s, app, "u"); len(ids) != 0 {
		t.Errorf("refused creates stored %v", ids)
	}
	sess := createWith(t, s, app, "u", "good", grpcsession.CreateOptions{
		DisplayName: strings.Repeat("é", 128), Labels: map[string]string{"k" + strings.Repeat("x", 62): strings.Repeat("v", 63)},
	})
	_, err := s.UpdateSessionMetadata(t.Context(), app, "u", sess.ID(), grpcsession.MetadataUpdate{Labels: map[string]string{"adk_app": "x"}})
	if !errors.Is(err, grpcsession.ErrInvalidArgument) {
		t.Errorf("UpdateSessionMetadata() with a reserved label error = %v, want ErrInvalidArgument", err)
	}
}

// violationNames reports whether a BadRequest violation of failure names field.
func violationNames(failure *grpcsession.Error, field string) bool {
	for _, violation := range failure.Violations {
		if strings.HasPrefix(violation, field) {
			return true
		}
	}
	return false
}
