// Command polyglotagent is the Go side of the cross-language test
// (tests/polyglot/test_cross_language.py): an adk-go agent on a session that
// an ADK Python agent started, through grpcsession.
//
// It reads its instructions as JSON on stdin, then:
//  1. reads the session and checks the Python events and merged state it was told to expect;
//  2. runs one turn of an adk-go runner (LLM agent, scripted model, a tool
//     writing app:, user:, session and temp: state), checking that the model
//     was shown the Python turn as history;
//  3. checks that a stale writer is rejected and that a retried append is
//     stored once;
//
// and writes a report (the events it appended, what it saw) as JSON on
// stdout. Any failed check exits with status 1 and says why on stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/adk/v2/agent"
	"google.golang.org/adk/v2/agent/llmagent"
	"google.golang.org/adk/v2/model"
	"google.golang.org/adk/v2/runner"
	"google.golang.org/adk/v2/session"
	"google.golang.org/adk/v2/tool"
	"google.golang.org/adk/v2/tool/functiontool"
	"google.golang.org/genai"

	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/grpcsession"
)

// instructions is what the Python test sends on stdin.
type instructions struct {
	Target  string `json:"target"`
	App     string `json:"app"`
	User    string `json:"user"`
	Session string `json:"session"`
	Expect  struct {
		Events  []expectedEvent `json:"events"`
		State   json.RawMessage `json:"state"`
		History []string        `json:"history"`
	} `json:"expect"`
	Message string `json:"message"`
	City    string `json:"city"`
	// ClosedSession, if set, names a session of the same user that Python closed.
	ClosedSession string `json:"closedSession"`
}

type expectedEvent struct {
	ID               string `json:"id"`
	Author           string `json:"author"`
	Seconds          int64  `json:"seconds"`
	Nanos            int    `json:"nanos"`
	Text             string `json:"text"`
	FunctionCall     string `json:"functionCall"`
	FunctionResponse string `json:"functionResponse"`
}

// report is what this program writes on stdout.
type report struct {
	Language      string          `json:"language"`
	EventsRead    int             `json:"eventsRead"`
	HistorySeen   []string        `json:"historySeen"`
	Reply         string          `json:"reply"`
	Appended      []appendedEvent `json:"appended"`
	StaleRejected bool            `json:"staleRejected"`
	StaleReason   string          `json:"staleReason"`
	RetryStored   int             `json:"retryStoredTimes"`
	// ClosedEventsRead, ClosedRefused and ClosedReason: the closed session still reads,
	// and an append to it is refused as closed.
	ClosedEventsRead int    `json:"closedEventsRead"`
	ClosedRefused    bool   `json:"closedRefused"`
	ClosedReason     string `json:"closedReason"`
}

type appendedEvent struct {
	ID      string `json:"id"`
	Author  string `json:"author"`
	Seconds string `json:"seconds"` // the float seconds as ADK Python's JSON writes them
	Text    string `json:"text"`
}

const agentName = "go_agent"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "polyglotagent:", err)
		os.Exit(1)
	}
}

func run() error {
	var in instructions
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		return fmt.Errorf("reading instructions: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sessions, err := grpcsession.New(in.Target)
	if err != nil {
		return err
	}
	defer sessions.Close()
	out := report{Language: "go"}

	// 1. What Python wrote.
	got, err := sessions.Get(ctx, &session.GetRequest{AppName: in.App, UserID: in.User, SessionID: in.Session})
	if err != nil {
		return fmt.Errorf("reading the Python session: %w", err)
	}
	if err := checkEvents(got.Session, in.Expect.Events); err != nil {
		return err
	}
	if err := checkState(got.Session, in.Expect.State); err != nil {
		return err
	}
	out.EventsRead = got.Session.Events().Len()

	// 2. A turn of our own, through adk-go's runner.
	llm := &scriptedModel{responses: []*genai.Content{
		{Role: "model", Parts: []*genai.Part{{FunctionCall: &genai.FunctionCall{
			ID: "go-call-1", Name: "record_visit", Args: map[string]any{"city": in.City},
		}}}},
		genai.NewContentFromText("Go agent here: "+in.City+" noted.", "model"),
	}}
	recordVisit, err := functiontool.New(functiontool.Config{
		Name:        "record_visit",
		Description: "Records a visit to a city in app, user, session and temp state.",
	}, recordVisitTool)
	if err != nil {
		return err
	}
	goAgent, err := llmagent.New(llmagent.Config{
		Name:        agentName,
		Model:       llm,
		Instruction: "You are the Go agent.",
		Tools:       []tool.Tool{recordVisit},
		OutputKey:   "go_reply",
	})
	if err != nil {
		return err
	}
	r, err := runner.New(runner.Config{AppName: in.App, Agent: goAgent, SessionService: sessions})
	if err != nil {
		return err
	}
	for event, err := range r.Run(ctx, in.User, in.Session, genai.NewContentFromText(in.Message, "user"), agent.RunConfig{}) {
		if err != nil {
			return fmt.Errorf("the runner: %w", err)
		}
		if event.IsFinalResponse() && event.Content != nil && len(event.Content.Parts) > 0 {
			out.Reply = event.Content.Parts[0].Text
		}
	}
	if len(llm.requests) == 0 {
		return errors.New("the model was never called")
	}
	out.HistorySeen = texts(llm.requests[0].Contents)
	for _, want := range in.Expect.History {
		// Another agent's words reach the model quoted ("[python_agent] said: ..."): look for them inside.
		if !slices.ContainsFunc(out.HistorySeen, func(seen string) bool { return strings.Contains(seen, want) }) {
			return fmt.Errorf("the model was not shown %q from the Python turn; it saw %q", want, out.HistorySeen)
		}
	}

	// 3a. A stale writer is rejected.
	first, err := read(ctx, sessions, in)
	if err != nil {
		return err
	}
	second, err := read(ctx, sessions, in)
	if err != nil {
		return err
	}
	if err := sessions.AppendEvent(ctx, first, probe("go stale probe: accepted")); err != nil {
		return fmt.Errorf("appending through an up-to-date session: %w", err)
	}
	err = sessions.AppendEvent(ctx, second, probe("go stale probe: must be rejected"))
	var failure *grpcsession.Error
	out.StaleRejected = errors.Is(err, grpcsession.ErrStaleSession)
	if errors.As(err, &failure) {
		out.StaleReason = failure.Reason
	}

	// 3b. A retry (the same event, through the session as read before the
	// first attempt) is stored once.
	before, err := read(ctx, sessions, in)
	if err != nil {
		return err
	}
	current, err := read(ctx, sessions, in)
	if err != nil {
		return err
	}
	retried := probe("go retry probe")
	if err := sessions.AppendEvent(ctx, current, retried); err != nil {
		return fmt.Errorf("appending the retry probe: %w", err)
	}
	if err := sessions.AppendEvent(ctx, before, retried); err != nil {
		return fmt.Errorf("retrying the retry probe: %w", err)
	}

	// 3c. The session Python closed reads, and refuses an append.
	if in.ClosedSession != "" {
		closed, err := sessions.Get(ctx, &session.GetRequest{AppName: in.App, UserID: in.User, SessionID: in.ClosedSession})
		if err != nil {
			return fmt.Errorf("reading the closed session: %w", err)
		}
		out.ClosedEventsRead = closed.Session.Events().Len()
		err = sessions.AppendEvent(ctx, closed.Session, probe("go closed probe: must be refused"))
		out.ClosedRefused = errors.Is(err, grpcsession.ErrSessionClosed)
		if errors.As(err, &failure) {
			out.ClosedReason = failure.Reason
		}
	}

	final, err := read(ctx, sessions, in)
	if err != nil {
		return err
	}
	for i := out.EventsRead; i < final.Events().Len(); i++ {
		event := final.Events().At(i)
		if event.ID == retried.ID {
			out.RetryStored++
		}
		out.Appended = append(out.Appended, appendedEvent{
			ID: event.ID, Author: event.Author, Seconds: floatSeconds(event.Timestamp), Text: firstText(event),
		})
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// floatSeconds is a (post-1970) time as the nearest float64 of seconds, in
// its shortest decimal form: what ADK Python reads for it.
func floatSeconds(t time.Time) string {
	seconds, _ := strconv.ParseFloat(fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()), 64)
	return strconv.FormatFloat(seconds, 'f', -1, 64)
}

func read(ctx context.Context, sessions *grpcsession.Service, in instructions) (session.Session, error) {
	got, err := sessions.Get(ctx, &session.GetRequest{AppName: in.App, UserID: in.User, SessionID: in.Session})
	if err != nil {
		return nil, fmt.Errorf("reading the session: %w", err)
	}
	return got.Session, nil
}

func probe(text string) *session.Event {
	event := session.NewEvent(context.Background(), "go-probe-invocation")
	event.Author = "go_probe"
	event.Content = genai.NewContentFromText(text, "model")
	return event
}

type visitArgs struct {
	City string `json:"city"`
}

type visitResult struct {
	Visits float64 `json:"visits"`
}

// recordVisitTool reads app:visits (set by Python), increments it, and
// writes one key in every scope.
func recordVisitTool(ctx agent.Context, args visitArgs) (visitResult, error) {
	state := ctx.State()
	visits, err := state.Get("app:visits")
	if err != nil {
		return visitResult{}, fmt.Errorf("app:visits from the Python turn: %w", err)
	}
	count, ok := visits.(float64)
	if !ok {
		return visitResult{}, fmt.Errorf("app:visits is %T, want float64", visits)
	}
	for key, value := range map[string]any{
		"app:visits":      count + 1,
		"app:go_runs":     1,
		"user:go_city":    args.City,
		"go_note":         "written by the Go agent",
		"temp:go_scratch": "never stored",
	} {
		if err := state.Set(key, value); err != nil {
			return visitResult{}, err
		}
	}
	return visitResult{Visits: count + 1}, nil
}

// scriptedModel answers with canned contents, in order, and records what it was asked.
type scriptedModel struct {
	responses []*genai.Content
	requests  []*model.LLMRequest
}

func (m *scriptedModel) Name() string { return "scripted-model" }

func (m *scriptedModel) GenerateContent(_ context.Context, req *model.LLMRequest, _ bool) iter.Seq2[*model.LLMResponse, error] {
	return func(yield func(*model.LLMResponse, error) bool) {
		m.requests = append(m.requests, req)
		if len(m.responses) == 0 {
			yield(nil, errors.New("the script has no more responses"))
			return
		}
		content := m.responses[0]
		m.responses = m.responses[1:]
		yield(&model.LLMResponse{Content: content, TurnComplete: true}, nil)
	}
}

func checkEvents(s session.Session, want []expectedEvent) error {
	if s.Events().Len() != len(want) {
		return fmt.Errorf("read %d events, want %d", s.Events().Len(), len(want))
	}
	for i, w := range want {
		got := s.Events().At(i)
		if got.ID != w.ID || got.Author != w.Author {
			return fmt.Errorf("event %d is %s by %q, want %s by %q", i, got.ID, got.Author, w.ID, w.Author)
		}
		if got.Timestamp.Unix() != w.Seconds || got.Timestamp.Nanosecond() != w.Nanos {
			return fmt.Errorf("event %s has timestamp %s, want %d s + %d ns", w.ID, got.Timestamp.Format(time.RFC3339Nano), w.Seconds, w.Nanos)
		}
		if firstText(got) != w.Text || callName(got) != w.FunctionCall || responseName(got) != w.FunctionResponse {
			return fmt.Errorf("event %s content is text %q, call %q, response %q; want %q, %q, %q",
				w.ID, firstText(got), callName(got), responseName(got), w.Text, w.FunctionCall, w.FunctionResponse)
		}
	}
	return nil
}

func checkState(s session.Session, want json.RawMessage) error {
	got := map[string]any{}
	for key, value := range s.State().All() {
		got[key] = value
	}
	gotJSON, err := json.Marshal(got)
	if err != nil {
		return err
	}
	if canonical(gotJSON) != canonical(want) {
		return fmt.Errorf("state is %s, want %s", canonical(gotJSON), canonical(want))
	}
	return nil
}

// canonical is JSON text with sorted keys and numbers as written.
func canonical(text []byte) string {
	decoder := json.NewDecoder(strings.NewReader(string(text)))
	decoder.UseNumber()
	var value any
	if err := decoder.Decode(&value); err != nil {
		return "invalid JSON: " + err.Error()
	}
	normalized, _ := json.Marshal(value)
	return string(normalized)
}

func texts(contents []*genai.Content) []string {
	var all []string
	for _, content := range contents {
		for _, part := range content.Parts {
			if part.Text != "" {
				all = append(all, part.Text)
			}
		}
	}
	return all
}

func firstText(event *session.Event) string {
	if event.Content == nil {
		return ""
	}
	for _, part := range event.Content.Parts {
		if part.Text != "" {
			return part.Text
		}
	}
	return ""
}

func callName(event *session.Event) string {
	if event.Content != nil {
		for _, part := range event.Content.Parts {
			if part.FunctionCall != nil {
				return part.FunctionCall.Name
			}
		}
	}
	return ""
}

func responseName(event *session.Event) string {
	if event.Content != nil {
		for _, part := range event.Content.Parts {
			if part.FunctionResponse != nil {
				return part.FunctionResponse.Name
			}
		}
	}
	return ""
}
