package grpcsession

// Listings of names: the apps holding sessions or shared state, and the users
// of one app (ListApps and ListUsers), a page at a time or walked whole.
// adk-go's session.Service has no such calls, so these are methods of their
// own, paged as the session listings are.

import (
	"context"
	"iter"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
)

// NamePage is one page of a listing of names (ListApps, ListUsers).
type NamePage struct {
	// Names are the page's app names or user ids, in code point order.
	Names []string
	// NextPageToken continues the listing (as the next call's page token);
	// "" = this was the last page.
	NextPageToken string
}

// ListAppsOptions say which page of apps ListApps returns.
type ListAppsOptions struct {
	// PageSize is the most apps a page holds; 0 = the server's default
	// (larger values are capped by the server).
	PageSize int32
	// PageToken is a page's NextPageToken from an earlier ListApps; "" = the first page.
	PageToken string
}

// ListUsersOptions say whose users, and which page of them, ListUsers returns.
type ListUsersOptions struct {
	// AppName is the app whose users are listed (required).
	AppName string
	// PageSize is the most users a page holds; 0 = the server's default
	// (larger values are capped by the server).
	PageSize int32
	// PageToken is a page's NextPageToken from an earlier ListUsers of the
	// same AppName; "" = the first page.
	PageToken string
}

// ListApps returns one page of the apps that hold a session, app state or
// user state and that the service's token covers, by name in code point
// order. An app added while the listing is paged through appears if its name
// sorts after the page being read.
func (s *Service) ListApps(ctx context.Context, opts ListAppsOptions) (*NamePage, error) {
	request := &sessionsv1.ListAppsRequest{PageSize: opts.PageSize, PageToken: opts.PageToken}
	var response *sessionsv1.ListAppsResponse
	err := s.call(ctx, func(ctx context.Context) (err error) {
		response, err = s.client.ListApps(ctx, request)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &NamePage{Names: response.GetAppNames(), NextPageToken: response.GetNextPageToken()}, nil
}

// ListUsers returns one page of the users of opts.AppName that hold a session
// or user state, by id in code point order. An app the token does not cover
// fails with an error whose Code is PermissionDenied.
func (s *Service) ListUsers(ctx context.Context, opts ListUsersOptions) (*NamePage, error) {
	request := &sessionsv1.ListUsersRequest{AppName: opts.AppName, PageSize: opts.PageSize, PageToken: opts.PageToken}
	var response *sessionsv1.ListUsersResponse
	err := s.call(ctx, func(ctx context.Context) (err error) {
		response, err = s.client.ListUsers(ctx, request)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &NamePage{Names: response.GetUserIds(), NextPageToken: response.GetNextPageToken()}, nil
}

// Apps walks every page of ListApps (from opts.PageToken on), yielding each
// app name in order. A failed call is yielded as an error with an empty name,
// and ends the walk.
func (s *Service) Apps(ctx context.Context, opts ListAppsOptions) iter.Seq2[string, error] {
	return walkNames(opts.PageToken, func(token string) (*NamePage, error) {
		opts.PageToken = token
		return s.ListApps(ctx, opts)
	})
}

// Users walks every page of ListUsers (from opts.PageToken on), yielding each
// user id in order. A failed call is yielded as an error with an empty id,
// and ends the walk.
func (s *Service) Users(ctx context.Context, opts ListUsersOptions) iter.Seq2[string, error] {
	return walkNames(opts.PageToken, func(token string) (*NamePage, error) {
		opts.PageToken = token
		return s.ListUsers(ctx, opts)
	})
}

// walkNames yields the names of page(token), then of each next page, until a
// page says it is the last or a call fails.
func walkNames(token string, page func(token string) (*NamePage, error)) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for {
			names, err := page(token)
			if err != nil {
				yield("", err)
				return
			}
			for _, name := range names.Names {
				if !yield(name, nil) {
					return
				}
			}
			if names.NextPageToken == "" {
				return
			}
			token = names.NextPageToken
		}
	}
}
