package grpcsession

// Filtered, ordered listings of session infos, a page at a time or walked
// whole (and of sessions, by Service.ListWithOptions). adk-go's List has no
// filter or order, so these are methods of their own beside it.

import (
	"context"
	"iter"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
)

// ListOptions say which sessions ListSessionInfos returns, in what order.
type ListOptions struct {
	// AppName is the app whose sessions are listed (required).
	AppName string
	// UserID keeps one user's sessions; "" = every user of the app.
	UserID string
	// Filter keeps the sessions it matches; "" = all. A subset of AIP-160:
	// comparisons joined by AND, such as
	//
	//	display_name = "Trip to Rome" AND labels.topic = "travel" AND labels.pinned:*
	//	create_time >= "2026-01-02T03:04:05Z" AND closed = false
	//
	// (display_name and labels.KEY with = and !=, labels.KEY:* for "set",
	// create_time and update_time with = != < <= > >= and RFC 3339 times,
	// closed = true|false). A filter the server cannot read fails with an
	// error matching ErrInvalidArgument whose Metadata["position"] is the
	// 1-based column of the mistake.
	Filter string
	// OrderBy is "update_time" (the default: oldest update first, as List),
	// "create_time", either followed by " desc" for newest first. Ties go by
	// user id, then session id, in the same direction.
	OrderBy string
	// PageSize is the most sessions a page holds; 0 = the server's default
	// (larger values are capped by the server).
	PageSize int32
	// PageToken is a page's NextPageToken, from a call with the same
	// AppName, UserID, Filter and OrderBy; "" = the first page.
	PageToken string
}

// SessionInfoPage is one page of a listing.
type SessionInfoPage struct {
	// Sessions are the page's sessions, in the listing's order.
	Sessions []*SessionInfo
	// NextPageToken continues the listing (as ListOptions.PageToken); "" = this was the last page.
	NextPageToken string
}

// ListSessionInfos returns one page of the sessions opts selects, in its
// order, without their events or state. Paging is by key: a session changed
// between pages appears at most once, an unchanged one exactly once.
func (s *Service) ListSessionInfos(ctx context.Context, opts ListOptions) (*SessionInfoPage, error) {
	request := listRequest(opts)
	var response *sessionsv1.ListSessionsResponse
	err := s.call(ctx, func(ctx context.Context) (err error) {
		response, err = s.client.ListSessions(ctx, request)
		return err
	})
	if err != nil {
		return nil, err
	}
	page := &SessionInfoPage{Sessions: make([]*SessionInfo, 0, len(response.GetSessions())), NextPageToken: response.GetNextPageToken()}
	for _, message := range response.GetSessions() {
		page.Sessions = append(page.Sessions, sessionInfoFromMessage(message))
	}
	return page, nil
}

func listRequest(opts ListOptions) *sessionsv1.ListSessionsRequest {
	return &sessionsv1.ListSessionsRequest{
		AppName:   opts.AppName,
		UserId:    opts.UserID,
		PageSize:  opts.PageSize,
		PageToken: opts.PageToken,
		Filter:    opts.Filter,
		OrderBy:   opts.OrderBy,
	}
}

// SessionInfos walks every page of the listing opts selects (from
// opts.PageToken on), yielding each session in order. A failed call is
// yielded as an error with a nil info, and ends the walk.
func (s *Service) SessionInfos(ctx context.Context, opts ListOptions) iter.Seq2[*SessionInfo, error] {
	return func(yield func(*SessionInfo, error) bool) {
		for {
			page, err := s.ListSessionInfos(ctx, opts)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, info := range page.Sessions {
				if !yield(info, nil) {
					return
				}
			}
			if page.NextPageToken == "" {
				return
			}
			opts.PageToken = page.NextPageToken
		}
	}
}
