// Command watchprobe is the Go side of the cross-language watch test
// (tests/polyglot/test_cross_language_watch.py): through grpcsession it
// watches one session live and writes one JSON line per update on stdout,
// as it arrives, until the session ends.
//
// It reads its instructions as JSON on stdin; a failed watch exits with
// status 1 and says why on stderr.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/grpcsession"
)

// instructions is what the Python test sends on stdin.
type instructions struct {
	Target        string `json:"target"`
	Token         string `json:"token"`
	App           string `json:"app"`
	User          string `json:"user"`
	Session       string `json:"session"`
	AfterRevision int64  `json:"afterRevision"`
}

// line is one update as the test reads it.
type line struct {
	Kind      string `json:"kind"`
	Revision  int64  `json:"revision"`
	ID        string `json:"id,omitempty"`
	Author    string `json:"author,omitempty"`
	Text      string `json:"text,omitempty"`
	EventJSON string `json:"eventJson,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "watchprobe:", err)
		os.Exit(1)
	}
}

func run() error {
	var in instructions
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		return fmt.Errorf("instructions: %w", err)
	}
	var opts []grpcsession.Option
	if in.Token != "" {
		opts = append(opts, grpcsession.WithMetadata("authorization", "Bearer "+in.Token))
	}
	service, err := grpcsession.New(in.Target, opts...)
	if err != nil {
		return err
	}
	defer func() { _ = service.Close() }()
	out := json.NewEncoder(os.Stdout)
	for update, err := range service.WatchSessionUpdates(context.Background(), in.App, in.User, in.Session, in.AfterRevision) {
		if err != nil {
			return err
		}
		item := line{Revision: update.Revision}
		switch {
		case update.Event != nil:
			item.Kind, item.ID, item.Author, item.EventJSON = "event", update.Event.ID, update.Event.Author, update.EventJSON
			if update.Event.Content != nil && len(update.Event.Content.Parts) > 0 {
				item.Text = update.Event.Content.Parts[0].Text
			}
		case update.CaughtUp:
			item.Kind = "caughtUp"
		default:
			item.Kind, item.Reason = "ended", string(update.Ended)
		}
		if err := out.Encode(item); err != nil {
			return err
		}
	}
	return nil
}
