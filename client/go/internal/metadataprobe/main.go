// Command metadataprobe is the Go side of the cross-language metadata test
// (tests/polyglot/test_cross_language_metadata.py): through grpcsession it
// lists sessions another language wrote, with a filter and an order, forks
// one, appends to the fork and changes the fork's metadata.
//
// It reads its instructions as JSON on stdin and writes what it saw as JSON
// on stdout (the Python test judges it); a failed call exits with status 1
// and says why on stderr.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"google.golang.org/adk/v2/session"
	"google.golang.org/genai"

	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/grpcsession"
)

// instructions is what the Python test sends on stdin.
type instructions struct {
	Target string `json:"target"`
	App    string `json:"app"`
	User   string `json:"user"`
	List   struct {
		Filter   string `json:"filter"`
		OrderBy  string `json:"orderBy"`
		PageSize int32  `json:"pageSize"`
	} `json:"list"`
	Fork struct {
		Source             string            `json:"source"`
		NewSessionID       string            `json:"newSessionId"`
		BeforeInvocationID string            `json:"beforeInvocationId"`
		DisplayName        string            `json:"displayName"`
		Labels             map[string]string `json:"labels"`
	} `json:"fork"`
	Append struct {
		InvocationID string         `json:"invocationId"`
		StateDelta   map[string]any `json:"stateDelta"`
	} `json:"append"`
	Update struct {
		DisplayName string            `json:"displayName"`
		Labels      map[string]string `json:"labels"`
	} `json:"update"`
}

// info is a SessionInfo as the report carries it.
type info struct {
	SessionID   string            `json:"sessionId"`
	DisplayName string            `json:"displayName"`
	Labels      map[string]string `json:"labels"`
	EventCount  *int64            `json:"eventCount"`
	StoredBytes *int64            `json:"storedBytes"`
	CreateTime  string            `json:"createTime"`
	Revision    int64             `json:"revision"`
	ForkedFrom  *origin           `json:"forkedFrom"`
}

type origin struct {
	SessionID          string `json:"sessionId"`
	EventCount         int64  `json:"eventCount"`
	BeforeInvocationID string `json:"beforeInvocationId"`
}

type readEvent struct {
	ID           string `json:"id"`
	InvocationID string `json:"invocationId"`
}

// report is what this program writes on stdout.
type report struct {
	Language string `json:"language"`
	// Listed is the listing the instructions asked for, walked page by page.
	Listed []info `json:"listed"`
	// Forked is Fork's answer; ForkEvents and ForkState the fork as Get reads it.
	Forked     info           `json:"forked"`
	ForkEvents []readEvent    `json:"forkEvents"`
	ForkState  map[string]any `json:"forkState"`
	// Updated is UpdateSessionMetadata's answer, after the append to the fork.
	Updated info `json:"updated"`
}

func infoOf(got *grpcsession.SessionInfo) info {
	converted := info{
		SessionID:   got.SessionID,
		DisplayName: got.DisplayName,
		Labels:      got.Labels,
		EventCount:  got.EventCount,
		StoredBytes: got.StoredBytes,
		CreateTime:  got.CreateTime.UTC().Format(time.RFC3339Nano),
		Revision:    got.Revision,
	}
	if got.ForkedFrom != nil {
		converted.ForkedFrom = &origin{got.ForkedFrom.SessionID, got.ForkedFrom.EventCount, got.ForkedFrom.BeforeInvocationID}
	}
	return converted
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "metadataprobe:", err)
		os.Exit(1)
	}
}

func run() error {
	var in instructions
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		return fmt.Errorf("reading the instructions: %w", err)
	}
	ctx := context.Background()
	sessions, err := grpcsession.New(in.Target)
	if err != nil {
		return err
	}
	defer sessions.Close()
	out := report{Language: "go", Listed: []info{}}

	options := grpcsession.ListOptions{AppName: in.App, UserID: in.User, Filter: in.List.Filter, OrderBy: in.List.OrderBy, PageSize: in.List.PageSize}
	for listed, err := range sessions.SessionInfos(ctx, options) {
		if err != nil {
			return fmt.Errorf("listing: %w", err)
		}
		out.Listed = append(out.Listed, infoOf(listed))
	}

	forked, err := sessions.Fork(ctx, grpcsession.ForkRequest{
		AppName: in.App, UserID: in.User, SessionID: in.Fork.Source, NewSessionID: in.Fork.NewSessionID,
		BeforeInvocationID: in.Fork.BeforeInvocationID, DisplayName: in.Fork.DisplayName, Labels: in.Fork.Labels,
	})
	if err != nil {
		return fmt.Errorf("forking: %w", err)
	}
	out.Forked = infoOf(forked)
	read, err := sessions.Get(ctx, &session.GetRequest{AppName: in.App, UserID: in.User, SessionID: forked.SessionID})
	if err != nil {
		return fmt.Errorf("reading the fork: %w", err)
	}
	for event := range read.Session.Events().All() {
		out.ForkEvents = append(out.ForkEvents, readEvent{event.ID, event.InvocationID})
	}
	out.ForkState = map[string]any{}
	for key, value := range read.Session.State().All() {
		out.ForkState[key] = value
	}

	event := session.NewEvent(ctx, in.Append.InvocationID)
	event.Author = "go_probe"
	event.Content = genai.NewContentFromText("appended to the fork by Go", "model")
	for key, value := range in.Append.StateDelta {
		event.Actions.StateDelta[key] = value
	}
	if err := sessions.AppendEvent(ctx, read.Session, event); err != nil {
		return fmt.Errorf("appending to the fork: %w", err)
	}
	updated, err := sessions.UpdateSessionMetadata(ctx, in.App, in.User, forked.SessionID,
		grpcsession.MetadataUpdate{DisplayName: &in.Update.DisplayName, Labels: in.Update.Labels})
	if err != nil {
		return fmt.Errorf("updating the fork's metadata: %w", err)
	}
	out.Updated = infoOf(updated)
	return json.NewEncoder(os.Stdout).Encode(out)
}
