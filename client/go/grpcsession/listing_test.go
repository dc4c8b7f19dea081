package grpcsession_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"google.golang.org/adk/v2/session"

	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/grpcsession"
)

func listIDs(t *testing.T, s *grpcsession.Service, opts grpcsession.ListOptions) []string {
	t.Helper()
	var ids []string
	for listed, err := range s.SessionInfos(t.Context(), opts) {
		if err != nil {
			t.Fatalf("SessionInfos(%+v) error = %v", opts, err)
		}
		ids = append(ids, listed.SessionID)
	}
	return ids
}

// createFive creates a user's sessions in the order s3, s0, s4, s1, s2 (so
// that creation order is not id order) with display names and labels.
func createFive(t *testing.T, s *grpcsession.Service, app string) {
	t.Helper()
	topics := []string{"travel", "work", "travel", "food", "travel"}
	for i, id := range []string{"s3", "s0", "s4", "s1", "s2"} {
		labels := map[string]string{"topic": topics[i]}
		if i%2 == 0 {
			labels["pinned"] = "yes"
		}
		createWith(t, s, app, "u", id, grpcsession.CreateOptions{DisplayName: "chat " + topics[i], Labels: labels})
	}
}

func TestListSessionInfosFiltersByLabelsAndDisplayName(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	createFive(t, s, app)
	createWith(t, s, app, "other", "o1", grpcsession.CreateOptions{Labels: map[string]string{"topic": "travel"}})
	for filter, want := range map[string][]string{
		`labels.topic = "travel"`:                               {"s3", "s4", "s2"},
		`labels.topic = travel AND labels.pinned:*`:             {"s3", "s4", "s2"},
		`labels.topic != "travel"`:                              {"s0", "s1"},
		`labels.pinned:*`:                                       {"s3", "s4", "s2"},
		`display_name = "chat food"`:                            {"s1"},
		`display_name != "chat food" AND labels.topic = "work"`: {"s0"},
		`labels.topic = "none"`:                                 nil,
	} {
		got := listIDs(t, s, grpcsession.ListOptions{AppName: app, UserID: "u", Filter: filter, OrderBy: "create_time"})
		if !slices.Equal(got, want) {
			t.Errorf("filter %s listed %v, want %v", filter, got, want)
		}
	}
	all := listIDs(t, s, grpcsession.ListOptions{AppName: app, Filter: `labels.topic = "travel"`, OrderBy: "create_time"})
	if !slices.Equal(all, []string{"s3", "s4", "s2", "o1"}) {
		t.Errorf("the app's travel sessions listed %v, want every user's", all)
	}
}

func TestListSessionInfosOrdersAndPages(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	createFive(t, s, app)
	// s1 is updated last: first by update time, newest first.
	updated, err := s.Get(t.Context(), &session.GetRequest{AppName: app, UserID: "u", SessionID: "s1"})
	if err != nil {
		t.Fatalf("Get() error = %v", err)
	}
	if err := s.AppendEvent(t.Context(), updated.Session, textEvent("user", "latest", nil)); err != nil {
		t.Fatalf("AppendEvent() error = %v", err)
	}
	for orderBy, want := range map[string][]string{
		"":                 {"s3", "s0", "s4", "s2", "s1"},
		"update_time":      {"s3", "s0", "s4", "s2", "s1"},
		"update_time desc": {"s1", "s2", "s4", "s0", "s3"},
		"create_time":      {"s3", "s0", "s4", "s1", "s2"},
		"create_time asc":  {"s3", "s0", "s4", "s1", "s2"},
		"create_time desc": {"s2", "s1", "s4", "s0", "s3"},
	} {
		got := listIDs(t, s, grpcsession.ListOptions{AppName: app, UserID: "u", OrderBy: orderBy, PageSize: 2})
		if !slices.Equal(got, want) {
			t.Errorf("order %q in pages of 2 listed %v, want %v", orderBy, got, want)
		}
	}

	opts := grpcsession.ListOptions{AppName: app, UserID: "u", OrderBy: "create_time desc", PageSize: 2}
	first, err := s.ListSessionInfos(t.Context(), opts)
	if err != nil || len(first.Sessions) != 2 || first.NextPageToken == "" {
		t.Fatalf("first page = %+v, %v; want 2 sessions and a token", first, err)
	}
	if got := first.Sessions[0]; got.SessionID != "s2" || got.DisplayName != "chat travel" || got.Labels["pinned"] != "yes" {
		t.Errorf("first listed = %+v, want s2 with its metadata", got)
	}
	// A token belongs to its filter and order: another is refused.
	opts.PageToken, opts.OrderBy = first.NextPageToken, "create_time"
	if _, err := s.ListSessionInfos(t.Context(), opts); !errors.Is(err, grpcsession.ErrInvalidArgument) {
		t.Errorf("a page token with another order error = %v, want ErrInvalidArgument", err)
	}
}

func TestListSessionInfosByTimeWithExactRFC3339Bounds(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	createWith(t, s, app, "u", "early", grpcsession.CreateOptions{})
	createWith(t, s, app, "u", "late", grpcsession.CreateOptions{})
	// The instant early was created, to the nanosecond: the bound holds it exactly.
	bound := info(t, s, app, "u", "early").CreateTime.UTC().Format(time.RFC3339Nano)
	for filter, want := range map[string][]string{
		`create_time <= "` + bound + `"`: {"early"},
		`create_time = "` + bound + `"`:  {"early"},
		`create_time > "` + bound + `"`:  {"late"},
		`update_time != "` + bound + `"`: {"late"},
	} {
		if got := listIDs(t, s, grpcsession.ListOptions{AppName: app, UserID: "u", Filter: filter}); !slices.Equal(got, want) {
			t.Errorf("filter %s listed %v, want %v", filter, got, want)
		}
	}
}

func TestABadFilterIsErrInvalidArgumentWithItsPosition(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	for filter, position := range map[string]string{
		`labels.topic = "travel" AND colour = "red"`: "29",
		`labels.topic = "travel" OR labels.a:*`:      "25",
		`create_time < "yesterday"`:                  "15",
	} {
		_, err := s.ListSessionInfos(t.Context(), grpcsession.ListOptions{AppName: app, Filter: filter})
		var failure *grpcsession.Error
		if !errors.As(err, &failure) || !errors.Is(err, grpcsession.ErrInvalidFilter) || !errors.Is(err, grpcsession.ErrInvalidArgument) ||
			!violationNames(failure, "filter") {
			t.Errorf("filter %s: error = %v, want ErrInvalidFilter and ErrInvalidArgument naming filter", filter, err)
			continue
		}
		if failure.Metadata["position"] != position {
			t.Errorf("filter %s: position = %q, want %q (error %v)", filter, failure.Metadata["position"], position, err)
		}
	}
	if _, err := s.ListSessionInfos(t.Context(), grpcsession.ListOptions{AppName: app, OrderBy: "display_name"}); !errors.Is(err, grpcsession.ErrInvalidArgument) {
		t.Errorf("order_by display_name error = %v, want ErrInvalidArgument", err)
	}
}

func TestSessionInfosStopsWhenTheCallerDoes(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	createFive(t, s, app)
	var seen []string
	for listed, err := range s.SessionInfos(t.Context(), grpcsession.ListOptions{AppName: app, OrderBy: "create_time", PageSize: 2}) {
		if err != nil {
			t.Fatalf("SessionInfos() error = %v", err)
		}
		seen = append(seen, listed.SessionID)
		if len(seen) == 3 {
			break
		}
	}
	if !slices.Equal(seen, []string{"s3", "s0", "s4"}) {
		t.Errorf("walked %v, want the first three", seen)
	}
	for listed, err := range s.SessionInfos(t.Context(), grpcsession.ListOptions{AppName: app, Filter: "nonsense"}) {
		if listed != nil || !errors.Is(err, grpcsession.ErrInvalidArgument) {
			t.Errorf("SessionInfos() of a bad filter yielded %v, %v; want nil, ErrInvalidArgument", listed, err)
		}
	}
}

func TestListWithOptionsReturnsFilteredOrderedSessionsWithState(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	createFive(t, s, app)
	created, err := s.CreateWithOptions(t.Context(), &session.CreateRequest{AppName: app, UserID: "u", SessionID: "with-state", State: map[string]any{"k": "v"}},
		grpcsession.CreateOptions{Labels: map[string]string{"topic": "travel"}})
	if err != nil {
		t.Fatalf("CreateWithOptions() error = %v", err)
	}
	listed, err := s.ListWithOptions(t.Context(), grpcsession.ListOptions{AppName: app, UserID: "u", Filter: `labels.topic = "travel"`, OrderBy: "create_time desc", PageSize: 2})
	if err != nil {
		t.Fatalf("ListWithOptions() error = %v", err)
	}
	var ids []string
	for _, sess := range listed.Sessions {
		ids = append(ids, sess.ID())
	}
	if want := []string{created.Session.ID(), "s2", "s4", "s3"}; !slices.Equal(ids, want) {
		t.Errorf("ListWithOptions() listed %v, want %v", ids, want)
	}
	if len(listed.Sessions) > 0 && stateOf(listed.Sessions[0])["k"] != "v" {
		t.Errorf("the listed session's state = %v, want its state", stateOf(listed.Sessions[0]))
	}
	if _, err := s.ListWithOptions(t.Context(), grpcsession.ListOptions{AppName: app, Filter: "labels.topic ="}); !errors.Is(err, grpcsession.ErrInvalidFilter) {
		t.Errorf("ListWithOptions() with a bad filter error = %v, want ErrInvalidFilter", err)
	}
}
