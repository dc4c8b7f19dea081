package grpcsession_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"slices"
	"testing"

	"google.golang.org/adk/v2/session"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/grpcsession"
	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/internal/testserver"
)

// grant is a --tokens line granting token the apps (a comma-separated list, "*" = all).
func grant(name, token, apps string) string {
	digest := sha256.Sum256([]byte(token))
	return name + " " + hex.EncodeToString(digest[:]) + " " + apps
}

// appsServer starts a server of its own asking for tokens ("token-all" covers
// every app, "token-alpha" the apps alpha and gamma), holding a session of
// the users u2, u1 and u3 (made in that order) in each of five apps.
func appsServer(t *testing.T) string {
	t.Helper()
	address := testserver.Start(t, "--tokens", grant("all", "token-all", "*")+";"+grant("alpha", "token-alpha", "alpha,gamma"))
	s := newServiceOn(t, address, grpcsession.WithMetadata("authorization", "Bearer token-all"))
	for _, app := range []string{"epsilon", "alpha", "delta", "beta", "gamma"} {
		for _, user := range []string{"u2", "u1", "u3"} {
			if _, err := s.Create(t.Context(), &session.CreateRequest{AppName: app, UserID: user, SessionID: "s"}); err != nil {
				t.Fatalf("Create(%s, %s) error = %v", app, user, err)
			}
		}
	}
	return address
}

func collect(t *testing.T, names func(yield func(string, error) bool)) ([]string, error) {
	t.Helper()
	var got []string
	for name, err := range names {
		if err != nil {
			return got, err
		}
		got = append(got, name)
	}
	return got, nil
}

func TestAppsAndUsersAreListedInOrderAcrossPages(t *testing.T) {
	address := appsServer(t)
	s := newServiceOn(t, address, grpcsession.WithMetadata("authorization", "Bearer token-all"))

	first, err := s.ListApps(t.Context(), grpcsession.ListAppsOptions{PageSize: 2})
	if err != nil || !slices.Equal(first.Names, []string{"alpha", "beta"}) || first.NextPageToken == "" {
		t.Fatalf("ListApps(page size 2) = %+v, %v; want alpha, beta and a next page", first, err)
	}
	second, err := s.ListApps(t.Context(), grpcsession.ListAppsOptions{PageSize: 2, PageToken: first.NextPageToken})
	if err != nil || !slices.Equal(second.Names, []string{"delta", "epsilon"}) || second.NextPageToken == "" {
		t.Fatalf("ListApps(second page) = %+v, %v; want delta, epsilon and a next page", second, err)
	}
	apps, err := collect(t, s.Apps(t.Context(), grpcsession.ListAppsOptions{PageSize: 2}))
	if err != nil || !slices.Equal(apps, []string{"alpha", "beta", "delta", "epsilon", "gamma"}) {
		t.Errorf("Apps(page size 2) = %v, %v; want all five apps in order", apps, err)
	}
	rest, err := collect(t, s.Apps(t.Context(), grpcsession.ListAppsOptions{PageSize: 2, PageToken: first.NextPageToken}))
	if err != nil || !slices.Equal(rest, []string{"delta", "epsilon", "gamma"}) {
		t.Errorf("Apps(from the second page) = %v, %v", rest, err)
	}
	apps, err = collect(t, s.Apps(t.Context(), grpcsession.ListAppsOptions{}))
	if err != nil || len(apps) != 5 {
		t.Errorf("Apps(default page size) = %v, %v", apps, err)
	}

	users, err := collect(t, s.Users(t.Context(), grpcsession.ListUsersOptions{AppName: "beta", PageSize: 1}))
	if err != nil || !slices.Equal(users, []string{"u1", "u2", "u3"}) {
		t.Errorf("Users(beta, page size 1) = %v, %v; want u1, u2, u3", users, err)
	}
	page, err := s.ListUsers(t.Context(), grpcsession.ListUsersOptions{AppName: "beta", PageSize: 2})
	if err != nil || !slices.Equal(page.Names, []string{"u1", "u2"}) || page.NextPageToken == "" {
		t.Fatalf("ListUsers(beta, page size 2) = %+v, %v", page, err)
	}
	last, err := s.ListUsers(t.Context(), grpcsession.ListUsersOptions{AppName: "beta", PageSize: 2, PageToken: page.NextPageToken})
	if err != nil || !slices.Equal(last.Names, []string{"u3"}) || last.NextPageToken != "" {
		t.Errorf("ListUsers(beta, last page) = %+v, %v; want u3 and no next page", last, err)
	}
	none, err := collect(t, s.Users(t.Context(), grpcsession.ListUsersOptions{AppName: "nobody"}))
	if err != nil || len(none) != 0 {
		t.Errorf("Users(an app without sessions) = %v, %v; want none", none, err)
	}
}

func TestListingNamesRefusesBadInputAsInvalidArgument(t *testing.T) {
	address := appsServer(t)
	s := newServiceOn(t, address, grpcsession.WithMetadata("authorization", "Bearer token-all"))
	users, err := s.ListUsers(t.Context(), grpcsession.ListUsersOptions{AppName: "beta", PageSize: 1})
	if err != nil {
		t.Fatalf("ListUsers() error = %v", err)
	}
	for name, opts := range map[string]grpcsession.ListUsersOptions{
		"no app":              {},
		"negative page size":  {AppName: "beta", PageSize: -1},
		"another app's token": {AppName: "alpha", PageToken: users.NextPageToken},
	} {
		if _, err := s.ListUsers(t.Context(), opts); !errors.Is(err, grpcsession.ErrInvalidArgument) {
			t.Errorf("ListUsers(%s) error = %v, want ErrInvalidArgument", name, err)
		}
	}
	_, err = collect(t, s.Apps(t.Context(), grpcsession.ListAppsOptions{PageToken: users.NextPageToken}))
	var failure *grpcsession.Error
	if !errors.As(err, &failure) || failure.Code != codes.InvalidArgument {
		t.Errorf("Apps(a user listing's token) error = %v, want INVALID_ARGUMENT", err)
	}
}

func TestATokenForSomeAppsListsOnlyThose(t *testing.T) {
	address := appsServer(t)
	s := newServiceOn(t, address, grpcsession.WithMetadata("authorization", "Bearer token-alpha"))
	apps, err := collect(t, s.Apps(t.Context(), grpcsession.ListAppsOptions{PageSize: 1}))
	if err != nil || !slices.Equal(apps, []string{"alpha", "gamma"}) {
		t.Errorf("Apps() with a token for alpha and gamma = %v, %v", apps, err)
	}
	users, err := collect(t, s.Users(t.Context(), grpcsession.ListUsersOptions{AppName: "gamma"}))
	if err != nil || !slices.Equal(users, []string{"u1", "u2", "u3"}) {
		t.Errorf("Users(gamma) = %v, %v", users, err)
	}
	_, err = collect(t, s.Users(t.Context(), grpcsession.ListUsersOptions{AppName: "beta"}))
	var failure *grpcsession.Error
	if !errors.As(err, &failure) || failure.Code != codes.PermissionDenied {
		t.Errorf("Users(beta) with a token for alpha and gamma: error = %v, want PERMISSION_DENIED", err)
	}
}

// refusingNames is a server answering ListApps and ListUsers as the server
// does over storage that cannot list them (Agent Engine).
type refusingNames struct {
	sessionsv1.UnimplementedSessionServiceServer
}

func notSupported(call string) error {
	refused := status.New(codes.Unimplemented, "the storage cannot do this: "+call)
	refused, err := refused.WithDetails(&errdetails.ErrorInfo{
		Reason: "NOT_SUPPORTED_BY_BACKEND", Domain: "adk-grpc-sessions",
		Metadata: map[string]string{"backend_reason": "NO_" + call},
	})
	if err != nil {
		return err
	}
	return refused.Err()
}

func (refusingNames) ListApps(context.Context, *sessionsv1.ListAppsRequest) (*sessionsv1.ListAppsResponse, error) {
	return nil, notSupported("LIST_APPS")
}

func (refusingNames) ListUsers(context.Context, *sessionsv1.ListUsersRequest) (*sessionsv1.ListUsersResponse, error) {
	return nil, notSupported("LIST_USERS")
}

func TestStorageThatCannotListNamesIsAnUnimplementedError(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := grpc.NewServer()
	sessionsv1.RegisterSessionServiceServer(server, refusingNames{})
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(server.Stop)
	s := newServiceOn(t, listener.Addr().String())

	_, appsErr := collect(t, s.Apps(t.Context(), grpcsession.ListAppsOptions{}))
	_, usersErr := s.ListUsers(t.Context(), grpcsession.ListUsersOptions{AppName: "a"})
	for call, err := range map[string]error{"Apps": appsErr, "ListUsers": usersErr} {
		var failure *grpcsession.Error
		if !errors.As(err, &failure) || failure.Code != codes.Unimplemented || failure.Reason != "NOT_SUPPORTED_BY_BACKEND" {
			t.Errorf("%s() error = %v, want an *Error UNIMPLEMENTED (NOT_SUPPORTED_BY_BACKEND)", call, err)
			continue
		}
		if status.Code(err) != codes.Unimplemented || failure.Metadata["backend_reason"] == "" {
			t.Errorf("%s() error %v lost its status or ErrorInfo metadata", call, err)
		}
	}
}
